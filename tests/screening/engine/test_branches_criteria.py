"""Criterion branches the main criterion tests leave out: null and overlong windows, doses recorded in
another unit, drugs that set both dose conditions, and the exact wording of explanations and
missing-data lines there (docs/rule-sets.md, docs/criteria.md)."""

from __future__ import annotations

import copy
import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from screening.engine import CriterionResult, PatientFacts, Result, RuleSet, parse_rule_set, screen
from screening.engine.adequacy import course_adequacy
from screening.engine.criteria import num
from tests.screening.engine.helpers import (
    AS_OF,
    assessment,
    condition,
    course,
    criterion_node,
    days_before,
    default_rules_json,
    facts,
    manifestation,
    observation,
    rule_set_with,
    run,
)

MET, NOT_MET, UNKNOWN = Result.MET, Result.NOT_MET, Result.UNKNOWN
HUGE_WINDOWS = [10**6, 10**10]  # past 0001-01-01, and past what a timedelta can hold


def run_past_the_limits(type_name: str, patient: PatientFacts, *, params: dict[str, Any] | None = None, **huge: Any):
    """As ``run``, with parameters beyond what a rule-set file may hold (``parse_rule_set`` refuses windows over
    limits.MAX_WINDOW_DAYS): built in code, the engine still evaluates them without leaving the calendar."""
    rules = rule_set_with(criterion_node("p", type_name, **(params or {})))
    node = rules.pathways[0].inclusion
    node = dataclasses.replace(node, params=dataclasses.replace(node.params, **huge))
    rules = dataclasses.replace(rules, pathways=(dataclasses.replace(rules.pathways[0], inclusion=node),))
    result = screen(patient, rules, AS_OF).pathway("p").inclusion
    assert isinstance(result, CriterionResult)
    return result


@pytest.mark.parametrize(
    "type_name,field", [("sledai_at_least", "max_age_days"), ("glucocorticoid_dependent", "min_days")]
)
def test_a_file_cannot_ask_for_a_window_past_the_limit(type_name: str, field: str) -> None:
    from clinical.limits import MAX_WINDOW_DAYS
    from screening.engine import RuleSetError

    assert run(type_name, facts(), **{field: MAX_WINDOW_DAYS}).result in (MET, NOT_MET, UNKNOWN)
    with pytest.raises(RuleSetError, match=rf"^p: params\.{field}: must be an integer ≤ {MAX_WINDOW_DAYS}"):
        run(type_name, facts(), **{field: MAX_WINDOW_DAYS + 1})


def rules_with_drug(drug: str, node: dict[str, Any], **changes: Any) -> RuleSet:
    """One pathway "p" with this criterion, over the default catalogue with one drug entry changed."""
    drugs = copy.deepcopy(default_rules_json()["drugs"])
    next(d for d in drugs if d["drug"] == drug).update(changes)
    return parse_rule_set(
        {
            "format": "sle-screening-rules/1",
            "name": "Test rules",
            "version": "t1",
            "pathways": [{"id": "p", "label": "test evaluation", "inclusion": node}],
            "cautions": [],
            "drugs": drugs,
        }
    )


def evaluate(rules: RuleSet, patient: PatientFacts) -> CriterionResult:
    result = screen(patient, rules, AS_OF).pathway("p").inclusion
    assert isinstance(result, CriterionResult)
    return result


# ---------------------------------------------------------------- numbers in explanations


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (65, "65"),  # a whole-number weight, as an unsaved model instance holds it
        (Decimal("2.0"), "2"),
        (Decimal("2.50"), "2.5"),
        (Decimal("1E+2"), "100"),  # no exponent
        (Decimal("0.0001"), "0.0001"),
        (Decimal("-0.0"), "0"),
    ],
)
def test_numbers_are_written_plainly(value: Decimal | int, text: str) -> None:
    assert num(value) == text


def test_per_kg_shortfall_names_dose_threshold_and_a_whole_number_weight() -> None:
    aza = (course("azathioprine", date(2025, 12, 15), date(2026, 4, 30), 100, "inadequate_response"),)
    r = run("failed_agents_at_least", facts(treatments=aza, weight_kg=65))
    assert r.result is NOT_MET
    assert "not adequate: dose 100 mg/day < 2 mg/kg × 65 kg = 130 mg/day" in r.explanation
    assert r.refs == ("course:azathioprine:2025-12-15", "patient.weight_kg")


# ---------------------------------------------------------------- null windows: "on or before" the as-of date


def test_null_window_sledai_unknown_names_any_assessment() -> None:
    r = run("sledai_at_least", facts(), max_age_days=None)
    assert r.result is UNKNOWN
    assert r.explanation == "no SLEDAI-2K assessment on or before 2026-11-01, needs ≥ 8"
    assert r.missing == ("a SLEDAI-2K assessment dated on or before 2026-11-01 (none recorded)",)


