"""Where the tests find the data files the app ships (one copy of each, in screening/data/).

The tests read the app's own copies: the default rule set the migrations seed and the
earlier default rule sets it replaced (``rules/default-VERSION.json``, kept to reproduce
results stored under them), and the case files seeded as the rules' test cases, with
their expected outcomes under the default rules (``expected.json``) and under each
earlier default (``expectations/VERSION.json``).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "screening" / "data"
RULES_PATH = DATA / "default-rules.json"
EARLIER_RULES = DATA / "rules"
CASES = DATA / "test_cases"
EXPECTED_PATH = CASES / "expected.json"
EXPECTATIONS = CASES / "expectations"
LAPSES_PATH = EXPECTATIONS / "lapses.json"  # each flag's lapse date under the default rules


def case_paths() -> list[Path]:
    """The shipped case files, by name (expected.json is not a case)."""
    return sorted(p for p in CASES.glob("*.json") if p != EXPECTED_PATH)


def earlier_rules_path(version: str) -> Path:
    """The shipped copy of an earlier default rule set."""
    return EARLIER_RULES / f"default-{version}.json"


def earlier_versions() -> list[str]:
    """The earlier defaults that have expected outcomes: one file per version in expectations/."""
    return sorted(p.stem for p in EXPECTATIONS.glob("*.json") if p != LAPSES_PATH)
