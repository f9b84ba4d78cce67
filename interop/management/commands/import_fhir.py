"""import_fhir --site SITE [--dry-run] [--skip-unmapped] BUNDLE.json: import one patient's FHIR R4 Bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Site
from clinical.casefile import CaseFileError
from interop.services import import_prepared, prepare
from patients.management.commands._util import fail
from screening.catalogue import drug_units


class Command(BaseCommand):
    help = (
        "Import a FHIR R4 Bundle (one patient) into a site through the case-file checks, all or nothing. "
        "Entries that cannot be mapped stop the import unless --skip-unmapped is given."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--site", required=True, help="code of an existing site")
        parser.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
        parser.add_argument("--skip-unmapped", action="store_true", help="import without the entries listed")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, site: str, file: Path, dry_run: bool, skip_unmapped: bool, **options: Any) -> None:
        target = Site.objects.filter(code=site).first()
        if target is None:
            fail(f"--site: no site with code {site!r}")
        try:
            text = file.read_bytes()
        except OSError as err:
            fail(f"{file}: cannot read the file ({err.strerror})")
        try:
            prepared = prepare(text, site=target, drugs=drug_units(), today=timezone.localdate())
        except CaseFileError as err:
            fail(f"{file}: {err}")
        for line in prepared.changes:
            self.stdout.write(f"change: {line}")
        for line in prepared.mapped.ignored:
            self.stdout.write(f"ignored: {line}")
        for line in prepared.mapped.unmapped:
            self.stderr.write(f"not imported: {line}")
        if prepared.mapped.unmapped and not skip_unmapped:
            fail(
                f"{file}: {len(prepared.mapped.unmapped)} entries cannot be imported (listed above); nothing was written. "
                "Fix the bundle, or pass --skip-unmapped to import without them"
            )
        if dry_run:
            self.stdout.write("dry run: nothing was written")
            return
        try:
            patient, created = import_prepared(actor=None, site=target, prepared=prepared)
        except CaseFileError as err:
            fail(f"{file}: {err}")
        self.stdout.write(
            f"imported {prepared.source} into {target.code}: patient {patient.identifier} {'created' if created else 'updated'}"
        )
