"""Walking the whole cohort a chunk at a time (facts for a chunk: ``screening.facts.facts_for``,
one query per table for the whole chunk instead of per patient)."""

from __future__ import annotations

from collections.abc import Iterator

from patients.models import Patient

CHUNK = 200


def patient_ids() -> list[int]:
    """Every current patient, in a stable order."""
    return list(Patient.objects.order_by("pk").values_list("pk", flat=True))


def chunks(ids: list[int], size: int | None = None) -> Iterator[list[int]]:
    size = size or CHUNK
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def patients_in(ids: list[int]) -> list[Patient]:
    return list(Patient.objects.filter(pk__in=ids).select_related("site").order_by("pk"))
