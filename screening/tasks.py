"""Background work through Django's Tasks API (django-tasks backport, database backend).

Sending a job to the worker lives here, next to the task: ``send`` after the
transaction commits, ``resume_stalled`` for the jobs a dead worker left
(``manage.py resume_jobs``), and the task itself sends again a job whose
attempt a database error stopped. A job split into parts (``JOB_PARTS``) sends
each part as its own task (``run_job_part``), so several workers share it;
resuming sends again only the parts that are not done.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django_tasks import task

from screening import jobs
from screening.models import Job, JobPart, JobStatus


@task()
def run_job(job_id: int) -> str:
    """Run a rules-administration job (impact preview or re-screening) with progress; returns its status."""
    try:
        return jobs.run_job(job_id, send_parts=_enqueue_parts)
    except (OperationalError, InterfaceError):
        # the attempt stopped on a database error and jobs.run_job queued the job again: send it, later
        try:
            if Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).exists():
                send(job_id, delay=True)
        except (OperationalError, InterfaceError):
            jobs.log.exception("job %s: could not send it to the worker again; resume_jobs will", job_id)
        raise


@task()
def run_job_part(part_id: int) -> str:
    """Run one part of a split job (a range of patients); returns its status."""
    try:
        return jobs.run_part(part_id)
    except (OperationalError, InterfaceError):
        try:  # queued again by jobs.run_part: send it, later
            if JobPart.objects.filter(pk=part_id, status=JobStatus.QUEUED).exists():
                send_part(part_id, delay=True)
        except (OperationalError, InterfaceError):
            jobs.log.exception("job part %s: could not send it to the worker again; resume_jobs will", part_id)
        raise


def send_part(part_id: int, *, delay: bool = False) -> None:
    """``send`` for one part of a split job."""
    _send(run_job_part, part_id, delay)


def _enqueue_parts(part_ids: list[int]) -> None:
    """Each part of a split job to the workers at once: the job's worker holds no transaction, so the
    parts are committed (with the immediate backend each runs here, one after the other)."""
    for pk in part_ids:
        run_job_part.enqueue(pk)


def send(job_id: int, *, delay: bool = False) -> None:
    """Send the job to the worker once the current transaction commits (after JOB_STALE_MINUTES when
    ``delay`` and the tasks backend can defer)."""
    _send(run_job, job_id, delay)


def _send(task: Any, pk: int, delay: bool) -> None:
    def enqueue() -> None:
        if delay and task.get_backend().supports_defer:
            task.using(run_after=timezone.now() + jobs.stale_after()).enqueue(pk)
        else:
            task.enqueue(pk)

    transaction.on_commit(enqueue)


def resume_stalled(*, older_than: timedelta | None = None) -> list[tuple[Job | JobPart, str]]:
    """Queue again every running job with no sign of life for ``older_than`` (default JOB_STALE_MINUTES),
    or fail it when it has had its attempts; send again the queued jobs that waited that long while no
    job is running (their task was lost). A split job is resumed part by part: only its stalled or lost
    parts are sent again, never the done ones. Returns each job or part with what was done: "queued",
    "failed", "left" (no longer stalled) or "sent"."""
    done: list[tuple[Job | JobPart, str]] = []
    kinds: list[tuple[Any, Any, Any]] = [
        (jobs.stalled_jobs, jobs.lost_jobs, send),
        (jobs.stalled_parts, jobs.lost_parts, send_part),
    ]
    for stalled, lost, sender in kinds:
        queued_again = set()
        for work in stalled(older_than):
            with transaction.atomic():
                outcome = jobs.stop_attempt(work, jobs.stalled_reason(work))
                if outcome == "queued":
                    sender(work.pk)
            queued_again.add(work.pk)
            done.append((work, outcome))
        for work in lost(older_than):
            if work.pk in queued_again:
                continue  # just queued again above, and sent
            sender(work.pk)
            done.append((work, "sent"))
    return done
