"""Background work of the clinic (Tasks API): the scheduled re-screen of the whole cohort.

Sent as one task for the whole cohort, or as one task per range of patients
(``send_rescreen_ranges``: ``manage.py rescreen --ranges N``, default
``RESCREEN_RANGES``) so that N ``db_worker`` processes share it, each owning its
range. Every range is screened as of the date it was sent for, and a task sent
again (or run twice) leaves the patients its earlier run already screened as of
that date: resuming is sending it again.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django_tasks import task

from clinic.services import rescreen_patients
from screening import cohort
from screening.models import Trigger


@task()
def rescreen_all_patients(trigger: str = Trigger.SCHEDULED) -> int:
    """Re-screen every patient with the published rule set; returns how many were screened."""
    return rescreen_patients(cohort.patient_ids(), trigger=trigger)


@task()
def rescreen_range(first: int, last: int, trigger: str = Trigger.SCHEDULED, as_of: str | None = None) -> int:
    """Re-screen the patients whose pk is in [first, last] as of ``as_of`` (ISO; default today)."""
    day = date.fromisoformat(as_of) if as_of else None
    return rescreen_patients(cohort.patient_ids_between(first, last), trigger=trigger, as_of=day)


def send_rescreen_ranges(parts: int, trigger: str = Trigger.SCHEDULED) -> list[tuple[int, int]]:
    """Send one range task per about-equal share of the cohort, all as of today; returns the ranges."""
    today = timezone.localdate().isoformat()
    shares = cohort.ranges(cohort.patient_ids(), parts)
    for first, last in shares:
        rescreen_range.enqueue(first, last, trigger, today)
    return shares
