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

A job over more patients than ``JOB_PARTS`` is split when a worker claims it
(``split``): one ``JobPart`` per contiguous range of patient ids, each sent as
its own task (``screening.tasks.run_job_part``) so that as many worker
processes share the job. A part is claimed, attempted, heartbeated, found
stalled and resumed exactly like a whole job (the same functions take either);
its writes also move the parent's progress (the sum of its parts'), under the
parent's row lock, taken before the part's, so that two parts finishing at once
never lose an update nor both miss that they were the last. The parent is done
when every part is, with the parts' results merged (``MERGERS``: an impact
preview's result is the one the serial run stores), and failed as soon as one
part fails, with that part's error. Resuming sends again only the parts not
done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.dates import show_datetime
from screening import cohort, engine, impact
from screening.contract import content_hash
from screening.facts import facts_for, facts_to_json
from screening.models import Job, JobKind, JobPart, JobStatus, RuleSet, ScreeningResult
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


Work = Job | JobPart  # what a runner is given: a whole job, or one part of a split one
UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


def _own(job: Work) -> QuerySet[Any]:
    """The job (or part), while it is still running as this attempt."""
    return type(job).objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts)


def _write(job: Work, **fields: Any) -> None:
    if isinstance(job, JobPart):
        _write_part(job, **fields)
    elif not _own(job).update(**fields):
        raise TakenOver(f"job {job.pk}: attempt {job.attempts} no longer runs it")


def _write_part(part: JobPart, **fields: Any) -> None:
    """Write a part and carry it to its parent in one transaction: the parent's progress moves by the
    part's (F() deltas), and the part's end may end the parent.

    The parent's row is locked first, then the part's: every part write takes them in that order, so
    parts never deadlock, and a part that finishes sees every part that finished before it."""
    with transaction.atomic():
        Job.objects.select_for_update().filter(pk=part.job_id).values_list("pk", flat=True).first()
        before = _own(part).select_for_update().values("total", "done").first()
        if before is None:
            raise TakenOver(f"job {part.job_id} part {part.number}: attempt {part.attempts} no longer runs it")
        _own(part).update(**fields)
        grew = fields.get("total", before["total"]) - before["total"]
        went_on = fields.get("done", before["done"]) - before["done"]
        parent: dict[str, Any] = {
            "total": F("total") + grew,
            "done": F("done") + went_on,
            "heartbeat_at": timezone.now(),
        }
        status = fields.get("status")
        if status == JobStatus.QUEUED:  # an attempt stopped; the page of a finished job says so ("Earlier: ...")
            parent["error"] = f"part {part.number} of {_count(part)}: {fields.get('error', '')}"
        Job.objects.filter(pk=part.job_id).update(**parent)
        if status == JobStatus.FAILED:
            _fail_parent(part, str(fields.get("error", "")))
        elif status == JobStatus.DONE:
            _complete(part.job_id)


def _count(part: JobPart) -> int:
    return JobPart.objects.filter(job_id=part.job_id).count()


def _fail_parent(part: JobPart, error: str) -> None:
    """One part failed: the job fails with that part's error, and its other parts stop (a running one at
    its next write, which finds itself no longer running)."""
    now = timezone.now()
    message = f"part {part.number} of {_count(part)} ({part.patients}): {error}"
    Job.objects.filter(pk=part.job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.FAILED, error=message, finished_at=now
    )
    JobPart.objects.filter(job_id=part.job_id, status__in=UNFINISHED).exclude(pk=part.pk).update(
        status=JobStatus.FAILED, error=f"stopped: part {part.number} failed", finished_at=now
    )


def _complete(job_id: int) -> None:
    """End the job if every part is done, with the parts' results merged (the caller holds its lock)."""
    parts = list(JobPart.objects.filter(job_id=job_id).order_by("number").values_list("status", "result"))
    if any(status != JobStatus.DONE for status, _ in parts):
        return
    kind = Job.objects.values_list("kind", flat=True).get(pk=job_id)
    merged = MERGERS[JobKind(kind)]([result for _, result in parts])
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.DONE, result=merged, finished_at=timezone.now()
    )


