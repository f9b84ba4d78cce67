"""Walking the whole cohort a chunk at a time (facts for a chunk: ``screening.facts.facts_for``,
one query per table for the whole chunk instead of per patient)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
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


def patient_ids_between(first: int | None, last: int | None) -> list[int]:
    """The current patients whose pk is in [first, last], in order (one range task's share, or one part
    of a job); a bound of None leaves that end open."""
    patients = Patient.objects.all()
    if first is not None:
        patients = patients.filter(pk__gte=first)
    if last is not None:
        patients = patients.filter(pk__lte=last)
    return list(patients.order_by("pk").values_list("pk", flat=True))


def count_between(ids: list[int], first: int, last: int) -> int:
    """How many of ``ids`` (sorted) are in [first, last]."""
    return bisect_right(ids, last) - bisect_left(ids, first)


def ranges(ids: list[int], parts: int) -> list[tuple[int, int]]:
    """``ids`` (sorted) split into at most ``parts`` contiguous ranges of about equal size: (first, last) pks."""
    parts = max(1, min(parts, len(ids)))
    size, extra = divmod(len(ids), parts)
    out, start = [], 0
    for n in range(parts):
        end = start + size + (n < extra)
        out.append((ids[start], ids[end - 1]))
        start = end
    return out
