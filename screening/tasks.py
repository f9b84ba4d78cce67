"""Background work through Django's Tasks API (django-tasks backport, database backend).

Sending a job to the worker lives here, next to the task: ``send`` after the
transaction commits, ``resume_stalled`` for the jobs a dead worker left
(``manage.py resume_jobs``), and the task itself sends again a job whose
attempt a database error stopped.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django_tasks import task

from screening import jobs
from screening.models import Job, JobStatus


@task()
def run_job(job_id: int) -> str:
    """Run a rules-administration job (impact preview or re-screening) with progress; returns its status."""
    try:
        return jobs.run_job(job_id)
    except (OperationalError, InterfaceError):
        # the attempt stopped on a database error and jobs.run_job queued the job again: send it, later
        try:
            if Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).exists():
                send(job_id, delay=True)
        except (OperationalError, InterfaceError):
            jobs.log.exception("job %s: could not send it to the worker again; resume_jobs will", job_id)
        raise


def send(job_id: int, *, delay: bool = False) -> None:
    """Send the job to the worker once the current transaction commits (after JOB_STALE_MINUTES when
    ``delay`` and the tasks backend can defer)."""

    def enqueue() -> None:
        if delay and run_job.get_backend().supports_defer:
            run_job.using(run_after=timezone.now() + jobs.stale_after()).enqueue(job_id)
        else:
            run_job.enqueue(job_id)

    transaction.on_commit(enqueue)


def resume_stalled(*, older_than: timedelta | None = None) -> list[tuple[Job, str]]:
    """Queue again every running job with no sign of life for ``older_than`` (default JOB_STALE_MINUTES),
    or fail it when it has had its attempts; send again the queued jobs that waited that long while no
    job is running (their task was lost). Returns each job with what was done: "queued", "failed",
    "left" (no longer stalled) or "sent"."""
    done: list[tuple[Job, str]] = []
    for job in jobs.stalled_jobs(older_than):
        with transaction.atomic():
            outcome = jobs.stop_attempt(job, jobs.stalled_reason(job))
            if outcome == "queued":
                send(job.pk)
        done.append((job, outcome))
    for job in jobs.lost_jobs(older_than):
        if any(job.pk == stalled.pk for stalled, _ in done):
            continue  # just queued again above, and sent
        send(job.pk)
        done.append((job, "sent"))
    return done