def patient_ids(job: Work) -> list[int]:
    """The patients a job (every current patient) or a part (its range) covers, in pk order."""
    if isinstance(job, JobPart):
        return cohort.patient_ids_between(job.first_pk, job.last_pk)
    return cohort.patient_ids()


def start(job: Work, total: int, done: int = 0) -> None:
    """Set the cohort's size (and how much an earlier attempt already did)."""
    job.total, job.done, job.heartbeat_at = total, done, timezone.now()
    _write(job, total=total, done=done, heartbeat_at=job.heartbeat_at)


def progress(job: Work, done: int) -> None:
    """Write the progress, the heartbeat and the job's running result (a re-screen's place and tally)."""
    job.done, job.heartbeat_at = done, timezone.now()
    _write(job, done=done, heartbeat_at=job.heartbeat_at, result=job.result)


def finish(job: Work, result: dict[str, Any], status: str = JobStatus.DONE, error: str | None = None) -> None:
    """End the job; ``error`` says why it failed (None keeps the note of an earlier attempt's stop)."""
    job.status, job.result, job.finished_at = status, result, timezone.now()
    if error is not None:
        job.error = error
    _write(job, status=status, result=result, error=job.error, finished_at=job.finished_at, done=job.done)


def refusal(job: Job) -> str | None:
    """Why the job must not run at all (an impact preview of a revision the draft no longer has)."""
    if job.kind == JobKind.IMPACT and job.rule_set.revision != job.revision:
        return "the draft changed after the preview was asked for: run it again"
    return None


def _published_for(job: Work) -> RuleSet:
    """The version a preview compares with: for a part, the one published when its job was split, so
    that every part compares with the same version."""
    if isinstance(job, JobPart) and "published_id" in job.job.result:
        return RuleSet.objects.get(pk=job.job.result["published_id"])
    return RuleSet.objects.published()


def run_impact(job: Work) -> None:
    """Evaluate every current patient (a part: its range) with the published rules and with the job's
    rule set; keep the changes. Nothing is stored but the job's result, so running it again (a part
    resumed) computes the same result afresh."""
    rule_set = job.rule_set
    if reason := refusal(job.job if isinstance(job, JobPart) else job):
        finish(job, {}, JobStatus.FAILED, reason)
        return
    published = _published_for(job)
    old, new = parsed_rules(published), engine.parse_rule_set(rule_set.content)
    ids = patient_ids(job)
    start(job, len(ids))
    rows: list[dict[str, Any]] = []
    skipped = 0
    for chunk in cohort.chunks(ids):
        patients = cohort.patients_in(chunk)
        facts = facts_for(patients)
        stored = stored_outcomes(chunk, published, job.as_of)
        for patient in patients:
            try:
                # outcomes and criteria only: no lapse dates, nearest ways or cautions, which a preview never shows
                after = engine.screen(facts[patient.pk], new, job.as_of, outlook=False, cautions=False)
                if _same_as_stored(stored.get(patient.pk), facts[patient.pk], after):
                    continue  # the published rules' outcomes are stored for these facts and day: no change
                before = engine.screen(facts[patient.pk], old, job.as_of, outlook=False, cautions=False)
            except engine.EngineError:
                skipped += 1  # e.g. born after the as-of date
                continue
            for row in impact.compare(before, after):
                rows.append({"patient": patient.pk, "identifier": patient.identifier, "site": patient.site.name, **row})
        progress(job, job.done + len(chunk))
    pathways = list(dict.fromkeys([p.id for p in new.pathways] + [p.id for p in old.pathways]))
    head = {"as_of": job.as_of.isoformat(), "published": published.version, "version": rule_set.version}
    finish(job, _impact_result(head, len(ids), skipped, pathways, rows))


