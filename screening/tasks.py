"""Background work through Django's Tasks API (django-tasks backport, database backend)."""

from __future__ import annotations

from django_tasks import task

from screening import jobs


@task()
def run_job(job_id: int) -> str:
    """Run a rules-administration job (impact preview or re-screening) with progress; returns its status."""
    return jobs.run_job(job_id)
