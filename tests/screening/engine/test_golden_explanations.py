"""The full explanation text of every public case under the default rules, held in a reviewed file.

golden/explanations.txt is what ``golden_text`` gives for the shipped case files: outcomes, every
criterion with its result and explanation, the missing lines, every caution with its refs. A wording
change shows as a diff of that file. To accept a change, run this test with CANDIDACY_UPDATE_GOLDEN=1:
it rewrites the file and then FAILS, so that an update never passes silently (CI never sets the
variable); review the diff, commit it, and run the test again without the variable.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.screening.engine.golden_text import golden_text
from tests.screening.engine.helpers import default_rules, load_case
from tests.shipped import case_paths

GOLDEN = Path(__file__).parent / "golden" / "explanations.txt"
UPDATE = "CANDIDACY_UPDATE_GOLDEN"


def test_explanations_match_the_golden_file() -> None:
    text = golden_text(case_paths(), default_rules())
    if os.environ.get(UPDATE) == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
        pytest.fail(f"{UPDATE}=1: rewrote {GOLDEN.name}; review its diff, then run again without {UPDATE}")
    assert GOLDEN.exists(), f"no golden file: run with {UPDATE}=1 to write it"
    expected = GOLDEN.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), text.splitlines(keepends=True), "golden", "now", n=1
            )
        )
        pytest.fail(f"explanations differ from {GOLDEN.name} (rerun with {UPDATE}=1 to accept):\n{diff}")


def test_golden_has_one_section_per_case() -> None:
    text = GOLDEN.read_text(encoding="utf-8")
    headings = [line.split()[1] for line in text.splitlines() if line.startswith("=== ")]
    assert headings == [load_case(path)["case_id"] for path in case_paths()]