def stored_outcomes(patient_ids: list[int], published: RuleSet, day: date) -> dict[int, tuple[str, dict[str, str]]]:
    """Patient → (facts hash, outcomes) of their latest stored result, where that result holds the
    published rules' outcomes on ``day``: screened with them as of that day, found unchanged by the
    re-screen of that day, or stable from its last check until after that day (one query). The engine is pure, so the same rules on the same facts and day
    give the same outcomes: a preview need not evaluate the published rules again for these patients
    unless the draft's outcomes differ."""
    # the latest rows by the (patient, -id) index, then sorted out here: with the conditions in the query,
    # PostgreSQL estimated one row and joined the grouping to every result (0.4 s a chunk instead of 2 ms)
    latest = ScreeningResult.objects.latest_of(patient_ids).values_list(
        "patient_id", "rule_set_id", "as_of", "checked_on", "stable_until", "facts_blob_id", "outcomes"
    )
    return {
        pk: (sha, outcomes)
        for pk, rule_set_id, as_of, checked_on, until, sha, outcomes in latest
        if sha and rule_set_id == published.pk and _holds_on(day, as_of, checked_on, until)
    }


def _holds_on(day: date, as_of: date, checked_on: date, stable_until: date | None) -> bool:
    """Whether a stored result's outcomes are those of its facts on ``day``: the day it was computed or
    last found unchanged, or any day from then until its facts' next turning day (``stable_until``)."""
    return day in (as_of, checked_on) or (stable_until is not None and checked_on <= day < stable_until)


def _same_as_stored(
    stored: tuple[str, dict[str, str]] | None, facts: engine.PatientFacts, after: engine.ScreeningResult
) -> bool:
    """Whether the draft's outcomes equal the stored published outcomes of these very facts."""
    if stored is None:
        return False
    sha, outcomes = stored
    if {p.id: p.outcome.value for p in after.pathways} != outcomes:
        return False  # (checked before hashing the facts: a change needs the full evaluation anyway)
    return content_hash(facts_to_json(facts)) == sha


