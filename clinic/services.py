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

from django.db import transaction

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
    stop if a newer version replaced it."""
    rule_set = job.rule_set
    ids = cohort.patient_ids()
    jobs.start(job, len(ids))
    changed = screened = 0
    failed: list[int] = []
    for chunk in cohort.chunks(ids, RESCREEN_CHUNK):
        current = RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED).values_list("pk", "version").first()
        if current is None or current[0] != rule_set.pk:
            jobs.finish(
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
            except Exception:  # one patient's bad record must not stop everyone else's re-screen
                log.exception("re-screening patient %s failed", patient.pk)
                failed.append(patient.pk)
                continue
            screened += stored is not None
            changed += bool(stored and stored.changed)
        jobs.progress(job, job.done + len(chunk))
    jobs.finish(job, {"screened": screened, "changed": changed, "failed": failed})
