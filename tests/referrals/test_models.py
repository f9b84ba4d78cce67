"""What must never be stored is refused by the database itself, whatever writes it."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from referrals.models import Referral, ReferralEvent, ReferralState
from tests.referrals.factories import make_referral, move, stored_result

S = ReferralState


def raw_referral(patient, **fields) -> Referral:
    """A referral written straight through the ORM (no service, no check in Python)."""
    result = stored_result(patient)
    return Referral.objects.create(
        patient=patient, pathway="hsct", raised_on=result, flagged_at=timezone.now(), **fields
    )


@pytest.mark.django_db
def test_one_open_referral_per_patient_and_pathway_is_enforced_by_the_database(patient) -> None:
    raw_referral(patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_referral(patient, state=S.DEFERRED, review_on=date(2026, 12, 1))


@pytest.mark.django_db
def test_another_pathway_or_a_decided_referral_does_not_block(patient, staff) -> None:
    first = raw_referral(patient)
    Referral.objects.create(patient=patient, pathway="msc", raised_on=first.raised_on, flagged_at=timezone.now())
    move(move(first, staff, S.IN_REVIEW), staff, S.REFERRED)
    raw_referral(patient)  # the earlier one is decided: a new flag may open a new referral
    assert Referral.objects.filter(patient=patient, pathway="hsct").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"state": "approved"},
        {"state": S.REFERRED, "decided_at": timezone.now()},
        {"state": S.REFERRED, "centre": "X", "decided_at": timezone.now()},
        {"state": S.REFERRED, "referred_on": date(2026, 11, 1), "decided_at": timezone.now()},
        {"state": S.NOT_REFERRED, "decided_at": timezone.now()},
        {"state": S.NOT_REFERRED, "not_referred_reason": "bored", "decided_at": timezone.now()},
        {"state": S.REFERRED, "centre": "X", "referred_on": date(2026, 11, 1)},
        {"state": S.DEFERRED},
        {"state": S.NEEDS_DATA},
        {"version": 0},
        {"flag_withdrawn": True},
    ],
    ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items() if k != "decided_at"),
)
def test_check_constraints(patient, fields) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_referral(patient, **fields)


@pytest.mark.django_db
def test_events_are_append_only(patient, staff) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    event = referral.events.first()
    event.reason = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralEvent.objects.create(referral=referral, version=referral.version, kind="note", reason="same version")


@pytest.mark.django_db
def test_str(patient) -> None:
    referral = make_referral(patient)
    assert str(referral) == f"HSCT referral of {patient.pk} (new)"
    assert str(referral.events.first()) == f"Opened on a flag v1 of referral {referral.pk}"
