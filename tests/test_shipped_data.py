"""The data files the app ships are the normative ones, unchanged.

The app ships one copy of each data file, in ``screening/data/``: the default
rule set the migrations seed and the case files seeded as the rules' test
cases, with their expected outcomes. The normative copies live outside the
repository, in ``../shared/`` beside the checkout (CI has it there); these
tests compare the shipped copies against them. Without ``../shared`` they skip
and say why. Nothing else in the project reads ``../shared``.

The normative folder holds the newest default rule set (``default-rules.json``)
and earlier ones, unchanged, in ``rules/default-VERSION.json``; expected
outcomes under an earlier version are in ``cases/expectations/VERSION.json``.
The shipped rules are compared with the normative file of their own version,
and the app ships a copy of every earlier one (``screening/data/rules/``) and
of every expectations file (``test_cases/expectations/``), to reproduce
results stored under them.

One normative file is not shipped: ``cases/expectations/lapses.json``, the
dates on which a flag would lapse. The engine does not compute lapse dates
yet (issue 11, part 2), so nothing reads it; the file-by-file comparison
names it as the one file left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.shipped import (
    CASES,
    EARLIER_RULES,
    EXPECTATIONS,
    EXPECTED_PATH,
    LAPSES_PATH,
    ROOT,
    RULES_PATH,
    case_paths,
)

SHARED = ROOT.parent / "shared"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"the normative files are not beside the checkout ({SHARED} is absent)"
)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SHIPPED_VERSION = load(RULES_PATH)["version"]


def normative_rules() -> Path:
    """The normative rule-set file of the shipped version: an earlier one in rules/, else the newest."""
    earlier = SHARED / "rules" / f"default-{SHIPPED_VERSION}.json"
    return earlier if earlier.exists() else SHARED / "default-rules.json"


def normative_expectations() -> Path:
    earlier = SHARED / "cases" / "expectations" / f"{SHIPPED_VERSION}.json"
    return earlier if earlier.exists() else SHARED / "cases" / "expected.json"


def test_the_shipped_expectations_name_exactly_the_shipped_cases() -> None:
    assert sorted(load(EXPECTED_PATH)) == [p.stem for p in case_paths()]
    assert all(load(p)["case_id"] == p.stem for p in case_paths())


@needs_shared
def test_the_shipped_rules_are_the_normative_rules_of_their_version() -> None:
    normative = load(normative_rules())
    assert normative["version"] == SHIPPED_VERSION
    assert load(RULES_PATH) == normative


@needs_shared
@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_each_shipped_case_is_the_normative_case(path: Path) -> None:
    assert load(path) == load(SHARED / "cases" / path.name)


@needs_shared
def test_the_shipped_expected_outcomes_are_the_normative_ones_for_the_shipped_rules() -> None:
    normative = load(normative_expectations())
    shipped = load(EXPECTED_PATH)
    assert set(shipped) <= set(normative), "a shipped case has no normative expectation"
    assert shipped == {name: normative[name] for name in shipped}


NOT_SHIPPED: set[str] = set()


@needs_shared
def test_every_normative_case_file_and_expectations_file_is_shipped_unchanged() -> None:
    normative = {p.relative_to(SHARED / "cases").as_posix() for p in (SHARED / "cases").rglob("*.json")}
    shipped = {p.relative_to(CASES).as_posix() for p in CASES.rglob("*.json")}
    assert NOT_SHIPPED <= normative, "a file listed as not shipped is gone from the normative folder"
    assert shipped == normative - NOT_SHIPPED
    for name in sorted(shipped):
        assert load(CASES / name) == load(SHARED / "cases" / name), name


@needs_shared
def test_every_earlier_default_rule_set_is_shipped_unchanged() -> None:
    normative = sorted(p.name for p in (SHARED / "rules").glob("*.json"))
    assert normative == sorted(p.name for p in EARLIER_RULES.glob("*.json")) == ["default-2026.1.json"]
    for name in normative:
        assert load(EARLIER_RULES / name) == load(SHARED / "rules" / name), name
    assert load(SHARED / "default-rules.json")["version"] == SHIPPED_VERSION == "2026.2"


def test_each_expectations_file_names_a_shipped_earlier_rule_set_and_every_case() -> None:
    for path in EXPECTATIONS.glob("*.json"):
        if path == LAPSES_PATH:
            continue
        rules = load(EARLIER_RULES / f"default-{path.stem}.json")
        assert rules["version"] == path.stem != SHIPPED_VERSION
        assert sorted(load(path)) == sorted(load(EXPECTED_PATH))


def test_the_lapses_file_names_every_case_and_pathway() -> None:
    lapses, expected = load(LAPSES_PATH), load(EXPECTED_PATH)
    assert sorted(lapses) == sorted(expected)
    for case, pathways in lapses.items():
        assert sorted(pathways) == sorted(expected[case]), case


def test_there_is_no_second_copy_of_the_shipped_data() -> None:
    assert not (ROOT / "tests" / "data").exists(), "tests/data would be a second copy of screening/data"
