"""Screening services: re-screen patients, read stored results."""

from __future__ import annotations

from typing import Any


def schedule_rescreen(patient_id: int) -> None:
    """Ask for a patient to be re-screened (after the transaction commits)."""


def adequacy_by_course(summary: Any) -> dict[int, str]:
    return {}


def latest_result_for(patient: Any) -> Any:
    return None
