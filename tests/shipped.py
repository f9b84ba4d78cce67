"""Where the tests find the data files the app ships (one copy of each, in screening/data/).

The tests read the app's own copies: the default rule set the migrations seed and
the case files seeded as the rules' test cases, with their expected outcomes.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "screening" / "data"
RULES_PATH = DATA / "default-rules.json"
CASES = DATA / "test_cases"
EXPECTED_PATH = CASES / "expected.json"


def case_paths() -> list[Path]:
    """The shipped case files, by name (expected.json is not a case)."""
    return sorted(p for p in CASES.glob("*.json") if p != EXPECTED_PATH)
