"""The repository stands on its own: nothing a reader sees sends them outside it.

The normative specs live beside the checkout in ``../shared/``; a clone does not
have them. The README, the docs, the templates and the code (docstrings,
comments, help texts) point to the project's own docs instead. Only the tests
that check the shipped data against the normative files read ``../shared``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.shipped import ROOT

OUTSIDE = re.compile(r"\.\./shared|shared/|case-format\.md|screening-rules\.md|clinical-reference\.md")
SKIPPED_DIRS = {"node_modules", "__pycache__", "tests", "vendor", "staticfiles", "test-results"}
SUFFIXES = {".py", ".sh", ".html", ".md", ".toml", ".txt", ".json", ".js", ".css"}


def readable_files() -> list[Path]:
    """README, docs, templates and code: every text file outside the tests and vendored files."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        found += [Path(folder) / name for name in files if Path(name).suffix in SUFFIXES]
    return sorted(found)


def test_no_reader_is_sent_to_the_normative_folder() -> None:
    files = readable_files()
    for expected in ("README.md", "docs/rule-sets.md", "clinical/vocab.py", "templates/base.html", "scripts/test.sh"):
        assert ROOT / expected in files, expected
    offending = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offending == []
