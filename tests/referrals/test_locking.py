"""Two people acting on one referral at once: the second sees what changed; nothing is overwritten."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.urls import reverse

from referrals.models import EventKind, Referral, ReferralEvent, ReferralState
from referrals.services import ReferralError, add_note, assign_referral, transition_referral
from tests.clock import TODAY
from tests.conftest import client_for
from tests.referrals.factories import REVIEW_AFTER_DAYS, make_referral, move

S = ReferralState


@pytest.mark.django_db
def test_the_second_writer_gets_a_conflict_listing_what_changed(patient, staff, specialist) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    mine, theirs = Referral.objects.get(pk=referral.pk), Referral.objects.get(pk=referral.pk)  # both loaded version 2
    move(theirs, specialist, S.DEFERRED, reason="Wait for biopsy")
    with pytest.raises(ReferralError) as err:
        move(mine, staff, S.REFERRED)
    assert err.value.is_conflict
    assert [(e.actor, e.to_state, e.reason) for e in err.value.changes] == [
        (specialist, S.DEFERRED, f"Deferred until {TODAY + timedelta(days=REVIEW_AFTER_DAYS)}: Wait for biopsy"),
    ]
    referral.refresh_from_db()
    assert referral.state == S.DEFERRED and referral.version == 3 and referral.centre == ""


@pytest.mark.django_db
def test_assignment_is_version_checked_too(patient, staff, specialist) -> None:
    referral = make_referral(patient)
    assign_referral(referral=referral, actor=staff, seen_version=1, assignee=staff)
    with pytest.raises(ReferralError) as err:
        assign_referral(referral=referral, actor=specialist, seen_version=1, assignee=specialist)
    assert err.value.is_conflict and err.value.changes[0].kind == EventKind.ASSIGNED
    assert Referral.objects.get(pk=referral.pk).assigned_to == staff


@pytest.mark.django_db
def test_notes_never_conflict_but_make_later_writers_look_again(patient, staff, specialist) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    seen = referral.version
    add_note(referral=referral, actor=specialist, text="Patient phoned: prefers to wait")
    add_note(referral=referral, actor=staff, text="Noted")
    with pytest.raises(ReferralError) as err:
        transition_referral(
            referral=referral,
            actor=staff,
            seen_version=seen,
            to_state=S.REFERRED,
            today=TODAY,
            centre="X",
            referred_on=TODAY,
        )
    assert [e.reason for e in err.value.changes] == ["Patient phoned: prefers to wait", "Noted"]


@pytest.mark.django_db
def test_two_sessions_on_the_referral_page(patient, staff, specialist) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    url = reverse("referrals:transition", kwargs={"pk": referral.pk})
    first, second = client_for(staff), client_for(specialist)
    sent = {
        "to_state": "referred",
        "referred-version": referral.version,
        "referred-centre": "North centre",
        "referred-referred_on": TODAY.isoformat(),
    }
    assert first.post(url, sent).status_code == 302
    response = second.post(
        url,
        {
            "to_state": "not_referred",
            "not_referred-version": referral.version,
            "not_referred-not_referred_reason": "patient_declined",
            "not_referred-reason": "Declined",
        },
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert (
        "This referral changed since you opened it" in page and f"Referred to North centre on {TODAY:%d %b %Y}" in page
    )
    referral.refresh_from_db()
    assert referral.state == S.REFERRED and referral.not_referred_reason == ""


@pytest.mark.django_db
def test_a_conflict_keeps_what_the_user_typed_when_the_action_still_applies(patient, staff, specialist) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    add_note(referral=referral, actor=specialist, text="FYI")
    response = client_for(staff).post(
        reverse("referrals:transition", kwargs={"pk": referral.pk}),
        {
            "to_state": "deferred",
            "deferred-version": referral.version,
            "deferred-review_on": (TODAY + timedelta(days=REVIEW_AFTER_DAYS)).isoformat(),
            "deferred-reason": "my typed reason",
        },
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "my typed reason" in page and f'name="deferred-version" value="{referral.version + 1}"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("version", [None, "", "garbled"])
def test_a_transition_without_the_version_is_refused_with_409_and_says_so(patient, staff, version) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    review_on = (TODAY + timedelta(days=REVIEW_AFTER_DAYS)).isoformat()
    data = {"to_state": "deferred", "deferred-review_on": review_on, "deferred-reason": "my typed reason"}
    if version is not None:
        data["deferred-version"] = version
    response = client_for(staff).post(reverse("referrals:transition", kwargs={"pk": referral.pk}), data)
    assert response.status_code == 409
    page = response.content.decode()
    assert "did not say which version of this referral you opened" in page and "my typed reason" in page
    assert f'name="deferred-version" value="{referral.version}"' in page
    assert Referral.objects.get(pk=referral.pk).version == referral.version  # nothing written


@pytest.mark.django_db
def test_a_stale_or_missing_version_on_an_assignment_answers_409_and_keeps_the_choice(
    patient, staff, specialist
) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    url = reverse("referrals:assign", kwargs={"pk": referral.pk})
    seen = referral.version
    add_note(referral=referral, actor=specialist, text="Called the patient")
    response = client_for(staff).post(url, {"version": seen, "assignee": specialist.pk})
    assert response.status_code == 409
    page = response.content.decode()
    assert "This referral changed since you opened it" in page and "Called the patient" in page
    form = response.context["assign_form"]
    assert form["assignee"].value() == str(specialist.pk) and form["version"].value() == str(seen + 1)
    response = client_for(staff).post(url, {"assignee": specialist.pk})
    assert response.status_code == 409 and "did not say which version" in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).assigned_to is None
    assert client_for(staff).post(url, {"version": seen + 1, "assignee": specialist.pk}).status_code == 302
    assert Referral.objects.get(pk=referral.pk).assigned_to == specialist


@pytest.mark.django_db
def test_a_missing_version_is_refused_by_the_services_too(patient, staff) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    with pytest.raises(ReferralError) as err:
        assign_referral(referral=referral, actor=staff, seen_version=None, assignee=staff)
    assert err.value.is_conflict and err.value.missing
    with pytest.raises(ReferralError) as err:
        transition_referral(
            referral=referral,
            actor=staff,
            seen_version=None,
            to_state=S.REFERRED,
            today=TODAY,
            centre="X",
            referred_on=TODAY,
        )
    assert err.value.is_conflict and err.value.missing
    assert Referral.objects.get(pk=referral.pk).state == S.IN_REVIEW


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks between two connections: PostgreSQL only (CI runs the suite on it)",
)
@pytest.mark.django_db(transaction=True)
def test_lost_update_between_two_connections_on_postgresql(site_a, staff, specialist) -> None:
    """Two threads, each with its own database connection, load the same version and both transition."""
    from patients.models import Patient
    from tests.conftest import ensure_published_rules

    ensure_published_rules()
    patient = Patient.objects.create(site=site_a, identifier="LOCK-1")
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    seen = referral.version
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def act(name: str, actor, to_state: str, fields: dict) -> None:
        try:
            loaded = Referral.objects.get(pk=referral.pk)  # this thread's own connection
            barrier.wait(timeout=10)
            transition_referral(
                referral=loaded, actor=actor, seen_version=seen, to_state=to_state, today=TODAY, **fields
            )
            outcomes[name] = "saved"
        except ReferralError as err:
            outcomes[name] = "conflict" if err.is_conflict else f"error {err}"
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=act, args=("a", staff, S.REFERRED, {"centre": "A centre", "referred_on": TODAY})),
        threading.Thread(
            target=act, args=("b", specialist, S.NOT_REFERRED, {"not_referred_reason": "other", "reason": "B says no"})
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["conflict", "saved"], outcomes
    referral.refresh_from_db()
    assert referral.version == seen + 1
    events = list(ReferralEvent.objects.filter(referral=referral, version__gt=seen))
    assert len(events) == 1 and events[0].to_state == referral.state
    winner = "a" if outcomes["a"] == "saved" else "b"
    assert referral.state == {"a": S.REFERRED, "b": S.NOT_REFERRED}[winner]
