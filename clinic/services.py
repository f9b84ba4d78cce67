"""The one way through a change: screen a patient and apply the result to the referrals.

Every screening that is stored goes through ``screen_and_apply``: the result
(with its trigger and acting user) and the referrals it opens, withdraws,
restores or returns to review commit in one transaction, so the queue never
disagrees with the stored result. It is called for a change to the record
(``on_record_changed``, once the change commits), a re-screen a person asks
for, the cohort re-screen after a publish (``run_rescreen_job``) and the
scheduled daily re-screen (``rescreen_patients``).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.db import InterfaceError, OperationalError, transaction

from accounts.models import User
from patients.models import Patient
from referrals.services import apply_screening_result
from screening import cohort, jobs
from screening.models import Job, RuleSet, RuleSetStatus, ScreeningResult, Trigger
from screening.services import screen_patient

log = logging.getLogger(__name__)
RESCREEN_CHUNK = 50  # progress is written, and the published version checked, this often


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
    patient's referrals, all or nothing. None when the engine refuses the patient (logged)."""
    stored = screen_patient(
        patient=patient, trigger=trigger, actor=actor, rule_set=rule_set, as_of=as_of, never_older=never_older
    )
    if stored is not None:
        apply_screening_result(result=stored)
    return stored


def on_record_changed(sender: Any, *, patient_id: int, actor: User | None = None, **kwargs: Any) -> None:
    """A change to the record committed: re-screen the patient as of today, attributed to who changed it."""
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is not None:
        screen_and_apply(patient=patient, trigger=Trigger.DATA, actor=actor)


def rescreen_patients(patient_ids: list[int], *, trigger: str, actor: User | None = None) -> int:
    """Re-screen the given patients with the published rules; returns how many were screened."""
    rule_set = RuleSet.objects.published()
    done = 0
    for patient in Patient.objects.filter(pk__in=patient_ids).order_by("pk"):
        try:
            done += screen_and_apply(patient=patient, trigger=trigger, actor=actor, rule_set=rule_set) is not None
        except Exception:  # one patient's bad record must not stop the others
            log.exception("re-screening patient %s failed", patient.pk)
    return done


def run_rescreen_job(job: Job) -> None:
    """Re-screen every patient with the job's (published) rule set, attributed to who published it;
    stop if a newer version replaced it.

    Resumable: each chunk's progress records the last patient done and the tally so far, so an
    attempt that starts after an earlier one stopped goes on from there, and skips every patient
    already screened with this rule set as of the job's date or later (the earlier attempt's last,
    unrecorded chunk, or a change to the record meanwhile): no patient gets a second result from
    the job, and every patient ends screened with the published rules. A database error stops the
    attempt (the job is queued again); one patient's bad record does not.
    """
    rule_set = job.rule_set
    resumed = job.attempts > 1
    tally: dict[str, Any] = {"screened": 0, "changed": 0, "failed": [], "already": 0}
    tally.update({key: job.result[key] for key in tally if key in job.result})
    after = job.result.get("after")  # the last patient an earlier attempt finished
    ids = cohort.patient_ids()
    todo = [pk for pk in ids if after is None or pk > after]
    jobs.start(job, len(ids), done=len(ids) - len(todo))
    for chunk in cohort.chunks(todo, RESCREEN_CHUNK):
        current = RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED).values_list("pk", "version").first()
        if current is None or current[0] != rule_set.pk:
            jobs.finish(job, {**_summary(tally), "superseded_by": current[1] if current else None})
            return
        done_before = _screened_with(rule_set, job.as_of, chunk) if resumed else set()
        for patient in cohort.patients_in(chunk):
            if patient.pk in done_before:
                tally["already"] += 1
                continue
            try:
                # never_older: a job that waited in the queue must not undo a fresher screening
                # (data entered since it was queued would be ignored and fresh flags withdrawn)
                stored = screen_and_apply(
                    patient=patient,
                    trigger=Trigger.RULES,
                    actor=job.created_by,
                    rule_set=rule_set,
                    as_of=job.as_of,
                    never_older=True,
                )
            except (OperationalError, InterfaceError):
                raise  # the database's trouble, not this patient's: the job is tried again from here
            except Exception:  # one patient's bad record must not stop everyone else's re-screen
                log.exception("re-screening patient %s failed", patient.pk)
                tally["failed"].append(patient.pk)
                continue
            tally["screened"] += stored is not None
            tally["changed"] += bool(stored and stored.changed)
        job.result = {**tally, "after": chunk[-1]}
        jobs.progress(job, job.done + len(chunk))
    jobs.finish(job, _summary(tally))


def _screened_with(rule_set: RuleSet, as_of: date, patient_ids: list[int]) -> set[int]:
    """Which of these patients have a result of this rule set as of ``as_of`` or later."""
    return set(
        ScreeningResult.objects.filter(patient_id__in=patient_ids, rule_set=rule_set, as_of__gte=as_of).values_list(
            "patient_id", flat=True
        )
    )


def _summary(tally: dict[str, Any]) -> dict[str, Any]:
    """The job's result: how many were screened, changed outcome, failed (and were already done)."""
    return {key: value for key, value in tally.items() if key != "already" or value}
