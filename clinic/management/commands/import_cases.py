"""import_cases --site SITE CASE.json ...: validate every file, then write all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Site
from clinical.casefile import CaseFileError
from patients.casefiles import import_cases, validate_all
from patients.management.commands._util import fail
from screening.catalogue import drug_units


class Command(BaseCommand):
    help = "Import case files (sle-screening-case/1) into a site, creating or updating patients."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--site", required=True, help="code of an existing site")
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, site: str, files: list[Path], **options: Any) -> None:
        target = Site.objects.filter(code=site).first()
        if target is None:
            fail(f"--site: no site with code {site!r}")
        named = []
        for path in files:
            try:
                named.append((str(path), path.read_bytes()))
            except OSError as err:
                fail(f"{path}: cannot read the file ({err.strerror})")
        try:
            cases = validate_all(named, drugs=drug_units(), today=timezone.localdate())
            outcome = import_cases(actor=None, site=target, cases=cases)
        except CaseFileError as err:
            fail(str(err))
        self.stdout.write(
            f"imported {len(cases)} case file(s) into {target.code}: {outcome.created} created, {outcome.updated} updated"
        )
