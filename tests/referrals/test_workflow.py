"""Every allowed and every refused transition, who may make it, and what each one records."""

from __future__ import annotations

from datetime import timedelta

import pytest

from referrals.models import EventKind, Referral, ReferralEvent, ReferralState
from referrals.services import ReferralError, transition_referral
from referrals.workflow import SYSTEM_TRANSITIONS, TRANSITIONS
from tests.clock import TODAY
from tests.referrals.factories import backdate, decision_fields, make_referral, move

S = ReferralState
PAIRS = [(a, b) for a in S.values for b in S.values]
ALLOWED = [(a, b) for a, b in PAIRS if b in TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in PAIRS if b not in TRANSITIONS[a]]


def test_the_table_is_the_issue_workflow() -> None:
    assert set(ALLOWED) == {
        (S.NEW, S.IN_REVIEW),
        (S.IN_REVIEW, S.REFERRED),
        (S.IN_REVIEW, S.NOT_REFERRED),
        (S.IN_REVIEW, S.DEFERRED),
        (S.IN_REVIEW, S.NEEDS_DATA),
        (S.DEFERRED, S.IN_REVIEW),
        (S.NEEDS_DATA, S.IN_REVIEW),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("source,target", ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_allowed_transition_records_actor_time_and_reason(source, target, patient, staff) -> None:
    referral = make_referral(patient, staff, state=source)
    before = referral.version
    moved = move(referral, staff, target)
    moved.refresh_from_db()
    assert moved.state == target and moved.version == before + 1
    event = ReferralEvent.objects.get(referral=moved, version=moved.version)
    assert (event.kind, event.from_state, event.to_state, event.actor) == (EventKind.TRANSITION, source, target, staff)
    assert event.reason and event.at is not None
    record = moved.history.latest()
    assert record.history_user == staff and record.history_change_reason == event.reason


@pytest.mark.django_db
@pytest.mark.parametrize("source,target", REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_refused_transition_changes_nothing(source, target, patient, staff) -> None:
    referral = make_referral(patient, staff, state=source)
    events = ReferralEvent.objects.filter(referral=referral).count()
    with pytest.raises(ReferralError) as err:
        move(referral, staff, target)
    assert err.value.field == "to_state"
    referral.refresh_from_db()
    assert referral.state == source and referral.version == events
    assert ReferralEvent.objects.filter(referral=referral).count() == events


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["specialist", "staff"])
def test_specialists_and_staff_may_decide(who, request, patient) -> None:
    actor = request.getfixturevalue(who)
    referral = make_referral(patient, actor, state=S.IN_REVIEW)
    assert move(referral, actor, S.REFERRED).decided_by == actor


@pytest.mark.django_db
def test_rules_admin_may_not_act(patient, rules_admin) -> None:
    referral = make_referral(patient)
    with pytest.raises(ReferralError, match="role"):
        move(referral, rules_admin, S.IN_REVIEW)


@pytest.mark.django_db
@pytest.mark.parametrize("source,target", ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_the_system_only_makes_the_automatic_transitions(source, target, patient, staff) -> None:
    referral = make_referral(patient, staff, state=source)
    if (source, target) in SYSTEM_TRANSITIONS:
        moved = transition_referral(
            referral=referral,
            actor=None,
            seen_version=None,
            to_state=target,
            today=TODAY,
            reason="automatic",
            **decision_fields(target),
        )
        assert moved.state == target and moved.events.latest("version").actor is None
    else:
        with pytest.raises(ReferralError, match="Only a person"):
            transition_referral(
                referral=referral,
                actor=None,
                seen_version=None,
                to_state=target,
                today=TODAY,
                **decision_fields(target),
            )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target,overrides,field",
    [
        (S.REFERRED, {"centre": "  "}, "centre"),
        (S.REFERRED, {"referred_on": None}, "referred_on"),
        (S.REFERRED, {"referred_on": TODAY + timedelta(days=1)}, "referred_on"),
        (S.NOT_REFERRED, {"not_referred_reason": ""}, "not_referred_reason"),
        (S.NOT_REFERRED, {"not_referred_reason": "bored"}, "not_referred_reason"),
        (S.NOT_REFERRED, {"reason": ""}, "reason"),
        (S.DEFERRED, {"review_on": None}, "review_on"),
        (S.DEFERRED, {"review_on": TODAY}, "review_on"),
        (S.DEFERRED, {"reason": " "}, "reason"),
        (S.NEEDS_DATA, {"data_needed": ""}, "data_needed"),
    ],
)
def test_a_decision_needs_its_details(target, overrides, field, patient, staff) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    with pytest.raises(ReferralError) as err:
        move(referral, staff, target, **overrides)
    assert err.value.field == field
    assert Referral.objects.get(pk=referral.pk).state == S.IN_REVIEW


@pytest.mark.django_db
def test_not_referred_records_the_structured_reason_and_note(patient, specialist) -> None:
    referral = make_referral(patient, specialist, state=S.IN_REVIEW)
    done = move(referral, specialist, S.NOT_REFERRED, not_referred_reason="contraindication", reason="LVEF 30 %")
    assert done.not_referred_reason == "contraindication" and done.decided_at is not None
    event = done.events.latest("version")
    assert event.reason == "Not referred (Contraindication): LVEF 30 %"
    assert event.detail == {"not_referred_reason": "contraindication"}


@pytest.mark.django_db
def test_referred_records_centre_and_date(patient, staff) -> None:
    done = move(
        backdate(make_referral(patient, staff, state=S.IN_REVIEW), days=10),
        staff,
        S.REFERRED,
        centre="St Elsewhere",
        referred_on=TODAY - timedelta(days=3),
    )
    assert (done.centre, done.referred_on) == ("St Elsewhere", TODAY - timedelta(days=3))
    assert done.events.latest("version").reason == f"Referred to St Elsewhere on {TODAY - timedelta(days=3)}"
