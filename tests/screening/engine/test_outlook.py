"""What would change a result: when a flag lapses (``lapses_on``, ``lapse_reason``) and the nearest ways to flagged (``next``).

The lapse is found by trying only the days on which some criterion could turn down; the tests hold it to
trying every day of the year, on the public cases and on generated patients, criterion by criterion.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.engine import Outcome, RuleSet, case_as_of, facts_from_case, parse_rule_set, result_to_dict, screen
from screening.engine.context import build_context
from screening.engine.criteria import evaluate_criterion
from screening.engine.criterion_types import AgeBetweenParams
from screening.engine.lapse import HORIZON_DAYS, candidate_days, facts_as_known, find_lapse
from screening.engine.ruleset import Criterion, Node
from tests.screening.engine.helpers import AS_OF, default_rules, facts, load_case
from tests.screening.engine.test_properties import PROPERTY, patients
from tests.shipped import LAPSES_PATH, case_paths, earlier_rules_path

LAPSES: dict[str, dict[str, str | None]] = json.loads(LAPSES_PATH.read_text(encoding="utf-8"))
ORDER = {"not_met": 0, "unknown": 1, "met": 2}


def earlier_rules() -> RuleSet:
    return parse_rule_set(json.loads(earlier_rules_path("2026.1").read_text(encoding="utf-8")))


def leaves(node: Node) -> list[Criterion]:
    if isinstance(node, Criterion):
        return [node]
    return [leaf for child in node.children for leaf in leaves(child)]


def every_leaf(rules: RuleSet) -> list[Criterion]:
    found = [leaf for p in rules.pathways for leaf in leaves(p.inclusion)]
    return found + [leaf for c in rules.cautions for leaf in leaves(c.criterion)]


def tree_value(node: Node, ctx: Any) -> str:
    if isinstance(node, Criterion):
        return str(evaluate_criterion(node.params, ctx).result.value)
    values = [tree_value(child, ctx) for child in node.children]
    pick = min if node.op == "all" else max
    return pick(values, key=ORDER.__getitem__)


def first_lapse_by_trying_every_day(facts_: Any, rules: RuleSet, node: Node, as_of: date) -> date | None:
    known = facts_as_known(facts_, as_of)
    for n in range(1, HORIZON_DAYS + 1):
        day = as_of + timedelta(days=n)
        if tree_value(node, build_context(known, rules, day)) != "met":
            return day
    return None


# --------------------------------------------------------------------------
# The public cases


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_every_public_case_lapses_on_the_expected_day(path: Any) -> None:
    case = load_case(path)
    result = screen(facts_from_case(case), default_rules(), case_as_of(case))
    out = result_to_dict(result, case_id=case["case_id"])
    for pathway in result.pathways:
        expected = LAPSES[path.stem][pathway.id]
        assert out["pathways"][pathway.id]["lapses_on"] == expected, pathway.id
        if expected is None:
            assert pathway.lapse_reason is None
            continue
        assert pathway.outcome is Outcome.FLAGGED
        ids = {leaf.id for leaf in leaves(default_rules().pathway(pathway.id).inclusion)}
        assert pathway.lapse_reason is not None
        named = pathway.lapse_reason.split(" ", 1)[0]
        assert named in ids, pathway.lapse_reason
        assert f"on {expected}:" in pathway.lapse_reason


@pytest.mark.parametrize("rules_of", [default_rules, earlier_rules], ids=["current", "2026.1"])
@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_the_lapse_is_the_first_day_found_by_trying_every_day(path: Any, rules_of: Any) -> None:
    rules = rules_of()
    case = load_case(path)
    as_of = case_as_of(case)
    facts_ = facts_from_case(case)
    for pathway in rules.pathways:
        lapse = find_lapse(facts_, rules, pathway.inclusion, as_of)
        if tree_value(pathway.inclusion, build_context(facts_, rules, as_of)) != "met":
            continue
        assert (lapse.on if lapse else None) == first_lapse_by_trying_every_day(facts_, rules, pathway.inclusion, as_of)


def test_a_flag_held_all_year_has_no_lapse() -> None:
    rules = default_rules()
    diagnosis = next(leaf for leaf in leaves(rules.pathway("msc").inclusion) if leaf.type == "sle_diagnosis")
    assert find_lapse(facts(sle_attested=True), rules, diagnosis, AS_OF) is None


def test_records_after_as_of_and_the_end_of_an_ongoing_course_are_not_known() -> None:
    from screening.engine import TreatmentCourse

    course = TreatmentCourse(drug="prednisone", start=AS_OF - timedelta(days=10), end=AS_OF + timedelta(days=5),
                             stop_reason="remission", ref="treatments[0]")  # fmt: skip
    later = TreatmentCourse(drug="rituximab", start=AS_OF + timedelta(days=1), ref="treatments[1]")
    known = facts_as_known(facts(treatments=(course, later)), AS_OF)
    assert [(t.ref, t.end, t.stop_reason) for t in known.treatments] == [("treatments[0]", None, None)]


def test_an_age_limit_passed_is_a_lapse_on_the_birthday() -> None:
    rules = default_rules()
    age = next(leaf for leaf in leaves(rules.pathway("hsct").inclusion) if leaf.type == "age_between")
    oldest = age.params.max_years  # type: ignore[union-attr]
    birth = date(AS_OF.year - oldest - 1, AS_OF.month, AS_OF.day) + timedelta(days=40)  # turns oldest + 1 in 40 days
    lapse = find_lapse(facts(birth_date=birth), rules, age, AS_OF)
    assert lapse is not None
    assert lapse.on == birth.replace(year=birth.year + oldest + 1)
    assert lapse.reason.startswith(f"{age.id} becomes not met on {lapse.on.isoformat()}: age {oldest + 1} on")


def test_a_29_february_birthday_passes_on_1_march_in_a_common_year() -> None:
    age = Criterion(id="age", type="age_between", params=AgeBetweenParams(min_years=18, max_years=66))
    lapse = find_lapse(facts(birth_date=date(1960, 2, 29)), default_rules(), age, date(2027, 1, 10))
    assert lapse is not None and lapse.on == date(2027, 3, 1)  # 67 on 1 March 2027, a common year


# --------------------------------------------------------------------------
# Generated patients: every day a criterion turns down is among the days tried


def days_turning_down(nodes: list[Criterion], facts_: Any, rules: RuleSet, as_of: date) -> dict[str, list[date]]:
    """For each criterion, the days of the year on which its value goes down, by trying every day."""
    known = facts_as_known(facts_, as_of)
    ctx = build_context(known, rules, as_of)
    before = {n.id: tree_value(n, ctx) for n in nodes}
    down: dict[str, list[date]] = {n.id: [] for n in nodes}
    for k in range(1, HORIZON_DAYS + 1):
        day = as_of + timedelta(days=k)
        ctx = build_context(known, rules, day)
        for n in nodes:
            now = tree_value(n, ctx)
            if ORDER[now] < ORDER[before[n.id]]:
                down[n.id].append(day)
            before[n.id] = now
    return down


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient=patients(), which=st.sampled_from(["current", "2026.1"]))
def test_every_day_a_criterion_turns_down_is_tried(patient: Any, which: str) -> None:
    rules = default_rules() if which == "current" else earlier_rules()
    known = facts_as_known(patient, AS_OF)
    distinct = list({(leaf.type, repr(leaf.params)): leaf for leaf in every_leaf(rules)}.values())
    down = days_turning_down(distinct, patient, rules, AS_OF)
    for leaf in distinct:
        tried = set(candidate_days(known, leaf, AS_OF, HORIZON_DAYS))
        missed = [d for d in down[leaf.id] if d not in tried]
        assert not missed, (leaf.id, missed)


@PROPERTY
@given(patient=patients())
def test_generated_patients_lapse_on_the_first_day_by_trying_every_day(patient: Any) -> None:
    rules = default_rules()
    for pathway in rules.pathways:
        if tree_value(pathway.inclusion, build_context(patient, rules, AS_OF)) != "met":
            continue
        lapse = find_lapse(patient, rules, pathway.inclusion, AS_OF)
        expected = first_lapse_by_trying_every_day(patient, rules, pathway.inclusion, AS_OF)
        assert (lapse.on if lapse else None) == expected


# --------------------------------------------------------------------------
# The nearest ways to flagged


def outcome_and_next(path: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
    case = load_case(path)
    out = result_to_dict(screen(facts_from_case(case), default_rules(), case_as_of(case)), case_id="x")
    return (
        {p: v["outcome"] for p, v in out["pathways"].items()},
        {p: v["next"] for p, v in out["pathways"].items()},
    )


NEAREST = {
    # the nearest miss of every public case's pathway that is not flagged, first line
    ("mild-disease", "msc"): "SLEDAI-2K 4 on 2026-10-15, needs 6: two more points",
    ("mild-disease", "hsct"): "SLEDAI-2K 4 on 2026-10-15, needs 8: four more points",
    ("nephritis-unbiopsied", "hsct"): "SLEDAI-2K 6 on 2026-10-15, needs 8: two more points",
    ("no-recent-assessment", "msc"): "a SLEDAI-2K of 6 or more dated on or after 2026-10-02",
    ("no-recent-assessment", "hsct"): "a SLEDAI-2K of 8 or more dated on or after 2026-10-02",
    ("not-lupus", "msc"): "a specialist's attestation of the SLE diagnosis",
    ("not-lupus", "hsct"): "a specialist's attestation of the SLE diagnosis",
    ("partial-activity-score", "hsct"): "SLEDAI-2K 6 on 2026-10-15, needs 8: two more points",
}
NO_WAY = {("older-patient", "hsct")}  # above the age limit: no recorded fact could flag


def test_every_pathway_not_flagged_is_listed_here() -> None:
    listed = set(NEAREST) | NO_WAY
    for path in case_paths():
        outcomes, _ = outcome_and_next(path)
        for pathway, outcome in outcomes.items():
            assert ((path.stem, pathway) in listed) == (outcome != "flagged"), (path.stem, pathway)


@pytest.mark.parametrize("case, pathway", sorted(NEAREST), ids=lambda v: str(v))
def test_the_nearest_miss_of_each_public_case(case: str, pathway: str) -> None:
    path = next(p for p in case_paths() if p.stem == case)
    _, nexts = outcome_and_next(path)
    assert nexts[pathway], "no way offered"
    assert nexts[pathway][0].startswith(NEAREST[case, pathway]), nexts[pathway][0]


def test_no_way_when_no_recorded_fact_could_flag_and_none_for_a_flag() -> None:
    path = next(p for p in case_paths() if p.stem == "older-patient")
    outcomes, nexts = outcome_and_next(path)
    assert outcomes == {"msc": "flagged", "hsct": "not_flagged"}
    assert nexts == {"msc": [], "hsct": []}