def _impact_result(
    head: dict[str, Any], patients: int, skipped: int, pathways: list[str], rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the preview page shows: the counts per pathway and direction, and the rows of the patients
    that change (in patient order)."""
    return {
        **head,
        "patients": patients,
        "skipped": skipped,
        "changed_patients": len({r["patient"] for r in rows}),
        "pathways": pathways,
        "counts": impact.tally(rows, pathways),
        "rows": rows,
    }


def merge_impact(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The parts' previews (in range order) as one: the result the serial preview stores."""
    first = results[0]
    head = {key: first[key] for key in ("as_of", "published", "version")}
    rows = [row for result in results for row in result["rows"]]
    return _impact_result(
        head,
        sum(r["patients"] for r in results),
        sum(r["skipped"] for r in results),
        first["pathways"],
        rows,
    )


def merge_tallies(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Tallies added up: numbers summed, lists joined in part order, anything else the first part's that
    has it (a re-screen's ``superseded_by``)."""
    merged: dict[str, Any] = {}
    for result in results:
        for key, value in result.items():
            if key not in merged:
                merged[key] = list(value) if isinstance(value, list) else value
            elif isinstance(value, bool) or value is None:
                continue
            elif isinstance(value, int | float) and isinstance(merged[key], int | float):
                merged[key] += value
            elif isinstance(value, list):
                merged[key].extend(value)
            elif merged[key] is None:
                merged[key] = value
    return merged


Runner = Callable[[Work], None]
Merger = Callable[[list[dict[str, Any]]], dict[str, Any]]
RUNNERS: dict[str, Runner] = {JobKind.IMPACT: run_impact}
MERGERS: dict[str, Merger] = {JobKind.IMPACT: merge_impact}


def register_runner(kind: str, runner: Runner, merge: Merger = merge_tallies) -> None:
    """Let a higher layer run a kind of job (the clinic runs the cohort re-screen: it also applies
    each result to the referrals, which this app must not know about), and say how its parts'
    results make the job's (by default: tallies added up)."""
    RUNNERS[kind] = runner
    MERGERS[kind] = merge


def parts_wanted() -> int:
    return max(1, int(getattr(settings, "JOB_PARTS", 1)))


def split(job: Job) -> list[int]:
    """Split a claimed job into ``JOB_PARTS`` parts of about equal numbers of patients (contiguous pk
    ranges; the first and last open-ended, so a patient added meanwhile still falls in one) and
    return their ids; [] when the job runs whole (one part wanted, or fewer than two patients)."""
    ids = cohort.patient_ids()
    shares = cohort.ranges(ids, parts_wanted()) if len(ids) > 1 else []
    if len(shares) < 2:
        return []
    sizes = [cohort.count_between(ids, first, last) for first, last in shares]
    result = {"published_id": RuleSet.objects.published().pk} if job.kind == JobKind.IMPACT else {}
    with transaction.atomic():
        parts = JobPart.objects.bulk_create(
            JobPart(
                job=job,
                number=n + 1,
                first_pk=None if n == 0 else first,
                last_pk=None if n == len(shares) - 1 else last,
                total=size,
            )
            for n, ((first, last), size) in enumerate(zip(shares, sizes, strict=True))
        )
        job.total, job.done, job.result, job.heartbeat_at = len(ids), 0, result, timezone.now()
        _write(job, total=job.total, done=0, result=result, heartbeat_at=job.heartbeat_at)
    return [part.pk for part in parts]


def run_parts_here(part_ids: list[int]) -> None:
    """Run the parts one after the other in this process (a direct call: tests, scripts); the task
    (``screening.tasks.run_job``) sends each to the workers instead."""
    for pk in part_ids:
        run_part(pk)  # a part's error is recorded on it and its job, then raised, as a whole job's is


def run_job(job_id: int, send_parts: Callable[[list[int]], None] | None = None) -> str:
    """Run a queued job once, whole or split into parts given to ``send_parts`` (by default run here,
    one after the other); a job already started or finished is left alone.

    The parts are committed before they are sent (a worker runs a job in autocommit)."""
    send_parts = send_parts or run_parts_here
    # claimed by one atomic update, so two workers never run the same job; each claim is an attempt
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not queued"
    job = Job.objects.select_related("rule_set", "created_by").get(pk=job_id)
    if job.attempts > 1 and job.parts.exists():  # split by an earlier attempt: send what is not done
        send_parts(list(job.parts.filter(status=JobStatus.QUEUED).values_list("pk", flat=True)))
        return "parts sent"
    parts: list[int] = []

    def run() -> None:
        nonlocal parts
        if (reason := refusal(job)) is not None:
            finish(job, {}, JobStatus.FAILED, reason)
        elif parts_wanted() > 1 and (parts := split(job)):
            return
        else:
            RUNNERS[JobKind(job.kind)](job)

    outcome = _attempt(job, run)
    if parts:
        send_parts(parts)
        return f"split into {len(parts)} parts"
    return outcome


def run_part(part_id: int) -> str:
    """Run a queued part of a running job once (the same claim, attempts and failures as a whole job)."""
    now = timezone.now()
    claimed = JobPart.objects.filter(pk=part_id, status=JobStatus.QUEUED, job__status=JobStatus.RUNNING).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not queued"
    part = JobPart.objects.select_related("job__rule_set", "job__created_by").get(pk=part_id)
    Job.objects.filter(pk=part.job_id).update(heartbeat_at=now)
    return _attempt(part, lambda: RUNNERS[JobKind(part.kind)](part))


def _name(job: Work) -> str:
    return f"job {job.job_id} part {job.number}" if isinstance(job, JobPart) else f"job {job.pk}"


def _attempt(job: Work, run: Callable[[], None]) -> str:
    """One attempt at a claimed job or part: a later attempt taking it over stops this one, a database
    error queues it again, any other error fails it with the error."""
    name = _name(job)
    try:
        run()
    except TakenOver:
        log.warning("%s: attempt %s was taken over by a later attempt; it stops here", name, job.attempts)
        return "taken over"
    except (OperationalError, InterfaceError) as err:
        # the database failed under the job (connection lost, a time limit): not the job's fault, try again
        log.exception("%s: attempt %s stopped on a database error", name, job.attempts)
        _drop_broken_connection()
        try:  # the task (screening.tasks.run_job / run_job_part) sends it to the worker again
            stop_attempt(job, f"attempt {job.attempts} stopped on a database error ({_first_line(err)})")
        except (OperationalError, InterfaceError):
            log.exception("%s: could not queue it again; resume_jobs will", name)
        raise
    except Exception as err:
        log.exception("%s failed", name)
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


def stop_attempt(job: Work, reason: str) -> str:
    """Put a job (or part) whose attempt stopped back in the queue (the caller sends it to the worker),
    or mark it failed when it has had JOB_MAX_ATTEMPTS starts (a part failing fails its job).

    Returns "queued", "failed", or "left" when the job is no longer that attempt's (another attempt
    runs it, or it was resumed or finished meanwhile)."""
    now = timezone.now()
    if job.attempts >= settings.JOB_MAX_ATTEMPTS:
        message = (
            f"{reason}. It was started {job.attempts} times, the most allowed, so it stopped for good: "
            f"{AFTER_FAILURE[JobKind(job.kind)]}."
        )
        try:
            _write(job, status=JobStatus.FAILED, error=message, finished_at=now)
        except TakenOver:
            return "left"
        log.error("%s failed for good: %s", _name(job), message)
        return "failed"
    try:
        _write(job, status=JobStatus.QUEUED, error=reason, heartbeat_at=now)
    except TakenOver:
        return "left"
    log.warning("%s queued again: %s", _name(job), reason)
    return "queued"


def _with_last_sign() -> QuerySet[Job]:
    return Job.objects.select_related("rule_set").annotate(
        last_sign=Coalesce("heartbeat_at", "started_at", "created_at")
    )


def stalled_jobs(older_than: timedelta | None = None) -> list[Job]:
    """Running jobs run whole with no sign of life for ``older_than`` (default JOB_STALE_MINUTES); a
    split job lives in its parts (``stalled_parts``)."""
    limit = timezone.now() - (stale_after() if older_than is None else older_than)
    return list(_with_last_sign().filter(_whole(), status=JobStatus.RUNNING, last_sign__lt=limit).order_by("pk"))


def _parts_with_last_sign() -> QuerySet[JobPart]:
    return JobPart.objects.select_related("job__rule_set").annotate(
        last_sign=Coalesce("heartbeat_at", "started_at", "created_at")
    )


def stalled_parts(older_than: timedelta | None = None) -> list[JobPart]:
    """Running parts of running jobs with no sign of life for ``older_than``."""
    limit = timezone.now() - (stale_after() if older_than is None else older_than)
    return list(
        _parts_with_last_sign()
        .filter(status=JobStatus.RUNNING, job__status=JobStatus.RUNNING, last_sign__lt=limit)
        .order_by("job", "number")
    )


def _whole() -> Any:
    """Jobs not split into parts (a split job's heartbeat is its parts')."""
    return ~Exists(JobPart.objects.filter(job=OuterRef("pk")))


def _busy(limit: Any) -> bool:
    """A worker showed life since ``limit``: queued work may just be waiting its turn."""
    return (
        _with_last_sign().filter(_whole(), status=JobStatus.RUNNING, last_sign__gte=limit).exists()
        or _parts_with_last_sign().filter(status=JobStatus.RUNNING, last_sign__gte=limit).exists()
    )


def lost_jobs(older_than: timedelta | None = None) -> list[Job]:
    """Queued jobs that waited ``older_than`` while no job is running: no worker has their task."""
    limit = timezone.now() - (stale_after() if older_than is None else older_than)
    if _busy(limit):
        return []  # the worker is busy with another job: they wait their turn
    return list(_with_last_sign().filter(status=JobStatus.QUEUED, last_sign__lt=limit).order_by("pk"))


def lost_parts(older_than: timedelta | None = None) -> list[JobPart]:
    """Queued parts of running jobs that waited ``older_than`` while nothing is running."""
    limit = timezone.now() - (stale_after() if older_than is None else older_than)
    if _busy(limit):
        return []
    return list(
        _parts_with_last_sign()
        .filter(status=JobStatus.QUEUED, job__status=JobStatus.RUNNING, last_sign__lt=limit)
        .order_by("job", "number")
    )


def stalled_reason(job: Work) -> str:
    since = show_datetime(job.last_sign_of_life)
    return f"attempt {job.attempts} stopped: no progress since {since} (the worker was stopped or lost)"
