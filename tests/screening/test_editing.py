"""Draft edits and version differences as pure functions over rule-set content (no database)."""

from __future__ import annotations

import json

import pytest

from screening import editing, engine
from screening.diff import diff_contents
from tests.shipped import RULES_PATH

DEFAULT = json.loads(RULES_PATH.read_text())


def texts(old: dict, new: dict, **kwargs) -> list[str]:
    return [c.text for c in diff_contents(old, new, **kwargs)]


def test_age_change_reads_as_a_range_and_names_the_parameter() -> None:
    new = editing.set_params(DEFAULT, "hsct.age", {"min_years": 18, "max_years": 65}, "S30")
    assert texts(DEFAULT, new) == ["hsct.age: 18–60 → 18–65 (max_years 60 → 65)"]
    assert DEFAULT["pathways"][0]["inclusion"]["all"][1]["params"]["max_years"] == 60  # input untouched


def test_param_source_op_severity_and_drug_changes_are_each_one_line() -> None:
    new = editing.set_params(
        DEFAULT, "msc.activity", {"min_score": 8, "max_age_days": None, "clinical_only": True}, "S40, S41"
    )
    new = editing.set_op(new, "hsct.severe_activity", "all")
    new = editing.set_severity(new, "kidney_function", {"hsct": None, "msc": "caution"})
    new = editing.set_drug_thresholds(new, "azathioprine", {"min_days": 120, "min_dose": None, "min_dose_per_kg": 2.5})
    assert texts(DEFAULT, new) == [
        "hsct.severe_activity: any → all",
        "msc.activity: min_score 6 → 8",
        "msc.activity: max_age_days 30 → none",
        "msc.activity: clinical_only no → yes",
        "kidney_function: severity for hsct caution → not applicable",
        "kidney_function: severity for msc contraindication → caution",
        "drug azathioprine: min_days 90 → 120",
        "drug azathioprine: min_dose_per_kg 2.0 → 2.5",
    ]
    engine.parse_rule_set(new)  # still a valid rule-set file


def test_switch_off_keeps_the_node_aside_and_switch_on_puts_it_back_where_it_was() -> None:
    content, side = editing.switch_off(DEFAULT, {}, "hsct.severe_activity.sledai")
    assert editing.locate(content, "hsct.severe_activity.sledai") is None
    assert side["hsct.severe_activity.sledai"]["parent"] == "hsct.severe_activity"
    assert side["hsct.severe_activity.sledai"]["index"] == 0
    engine.parse_rule_set(content)
    assert texts(DEFAULT, content, new_disabled=side)[0].startswith(
        "hsct.severe_activity.sledai: switched off (was sledai_at_least: SLEDAI-2K of at least 8"
    )
    back, side = editing.switch_on(content, side, "hsct.severe_activity.sledai")
    assert back == DEFAULT and side == {}
    assert texts(content, back, old_disabled={"hsct.severe_activity.sledai": {}})[0].startswith(
        "hsct.severe_activity.sledai: switched on in hsct.severe_activity:"
    )


@pytest.mark.parametrize(
    "node_id,needle",
    [
        ("hsct", "root of the pathway hsct"),
        ("viral_infection", "root of the caution viral_infection"),
        ("nope", "no node 'nope'"),
    ],
)
def test_roots_and_unknown_nodes_cannot_be_switched_off(node_id, needle) -> None:
    with pytest.raises(editing.EditError, match=needle):
        editing.switch_off(DEFAULT, {}, node_id)


def test_a_group_keeps_at_least_one_child() -> None:
    content, side = editing.switch_off(DEFAULT, {}, "hsct.severe_activity.sledai")
    with pytest.raises(editing.EditError, match="only criterion of hsct.severe_activity"):
        editing.switch_off(content, side, "hsct.severe_activity.major_organ")


def test_added_criterion_needs_a_new_id_even_against_switched_off_ones() -> None:
    content, side = editing.switch_off(DEFAULT, {}, "hsct.severe_activity.sledai")
    node = {"id": "hsct.severe_activity.sledai", "type": "damage_index_at_least", "params": {"min_score": 1}}
    with pytest.raises(editing.EditError, match="already used"):
        editing.add_criterion(content, side, "hsct", node)
    with pytest.raises(editing.EditError, match="letters, digits"):
        editing.add_criterion(content, side, "hsct", {**node, "id": "bad id"})
    with pytest.raises(editing.EditError, match="is a criterion"):
        editing.add_criterion(content, side, "hsct.age", {**node, "id": "x"})
    added = editing.add_criterion(content, side, "hsct", {**node, "id": "hsct.damage"})
    assert texts(content, added) == [
        "hsct.damage: added to hsct: damage_index_at_least: latest SLICC/ACR damage index at least 1"
    ]


def test_pathway_caution_and_drug_additions_and_removals_are_listed() -> None:
    new = json.loads(json.dumps(DEFAULT))
    new["cautions"] = [c for c in new["cautions"] if c["id"] != "organ_damage"]
    new["drugs"] = [d for d in new["drugs"] if d["drug"] != "voclosporin"]
    new["pathways"][1]["label"] = "MSC therapy evaluation (trial)"
    lines = texts(DEFAULT, new)
    assert f"msc: label {DEFAULT['pathways'][1]['label']} → MSC therapy evaluation (trial)" in lines
    assert any(line.startswith("organ_damage: caution removed (was damage_index_at_least") for line in lines)
    assert "drug voclosporin: removed (was voclosporin (immunosuppressant))" in lines
    assert texts(DEFAULT, DEFAULT) == []


def test_next_version_raises_the_trailing_number() -> None:
    assert editing.next_version("2026.1", {"2026.1"}) == "2026.2"
    assert editing.next_version("2026.1", {"2026.2", "2026.3"}) == "2026.4"
    assert editing.next_version("local", set()) == "local.1"
