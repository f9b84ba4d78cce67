"""FHIR R4 in and out of the database: a patient's record as a Bundle; a Bundle imported as a case file.

Import maps the Bundle to a case file (``interop.fhir_in``) and then follows the case-file path:
the same validation (``clinical.casefile.validate_case``), the same storability checks, the same
record replacement with its audit (``patients.services.replace_patient_record``), the reason naming
the bundle; the patient is then screened as after any import (on commit).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import Site, User
from clinical.casefile import LIST_KEYS, CaseFileError, validate_case
from interop import fhir_in, fhir_out
from patients.casefiles import check_storable, export_case
from patients.models import Patient
from patients.services import replace_patient_record
from referrals.models import Referral, ReferralState
from screening.contract import read_result
from screening.models import ScreeningResult

SR_STATUS = {
    ReferralState.REFERRED: "completed",
    ReferralState.NOT_REFERRED: "revoked",
}


def service_request(referral: Referral, *, subject: str, guidance: str | None) -> dict[str, Any]:
    """A referral as a ServiceRequest with intent ``proposal``: for people to act on, never an order."""
    label = referral.pathway_label or referral.pathway.upper()
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": f"referral-{referral.pk}",
        "identifier": [{"system": fhir_out.c.local("referral"), "value": str(referral.pk)}],
        "status": "revoked" if referral.flag_withdrawn else SR_STATUS.get(referral.state, "active"),
        "intent": "proposal",
        "code": {
            "coding": [{"system": fhir_out.c.SYS_PATHWAY, "code": referral.pathway, "display": label}],
            "text": f"Referral for evaluation: {label}",
        },
        "subject": {"reference": subject},
        "authoredOn": referral.opened_at.isoformat(),
        "note": [{"text": f"Review state: {referral.get_state_display()}. A proposal for clinicians to consider."}],
    }
    if guidance:
        resource["supportingInfo"] = [{"reference": guidance}]
    return resource


def patient_bundle(patient: Patient) -> dict[str, Any]:
    """The patient's record, every stored screening result (GuidanceResponse per pathway) and the
    referrals (ServiceRequest, intent proposal), as one collection Bundle."""
    case = export_case(patient)
    builder, subject = fhir_out.case_resources(case, site_code=patient.site.code)
    urls: dict[tuple[int, str], str] = {}
    results = ScreeningResult.objects.filter(patient=patient).order_by("pk")
    for result in results:
        view = read_result(result)
        for resource in fhir_out.guidance_responses(
            view, result_id=str(result.pk), subject=subject, occurrence=result.computed_at.isoformat()
        ):
            pathway = resource["contained"][0]["parameter"][0]["valueCode"]
            urls[(result.pk, pathway)] = builder.add(resource)
    for referral in Referral.objects.filter(patient=patient).order_by("pk"):
        guidance = urls.get((referral.raised_on_id, referral.pathway))
        builder.add(service_request(referral, subject=subject, guidance=guidance))
    return fhir_out.bundle(
        builder.entries,
        bundle_id=f"{patient.site.code}-{patient.identifier}",
        timestamp=timezone.now().isoformat(),
    )


def dump_bundle(bundle: dict[str, Any]) -> str:
    return json.dumps(bundle, ensure_ascii=False, indent=1) + "\n"


# --------------------------------------------------------------------------------------------
# Import


@dataclass
class Prepared:
    """A bundle mapped and validated, with what importing it would change."""

    mapped: fhir_in.Mapped
    case: dict[str, Any]
    digest: str
    existing: Patient | None
    changes: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"FHIR bundle {self.mapped.bundle_id}"


def _changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    if old is None:
        counts = ", ".join(f"{len(new.get(k) or [])} {k}" for k in LIST_KEYS if new.get(k))
        return [f"a new patient {new['case_id']}" + (f" with {counts}" if counts else "")]
    lines = []
    for key, value in new["patient"].items():
        if old["patient"].get(key) != value:
            lines.append(f"patient.{key}: {old['patient'].get(key)!r} → {value!r}")
    if old.get("classification") != new.get("classification"):
        lines.append(f"classification: {old.get('classification')!r} → {new.get('classification')!r}")
    for key in LIST_KEYS:
        before = [json.dumps(e, sort_keys=True) for e in old.get(key) or []]
        after = [json.dumps(e, sort_keys=True) for e in new.get(key) or []]
        added = sum(1 for e in after if e not in before)
        removed = sum(1 for e in before if e not in after)
        if added or removed:
            lines.append(f"{key}: {added} added, {removed} removed, {len(after) - added} unchanged")
    return lines or ["no change to the record"]


def prepare(text: str | bytes, *, site: Site, drugs: dict[str, str], today: date) -> Prepared:
    """Parse, map and validate a bundle as a case file; CaseFileError names the bundle's element."""
    bundle = fhir_in.parse_bundle(text)
    mapped = fhir_in.bundle_to_case(bundle, drugs=drugs, site_code=site.code)
    try:
        case = validate_case(mapped.case, drugs=drugs, today=today)
        check_storable(case, today=today)
    except CaseFileError as err:
        raise CaseFileError(mapped.where(err.field), err.message) from err
    raw = text.encode() if isinstance(text, str) else text
    existing = Patient.objects.filter(site=site, identifier=case["case_id"]).first()
    old = export_case(existing) if existing else None
    return Prepared(
        mapped=mapped,
        case=case,
        digest=hashlib.sha256(raw).hexdigest(),
        existing=existing,
        changes=_changes(old, case),
    )


def import_prepared(*, actor: User | None, site: Site, prepared: Prepared) -> tuple[Patient, bool]:
    """Create or replace the patient from a prepared bundle, all or nothing, audited with the source."""
    try:
        with transaction.atomic():
            return replace_patient_record(
                actor=actor, site=site, case=prepared.case, reason=f"imported from {prepared.source}"
            )
    except DatabaseError as err:
        raise CaseFileError("(database)", f"the database refused the import, nothing was written ({err})") from err
