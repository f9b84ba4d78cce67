"""Demo referrals: a queue with something in every state, made through the services like real work.

``seed_demo_referrals(site)`` is meant for ``seed_demo``, after the demo
patients are imported. Patients with no screening result yet are screened
here (which opens their referrals); then a few referrals are moved along.
Safe to run twice: it does nothing once any referral of the site was acted on.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from clinic.services import screen_and_apply
from patients.models import Patient
from referrals.models import EventKind, Referral, ReferralEvent, ReferralState
from referrals.services import add_note, assign_referral, transition_referral
from screening.models import ScreeningResult, Trigger

S = ReferralState


@transaction.atomic
def seed_demo_referrals(site: object, *, today: date | None = None) -> int:
    """Move the site's new referrals into a spread of states; returns how many were moved."""
    today = today or timezone.localdate()
    screened = set(ScreeningResult.objects.filter(patient__site=site).values_list("patient_id", flat=True))
    for patient in Patient.objects.filter(site=site).exclude(pk__in=screened).order_by("pk"):
        screen_and_apply(patient=patient, trigger=Trigger.MANUAL, as_of=today)
    if ReferralEvent.objects.filter(referral__patient__site=site).exclude(kind=EventKind.OPENED).exists():
        return 0
    staff = User.objects.filter(sites=site, role=Role.STAFF).order_by("pk").first()
    specialist = User.objects.filter(sites=site, role=Role.SPECIALIST).order_by("pk").first()
    if staff is None or specialist is None:
        return 0
    waiting = list(Referral.objects.filter(patient__site=site, state=S.NEW).order_by("patient__identifier", "pathway"))

    def move(r: Referral, actor: User, to_state: str, **kwargs: object) -> Referral:
        return transition_referral(
            referral=r, actor=actor, seen_version=r.version, to_state=to_state, today=today, **kwargs
        )  # type: ignore[arg-type]

    def take(r: Referral) -> Referral:
        return move(
            assign_referral(referral=r, actor=staff, seen_version=r.version, assignee=staff), staff, S.IN_REVIEW
        )

    plan = [
        lambda r: add_note(
            referral=take(r),
            actor=specialist,
            text="Discussed at the lupus MDT; gather the renal biopsy report before deciding.",
        ),
        lambda r: move(
            take(r),
            staff,
            S.DEFERRED,
            review_on=today + timedelta(days=14),
            reason="Waiting for the response to the current induction course.",
        ),
        lambda r: move(
            take(r),
            specialist,
            S.REFERRED,
            centre="Regional stem cell evaluation centre (demo)",
            referred_on=today,
            reason="Letter and summary sent.",
        ),
        lambda r: move(
            take(r),
            specialist,
            S.NOT_REFERRED,
            not_referred_reason="patient_declined",
            reason="Patient prefers to continue the current treatment for now.",
        ),
        lambda r: move(take(r), staff, S.NEEDS_DATA, data_needed="A recent echocardiogram (LVEF) and DLCO."),
    ]
    moved = 0
    for referral, step in zip(waiting, plan, strict=False):
        step(referral)
        moved += 1
    return moved
