"""What a valid rule set must also be for the app to store and apply it (screening/engine/storable.py).

Pure: no database. Each case changes one thing of the shipped rules; the message names the node (or drug)
and the field, like every other rule-set error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from clinical import limits
from screening.engine import RuleSetError, check_storable, id_problem, parse_rule_set, version_problem
from tests.screening.engine.helpers import default_rules_data

Change = Callable[[dict[str, Any]], Any]


def node(content: dict[str, Any], node_id: str) -> dict[str, Any]:
    from screening.editing import locate

    loc = locate(content, node_id)
    assert loc is not None
    return loc.node


def rename_pathway(content: dict[str, Any], new: str) -> None:
    content["pathways"][0]["id"] = content["pathways"][0]["inclusion"]["id"] = new
    for caution in content["cautions"]:
        caution["severity"] = {new if k == "hsct" else k: v for k, v in caution["severity"].items()}


def check(change: Change) -> None:
    content = default_rules_data()
    change(content)
    check_storable(parse_rule_set(content))


def test_the_shipped_rules_are_storable() -> None:
    check(lambda c: None)


def test_a_pathway_id_of_the_referral_column_length_is_storable_one_more_is_not() -> None:
    check(lambda c: rename_pathway(c, "h" * limits.PATHWAY_ID))
    with pytest.raises(RuleSetError) as caught:
        check(lambda c: rename_pathway(c, "h" * (limits.PATHWAY_ID + 1)))
    assert str(caught.value) == (
        f"{'h' * 33}: id: must be at most 32 characters (this one has 33): a pathway id is stored with every referral"
    )


BAD: list[tuple[str, Change, str]] = [
    ("node-id-dotdot", lambda c: node(c, "hsct.age").update(id=".."), r"^\.\.: id: must be letters, digits"),
    ("node-id-inner-dots", lambda c: node(c, "hsct.age").update(id="hsct..age"), r"^hsct\.\.age: id: "),
    ("node-id-leading-dot", lambda c: node(c, "hsct.age").update(id=".age"), r"^\.age: id: "),
    ("node-id-101", lambda c: node(c, "hsct.age").update(id="n" * 101), r": id: must be at most 100 characters"),
    ("version-newline", lambda c: c.update(version="2026.9\nx"), r"^rule set: version: use letters, digits"),
    ("version-41", lambda c: c.update(version="v" * 41), r"^rule set: version: at most 40 characters"),
    ("version-leading-dot", lambda c: c.update(version=".2026"), r"^rule set: version: "),
    ("name-201", lambda c: c.update(name="N" * 201), r"^rule set: name: must be at most 200 characters"),
    ("name-newline", lambda c: c.update(name="a\nb"), r"^rule set: name: must be one line of text"),
    ("label-tab", lambda c: c["pathways"][0].update(label="a\tb"), r"^hsct: label: must be one line"),
    ("label-201", lambda c: c["pathways"][0].update(label="L" * 201), r"^hsct: label: must be at most 200"),
    ("source-201", lambda c: node(c, "hsct.age").update(source="S" * 201), r"^hsct\.age: source: must be at most 200"),
    ("caution-source-nul", lambda c: c["cautions"][0].update(source="S\x00"), r"^pregnancy: source: must be one line"),
    ("dose-unit-17", lambda c: c["drugs"][0].update(dose_unit="u" * 17), r"^drug hydroxychloroquine: dose_unit: "),
    (
        "drug-code-65",
        lambda c: c["drugs"].append({**c["drugs"][4], "drug": "d" * 65}),
        r"^drug d{65}: drug: must be at most 64 characters",
    ),
    (
        "decimals",
        lambda c: node(c, "cardiac_function")["params"].update(value=35.12345),
        r"^cardiac_function: params\.value: must have at most 4 decimal places$",
    ),
    (
        "drug-decimals",
        lambda c: c["drugs"][6].update(min_dose_per_kg=2.00001),
        r"^drug azathioprine: min_dose_per_kg: must have at most 4 decimal places$",
    ),
    (
        "too-many-pathways",
        lambda c: c["pathways"].extend(
            {"id": f"p{i}", "label": "x", "inclusion": {**node(c, "msc.age"), "id": f"p{i}"}} for i in range(20)
        ),
        r"^rule set: pathways: at most 20",
    ),
]


@pytest.mark.parametrize("change,message", [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_what_the_app_cannot_store_is_refused_naming_node_and_field(change: Change, message: str) -> None:
    content = default_rules_data()
    change(content)
    if "pathways" in message:  # more pathways: each caution needs their severity for the file to parse
        for caution in content["cautions"]:
            caution["severity"].update({p["id"]: None for p in content["pathways"]})
    parsed = parse_rule_set(content)  # it is a valid rule-set file ...
    with pytest.raises(RuleSetError, match=message):
        check_storable(parsed)  # ... that the app could not store, address or edit


def test_too_many_nodes() -> None:
    content = default_rules_data()
    group = node(content, "hsct.severe_activity")
    group["any"] += [
        {**node(content, "hsct.severe_activity.sledai"), "id": f"x{i}"} for i in range(limits.RULES_MAX_NODES)
    ]
    with pytest.raises(
        RuleSetError, match=r"^rule set: nodes: at most 1000 criteria and groups \(this file has \d+\)$"
    ):
        check_storable(parse_rule_set(content))


@pytest.mark.parametrize(
    "value,ok",
    [
        ("hsct", True),
        ("hsct.severe_activity.sledai", True),
        ("a-b_c.d", True),
        ("..", False),
        ("a.", False),
        ("a b", False),
        ("", False),
    ],
)
def test_id_problem(value: str, ok: bool) -> None:
    assert (id_problem(value) is None) == ok


@pytest.mark.parametrize(
    "value,ok",
    [
        ("2026.1", True),
        ("2026.1-strict", True),
        ("1+build.2", True),
        ("v" * 40, True),
        ("v" * 41, False),
        ("a b", False),
        ("-1", False),
    ],
)
def test_version_problem(value: str, ok: bool) -> None:
    assert (version_problem(value) is None) == ok


@pytest.mark.parametrize(
    "node_id,param,limit",
    [
        ("hsct.severe_activity.sledai", "max_age_days", limits.MAX_WINDOW_DAYS),
        ("hsct.severe_activity.major_organ", "biopsy_max_age_days", limits.MAX_WINDOW_DAYS),
        ("hsct.refractory.steroid_dependent.glucocorticoids", "min_days", limits.MAX_WINDOW_DAYS),
        ("msc.immunosuppression", "min_days", limits.MAX_WINDOW_DAYS),
        ("recent_biologic.other", "within_days", limits.MAX_WINDOW_DAYS),
        ("hsct.diagnosis", "ana_min_titre", limits.ANA_TITRE_MAX),
        ("hsct.diagnosis", "classification_min_score", 51),
        ("organ_damage", "min_score", limits.SDI_MAX),
        ("cardiac_function", "value", 100000),
    ],
)
def test_every_parameter_has_a_maximum_the_parser_holds(node_id: str, param: str, limit: int) -> None:
    """Met at the maximum, refused one above it: no parameter can ask the engine for 10**40 days."""
    content = default_rules_data()
    node(content, node_id)["params"][param] = limit
    parse_rule_set(content)
    node(content, node_id)["params"][param] = limit + 1
    with pytest.raises(
        RuleSetError, match=rf"^{re.escape(node_id)}: params\.{param}: must be an? (integer|number) ≤ {limit}"
    ):
        parse_rule_set(content)


@pytest.mark.parametrize(
    "drug,key,limit",
    [
        ("azathioprine", "min_days", limits.MAX_WINDOW_DAYS),
        ("methotrexate", "min_dose", limits.DOSE_MAX),
        ("azathioprine", "min_dose_per_kg", 1000),
        ("prednisone", "prednisone_factor", 100),
    ],
)
def test_drug_thresholds_have_maxima(drug: str, key: str, limit: int) -> None:
    content = default_rules_data()
    entry = next(d for d in content["drugs"] if d["drug"] == drug)
    entry[key] = limit
    parse_rule_set(content)
    entry[key] = limit + 1
    with pytest.raises(RuleSetError, match=rf"^drug {drug}: {key}: must be an? (integer|number) ≤ {limit}"):
        parse_rule_set(content)


def test_every_declared_number_is_bounded() -> None:
    from screening.engine import CRITERION_TYPES

    unbounded = [
        f"{ctype.name}.{spec.name}"
        for ctype in CRITERION_TYPES.values()
        for spec in ctype.params
        if spec.kind in ("integer", "number") and spec.maximum is None
    ]
    assert unbounded == []
