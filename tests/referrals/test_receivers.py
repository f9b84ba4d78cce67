"""Screening results open, withdraw, restore and resume referrals; nothing is ever referred automatically."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from patients.models import Patient
from referrals.models import EventKind, Referral, ReferralState
from screening.models import RuleSet
from tests.referrals.factories import import_case, make_referral, move, screen

S = ReferralState
pytestmark = pytest.mark.django_db


@pytest.fixture
def refractory(site_a, cases_day) -> Patient:
    return import_case(site_a, "refractory-nephritis")


def stricter_rules(max_age: int = 20) -> RuleSet:
    """A new rule-set version whose HSCT age range excludes the refractory-nephritis patient (30)."""
    published = RuleSet.objects.published()
    content = copy.deepcopy(published.content)
    content["version"] = "2026.1-strict"
    hsct = next(p for p in content["pathways"] if p["id"] == "hsct")
    next(c for c in hsct["inclusion"]["all"] if c["id"] == "hsct.age")["params"]["max_years"] = max_age
    return RuleSet.objects.create(name=content["name"], version=content["version"], content=content)


def set_birth_date(patient: Patient, born: date) -> None:
    Patient.objects.filter(pk=patient.pk).update(birth_date=born)
    patient.refresh_from_db()


def make_unflagged(patient: Patient) -> None:
    set_birth_date(patient, date(1950, 5, 14))  # 76: outside every age range


def test_a_flag_opens_one_referral_per_pathway_linked_to_the_result(refractory) -> None:
    result = screen(refractory)
    assert result.outcomes == {"hsct": "flagged", "msc": "flagged"}
    referrals = {r.pathway: r for r in Referral.objects.filter(patient=refractory)}
    assert set(referrals) == {"hsct", "msc"}
    hsct = referrals["hsct"]
    assert (hsct.state, hsct.raised_on, hsct.latest_result, hsct.flag_withdrawn) == (S.NEW, result, result, False)
    assert hsct.flagged_at == result.computed_at
    assert hsct.reasons and hsct.reasons[0].startswith("SLEDAI-2K 20 on 2026-10-15")
    assert hsct.events.get().kind == EventKind.OPENED


def test_rescreening_keeps_one_referral_and_follows_the_latest_result(refractory) -> None:
    first = screen(refractory)
    again = screen(refractory, trigger="data")
    assert Referral.objects.filter(patient=refractory).count() == 2
    hsct = Referral.objects.get(patient=refractory, pathway="hsct")
    assert (hsct.raised_on, hsct.latest_result, hsct.version) == (first, again, 1)


def test_no_flag_no_referral(site_a) -> None:
    patient = import_case(site_a, "mild-disease")
    screen(patient)
    assert not Referral.objects.exists()


def test_flag_withdrawn_by_new_data_keeps_the_referral_and_its_state(refractory, staff) -> None:
    screen(refractory)
    hsct = move(Referral.objects.get(patient=refractory, pathway="hsct"), staff, S.IN_REVIEW)
    make_unflagged(refractory)
    result = screen(refractory, trigger="data")
    assert result.change_cause == "new data"
    hsct.refresh_from_db()
    assert hsct.state == S.IN_REVIEW and hsct.flag_withdrawn and hsct.withdrawn_reason == "new data"
    event = hsct.events.latest("version")
    assert event.kind == EventKind.FLAG_WITHDRAWN and event.actor is None and "new data" in event.reason
    assert hsct.latest_result == result and hsct.reasons  # why it was flagged is kept
    # withdrawn once: a further unchanged result adds nothing
    screen(refractory, trigger="data")
    assert hsct.events.filter(kind=EventKind.FLAG_WITHDRAWN).count() == 1


def test_flag_withdrawn_by_new_rules_then_flagged_again(refractory) -> None:
    screen(refractory)
    strict = stricter_rules()
    result = screen(refractory, trigger="rules", rule_set=strict)
    assert result.outcomes["hsct"] != "flagged" and result.change_cause == "new rules"
    hsct = Referral.objects.get(patient=refractory, pathway="hsct")
    msc = Referral.objects.get(patient=refractory, pathway="msc")
    assert hsct.flag_withdrawn and hsct.withdrawn_reason == "new rules" and not msc.flag_withdrawn
    screen(refractory, trigger="rules", rule_set=RuleSet.objects.published())
    hsct.refresh_from_db()
    assert not hsct.flag_withdrawn and hsct.withdrawn_reason == ""
    assert hsct.events.latest("version").kind == EventKind.FLAG_RESTORED
    assert Referral.objects.filter(patient=refractory, pathway="hsct").count() == 1


def test_a_decided_referral_is_not_reopened_while_the_flag_stands(refractory, staff) -> None:
    screen(refractory)
    hsct = Referral.objects.get(patient=refractory, pathway="hsct")
    move(move(hsct, staff, S.IN_REVIEW), staff, S.NOT_REFERRED)
    screen(refractory, trigger="data")
    assert Referral.objects.filter(patient=refractory, pathway="hsct").count() == 1
    # the flag goes away and comes back: that is a new flag, so a new referral
    make_unflagged(refractory)
    screen(refractory, trigger="data")
    set_birth_date(refractory, date(1996, 5, 14))
    screen(refractory, trigger="data")
    assert list(
        Referral.objects.filter(patient=refractory, pathway="hsct").values_list("state", flat=True).order_by("pk")
    ) == [
        S.NOT_REFERRED,
        S.NEW,
    ]


def test_a_patient_flagged_before_referrals_existed_gets_one(refractory) -> None:
    from tests.referrals.factories import stored_result

    stored_result(refractory, {"hsct": "flagged", "msc": "flagged"})  # stored with no receiver listening
    assert not Referral.objects.exists()
    screen(refractory, trigger="rules")
    assert Referral.objects.filter(patient=refractory).count() == 2


@pytest.mark.parametrize("trigger,state", [("data", S.IN_REVIEW), ("manual", S.NEEDS_DATA), ("rules", S.NEEDS_DATA)])
def test_needs_data_returns_to_review_when_data_is_entered(refractory, staff, trigger, state) -> None:
    screen(refractory)
    hsct = move(move(Referral.objects.get(patient=refractory, pathway="hsct"), staff, S.IN_REVIEW), staff, S.NEEDS_DATA)
    screen(refractory, trigger=trigger)
    hsct.refresh_from_db()
    assert hsct.state == state
    if state == S.IN_REVIEW:
        event = hsct.events.latest("version")
        assert (event.from_state, event.to_state, event.actor) == (S.NEEDS_DATA, S.IN_REVIEW, None)
        assert hsct.data_needed == ""


def test_data_saved_through_the_record_services_rescreens_and_resumes(
    refractory, staff, specialist, django_capture_on_commit_callbacks
) -> None:
    from patients.models import Observation
    from patients.services import save_record

    screen(refractory)
    hsct = move(
        move(Referral.objects.get(patient=refractory, pathway="hsct"), staff, S.IN_REVIEW),
        staff,
        S.NEEDS_DATA,
        data_needed="Recent LVEF",
    )
    with django_capture_on_commit_callbacks(execute=True):
        save_record(
            actor=specialist, record=Observation(patient=refractory, code="lvef", date=date(2026, 10, 20), value=58)
        )
    hsct.refresh_from_db()
    assert hsct.state == S.IN_REVIEW


def test_nothing_is_ever_referred_automatically(refractory, site_a) -> None:
    others = [
        import_case(site_a, name) for name in ("contraindications-present", "steroid-dependent", "workup-pending")
    ]
    for patient in [refractory, *others]:
        screen(patient)
        screen(patient, trigger="data")
    screen(refractory, trigger="rules", rule_set=stricter_rules())
    assert Referral.objects.exists()
    assert set(Referral.objects.values_list("state", flat=True)) == {S.NEW}
    assert not Referral.objects.filter(decided_at__isnull=False).exists()


def test_contraindication_present_is_marked(site_a, cases_day) -> None:
    patient = import_case(site_a, "contraindications-present")
    screen(patient)
    hsct = Referral.objects.get(patient=patient, pathway="hsct")
    assert hsct.has_contraindication
    assert {
        "id": "cardiac_function",
        "label": "Cardiac function",
        "severity": "contraindication",
        "status": "present",
    } in hsct.cautions


def test_open_referral_refuses_a_second_open_one(patient) -> None:
    from referrals.services import open_referral
    from tests.referrals.factories import stored_result

    first = make_referral(patient)
    assert open_referral(result=stored_result(patient), pathway="hsct") is None
    assert Referral.objects.get() == first