def test_null_window_observation_unknown_names_any_result() -> None:
    r = run("observation_compare", facts(), max_age_days=None)
    assert r.result is UNKNOWN
    assert r.explanation == "no Left ventricular ejection fraction result on or before 2026-11-01"
    assert r.missing == ("Left ventricular ejection fraction result dated on or before 2026-11-01 (none recorded)",)
    old = facts(observations=(observation("lvef", date(2001, 1, 1), 30),))
    settled = run("observation_compare", old, max_age_days=None)
    assert settled.result is MET and settled.missing == ()
    assert settled.explanation == "Left ventricular ejection fraction 30 % on 2001-01-01, < 35"


def test_null_window_condition_unknown_names_any_status() -> None:
    r = run("condition_present", facts(), max_age_days=None)
    assert r.result is UNKNOWN
    assert r.explanation == "Pregnancy not recorded"
    assert r.missing == ("Pregnancy status dated on or before 2026-11-01 (none recorded)",)


# ---------------------------------------------------------------- windows longer than the calendar


@pytest.mark.parametrize("days", HUGE_WINDOWS)
def test_overlong_window_reaches_back_to_the_first_date(days: int) -> None:
    """A window of N days is [as_of − N, as_of]; reaching before 0001-01-01 it holds every record."""
    old = facts(assessments=(assessment(date(1, 1, 1), ("seizure",)),))
    r = run_past_the_limits("sledai_at_least", old, max_age_days=days)
    assert r.result is MET and r.explanation == "SLEDAI-2K 8 on 0001-01-01 (seizure 8), needs ≥ 8"
    none = run_past_the_limits("sledai_at_least", facts(), max_age_days=days)
    assert none.explanation == f"no SLEDAI-2K assessment within {days} days (since 0001-01-01), needs ≥ 8"
    assert none.missing == (f"a SLEDAI-2K assessment dated on or after 0001-01-01 (none in the last {days} days)",)


@pytest.mark.parametrize("days", HUGE_WINDOWS)
def test_overlong_window_for_conditions_and_recent_drugs(days: int) -> None:
    tb = facts(conditions=(condition("tuberculosis", "present", date(1950, 6, 1)),))
    r = run_past_the_limits("condition_present", tb, params={"codes": ["tuberculosis"]}, max_age_days=days)
    assert r.result is MET and r.explanation == "Tuberculosis present (1950-06-01)"
    rtx = facts(treatments=(course("rituximab", date(1999, 1, 1), date(1999, 1, 1), 1000),))
    recent = run_past_the_limits("recent_drug", rtx, within_days=days)
    assert recent.result is MET
    assert recent.explanation == f"rituximab 1999-01-01–1999-01-01, given within {days} days (since 0001-01-01)"


@pytest.mark.parametrize("days", HUGE_WINDOWS)
def test_glucocorticoid_period_longer_than_the_calendar_is_not_met(days: int) -> None:
    """(as_of − min_days, as_of] reaching before the first date cannot all be covered by the courses."""
    none = run_past_the_limits("glucocorticoid_dependent", facts(), min_days=days)
    assert none.result is NOT_MET
    assert none.explanation == (
        "no glucocorticoid course from 0001-01-01 to 2026-11-01, "
        "needs > 7.5 mg/day prednisone-equivalent on every day from 0001-01-01 to 2026-11-01"
    )
    long_course = facts(treatments=(course("prednisone", date(2000, 1, 1), None, 20),))
    r = run_past_the_limits("glucocorticoid_dependent", long_course, min_days=days)
    assert r.result is NOT_MET
    assert r.explanation.startswith("no glucocorticoid course from 0001-01-01 to 1999-12-31, ")
    assert r.refs == ("course:prednisone:2000-01-01",)


# ---------------------------------------------------------------- manifestation_active


def test_active_lupus_nephritis_never_biopsied_is_not_met_and_says_so() -> None:
    """Lupus nephritis also needs the latest biopsy's class; with none recorded and ln_unconfirmed not_met (how
    every file before 2026.2 reads), it is not met, never unknown."""
    ln = facts(manifestations=(manifestation("lupus_nephritis", days_before(20), True),))
    r = run("manifestation_active", ln, codes=["lupus_nephritis"])
    assert r.result is NOT_MET and r.missing == ()
    assert r.explanation == f"Lupus nephritis active ({days_before(20).isoformat()}), but no biopsy class recorded"
    assert r.refs == (f"manifestation:lupus_nephritis:{days_before(20).isoformat()}",)
    # Another listed code that was never recorded is named after it.
    r = run("manifestation_active", ln)
    assert r.explanation.endswith(", but no biopsy class recorded; not recorded: Neuropsychiatric lupus")


# ---------------------------------------------------------------- exposure_days_at_least


