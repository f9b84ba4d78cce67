"""The command-line contract of screening and rules (docs/case-files.md, docs/rule-sets.md)."""

from __future__ import annotations

import json

import pytest

from screening.models import RuleSet
from tests.patients.test_case_import_export import run
from tests.shipped import (
    CASES,
    EXPECTATIONS,
    EXPECTED_PATH,
    LAPSES_PATH,
    RULES_PATH,
    earlier_rules_path,
    earlier_versions,
)

EXPECTED = json.loads(EXPECTED_PATH.read_text())
LAPSES = json.loads(LAPSES_PATH.read_text())
DEFAULT_RULES = json.loads(RULES_PATH.read_text())


@pytest.mark.django_db
def test_screen_case_prints_json_lines_in_order() -> None:
    names = sorted(EXPECTED)
    code, out, err = run("screen_case", *[str(CASES / f"{n}.json") for n in names])
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["case_id"] for line in lines] == names
    for line in lines:
        for pathway, expected in EXPECTED[line["case_id"]].items():
            got = line["pathways"][pathway]
            assert got["outcome"] == expected["outcome"]
            assert {c["id"]: c["status"] for c in got["cautions"]} == expected["cautions"]
            assert got["lapses_on"] == LAPSES[line["case_id"]][pathway]  # and when each flag lapses
            assert (got["lapse_reason"] is None) == (got["lapses_on"] is None)
            assert bool(got["next"]) <= (got["outcome"] != "flagged")
        assert line["rule_set"] == {"name": "Default rules", "version": "2026.2"} and line["as_of"] == "2026-11-01"


@pytest.mark.django_db
@pytest.mark.parametrize("version", earlier_versions())
def test_screen_case_with_an_earlier_default_rules_file_gives_its_expectations(version) -> None:
    """2026.1 stays reproducible: its shipped file, given as --rules, gives expectations/2026.1.json exactly."""
    expected = json.loads((EXPECTATIONS / f"{version}.json").read_text())
    names = sorted(expected)
    code, out, err = run(
        "screen_case", "--rules", str(earlier_rules_path(version)), *[str(CASES / f"{n}.json") for n in names]
    )
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["case_id"] for line in lines] == names
    for line in lines:
        got = {
            pathway: {"outcome": value["outcome"], "cautions": {c["id"]: c["status"] for c in value["cautions"]}}
            for pathway, value in line["pathways"].items()
        }
        assert got == expected[line["case_id"]]
        assert line["rule_set"] == {"name": "Default rules", "version": version}
    assert any(expected[name] != EXPECTED[name] for name in names)  # so the file given is the one that screened


@pytest.mark.django_db
def test_screen_case_with_a_rules_file_and_as_of(tmp_path) -> None:
    rules = json.loads(json.dumps(DEFAULT_RULES))
    rules["version"] = "try-1"
    rules["pathways"][0]["inclusion"]["all"][1]["params"]["max_years"] = 70
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    code, out, _ = run("screen_case", "--rules", str(path), str(CASES / "older-patient.json"))
    line = json.loads(out)
    assert code == 0 and line["rule_set"]["version"] == "try-1" and line["pathways"]["hsct"]["outcome"] != "not_flagged"
    code, out, _ = run("screen_case", "--as-of", "2026-12-31", str(CASES / "mild-disease.json"))
    assert json.loads(out)["as_of"] == "2026-12-31"
    assert not RuleSet.objects.filter(version="try-1").exists()  # --rules touches no database


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args,needle",
    [
        (["--as-of", "31/12/2026"], "--as-of"),
        (["--as-of", "1900-01-02"], "as_of"),
        (["--as-of", "0001-01-01"], "--as-of: must not be before 1900-01-01"),
        (["--as-of", "9999-12-31"], "--as-of: must not be after 2199-12-31"),
        (["--rules", "/no/rules.json"], "/no/rules.json"),
    ],
)
def test_screen_case_bad_input(args, needle) -> None:
    code, out, err = run("screen_case", *args, str(CASES / "mild-disease.json"))
    assert code == 2 and needle in err and out == ""


@pytest.mark.django_db
def test_export_rules_on_a_fresh_install_gives_the_default_rules() -> None:
    code, out, _ = run("export_rules")
    assert code == 0 and json.loads(out) == DEFAULT_RULES
    code, out, _ = run("export_rules", "--version", "2026.2")
    assert json.loads(out) == DEFAULT_RULES
    code, _, err = run("export_rules", "--version", "2026.1")  # a fresh install never stored 2026.1
    assert code == 2 and "2026.1" in err
    code, _, err = run("export_rules", "--version", "1999")
    assert code == 2 and "--version" in err


@pytest.mark.django_db
def test_import_rules_stores_a_draft(tmp_path) -> None:
    rules = json.loads(json.dumps(DEFAULT_RULES))
    rules["version"] = "2027.1"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rules))
    code, out, err = run("import_rules", str(path))
    assert code == 0, err
    draft = RuleSet.objects.get(version="2027.1")
    assert draft.status == "draft" and draft.content == rules
    assert RuleSet.objects.published().version == "2026.2"
    code, _, err = run("import_rules", str(path))
    assert code == 2 and "version" in err and "already exists" in err


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda r: r["pathways"][0]["inclusion"]["all"][1]["params"].update(max_years="sixty"), "hsct.age"),
        (lambda r: r["pathways"][0]["inclusion"]["all"][1].update(type="age_range"), "hsct.age"),
        (lambda r: r["cautions"][0]["criterion"]["any"][0]["params"].pop("codes"), "codes"),
        (lambda r: r["drugs"][0].pop("class"), "class"),
    ],
)
def test_import_rules_bad_file_names_node_and_parameter(tmp_path, mutate, needle) -> None:
    rules = json.loads(json.dumps(DEFAULT_RULES))
    rules["version"] = "bad"
    mutate(rules)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(rules))
    code, _, err = run("import_rules", str(path))
    assert code == 2 and needle in err and str(path) in err
    assert not RuleSet.objects.filter(version="bad").exists()


@pytest.mark.django_db
def test_rescreen_command_rescreens_everyone(site_a) -> None:
    from patients.models import Patient
    from screening.models import ScreeningResult

    Patient.objects.create(site=site_a, identifier="A")
    Patient.objects.create(site=site_a, identifier="B")
    code, out, _ = run("rescreen", "--now")
    assert code == 0 and "re-screened 2 patient(s)" in out
    assert list(ScreeningResult.objects.values_list("trigger", flat=True)) == ["scheduled", "scheduled"]
    code, out, _ = run("rescreen")  # queued: the immediate backend of the tests runs it at once
    assert code == 0 and "queued" in out
    assert ScreeningResult.objects.count() == 2  # the same day, nothing changed: no new result
