"""Kleene all/any, group results, and which unknown leaves make the missing list."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from screening.engine import PatientFacts, Result, all_of, any_of, screen
from tests.screening.engine.helpers import AS_OF, criterion_node, rule_set_with

MET, NOT_MET, UNKNOWN = Result.MET, Result.NOT_MET, Result.UNKNOWN
VALUES = (MET, NOT_MET, UNKNOWN)

# Kleene's strong three-valued logic, written out.
AND = {
    (MET, MET): MET, (MET, UNKNOWN): UNKNOWN, (MET, NOT_MET): NOT_MET,
    (UNKNOWN, MET): UNKNOWN, (UNKNOWN, UNKNOWN): UNKNOWN, (UNKNOWN, NOT_MET): NOT_MET,
    (NOT_MET, MET): NOT_MET, (NOT_MET, UNKNOWN): NOT_MET, (NOT_MET, NOT_MET): NOT_MET,
}  # fmt: skip
OR = {
    (MET, MET): MET, (MET, UNKNOWN): MET, (MET, NOT_MET): MET,
    (UNKNOWN, MET): MET, (UNKNOWN, UNKNOWN): UNKNOWN, (UNKNOWN, NOT_MET): UNKNOWN,
    (NOT_MET, MET): MET, (NOT_MET, UNKNOWN): UNKNOWN, (NOT_MET, NOT_MET): NOT_MET,
}  # fmt: skip


@pytest.mark.parametrize(("a", "b"), list(itertools.product(VALUES, VALUES)))
def test_truth_tables(a: Result, b: Result) -> None:
    assert all_of([a, b]) is AND[a, b]
    assert any_of([a, b]) is OR[a, b]


@pytest.mark.parametrize("values", list(itertools.product(VALUES, repeat=3)))
def test_three_children_fold_like_pairs(values: tuple[Result, Result, Result]) -> None:
    a, b, c = values
    assert all_of(values) is AND[AND[a, b], c]
    assert any_of(values) is OR[OR[a, b], c]


def test_single_child_groups_are_the_child() -> None:
    for value in VALUES:
        assert all_of([value]) is value and any_of([value]) is value


# Leaves whose value is fixed for the empty patient, to build trees with.
def met(node_id: str) -> dict[str, Any]:
    return criterion_node(node_id, "exposure_days_at_least", min_days=0)


def not_met(node_id: str) -> dict[str, Any]:
    return criterion_node(node_id, "drug_tried")


def unknown_age(node_id: str) -> dict[str, Any]:
    return criterion_node(node_id, "age_between")  # no birth date


def unknown_sledai(node_id: str) -> dict[str, Any]:
    return criterion_node(node_id, "sledai_at_least")  # no assessment


def unknown_lvef(node_id: str) -> dict[str, Any]:
    return criterion_node(node_id, "observation_compare")  # no LVEF


def evaluate(inclusion: dict[str, Any]) -> Any:
    return screen(PatientFacts(), rule_set_with(inclusion), AS_OF).pathway("p")


def test_leaf_builders() -> None:
    pathway = evaluate({"id": "p", "all": [met("a"), not_met("b"), unknown_age("c")]})
    assert [c.result for c in pathway.criteria] == [MET, NOT_MET, UNKNOWN]


@pytest.mark.parametrize("values", list(itertools.product(VALUES, repeat=2)))
@pytest.mark.parametrize("op", ["all", "any"])
def test_groups_in_a_tree_follow_the_tables(values: tuple[Result, Result], op: str) -> None:
    build = {MET: met, NOT_MET: not_met, UNKNOWN: unknown_age}
    pathway = evaluate({"id": "p", op: [build[v](f"c{i}") for i, v in enumerate(values)]})
    table = AND if op == "all" else OR
    assert pathway.inclusion.result is table[values]
    expected_outcome = {MET: "flagged", NOT_MET: "not_flagged", UNKNOWN: "insufficient_data"}[table[values]]
    assert pathway.outcome == expected_outcome


def test_settled_group_hides_its_unknown_leaves() -> None:
    pathway = evaluate({"id": "p", "all": [unknown_age("age"), {"id": "g", "any": [met("m"), unknown_lvef("lvef")]}]})
    assert pathway.outcome == "insufficient_data"
    assert pathway.missing == ("the patient's birth date",)


def test_missing_is_empty_unless_insufficient_data() -> None:
    pathway = evaluate({"id": "p", "all": [unknown_age("age"), not_met("n")]})
    assert pathway.outcome == "not_flagged" and pathway.missing == ()
    pathway = evaluate({"id": "p", "any": [unknown_age("age"), met("m")]})
    assert pathway.outcome == "flagged" and pathway.missing == ()


def test_missing_lines_are_in_tree_order_without_duplicates() -> None:
    pathway = evaluate(
        {
            "id": "p",
            "all": [
                unknown_sledai("s1"),
                {"id": "g", "any": [unknown_age("a1"), unknown_lvef("l1"), not_met("n")]},
                unknown_age("a2"),  # same line as a1
                unknown_sledai("s2"),  # same line as s1
            ],
        }
    )
    assert len(pathway.missing) == 3
    assert "SLEDAI-2K assessment" in pathway.missing[0]
    assert pathway.missing[1] == "the patient's birth date"
    assert "ejection fraction" in pathway.missing[2]
    swapped = evaluate({"id": "p", "all": [unknown_lvef("l1"), unknown_sledai("s1")]})
    assert "ejection fraction" in swapped.missing[0] and "SLEDAI-2K" in swapped.missing[1]


def test_a_single_criterion_root() -> None:
    pathway = evaluate(unknown_age("p"))
    assert pathway.outcome == "insufficient_data"
    assert [c.id for c in pathway.criteria] == ["p"]


def test_cautions_never_change_the_outcome_and_unknown_says_work_up_incomplete() -> None:
    caution = {
        "id": "heart",
        "criterion": criterion_node("heart", "observation_compare"),
        "severity": {"p": "contraindication"},
        "source": "T",
    }
    present = {**caution, "id": "always", "criterion": met("always")}
    not_applicable = {**caution, "id": "never", "criterion": met("never"), "severity": {"p": None}}
    rules = rule_set_with(met("p"), cautions=[caution, present, not_applicable])
    pathway = screen(PatientFacts(), rules, AS_OF).pathway("p")
    assert pathway.outcome == "flagged"
    assert [(c.id, c.status.value) for c in pathway.cautions] == [("heart", "unknown"), ("always", "present")]
    heart = pathway.cautions[0]
    assert heart.explanation.startswith("work-up incomplete: Left ventricular ejection fraction result")
    assert "365 days" in heart.explanation
