"""The one way through a change: screen a patient and apply the result to the referrals.

Every screening that is stored goes through ``screen_and_apply`` (one patient)
or ``screen_and_apply_chunk`` (a chunk of patients, set-wise): the result (with
its trigger and acting user) and the referrals it opens, withdraws, restores or
returns to review commit in one transaction, so the queue never disagrees with
the stored result. ``screen_and_apply`` is called for a change to the record
(``on_record_changed``, once the change commits) and a re-screen a person asks
for; the chunk for the cohort re-screen after a publish (``run_rescreen_job``)
and the scheduled daily re-screen (``rescreen_patients``, one range of patients
per task: ``clinic.tasks``). A re-screen that finds a patient's latest result
unchanged stores no row: it marks that result still valid as of the new date.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from patients.models import Patient
from referrals.models import Referral
from referrals.services import apply_screening_result
from screening import cohort, jobs
from screening.contract import Outcome, read_outcomes
from screening.models import Job, JobPart, RuleSet, RuleSetStatus, ScreeningResult, Trigger
from screening.services import ChunkScreening, screen_chunk, screen_patient

log = logging.getLogger(__name__)
# patients screened in one transaction; progress is written, and the published version checked, this often
RESCREEN_CHUNK = 200


@transaction.atomic
def screen_and_apply(
    *,
    patient: Patient,
    trigger: str,
    actor: User | None = None,
    rule_set: RuleSet | None = None,
    as_of: date | None = None,
    never_older: bool = False,
) -> ScreeningResult | None:
    """Screen the patient, store the result attributed to ``trigger`` and ``actor``, and apply it to the
    patient's referrals, all or nothing. None when the engine refuses the patient (logged).

    A re-screen that finds the latest result unchanged stores nothing and applies nothing: it returns
    that result, marked still valid as of the new date (``rechecked`` is True)."""
    stored = screen_patient(
        patient=patient, trigger=trigger, actor=actor, rule_set=rule_set, as_of=as_of, never_older=never_older
    )
    if stored is not None and not getattr(stored, "rechecked", False):
        apply_screening_result(result=stored)
    return stored


@transaction.atomic
def screen_and_apply_chunk(
    patient_ids: list[int],
    *,
    trigger: str,
    rule_set: RuleSet,
    as_of: date,
    actor: User | None = None,
    never_older: bool = False,
    skip_done: bool = False,
) -> ChunkScreening:
    """``screen_and_apply`` for a chunk of patients, set-wise, in one transaction: the patients locked
    and read in one query, screened by ``screening.services.screen_chunk`` (a fixed number of
    queries), then each stored result applied to the referrals when it can change them: its outcome
    changed, the patient has an open referral (its latest result and reasons follow), or a flagged
    pathway never had a referral. Unchanged results store nothing and touch no referral."""
    patients = list(Patient.objects.select_for_update().filter(pk__in=patient_ids).order_by("pk"))
    done = screen_chunk(
        patients,
        trigger=trigger,
        rule_set=rule_set,
        as_of=as_of,
        actor=actor,
        never_older=never_older,
        skip_done=skip_done,
    )
    quiet = [r for r in done.stored if not r.changed]
    with_open: set[int] = set()
    ever: set[tuple[int, str]] = set()
    if quiet:
        ids = [r.patient_id for r in quiet]
        with_open = set(Referral.objects.open().filter(patient_id__in=ids).values_list("patient_id", flat=True))
        ever = set(Referral.objects.filter(patient_id__in=ids).values_list("patient_id", "pathway"))
    for result in done.stored:
        if result.changed or result.patient_id in with_open or _unreferred_flag(result, ever):
            apply_screening_result(result=result)
    return done


def _unreferred_flag(result: ScreeningResult, ever: set[tuple[int, str]]) -> bool:
    """A pathway flagged that never had a referral (one is opened for it)."""
    return any(
        outcome is Outcome.FLAGGED and (result.patient_id, pathway) not in ever
        for pathway, outcome in read_outcomes(result.outcomes).items()
    )


def on_record_changed(sender: Any, *, patient_id: int, actor: User | None = None, **kwargs: Any) -> None:
    """A change to the record committed: re-screen the patient as of today, attributed to who changed it."""
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is not None:
        screen_and_apply(patient=patient, trigger=Trigger.DATA, actor=actor)


def rescreen_patients(
    patient_ids: list[int], *, trigger: str, actor: User | None = None, as_of: date | None = None
) -> int:
    """Re-screen the given patients with the published rules, a chunk at a time; returns how many were
    screened (stored or found unchanged). A patient already screened with the published rules as of
    ``as_of`` (today) is left (and counted): a second run the same day, or a range task sent again, does
    nothing twice."""
    rule_set = RuleSet.objects.published()
    as_of = as_of or timezone.localdate()
    done = 0
    for chunk in cohort.chunks(sorted(patient_ids), RESCREEN_CHUNK):
        screened = screen_and_apply_chunk(
            chunk, trigger=trigger, actor=actor, rule_set=rule_set, as_of=as_of, skip_done=True
        )
        done += screened.screened + len(screened.already)
    return done


def run_rescreen_job(job: Job | JobPart) -> None:
    """Re-screen every patient (a part of a split job: its range) with the job's (published) rule set,
    attributed to who published it; stop if a newer version replaced it.

    Set-wise, a chunk at a time (``screen_and_apply_chunk``: one transaction per chunk). Resumable:
    each chunk's progress records the last patient done and the tally so far, so an attempt that
    starts after an earlier one stopped goes on from there, and skips every patient already screened
    with this rule set as of the job's date or later (the earlier attempt's last, unrecorded chunk, or
    a change to the record meanwhile): no patient gets a second result from the job, and every
    patient ends screened with the published rules. A database error stops the attempt (the job is
    queued again); one patient's bad record does not.
    """
    rule_set = job.rule_set
    resumed = job.attempts > 1
    tally: dict[str, Any] = {"screened": 0, "changed": 0, "failed": [], "already": 0, "unchanged": 0}
    tally.update({key: job.result[key] for key in tally if key in job.result})
    after = job.result.get("after")  # the last patient an earlier attempt finished
    ids = jobs.patient_ids(job)
    todo = [pk for pk in ids if after is None or pk > after]
    jobs.start(job, len(ids), done=len(ids) - len(todo))
    for chunk in cohort.chunks(todo, RESCREEN_CHUNK):
        current = RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED).values_list("pk", "version").first()
        if current is None or current[0] != rule_set.pk:
            jobs.finish(job, {**_summary(tally), "superseded_by": current[1] if current else None})
            return
        # never_older: a job that waited in the queue must not undo a fresher screening
        # (data entered since it was queued would be ignored and fresh flags withdrawn)
        done = screen_and_apply_chunk(
            chunk,
            trigger=Trigger.RULES,
            actor=job.created_by,
            rule_set=rule_set,
            as_of=job.as_of,
            never_older=True,
            skip_done=resumed,
        )
        tally["already"] += len(done.already)
        tally["failed"].extend(done.failed)
        tally["screened"] += done.screened
        tally["unchanged"] += len(done.rechecked)
        tally["changed"] += sum(r.changed for r in done.stored)
        job.result = {**tally, "after": chunk[-1]}
        jobs.progress(job, job.done + len(chunk))
    jobs.finish(job, _summary(tally))


def _summary(tally: dict[str, Any]) -> dict[str, Any]:
    """The job's result: how many were screened, changed outcome, failed (and were already done, or
    found unchanged: no row stored)."""
    return {key: value for key, value in tally.items() if key not in ("already", "unchanged") or value}
