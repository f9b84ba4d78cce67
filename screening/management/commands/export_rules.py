"""export_rules [--version VERSION]: print a rule set as a rule-set file."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from patients.management.commands._util import fail
from screening.models import RuleSet


class Command(BaseCommand):
    help = "Print a rule set (default: the published one) as a rule-set file."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        # The contract's --version names a rule set; it replaces Django's own --version flag.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--version", dest="rules_version", help="version to export")

    def handle(self, *args: Any, rules_version: str | None = None, **options: Any) -> None:
        qs = RuleSet.objects.all()
        rule_set = qs.filter(version=rules_version).first() if rules_version else qs.filter(status="published").first()
        if rule_set is None:
            fail(f"--version: no rule set {rules_version!r}" if rules_version else "no published rule set")
        self.stdout.write(json.dumps(rule_set.content, indent=2, ensure_ascii=False))