def test_exposure_course_inside_another_adds_no_days() -> None:
    mmf = course("mycophenolate_mofetil", date(2025, 1, 1), date(2025, 12, 31), 3000, "other")  # 365 days
    inside = course("belimumab", date(2025, 3, 1), date(2025, 4, 30), 800, "other")
    after = course("azathioprine", date(2026, 1, 1), date(2026, 1, 10), 150, "other")  # 10 more days
    r = run("exposure_days_at_least", facts(treatments=(mmf, inside)), min_days=365)
    assert r.result is MET and r.explanation.startswith("365 days covered by immunosuppressant or biologic courses")
    assert run("exposure_days_at_least", facts(treatments=(mmf, inside)), min_days=366).result is NOT_MET
    r = run("exposure_days_at_least", facts(treatments=(mmf, inside, after)), min_days=376)
    assert r.result is NOT_MET and r.explanation.startswith("375 days covered")


# ---------------------------------------------------------------- drug_tried


def test_drug_tried_without_alternative_conditions_says_only_no_course() -> None:
    r = run("drug_tried", facts(), or_conditions=[])
    assert r.result is NOT_MET and r.explanation == "no course of hydroxychloroquine" and r.refs == ()
    # An hcq_contraindicated entry is not read when no condition is listed.
    contraindicated = facts(conditions=(condition("hcq_contraindicated", "present", days_before(10)),))
    assert run("drug_tried", contraindicated, or_conditions=[]).result is NOT_MET
    assert run("drug_tried", contraindicated).result is MET


# ---------------------------------------------------------------- failed_agents_at_least: an ongoing course


def test_ongoing_course_with_missing_dose_and_active_disease_lacks_only_the_dose() -> None:
    """Still active (SLEDAI-2K ≥ 6) is settled, adequacy is not: one line naming the course and its dose."""
    ongoing = (course("mycophenolate_mofetil", days_before(200), None, None),)
    active = (assessment(days_before(5), ("arthritis", "rash")),)  # 6
    r = run("failed_agents_at_least", facts(treatments=ongoing, assessments=active))
    assert r.result is UNKNOWN
    start = days_before(200).isoformat()
    assert r.missing == (f"mycophenolate mofetil course started {start} needs: dose",)
    assert f"assessment:{days_before(5).isoformat()}" in r.refs
    assert "ongoing, adequacy unknown: no dose recorded, SLEDAI-2K 6 on" in r.explanation
    # Quiet disease settles it whatever the dose: not failed.
    quiet = (assessment(days_before(5), ("arthritis",)),)
    assert run("failed_agents_at_least", facts(treatments=ongoing, assessments=quiet)).result is NOT_MET


def test_ongoing_course_lacking_dose_and_assessment_names_both_in_one_line() -> None:
    ongoing = (course("mycophenolate_mofetil", days_before(200), None, None),)
    r = run("failed_agents_at_least", facts(treatments=ongoing))
    start = days_before(200).isoformat()
    assert r.missing == (
        f"mycophenolate mofetil course started {start} needs: dose; "
        f"a SLEDAI-2K assessment dated on or after {days_before(30).isoformat()} (none in the last 30 days)",
    )


# ---------------------------------------------------------------- doses recorded in another unit


def test_dose_in_another_unit_is_not_read_and_the_line_says_which_unit_is_needed() -> None:
    weekly = course(
        "mycophenolate_mofetil", date(2025, 1, 1), date(2025, 12, 31), 14000, "inadequate_response", unit="mg/week"
    )
    r = run("failed_agents_at_least", facts(treatments=(weekly,)))
    assert r.result is UNKNOWN
    assert r.missing == ("mycophenolate mofetil course started 2025-01-01 needs: dose in mg/day (recorded in mg/week)",)
    assert "adequacy unknown: dose recorded in mg/week, not mg/day" in r.explanation
    # Too short, it is settled whatever the dose.
    short = course(
        "mycophenolate_mofetil", date(2025, 1, 1), date(2025, 1, 31), 14000, "inadequate_response", unit="mg/week"
    )
    assert run("failed_agents_at_least", facts(treatments=(short,))).result is NOT_MET


def test_dose_in_the_drugs_own_unit_or_with_no_unit_is_read() -> None:
    same = course("mycophenolate_mofetil", date(2025, 1, 1), date(2025, 12, 31), 2000, "inadequate_response")
    assert run("failed_agents_at_least", facts(treatments=(same,))).result is MET
    no_unit = dataclasses.replace(same, dose_unit=None)  # no unit recorded: taken in the drug's unit
    assert run("failed_agents_at_least", facts(treatments=(no_unit,))).result is MET


