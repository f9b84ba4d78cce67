"""docs/rule-sets.md and the screening output of docs/case-files.md say what the engine does."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from clinical.casefile import validate_case
from screening import engine
from screening.errors import RuleSetRefused
from screening.rulesets import import_rule_set, parse_rules_text
from tests.shipped import ROOT, RULES_PATH

RULES_DOC = (ROOT / "docs" / "rule-sets.md").read_text(encoding="utf-8")
CASE_DOC = (ROOT / "docs" / "case-files.md").read_text(encoding="utf-8")
SHIPPED = json.loads(RULES_PATH.read_text(encoding="utf-8"))


def json_blocks(text: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]


def example_rules() -> dict[str, Any]:
    rules: dict[str, Any] = json_blocks(RULES_DOC)[0]
    return rules


def test_the_example_rule_set_file_is_valid_and_exports_unchanged() -> None:
    example = example_rules()
    assert engine.rule_set_to_dict(engine.parse_rule_set(example)) == example


def test_every_key_of_a_rule_set_file_is_in_the_doc() -> None:
    content = engine.rule_set_to_dict(engine.parse_rule_set(SHIPPED))
    criterion = content["pathways"][0]["inclusion"]["all"][0]
    levels = [content, content["pathways"][0], content["cautions"][0], content["drugs"][0], criterion]
    keys = {key for level in levels for key in level}
    assert {"format", "inclusion", "severity", "prednisone_factor", "params", "source"} <= keys
    for key in keys:
        assert f"| `{key}` |" in RULES_DOC, key
    assert "| `all` *or* `any` |" in RULES_DOC


def mutate_at(path: tuple[Any, ...], value: Any = None, *, drop: bool = False) -> Callable[[dict[str, Any]], None]:
    def mutate(rules: dict[str, Any]) -> None:
        target = rules
        for key in path[:-1]:
            target = target[key]
        if drop:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


MSC = ("pathways", 0, "inclusion", "all")
DOCUMENTED_ERRORS = [
    (mutate_at((*MSC, 1, "type"), "sledai_above"), "msc.activity: type: unknown criterion type 'sledai_above'"),
    (mutate_at((*MSC, 1, "params", "max_age_days"), drop=True), "msc.activity: params.max_age_days: missing"),
    (
        mutate_at((*MSC, 0, "params", "extra"), 1),
        "msc.diagnosis: params.extra: not a parameter of sle_diagnosis",
    ),
    (
        mutate_at(("cautions", 0, "criterion", "params", "codes"), ["infection"]),
        "active_infection: params.codes: unknown condition code 'infection'",
    ),
    (mutate_at(("cautions", 0, "severity", "msc"), drop=True), "active_infection: severity.msc: missing"),
    (
        mutate_at(("drugs", 0, "class"), "antimalarials"),
        "drug hydroxychloroquine: class: must be one of antimalarial, glucocorticoid, immunosuppressant, biologic",
    ),
]


@pytest.mark.parametrize("mutate,message", DOCUMENTED_ERRORS, ids=[m for _, m in DOCUMENTED_ERRORS])
def test_the_documented_rule_set_errors_are_the_real_ones(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    rules = copy.deepcopy(example_rules())
    mutate(rules)
    with pytest.raises(engine.RuleSetError) as caught:
        engine.parse_rule_set(rules)
    assert str(caught.value) == message
    assert f"| `{message}` |" in RULES_DOC


@pytest.mark.django_db
def test_the_documented_message_for_a_version_already_stored() -> None:
    with pytest.raises(RuleSetRefused) as caught:
        import_rule_set(actor=None, content=parse_rules_text(RULES_PATH.read_bytes()))
    assert f"| `{caught.value}` |" in RULES_DOC


def test_the_documented_screening_output_is_part_of_the_real_output() -> None:
    """The output shown for the example case file is the real one, cut down (every shown item is real)."""
    case_example, output_example = json_blocks(CASE_DOC)
    drugs = {d["drug"]: d["dose_unit"] for d in SHIPPED["drugs"]}
    case = validate_case(case_example, drugs=drugs)
    result = engine.screen(
        engine.facts_from_case(case), engine.parse_rule_set(SHIPPED), date.fromisoformat(case["as_of"])
    )
    real = engine.result_to_dict(result, case_id=case["case_id"])
    assert {k: v for k, v in output_example.items() if k != "pathways"} == {
        k: v for k, v in real.items() if k != "pathways"
    }
    assert output_example["pathways"]
    for pathway, shown in output_example["pathways"].items():
        actual = real["pathways"][pathway]
        assert shown.keys() == actual.keys()
        assert (shown["outcome"], shown["missing"]) == (actual["outcome"], actual["missing"])
        assert (shown["next"], shown["lapses_on"], shown["lapse_reason"]) == (
            actual["next"],
            actual["lapses_on"],
            actual["lapse_reason"],
        )
        for key in ("criteria", "cautions"):
            assert shown[key] and all(item in actual[key] for item in shown[key]), key
