"""export_fhir --site SITE CASE_ID: print a patient's record, screening results and referrals as a FHIR R4 Bundle."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from interop.services import dump_bundle, patient_bundle
from patients.management.commands._util import fail
from patients.models import Patient


class Command(BaseCommand):
    help = "Print a patient as a FHIR R4 Bundle (record, screening results as GuidanceResponse, referrals)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--site", required=True, help="code of the patient's site")
        parser.add_argument("case_id")

    def handle(self, *args: Any, site: str, case_id: str, **options: Any) -> None:
        patient = Patient.objects.filter(site__code=site, identifier=case_id).select_related("site").first()
        if patient is None:
            fail(f"case_id: no patient {case_id!r} in site {site!r}")
        self.stdout.write(dump_bundle(patient_bundle(patient)), ending="")
