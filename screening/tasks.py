"""Background work through Django's Tasks API (django-tasks backport, database backend)."""

from __future__ import annotations

from django_tasks import task

from patients.models import Patient
from screening.services import rescreen_patients


@task()
def rescreen_all_patients(trigger: str = "rules") -> int:
    """Re-screen every patient with the published rule set; returns how many were screened."""
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    return rescreen_patients(ids, trigger=trigger)


@task()
def run_job(job_id: int) -> str:
    """Run a rules-administration job (impact preview or re-screening) with progress; returns its status."""
    from screening.jobs import run_job as run

    return run(job_id)
