"""Cohort-wide background work with progress: impact previews and re-screening after publishing.

The task (``screening.tasks.run_job``) calls ``run_job`` with a ``Job`` id.
Impact previews run here; the re-screen after a publish is registered by the
clinic app (``clinic.services.run_rescreen_job``), which applies each result to
the referrals too.
Progress is written every chunk of patients outside any transaction, so the
job page shows it while the work goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from screening import cohort, engine, impact
from screening.facts import facts_for
from screening.models import Job, JobKind, JobStatus, RuleSet
from screening.services import parsed_rules

log = logging.getLogger(__name__)
RESCREEN_CHUNK = 50  # progress is written, and the published version checked, this often


def start(job: Job, total: int) -> None:
    job.status, job.total, job.done, job.started_at = JobStatus.RUNNING, total, 0, timezone.now()
    job.save(update_fields=["status", "total", "done", "started_at"])


def progress(job: Job, done: int) -> None:
    job.done = done
    Job.objects.filter(pk=job.pk).update(done=done)


def finish(job: Job, result: dict[str, Any], status: str = JobStatus.DONE, error: str = "") -> None:
    job.status, job.result, job.error, job.finished_at = status, result, error, timezone.now()
    job.save(update_fields=["status", "result", "error", "finished_at", "done"])


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
                before = engine.screen(facts[patient.pk], old, job.as_of)
                after = engine.screen(facts[patient.pk], new, job.as_of)
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
    # claimed by one atomic update, so two workers never run the same job
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "not queued"
    job = Job.objects.select_related("rule_set", "created_by").get(pk=job_id)
    try:
        RUNNERS[JobKind(job.kind)](job)
    except Exception as err:
        log.exception("job %s failed", job_id)
        finish(job, {}, JobStatus.FAILED, f"{type(err).__name__}: {err}")
        raise
    return job.status
