"""Background work of the clinic (Tasks API): the scheduled re-screen of the whole cohort."""

from __future__ import annotations

from django_tasks import task

from clinic.services import rescreen_patients
from screening import cohort
from screening.models import Trigger


@task()
def rescreen_all_patients(trigger: str = Trigger.SCHEDULED) -> int:
    """Re-screen every patient with the published rule set; returns how many were screened."""
    return rescreen_patients(cohort.patient_ids(), trigger=trigger)
