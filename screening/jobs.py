"""Cohort-wide background work with progress: impact previews and re-screening after publishing.

The task (``screening.tasks.run_job``) calls ``run_job`` with a ``Job`` id.
Progress is written every chunk of patients outside any transaction, so the
job page shows it while the work goes on.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from screening import cohort, engine, impact
from screening.facts import facts_for
from screening.models import Job, JobKind, JobStatus, RuleSet, RuleSetStatus, Trigger
from screening.services import parsed_rules, screen_patient

log = logging.getLogger(__name__)
RESCREEN_CHUNK = 50  # progress is written, and the published version checked, this often


def _start(job: Job, total: int) -> None:
    job.status, job.total, job.done, job.started_at = JobStatus.RUNNING, total, 0, timezone.now()
    job.save(update_fields=["status", "total", "done", "started_at"])


def _progress(job: Job, done: int) -> None:
    job.done = done
    Job.objects.filter(pk=job.pk).update(done=done)


def _finish(job: Job, result: dict[str, Any], status: str = JobStatus.DONE, error: str = "") -> None:
    job.status, job.result, job.error, job.finished_at = status, result, error, timezone.now()
    job.save(update_fields=["status", "result", "error", "finished_at", "done"])


def run_impact(job: Job) -> None:
    """Evaluate every current patient with the published rules and with the job's rule set; keep the changes."""
    rule_set = job.rule_set
    if rule_set.revision != job.revision:
        _finish(job, {}, JobStatus.FAILED, "the draft changed after the preview was asked for: run it again")
        return
    published = RuleSet.objects.published()
    old, new = parsed_rules(published), engine.parse_rule_set(rule_set.content)
    ids = cohort.patient_ids()
    _start(job, len(ids))
    rows: list[dict[str, Any]] = []
    skipped = 0
    for chunk in cohort.chunks(ids):
        patients = cohort.patients_in(chunk)
        facts = facts_for(patients)
        for patient in patients:
            try:
                before = engine.screen(facts[patient.pk], old, job.as_of)
                after = engine.screen(facts[patient.pk], new, job.as_of)
            except engine.EngineError:
                skipped += 1  # e.g. born after the as-of date
                continue
            for row in impact.compare(before, after):
                rows.append({"patient": patient.pk, "identifier": patient.identifier, "site": patient.site.name, **row})
        _progress(job, job.done + len(chunk))
    pathways = list(dict.fromkeys([p.id for p in new.pathways] + [p.id for p in old.pathways]))
    _finish(
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


def run_rescreen(job: Job) -> None:
    """Re-screen every patient with the job's (published) rule set; stop if a newer version replaced it."""
    rule_set = job.rule_set
    ids = cohort.patient_ids()
    _start(job, len(ids))
    changed = screened = 0
    failed: list[int] = []
    for chunk in cohort.chunks(ids, RESCREEN_CHUNK):
        current = RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED).values_list("pk", "version").first()
        if current is None or current[0] != rule_set.pk:
            _finish(
                job,
                {
                    "screened": screened,
                    "changed": changed,
                    "failed": failed,
                    "superseded_by": current[1] if current else None,
                },
            )
            return
        for patient in cohort.patients_in(chunk):
            try:
                with transaction.atomic():
                    # never_older: a job that waited in the queue must not undo a fresher screening
                    # (data entered since it was queued would be ignored and fresh flags withdrawn)
                    stored = screen_patient(
                        patient=patient, trigger=Trigger.RULES, rule_set=rule_set, as_of=job.as_of, never_older=True
                    )
            except Exception:  # one patient's bad record must not stop everyone else's re-screen
                log.exception("re-screening patient %s failed", patient.pk)
                failed.append(patient.pk)
                continue
            screened += stored is not None
            changed += bool(stored and stored.changed)
        _progress(job, job.done + len(chunk))
    _finish(job, {"screened": screened, "changed": changed, "failed": failed})


RUNNERS = {JobKind.IMPACT: run_impact, JobKind.RESCREEN: run_rescreen}


def run_job(job_id: int) -> str:
    """Run a queued job once; a job already started or finished is left alone."""
    # claimed by one atomic update, so two workers never run the same job
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "not queued"
    job = Job.objects.select_related("rule_set").get(pk=job_id)
    try:
        RUNNERS[JobKind(job.kind)](job)
    except Exception as err:
        log.exception("job %s failed", job_id)
        _finish(job, {}, JobStatus.FAILED, f"{type(err).__name__}: {err}")
        raise
    return job.status
