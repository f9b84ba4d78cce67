"""docs/criteria.md is written from the declarations: it is current, and it names every type and parameter."""

from __future__ import annotations

import dataclasses
import runpy
import sys
from pathlib import Path

import pytest

from screening.engine import CRITERION_TYPES
from screening.engine.catalogue_doc import COMMAND, DOC_PATH, _allowed, _prose, _value, main, render
from screening.engine.criterion_types import ParamSpec


def test_the_committed_document_is_what_the_declarations_give() -> None:
    committed = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
    assert committed == render(), f"docs/criteria.md is stale: run {COMMAND}"


def sections() -> dict[str, str]:
    """Type name → its section of the document."""
    out: dict[str, str] = {}
    for part in render().split("\n## ")[1:]:
        heading, _, body = part.partition("\n")
        out[heading.strip("`")] = body
    return out


@pytest.mark.parametrize("type_name", list(CRITERION_TYPES))
def test_every_type_and_parameter_is_in_its_own_section(type_name: str) -> None:
    ctype = CRITERION_TYPES[type_name]
    section = sections()[type_name]
    assert f"**{ctype.label}**" in section
    assert f"- **Met**: {_prose(ctype.met_when, ctype)}." in section
    assert f"- **Not met**: {_prose(ctype.not_met_when, ctype)}." in section
    assert ("- **Unknown**: " in section) == ctype.can_be_unknown == ("- **Never unknown**" not in section)
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert [row.split(" ")[1] for row in rows] == [f"`{spec.name}`" for spec in ctype.params]
    for spec, row in zip(ctype.params, rows, strict=True):
        assert f"({spec.label})" in row and _allowed(spec) in row
        assert ("allowed: " in row) == spec.nullable
        assert row.endswith(" | — |") != spec.has_default
    assert f"[`{type_name}`](#{type_name})" in render()


def test_every_vocabulary_code_is_listed() -> None:
    from clinical import vocab

    text = render()
    codes = [*vocab.MANIFESTATION_CODES, *vocab.LN_CLASSES, *vocab.OBSERVATIONS, *vocab.CONDITION_CODES]
    missing = [code for code in [*codes, *vocab.DRUG_CLASSES] if f"`{code}`" not in text]
    assert not missing
    assert "### Agent" in text and "../shared" not in text and "screening-rules.md" not in text


def spec(**changes: object) -> ParamSpec:
    base = CRITERION_TYPES["damage_index_at_least"].params[0]  # min_score: integer, 0 to 47, points
    return dataclasses.replace(base, **{"maximum": None, **changes})  # type: ignore[arg-type]


def test_values_are_worded_by_kind_range_and_unit() -> None:
    assert _allowed(spec()) == "whole number, at least 0 (points)"
    assert _allowed(spec(minimum=None, maximum=10)) == "whole number, at most 10 (points)"
    assert _allowed(spec(minimum=None, unit=None)) == "whole number, any value"
    assert _allowed(spec(maximum=5, at_least="low")) == "whole number, 0 to 5, not below `low` (points)"
    assert _allowed(spec(kind="choice", choices=("a", "b"))) == "one of `a`, `b`"
    assert _allowed(spec(kind="choice", choices=("female",))) == "`female`"
    assert [_value(v) for v in (None, True, False, (), ("a", "b"), "x", 7)] == [
        "null",
        "true",
        "false",
        "(empty list)",
        "`a`, `b`",
        "`x`",
        "7",
    ]


def test_only_snake_case_parameter_names_are_set_as_code() -> None:
    observation = CRITERION_TYPES["observation_compare"]
    assert _prose("value × ULN when times_uln", observation) == "value × ULN when `times_uln`"
    agents_only = dataclasses.replace(CRITERION_TYPES["recent_drug"], params=CRITERION_TYPES["recent_drug"].params[:1])
    assert _prose("agents within_days", agents_only) == "agents within_days"


def test_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "criteria.md"
    assert main(["--check"], doc_path=doc) == 1  # no file yet
    assert f"{doc} is stale: run {COMMAND}" in capsys.readouterr().err
    assert main(["--write"], doc_path=doc) == 0
    assert doc.read_text(encoding="utf-8") == render()
    assert main(["--check"], doc_path=doc) == 0
    doc.write_text(render().replace("Met", "Fulfilled", 1), encoding="utf-8")
    assert main(["--check"], doc_path=doc) == 1
    capsys.readouterr()
    assert main([], doc_path=doc) == 0
    assert capsys.readouterr().out == render()


def test_run_as_a_module_checks_the_committed_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["catalogue_doc", "--check"])
    monkeypatch.delitem(sys.modules, "screening.engine.catalogue_doc")  # run afresh, as python -m does
    with pytest.raises(SystemExit) as excinfo:
        runpy.run_module("screening.engine.catalogue_doc", run_name="__main__")
    assert excinfo.value.code == 0
