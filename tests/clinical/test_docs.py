"""docs/case-files.md and docs/rule-sets.md say what the code does (no Django).

Their tables are generated (python -m clinical.docs --write); these tests fail
when a doc is stale, and check the hand-written examples against the code.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clinical import docs, vocab
from clinical.casefile import CaseFileError, case_schema, parse_case, validate_case
from tests.shipped import ROOT, RULES_PATH

DOCS = ROOT / "docs"
CASE_DOC = (DOCS / "case-files.md").read_text(encoding="utf-8")
DRUGS = {d["drug"]: d["dose_unit"] for d in json.loads(RULES_PATH.read_text(encoding="utf-8"))["drugs"]}


def json_blocks(text: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]


def example_case() -> dict[str, Any]:
    case: dict[str, Any] = json_blocks(CASE_DOC)[0]
    return case


# --- Generated blocks --------------------------------------------------------------


def test_the_docs_are_up_to_date() -> None:
    assert docs.stale() == [], "run python -m clinical.docs --write"
    assert docs.main(["--check"]) == 0


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    for name in docs.DOCS:
        shutil.copy(DOCS / name, tmp_path / name)
    return tmp_path


def test_a_stale_table_fails_the_check_and_write_repairs_it(docs_copy: Path, capsys) -> None:
    path = docs_copy / "case-files.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("| `seizure` | Seizure | 8 |", "| `seizure` | Seizure | 6 |")
    )
    assert docs.main(["--check", "--docs-dir", str(docs_copy)]) == 1
    assert "case-files.md is out of date" in capsys.readouterr().err
    assert docs.main(["--write", "--docs-dir", str(docs_copy)]) == 0
    assert path.read_text(encoding="utf-8") == CASE_DOC
    assert docs.main(["--check", "--docs-dir", str(docs_copy)]) == 0


@pytest.mark.parametrize(
    "change,problem",
    [
        (
            lambda t: re.sub(r"<!-- BEGIN GENERATED sdi.*?<!-- END GENERATED sdi -->\n", "", t, flags=re.S),
            "missing: sdi",
        ),
        (lambda t: t + "\n<!-- BEGIN GENERATED sledai -->\n<!-- END GENERATED sledai -->\n", "twice: sledai"),
        (lambda t: t + "\n<!-- BEGIN GENERATED nosuch -->\n<!-- END GENERATED nosuch -->\n", "unknown generated"),
    ],
    ids=["missing", "twice", "unknown"],
)
def test_a_doc_whose_blocks_do_not_match_is_reported(
    docs_copy: Path, change: Callable[[str], str], problem: str, capsys
) -> None:
    path = docs_copy / "case-files.md"
    path.write_text(change(path.read_text(encoding="utf-8")))
    assert docs.main(["--check", "--docs-dir", str(docs_copy)]) == 1
    assert problem in capsys.readouterr().err
    assert docs.main(["--write", "--docs-dir", str(docs_copy)]) == 1
    assert problem in capsys.readouterr().err


def test_every_case_file_field_is_in_the_doc() -> None:
    def paths(schema: dict[str, Any], prefix: str) -> list[str]:
        out = []
        for name, field in schema.get("properties", {}).items():
            if field.get("type") == "array" and field["items"].get("type") == "object":
                out.append(f"{prefix}{name}[]")
                out += paths(field["items"], f"{prefix}{name}[].")
            else:
                out.append(prefix + name)
                if field.get("type") == "object" and "propertyNames" not in field:
                    out += paths(field, f"{prefix}{name}.")
        return out

    fields = paths(case_schema(), "")
    assert len(fields) > 30
    for field in fields:
        assert f"| `{field}` |" in CASE_DOC, field


def test_every_code_is_in_the_doc() -> None:
    tables = [
        vocab.SLEDAI_ITEMS,
        vocab.EULAR_CRITERIA,
        vocab.SDI_ITEMS,
        vocab.MANIFESTATION_CODES,
        vocab.OBSERVATIONS,
        vocab.CONDITION_CODES,
        vocab.STOP_REASONS,
    ]
    for table in tables:
        for code in table:
            assert f"| `{code}` |" in CASE_DOC, code
    for code in (*vocab.LN_CLASSES, *vocab.BILAG_SYSTEMS, *vocab.BILAG_GRADES):
        assert f"`{code}`" in CASE_DOC, code
    assert f"{vocab.OBSERVATIONS['egfr'].unit} | {vocab.OBSERVATIONS['egfr'].loinc} |" in CASE_DOC


def test_the_docs_anchors_exist() -> None:
    """Links inside the two docs to a heading of one of them point at a heading that exists."""
    texts = {name: (DOCS / name).read_text(encoding="utf-8") for name in docs.DOCS}
    anchors = {
        name: {docs.anchor(h)[1:] for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)} for name, text in texts.items()
    }
    checked = 0
    for name, text in texts.items():
        for target, anchor in re.findall(r"\]\(([a-z-]*\.md)?#([^)]+)\)", text):
            assert anchor in anchors[target or name], f"{name}: {target}#{anchor}"
            checked += 1
    assert checked > 10


# --- The hand-written examples ---------------------------------------------------


def test_the_example_case_file_is_valid_and_already_in_normal_form() -> None:
    case = example_case()
    assert validate_case(case, drugs=DRUGS) == case


def set_path(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(case: dict[str, Any]) -> None:
        target = case
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def duplicate_first_condition(case: dict[str, Any]) -> None:
    case["conditions"].append(dict(case["conditions"][0]))


DOCUMENTED_ERRORS: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (set_path("treatments", 1, "end", value="2023-01-01"), "treatments[1].end: before start"),
    (set_path("observations", 0, "code", value="gfr"), 'observations[0].code: "gfr" is not a known observation code'),
    (
        set_path("patient", "weight_kg", value="58"),
        'patient.weight_kg: must be a number or null, not the text "58"',
    ),
    (duplicate_first_condition, "conditions[1]: duplicate: another pregnancy on 2026-10-12"),
    (
        set_path("treatments", 0, "dose_unit", value="mg"),
        "treatments[0].dose_unit: must be mg/day for hydroxychloroquine",
    ),
    (set_path("patient", "height", value=1.6), "patient.height: unknown field"),
]


@pytest.mark.parametrize("mutate,message", DOCUMENTED_ERRORS, ids=[m for _, m in DOCUMENTED_ERRORS])
def test_the_documented_error_messages_are_the_real_ones(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    case = copy.deepcopy(example_case())
    mutate(case)
    with pytest.raises(CaseFileError) as caught:
        validate_case(case, drugs=DRUGS)
    assert str(caught.value) == message
    assert f"| `{message}` |" in CASE_DOC


def test_the_documented_message_for_a_file_that_is_not_json() -> None:
    with pytest.raises(CaseFileError) as caught:
        parse_case("", drugs=DRUGS)
    assert f"| `{caught.value}` |" in CASE_DOC
