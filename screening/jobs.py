"""Cohort-wide background work with progress: impact previews and re-screening after publishing.

The task (``screening.tasks.run_job``) calls ``run_job`` with a ``Job`` id.
Impact previews run here; the re-screen after a publish is registered by the
clinic app (``clinic.services.run_rescreen_job``), which applies each result to
the referrals too.
Progress is written every chunk of patients outside any transaction, so the
job page shows it while the work goes on; each write is also the worker's
heartbeat.

A worker can die in the middle of a job (killed, out of memory, the machine
restarted, the database connection lost). Each start of a job is an attempt,
counted on the job; the attempt owns the job only while the job is running with
that attempt's number, so a stalled attempt that wakes up after the job was
queued again stops at its next write (``TakenOver``) instead of running beside
the new one. A running job with no heartbeat for ``JOB_STALE_MINUTES`` is
stalled (``stalled_jobs``); ``stop_attempt`` puts it back in the queue, or
marks it failed with the reason once it has had ``JOB_MAX_ATTEMPTS`` starts.
A database error during a job does the same at once. Sending the job to the
worker again is ``screening.tasks``'s (``resume_stalled``, behind
``manage.py resume_jobs``). A re-screen resumes where it stopped; an impact
preview starts again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.dates import show_datetime
from screening import cohort, engine, impact
from screening.facts import facts_for
from screening.models import Job, JobKind, JobStatus, RuleSet
from screening.services import parsed_rules

log = logging.getLogger(__name__)
RESCREEN_CHUNK = 50  # progress is written, and the published version checked, this often

# What is left undone when a job fails for good, and what to do about it (shown on the job's page).
AFTER_FAILURE = {
    JobKind.IMPACT: "ask for the impact preview again",
    JobKind.RESCREEN: (
        "patients it did not reach keep their earlier screening until the daily re-screen "
        "(manage.py rescreen) or the next change to their record"
    ),
}


class TakenOver(Exception):
    """The job is no longer this attempt's: it was found stalled and queued again (or finished)."""


def _own(job: Job) -> QuerySet[Job]:
    """The job, while it is still running as this attempt."""
    return Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts)


def _write(job: Job, **fields: Any) -> None:
    if not _own(job).update(**fields):
        raise TakenOver(f"job {job.pk}: attempt {job.attempts} no longer runs it")


def start(job: Job, total: int, done: int = 0) -> None:
    """Set the cohort's size (and how much an earlier attempt already did)."""
    job.total, job.done, job.heartbeat_at = total, done, timezone.now()
    _write(job, total=total, done=done, heartbeat_at=job.heartbeat_at)


def progress(job: Job, done: int) -> None:
    """Write the progress, the heartbeat and the job's running result (a re-screen's place and tally)."""
    job.done, job.heartbeat_at = done, timezone.now()
    _write(job, done=done, heartbeat_at=job.heartbeat_at, result=job.result)


def finish(job: Job, result: dict[str, Any], status: str = JobStatus.DONE, error: str | None = None) -> None:
    """End the job; ``error`` says why it failed (None keeps the note of an earlier attempt's stop)."""
    job.status, job.result, job.finished_at = status, result, timezone.now()
    if error is not None:
        job.error = error
    _write(job, status=status, result=result, error=job.error, finished_at=job.finished_at, done=job.done)


def run_impact(job: Job) -> None:
    """Evaluate every current patient with the published rules and with the job's rule set; keep the changes."""
    rule_set = job.rule_set
    if rule_set.revision != job.revision:
        finish(job, {}, JobStatus.FAILED, "the draft changed after the preview was asked for: run it again")
        return
    published = RuleSet.objects.published()
    old, new = parsed_rules(published), engine.parse_rule_set(rule_set.content)
    ids = cohort.patient_ids()
    start(job, len(ids))
    rows: list[dict[str, Any]] = []
    skipped = 0
    for chunk in cohort.chunks(ids):
        patients = cohort.patients_in(chunk)
        facts = facts_for(patients)
        for patient in patients:
            try:
                # outcomes only: no lapse dates or nearest ways (outlook), which a preview never shows
                before = engine.screen(facts[patient.pk], old, job.as_of, outlook=False)
                after = engine.screen(facts[patient.pk], new, job.as_of, outlook=False)
            except engine.EngineError:
                skipped += 1  # e.g. born after the as-of date
                continue
            for row in impact.compare(before, after):
                rows.append({"patient": patient.pk, "identifier": patient.identifier, "site": patient.site.name, **row})
        progress(job, job.done + len(chunk))
    pathways = list(dict.fromkeys([p.id for p in new.pathways] + [p.id for p in old.pathways]))
    finish(
        job,
        {
            "as_of": job.as_of.isoformat(),
            "published": published.version,
            "version": rule_set.version,
            "patients": len(ids),
            "skipped": skipped,
            "changed_patients": len({r["patient"] for r in rows}),
            "pathways": pathways,
            "counts": impact.tally(rows, pathways),
            "rows": rows,
        },
    )


