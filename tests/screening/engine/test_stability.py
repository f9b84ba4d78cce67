"""``stable_until``: the screening of fixed facts is the same on every day before it.

Held to screening every day: on the public cases and on generated patients, under the default rules, the
earlier default and a rule set holding every criterion type (each one alone as a pathway's tree, and all
of them under ``any`` and ``all``), the result's signature (outcomes, criteria, cautions, missing data,
nearest ways, lapse date, explanations up to their numbers) does not change before that day.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.contract import build_trace, signature
from screening.engine import PatientFacts, RuleSet, case_as_of, facts_from_case, parse_rule_set, screen
from screening.engine.lapse import HORIZON_DAYS
from screening.engine.stability import stable_until
from tests.screening.engine.helpers import (
    AS_OF,
    BASE_PARAMS,
    assessment,
    condition,
    course,
    criterion_node,
    default_rules,
    default_rules_json,
    facts,
    load_case,
    rule_set_with,
)
from tests.screening.engine.test_properties import patients
from tests.shipped import case_paths, earlier_rules_path

# How far the brute force looks: the whole lapse horizon would take minutes per example.
LOOK = 200


@cache
def earlier_rules() -> RuleSet:
    return parse_rule_set(json.loads(earlier_rules_path("2026.1").read_text(encoding="utf-8")))


@cache
def every_type_rules() -> RuleSet:
    """A pathway per criterion type, and one each with all of them under ``any`` and under ``all``."""
    types = sorted(BASE_PARAMS)
    pathways = [
        {"id": f"t{i}", "label": name, "inclusion": criterion_node(f"t{i}", name)} for i, name in enumerate(types)
    ]
    for op in ("any", "all"):
        children = [criterion_node(f"{op}{i}", name) for i, name in enumerate(types)]
        pathways.append({"id": op, "label": op, "inclusion": {"id": op, op: children}})
    data = {
        "format": "sle-screening-rules/1",
        "name": "Every type",
        "version": "t1",
        "pathways": pathways,
        "cautions": default_rules_json()["cautions"][:0],
        "drugs": default_rules_json()["drugs"],
    }
    return parse_rule_set(data)


RULES = {"current": default_rules, "2026.1": earlier_rules, "every type": every_type_rules}


def sig(facts_: PatientFacts, rules: RuleSet, day: date) -> str:
    return signature(build_trace(screen(facts_, rules, day), case_id="x"))


def first_change(facts_: PatientFacts, rules: RuleSet, as_of: date, until: date) -> date | None:
    """The first day in (as_of, until) whose screening's signature differs from as_of's, trying each."""
    before = sig(facts_, rules, as_of)
    day = as_of + timedelta(days=1)
    while day < until:
        if sig(facts_, rules, day) != before:
            return day
        day += timedelta(days=1)
    return None


def assert_stable(facts_: PatientFacts, rules: RuleSet, as_of: date) -> date:
    until = stable_until(facts_, rules, as_of)
    assert as_of < until <= as_of + timedelta(days=HORIZON_DAYS)
    changed = first_change(facts_, rules, as_of, min(until, as_of + timedelta(days=LOOK)))
    assert changed is None, f"changed on {changed}, stable until {until}"
    return until


@pytest.mark.parametrize("which", sorted(RULES))
@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_every_public_case_is_the_same_on_every_day_before_stable_until(path: Any, which: str) -> None:
    case = load_case(path)
    assert_stable(facts_from_case(case), RULES[which](), case_as_of(case))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient=patients(), which=st.sampled_from(sorted(RULES)), later=st.sampled_from([0, 45, 120, 400]))
def test_generated_patients_are_the_same_on_every_day_before_stable_until(
    patient: PatientFacts, which: str, later: int
) -> None:
    """Generated records lie mostly near AS_OF: screened later, they are further apart and last longer."""
    as_of = AS_OF + timedelta(days=later)
    if patient.birth_date is not None and patient.birth_date > as_of:
        return
    assert_stable(patient, RULES[which](), as_of)


def test_a_record_far_from_every_window_leaves_the_screening_stable_for_long() -> None:
    """Not a day-by-day re-evaluation in disguise: a record with nothing near lasts weeks."""
    patient = facts(birth_date=date(1990, 1, 10), assessments=())
    assert stable_until(patient, default_rules(), AS_OF) >= AS_OF + timedelta(days=60)


def test_a_window_letting_go_of_a_record_ends_the_stability() -> None:
    seen = AS_OF - timedelta(days=20)
    patient = facts(birth_date=date(1990, 1, 10), assessments=(_assessment(seen),))
    until = stable_until(patient, default_rules(), AS_OF)
    # the SLEDAI-2K windows of the default rules (30 days): the record leaves them 31 days after its date
    assert until <= seen + timedelta(days=31)


def test_a_record_dated_after_as_of_ends_the_stability_when_it_is_known() -> None:
    later = AS_OF + timedelta(days=40)
    patient = facts(birth_date=date(1990, 1, 10), assessments=(_assessment(later),))
    assert stable_until(patient, default_rules(), AS_OF) <= later


def test_a_birthday_ends_the_stability() -> None:
    patient = facts(birth_date=date(1990, AS_OF.month, AS_OF.day + 10))
    assert stable_until(patient, default_rules(), AS_OF) <= date(AS_OF.year, AS_OF.month, AS_OF.day + 10)


def test_a_29_february_birthday_is_reached_on_1_march_in_a_common_year() -> None:
    patient = facts(birth_date=date(1996, 2, 29))
    as_of = date(2027, 2, 20)
    assert stable_until(patient, default_rules(), as_of) <= date(2027, 3, 1)


def test_an_ongoing_course_reaching_an_exposure_threshold_ends_the_stability() -> None:
    """The day the covered days reach the threshold is none of the records' dates plus a day count: an
    earlier course adds its 150 days to the 201 of the ongoing one, so 400 are reached 49 days on (and the
    nearest way to a flag, "1 more day", reads differently from "2 more days" one day before)."""
    rules = rule_set_with(criterion_node("p", "exposure_days_at_least", min_days=400))
    earlier = course("mycophenolate_mofetil", AS_OF - timedelta(days=2000), AS_OF - timedelta(days=1851), dose="2000")
    ongoing = course("mycophenolate_mofetil", AS_OF - timedelta(days=200), None, dose="2000")
    patient = facts(birth_date=None, treatments=(earlier, ongoing))
    assert stable_until(patient, rules, AS_OF) == AS_OF + timedelta(days=48)
    assert first_change(patient, rules, AS_OF, AS_OF + timedelta(days=60)) == AS_OF + timedelta(days=48)
    # without the ongoing course nothing moves until the horizon
    ended = facts(birth_date=None, treatments=(earlier,))
    assert stable_until(ended, rules, AS_OF) == AS_OF + timedelta(days=HORIZON_DAYS)


def test_a_lapse_coming_into_the_horizon_ends_the_stability() -> None:
    """A flag whose lapse is more than a year away has no lapse date yet; the result changes on the day
    the lapse search, a year ahead, first reaches it."""
    rules = rule_set_with(criterion_node("p", "condition_present", max_age_days=1000))
    seen = AS_OF - timedelta(days=500)  # leaves the window 1,001 days after it was recorded: 501 days on
    patient = facts(birth_date=None, conditions=(condition("pregnancy", "present", seen),))
    changed = first_change(patient, rules, AS_OF, AS_OF + timedelta(days=HORIZON_DAYS))
    assert changed == seen + timedelta(days=1001 - HORIZON_DAYS)
    assert stable_until(patient, rules, AS_OF) <= changed


def test_an_age_limit_coming_into_the_horizon_ends_the_stability() -> None:
    rules = rule_set_with(criterion_node("p", "age_between", min_years=18, max_years=60))
    birthday = AS_OF + timedelta(days=400)  # the 61st birthday: no longer between 18 and 60
    patient = facts(birth_date=birthday.replace(year=birthday.year - 61))
    changed = first_change(patient, rules, AS_OF, AS_OF + timedelta(days=HORIZON_DAYS))
    assert changed == birthday - timedelta(days=HORIZON_DAYS)
    assert stable_until(patient, rules, AS_OF) <= changed


def test_a_one_day_stretch_left_in_a_glucocorticoid_span_ends_the_stability() -> None:
    """The stretch before a course shrinks as the span moves on: "from D to E" becomes "on E" the day
    before it goes, and the words are part of the signature."""
    rules = rule_set_with(criterion_node("p", "glucocorticoid_dependent"))  # above 7.5 mg/day for 180 days
    patient = facts(birth_date=None, treatments=(course("prednisolone", AS_OF - timedelta(days=150), None, dose=10),))
    changed = first_change(patient, rules, AS_OF, AS_OF + timedelta(days=60))
    assert changed == AS_OF + timedelta(days=28)
    assert stable_until(patient, rules, AS_OF) == changed


def test_stable_until_is_never_past_the_horizon() -> None:
    assert stable_until(facts(birth_date=None), default_rules(), AS_OF) == AS_OF + timedelta(days=HORIZON_DAYS)


def test_the_clock_of_a_rule_set_is_worked_out_again_for_another_rule_set() -> None:
    earlier = course("mycophenolate_mofetil", AS_OF - timedelta(days=2000), AS_OF - timedelta(days=1851), dose="2000")
    ongoing = course("mycophenolate_mofetil", AS_OF - timedelta(days=200), None, dose="2000")
    patient = facts(birth_date=None, treatments=(earlier, ongoing))
    exposure = rule_set_with(criterion_node("p", "exposure_days_at_least", min_days=400))
    diagnosis = rule_set_with(criterion_node("p", "sle_diagnosis"))
    assert stable_until(patient, exposure, AS_OF) == AS_OF + timedelta(days=48)
    assert stable_until(patient, diagnosis, AS_OF) == AS_OF + timedelta(days=HORIZON_DAYS)
    assert stable_until(patient, exposure, AS_OF) == AS_OF + timedelta(days=48)


def _assessment(on: date) -> Any:
    return assessment(on, present=("arthritis", "rash"))