def test_glucocorticoid_dose_in_another_unit_is_unknown() -> None:
    weekly = (course("prednisone", date(2025, 1, 1), None, 70, unit="mg/week"),)
    r = run("glucocorticoid_dependent", facts(treatments=weekly))
    assert r.result is UNKNOWN
    assert r.missing == ("dose in mg/day (recorded in mg/week) of the prednisone course started 2025-01-01",)
    assert r.explanation.startswith(
        "dose not known for the prednisone course started 2025-01-01; needs > 7.5 mg/day prednisone-equivalent"
    )


# ---------------------------------------------------------------- a drug that sets both dose conditions


def test_missing_dose_is_named_once_when_a_drug_sets_both_dose_conditions() -> None:
    """Section 2: a drug may set min_dose and min_dose_per_kg; a missing dose is one piece of data."""
    rules = rules_with_drug("azathioprine", criterion_node("p", "failed_agents_at_least"), min_dose=100)
    aza = (course("azathioprine", date(2025, 1, 1), date(2025, 12, 31), None, "inadequate_response"),)
    r = evaluate(rules, facts(treatments=aza))
    assert r.result is UNKNOWN
    assert r.missing == ("azathioprine course started 2025-01-01 needs: dose",)
    no_weight = evaluate(rules, facts(treatments=aza, weight_kg=None))
    assert no_weight.missing == (
        "azathioprine course started 2025-01-01 needs: dose; the patient's weight (azathioprine dose threshold is per kg)",
    )
    assert course_adequacy(facts(treatments=aza), rules, AS_OF) == {
        "course:azathioprine:2025-01-01": (UNKNOWN, "adequacy unknown: no dose recorded")
    }
    assert course_adequacy(facts(treatments=aza, weight_kg=None), rules, AS_OF) == {
        "course:azathioprine:2025-01-01": (
            UNKNOWN,
            "adequacy unknown: no dose recorded; the patient's weight is not recorded (the dose threshold is per kg)",
        )
    }


@pytest.mark.parametrize(
    ("dose", "weight", "expected", "shortfall"),
    [
        (150, 60, MET, None),  # ≥ 100 mg/day and ≥ 2.0 mg/kg × 60 kg
        (110, 60, NOT_MET, "dose 110 mg/day < 2 mg/kg × 60 kg = 120 mg/day"),  # the per-kg condition fails
        (90, 40, NOT_MET, "dose 90 mg/day < 100 mg/day"),  # the absolute condition fails
        (150, None, UNKNOWN, None),  # the per-kg condition needs the weight
        (90, None, NOT_MET, "dose 90 mg/day < 100 mg/day"),  # settled without the weight
    ],
)
def test_both_dose_conditions_combine_by_kleene_and(
    dose: int, weight: int | None, expected: Result, shortfall: str | None
) -> None:
    rules = rules_with_drug("azathioprine", criterion_node("p", "failed_agents_at_least"), min_dose=100)
    aza = (course("azathioprine", date(2025, 1, 1), date(2025, 12, 31), dose, "inadequate_response"),)
    r = evaluate(rules, facts(treatments=aza, weight_kg=None if weight is None else Decimal(weight)))
    assert r.result is expected
    if shortfall is not None:
        assert f"not adequate: {shortfall}" in r.explanation


def test_a_drug_with_no_min_days_needs_only_its_dose() -> None:
    """A null min_days is 0: a one-day course at the dose is adequate."""
    rules = rules_with_drug("leflunomide", criterion_node("p", "failed_agents_at_least"), min_days=None)
    one_day = (course("leflunomide", date(2026, 1, 5), date(2026, 1, 5), 20, "inadequate_response"),)
    r = evaluate(rules, facts(treatments=one_day))
    assert r.result is MET and "stopped for inadequate response, adequate: 1 day" in r.explanation


def test_failed_agents_lists_every_course_whose_failure_is_unknown() -> None:
    """Section 1: one missing line per course whose failure is unknown, even of an agent that failed already."""
    f = facts(
        weight_kg=None,
        treatments=(
            course("mycophenolate_mofetil", days_before(700), days_before(400), dose=3000, stop="inadequate_response"),
            course("mycophenolic_acid", days_before(380), days_before(200), stop="inadequate_response"),  # no dose
            course(
                "azathioprine", days_before(190), days_before(50), dose=150, stop="inadequate_response"
            ),  # no weight
        ),
    )
    result = run("failed_agents_at_least", f, min_count=2)
    assert result.result is UNKNOWN
    mpa, aza = result.missing  # in course order
    assert mpa.startswith("mycophenolic acid course started") and mpa.endswith("needs: dose")
    assert aza.startswith("azathioprine course started") and "weight" in aza


def test_one_day_course_reads_one_day() -> None:
    rituximab = course("rituximab", days_before(30), days_before(30), dose=1000, stop="inadequate_response")
    out = course_adequacy(facts(treatments=(rituximab,)), parse_rule_set(default_rules_json()), AS_OF)
    assert out[rituximab.ref] == (MET, "adequate: 1 day")