Runner = Callable[[Job], None]
RUNNERS: dict[str, Runner] = {JobKind.IMPACT: run_impact}


def register_runner(kind: str, runner: Runner) -> None:
    """Let a higher layer run a kind of job (the clinic runs the cohort re-screen: it also applies
    each result to the referrals, which this app must not know about)."""
    RUNNERS[kind] = runner


def run_job(job_id: int) -> str:
    """Run a queued job once; a job already started or finished is left alone."""
    # claimed by one atomic update, so two workers never run the same job; each claim is an attempt
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not queued"
    job = Job.objects.select_related("rule_set", "created_by").get(pk=job_id)
    try:
        RUNNERS[JobKind(job.kind)](job)
    except TakenOver:
        log.warning("job %s: attempt %s was taken over by a later attempt; it stops here", job_id, job.attempts)
        return "taken over"
    except (OperationalError, InterfaceError) as err:
        # the database failed under the job (connection lost, a time limit): not the job's fault, try again
        log.exception("job %s: attempt %s stopped on a database error", job_id, job.attempts)
        _drop_broken_connection()
        try:  # the task (screening.tasks.run_job) sends it to the worker again
            stop_attempt(job, f"attempt {job.attempts} stopped on a database error ({_first_line(err)})")
        except (OperationalError, InterfaceError):
            log.exception("job %s: could not queue it again; resume_jobs will", job_id)
        raise
    except Exception as err:
        log.exception("job %s failed", job_id)
        try:
            finish(job, {}, JobStatus.FAILED, f"{type(err).__name__}: {err}")
        except TakenOver:
            pass  # a later attempt runs it now
        raise
    return job.status


def _drop_broken_connection() -> None:
    """Close the connection if the error broke it, so the next query connects again (the worker keeps
    its connection between queries; Django checks it only between tasks)."""
    if not connection.in_atomic_block and connection.connection is not None and not connection.is_usable():
        connection.close()


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def stale_after() -> timedelta:
    return timedelta(minutes=settings.JOB_STALE_MINUTES)


def stop_attempt(job: Job, reason: str) -> str:
    """Put a job whose attempt stopped back in the queue (the caller sends it to the worker), or mark it
    failed when it has had JOB_MAX_ATTEMPTS starts.

    Returns "queued", "failed", or "left" when the job is no longer that attempt's (another attempt
    runs it, or it was resumed or finished meanwhile)."""
    now = timezone.now()
    if job.attempts >= settings.JOB_MAX_ATTEMPTS:
        message = (
            f"{reason}. It was started {job.attempts} times, the most allowed, so it stopped for good: "
            f"{AFTER_FAILURE[JobKind(job.kind)]}."
        )
        failed = _own(job).update(status=JobStatus.FAILED, error=message, finished_at=now)
        if failed:
            log.error("job %s failed for good: %s", job.pk, message)
        return "failed" if failed else "left"
    if not _own(job).update(status=JobStatus.QUEUED, error=reason, heartbeat_at=now):
        return "left"
    log.warning("job %s queued again: %s", job.pk, reason)
    return "queued"


def _with_last_sign() -> QuerySet[Job]:
    return Job.objects.select_related("rule_set").annotate(
        last_sign=Coalesce("heartbeat_at", "started_at", "created_at")
    )


def stalled_jobs(older_than: timedelta | None = None) -> list[Job]:
    """Running jobs with no sign of life for ``older_than`` (default JOB_STALE_MINUTES)."""
    limit = timezone.now() - (stale_after() if older_than is None else older_than)
    return list(_with_last_sign().filter(status=JobStatus.RUNNING, last_sign__lt=limit).order_by("pk"))


def lost_jobs(older_than: timedelta | None = None) -> list[Job]:
    """Queued jobs that waited ``older_than`` while no job is running: no worker has their task."""
    limit = timezone.now() - (stale_after() if older_than is None else older_than)
    jobs = _with_last_sign()
    if jobs.filter(status=JobStatus.RUNNING, last_sign__gte=limit).exists():
        return []  # the worker is busy with another job: they wait their turn
    return list(jobs.filter(status=JobStatus.QUEUED, last_sign__lt=limit).order_by("pk"))


def stalled_reason(job: Job) -> str:
    since = show_datetime(job.last_sign_of_life)
    return f"attempt {job.attempts} stopped: no progress since {since} (the worker was stopped or lost)"
