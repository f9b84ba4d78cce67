"""The import layers hold (.importlinter), and they are not a rubber stamp: a violation fails them."""

from __future__ import annotations

import configparser
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "api", "interop", "clinic", "referrals", "screening", "patients", "accounts", "clinical")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / ".importlinter"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the project's packages and contracts, free to break."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_project_keeps_its_contracts(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    "module,line,contract",
    [
        ("patients/models.py", "from referrals import models as _", "Apps in layers"),
        ("screening/models.py", "def _later():\n    from clinic import services  # noqa", "Apps in layers"),
        ("screening/engine/criteria.py", "from django.db import models as _", "screening engine"),
        ("screening/engine/criteria.py", "from screening import facts as _", "screening engine"),
        ("clinical/vocab.py", "import django as _", "clinical core is pure"),
        ("referrals/workflow.py", "from referrals import services as _", "No cycles"),
        ("clinic/services.py", "def _later():\n    from api import auth  # noqa", "Apps in layers"),
    ],
)
def test_a_violation_breaks_a_contract(tree: Path, module: str, line: str, contract: str) -> None:
    add_line(tree / module, line)
    result = lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"Contracts: \d kept, [1-4] broken\.", result.stdout), result.stdout
    broken = result.stdout.split("Broken contracts", 1)[1].replace("\n", "")  # names wrap at 80 columns
    assert contract in broken, result.stdout


def test_every_module_of_screening_outside_the_engine_is_forbidden_to_it() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    forbidden = set(config["importlinter:contract:engine-pure"]["forbidden_modules"].split())
    modules = {f"screening.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "screening")])} - {
        "screening.engine",
    }
    assert modules <= forbidden, f"add to engine-pure in .importlinter: {sorted(modules - forbidden)}"
