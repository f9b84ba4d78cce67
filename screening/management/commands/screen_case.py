"""screen_case [--rules FILE] [--as-of DATE] CASE.json ...: screen case files without the database's patients."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from clinical import plausibility
from clinical.casefile import CaseFileError, parse_case
from patients.management.commands._util import fail
from screening import engine
from screening.models import RuleSet
from screening.rulesets import RuleSetRefused, parse_rules_text
from screening.services import parsed_rules


class Command(BaseCommand):
    help = "Screen case files; print one JSON object per case (JSON Lines), in the order given."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--rules", type=Path, help="a rule-set file to use instead of the published rules")
        parser.add_argument("--as-of", dest="as_of", help="evaluation date YYYY-MM-DD, overriding each file's as_of")
        parser.add_argument("files", nargs="+", type=Path)

    def handle(
        self, *args: Any, files: list[Path], rules: Path | None = None, as_of: str | None = None, **options: Any
    ) -> None:
        if rules is not None:
            try:
                rule_set = engine.parse_rule_set(parse_rules_text(rules.read_bytes()))
            except OSError as err:
                fail(f"{rules}: cannot read the file ({err.strerror})")
            except RuleSetRefused as err:
                fail(f"{rules}: {err}")
        else:
            rule_set = parsed_rules(RuleSet.objects.published())
        override: date | None = None
        if as_of is not None:
            try:
                override = date.fromisoformat(as_of)
            except ValueError:
                fail(f"--as-of: {as_of!r} is not a date (YYYY-MM-DD)")
            if problem := plausibility.calendar_date(override):
                fail(f"--as-of: {problem}")  # the bounds of every date in a case file
        drugs = {d.drug: d.dose_unit for d in rule_set.drugs}
        today = timezone.localdate()
        screened = []
        for path in files:
            try:
                case = parse_case(path.read_bytes(), drugs=drugs, today=override or today)
            except OSError as err:
                fail(f"{path}: cannot read the file ({err.strerror})")
            except CaseFileError as err:
                fail(f"{path}: {err}")
            when = override or date.fromisoformat(case["as_of"])
            try:
                result = engine.screen(engine.facts_from_case(case), rule_set, when)
            except engine.EngineError as err:
                fail(f"{path}: as_of: {err}")
            screened.append(engine.result_to_dict(result, case_id=case["case_id"]))
        for out in screened:
            self.stdout.write(json.dumps(out, ensure_ascii=False))
