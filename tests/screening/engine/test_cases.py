"""The shipped case files give exactly expected.json, and under each earlier default exactly its expectations file.

The output has the documented shape and wording. The earlier defaults stay reproducible: 2026.1's shipped file
gives test_cases/expectations/2026.1.json, case by case, outcome and caution statuses alike.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from screening.engine import (
    STANDING_NOTE,
    EngineError,
    Outcome,
    RuleSet,
    case_as_of,
    facts_from_case,
    outcome_sentence,
    parse_rule_set,
    result_to_dict,
    screen,
    why_not,
)
from tests.screening.engine.helpers import default_rules, default_rules_json, facts, load_case
from tests.shipped import CASES, EXPECTATIONS, EXPECTED_PATH, case_paths, earlier_rules_path, earlier_versions

EXPECTED: dict[str, Any] = json.loads(EXPECTED_PATH.read_text(encoding="utf-8"))
CURRENT: str = default_rules_json()["version"]
FORBIDDEN = re.compile(r"eligib|approved|candidate", re.IGNORECASE)


def rules_of(version: str) -> RuleSet:
    """The shipped default rule set of a version: the current default, or an earlier one kept in rules/."""
    if version == CURRENT:
        return default_rules()
    return parse_rule_set(json.loads(earlier_rules_path(version).read_text(encoding="utf-8")))


def expectations_of(version: str) -> dict[str, Any]:
    path = EXPECTED_PATH if version == CURRENT else EXPECTATIONS / f"{version}.json"
    expected: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return expected


def screen_case(path: Path, rules: RuleSet | None = None) -> dict[str, Any]:
    case = load_case(path)
    as_of = case_as_of(case)
    assert as_of is not None
    return result_to_dict(screen(facts_from_case(case), rules or default_rules(), as_of), case_id=case["case_id"])


def test_every_expected_case_has_a_file() -> None:
    assert sorted(EXPECTED) == sorted(load_case(p)["case_id"] for p in case_paths())


def test_every_earlier_default_has_its_rules_and_expectations_for_every_case() -> None:
    assert earlier_versions() == ["2026.1"]  # every file in expectations/ is read below
    for version in earlier_versions():
        assert rules_of(version).version == version != CURRENT
        assert sorted(expectations_of(version)) == sorted(EXPECTED)


VERSIONED_CASES = [(version, path) for version in [CURRENT, *earlier_versions()] for path in case_paths()]


@pytest.mark.parametrize(("version", "path"), VERSIONED_CASES, ids=[f"{v}-{p.stem}" for v, p in VERSIONED_CASES])
def test_case_gives_expected_outcomes_and_caution_statuses(version: str, path: Path) -> None:
    output = screen_case(path, rules_of(version))
    assert output["rule_set"] == {"name": "Default rules", "version": version}
    expected = expectations_of(version)[output["case_id"]]
    got = {
        pid: {"outcome": pw["outcome"], "cautions": {c["id"]: c["status"] for c in pw["cautions"]}}
        for pid, pw in output["pathways"].items()
    }
    assert got == expected


def major_organ(pathway: dict[str, Any]) -> dict[str, Any]:
    activity = next(c for c in pathway["criteria"] if c["id"] == "hsct.severe_activity")
    return next(c for c in activity["children"] if c["id"] == "hsct.severe_activity.major_organ")  # type: ignore[no-any-return]


def test_the_unbiopsied_nephritis_case_is_what_2026_2_changes() -> None:
    """Its HSCT outcome is the one outcome that differs between 2026.1 and 2026.2, and for the documented reason."""
    path = CASES / "nephritis-unbiopsied.json"
    differ = {
        (name, pid)
        for name, pathways in EXPECTED.items()
        for pid, value in pathways.items()
        if expectations_of("2026.1")[name][pid] != value
    }
    assert differ == {("nephritis-unbiopsied", "hsct")}
    old = screen_case(path, rules_of("2026.1"))["pathways"]["hsct"]
    new = screen_case(path, rules_of(CURRENT))["pathways"]["hsct"]
    old_major, new_major = (major_organ(pathway) for pathway in (old, new))
    assert (old["outcome"], old_major["result"], old["missing"]) == ("not_flagged", "not_met", [])
    assert (new["outcome"], new_major["result"]) == ("insufficient_data", "unknown")
    assert new["missing"] == ["a kidney biopsy class of the active lupus nephritis, dated on or after 2025-11-01"]
    # Both name the active nephritis first and why it does not count; only the result differs.
    assert old_major["explanation"] == new_major["explanation"]
    assert new_major["explanation"].startswith("Lupus nephritis active (2026-09-01), but no biopsy class recorded")


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_output_shape(path: Path) -> None:
    output = screen_case(path)
    json.dumps(output)  # plain JSON
    assert list(output) == ["case_id", "as_of", "rule_set", "pathways"]
    assert output["as_of"] == "2026-11-01"
    assert output["rule_set"] == {"name": "Default rules", "version": "2026.2"}
    rules = default_rules()
    assert list(output["pathways"]) == [p.id for p in rules.pathways]
    for pathway in rules.pathways:
        pw = output["pathways"][pathway.id]
        assert list(pw) == ["outcome", "criteria", "missing", "cautions", "next", "lapses_on", "lapse_reason"]
        flagged = pw["outcome"] == "flagged"
        assert all(isinstance(line, str) and line for line in pw["next"])
        assert not (flagged and pw["next"])
        assert (pw["lapses_on"] is None) == (pw["lapse_reason"] is None)
        assert flagged or pw["lapses_on"] is None
        assert pw["outcome"] in {"flagged", "not_flagged", "insufficient_data"}
        # Criteria: the top-level children of the inclusion root, in rule-set order.
        assert [c["id"] for c in pw["criteria"]] == [c.id for c in pathway.inclusion.children]  # type: ignore[union-attr]
        stack = list(pw["criteria"])
        while stack:
            node = stack.pop()
            assert node["result"] in {"met", "not_met", "unknown"}
            assert node["explanation"] and "\n" not in node["explanation"]
            if "children" in node:
                assert set(node) == {"id", "result", "explanation", "children"}
                stack.extend(node["children"])
            else:
                assert set(node) == {"id", "result", "explanation", "type", "source", "refs"}
                assert all(isinstance(r, str) for r in node["refs"])
        assert (pw["missing"] != []) == (pw["outcome"] == "insufficient_data")
        applicable = [c.id for c in rules.cautions if c.severity_for(pathway.id) is not None]
        assert [c["id"] for c in pw["cautions"]] == applicable
        for caution in pw["cautions"]:
            assert list(caution) == ["id", "severity", "status", "explanation", "source", "refs"]
            assert caution["severity"] in {"contraindication", "caution"}
            assert "\n" not in caution["explanation"]
            assert caution["explanation"].startswith("work-up incomplete: ") == (caution["status"] == "unknown")


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_output_never_uses_decision_words(path: Path) -> None:
    output = screen_case(path)
    result = screen(facts_from_case(load_case(path)), default_rules(), date(2026, 11, 1))
    texts = [json.dumps(output, ensure_ascii=False)]
    for pathway in result.pathways:
        texts += why_not(result, pathway.id)
        texts.append(outcome_sentence(pathway.outcome, "HSCT"))
    texts.append(STANDING_NOTE)
    for text in texts:
        assert not FORBIDDEN.search(text), text


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_facts_from_the_validated_case_are_the_same(path: Path) -> None:
    from clinical.casefile import validate_case

    case = load_case(path)
    drugs = {d.drug: d.dose_unit for d in default_rules().drugs}
    assert facts_from_case(validate_case(case, drugs=drugs)) == facts_from_case(case)


def test_refs_are_paths_into_the_case_file() -> None:
    output = screen_case(CASES / "refractory-nephritis.json")
    criteria = {c["id"]: c for c in output["pathways"]["hsct"]["criteria"]}
    assert criteria["hsct.age"]["refs"] == ["patient.birth_date"]
    assert criteria["hsct.antimalarial"]["refs"] == ["treatments[0]"]
    refractory = {c["id"]: c for c in criteria["hsct.refractory"]["children"]}
    assert refractory["hsct.refractory.failed_agents"]["refs"] == [
        "treatments[2]",
        "treatments[3]",
        "treatments[4]",
        "assessments[1]",
    ]


def test_partial_activity_score_lists_the_not_assessed_items_in_one_line() -> None:
    output = screen_case(CASES / "partial-activity-score.json")
    assert output["pathways"]["hsct"]["missing"] == [
        "SLEDAI-2K items not assessed on 2026-10-15: low complement, increased DNA binding"
    ]


def test_no_recent_assessment_names_the_assessment_needed() -> None:
    output = screen_case(CASES / "no-recent-assessment.json")
    for pathway in ("hsct", "msc"):
        (line,) = output["pathways"][pathway]["missing"]
        assert "SLEDAI-2K assessment" in line and "30 days" in line


def test_workup_pending_cautions_say_what_would_settle_them() -> None:
    output = screen_case(CASES / "workup-pending.json")
    cautions = {c["id"]: c for c in output["pathways"]["hsct"]["cautions"]}
    cardiac = cautions["cardiac_function"]["explanation"]
    assert cardiac.startswith("work-up incomplete: ") and "ejection fraction" in cardiac and "365 days" in cardiac
    viral = cautions["viral_infection"]["explanation"]
    assert all(word in viral for word in ("HIV", "Hepatitis B", "Hepatitis C"))


def test_why_not_lists_the_criteria_not_met() -> None:
    result = screen(facts_from_case(load_case(CASES / "older-patient.json")), default_rules(), date(2026, 11, 1))
    assert why_not(result, "hsct") == ["hsct.age: age 63 on 2026-11-01 (born 1963-02-20), range 18–60"]
    assert why_not(result, "msc") == []  # flagged
    mild = screen(facts_from_case(load_case(CASES / "mild-disease.json")), default_rules(), date(2026, 11, 1))
    lines = why_not(mild, "msc")
    assert lines[0] == "msc.activity: SLEDAI-2K 4 on 2026-10-15 (arthritis 4), needs ≥ 6"
    hsct = why_not(mild, "hsct")
    # A not-met "any" group lists each of its children.
    assert [line.split(":")[0] for line in hsct] == [
        "hsct.severe_activity.sledai",
        "hsct.severe_activity.major_organ",
        "hsct.refractory.failed_agents",
        "hsct.refractory.steroid_dependent.glucocorticoids",
        "hsct.refractory.steroid_dependent.failed_agent",
    ]


def test_outcome_sentences() -> None:
    assert outcome_sentence(Outcome.FLAGGED, "HSCT") == "A referral for HSCT evaluation may be worth considering."
    assert outcome_sentence("not_flagged", "HSCT") == "Not flagged for HSCT evaluation by the current rules."
    assert (
        outcome_sentence("insufficient_data", "MSC therapy") == "Not enough data to screen for MSC therapy evaluation."
    )


def test_as_of_before_birth_date_is_refused() -> None:
    with pytest.raises(EngineError, match="before the birth date"):
        screen(facts(birth_date=date(2000, 1, 2)), default_rules(), date(2000, 1, 1))
    # The birth date itself is fine (age 0).
    screen(facts(birth_date=date(2000, 1, 2)), default_rules(), date(2000, 1, 2))


def test_screening_twice_gives_the_same_result() -> None:
    case = load_case(CASES / "contraindications-present.json")
    first = screen(facts_from_case(case), default_rules(), date(2026, 11, 1))
    second = screen(facts_from_case(case), default_rules(), date(2026, 11, 1))
    assert first == second


def test_engine_imports_no_django() -> None:
    code = (
        "import sys, screening.engine, screening.engine.output, screening.engine.casefile; "
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_outcomes_only_gives_the_same_outcomes_and_criteria_without_outlook_or_cautions(path: Path) -> None:
    """What an impact preview asks for: the outcomes and inclusion trees of a full screening, and nothing
    it does not show (lapse dates, nearest ways, cautions)."""
    from screening.engine import case_as_of, facts_from_case, screen

    case = load_case(path)
    full = screen(facts_from_case(case), default_rules(), case_as_of(case))
    lean = screen(facts_from_case(case), default_rules(), case_as_of(case), outlook=False, cautions=False)
    assert [(p.id, p.outcome, p.inclusion) for p in lean.pathways] == [
        (p.id, p.outcome, p.inclusion) for p in full.pathways
    ]
    assert all(p.cautions == () and p.next == () and p.lapses_on is None for p in lean.pathways)
    assert any(p.cautions for p in full.pathways)
