"""import_rules FILE: validate a rule-set file and store it as a new draft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from patients.management.commands._util import fail
from screening.rulesets import RuleSetRefused, import_rule_set, parse_rules_text


class Command(BaseCommand):
    help = "Validate a rule-set file (sle-screening-rules/1) and store it as a new draft."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            content = parse_rules_text(file.read_bytes())
            rule_set = import_rule_set(actor=None, content=content, note=f"imported from {file.name}")
        except OSError as err:
            fail(f"{file}: cannot read the file ({err.strerror})")
        except RuleSetRefused as err:
            fail(f"{file}: {err}")
        self.stdout.write(f"stored {rule_set.name} {rule_set.version} as a draft")
