"""Case files in and out of the database (format: docs/case-files.md).

Validation lives in clinical.casefile (pure); this module maps a validated
case to the models and a patient back to a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction

from accounts.models import Site, User
from clinical import limits, plausibility, vocab
from clinical.casefile import LIST_KEYS, CaseFileError, parse_case
from patients.models import Patient
from patients.services import replace_patient_record


@dataclass(frozen=True)
class ImportOutcome:
    created: int
    updated: int
    patients: list[Patient]


def validate_all(named: list[tuple[str, str | bytes]], *, drugs: dict[str, str], today: date) -> list[dict[str, Any]]:
    """Validate every file's text first; the first bad one raises naming the file and field.

    At most ``limits.CASE_FILES_PER_UPLOAD`` files at once, each read within the bounds of
    ``clinical.casefile.parse_case`` (size, nesting, entries per list)."""
    if len(named) > limits.CASE_FILES_PER_UPLOAD:
        raise CaseFileError(
            "files", f"{len(named)} files at once; import at most {limits.CASE_FILES_PER_UPLOAD} at a time"
        )
    cases: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    entries = 0
    for name, text in named:
        try:
            case = parse_case(text, drugs=drugs, today=today)
            check_storable(case, today=today)
        except CaseFileError as err:
            raise CaseFileError(f"{name}: {err.field}", err.message) from err
        if case["case_id"] in seen:
            raise CaseFileError(f"{name}: case_id", f"same case_id as {seen[case['case_id']]}")
        seen[case["case_id"]] = name
        cases.append(case)
        entries += sum(len(case.get(key) or []) for key in LIST_KEYS)
        if entries > limits.IMPORT_MAX_ENTRIES:
            raise CaseFileError(
                "files",
                f"these files hold more than {limits.IMPORT_MAX_ENTRIES} entries together (the limit of one import, "
                f"{name} included); import them in smaller batches",
            )
    return cases


def import_cases(*, actor: User | None, site: Site, cases: list[dict[str, Any]]) -> ImportOutcome:
    """Create or update one patient per validated case, all or nothing.

    Whatever the database still refuses (a constraint the checks above missed) rolls the whole
    import back and comes out as a CaseFileError, never as a half-written import or a crash.
    """
    try:
        return _import_cases(actor=actor, site=site, cases=cases)
    except DatabaseError as err:
        raise CaseFileError("(database)", f"the database refused the import, nothing was written ({err})") from err


@transaction.atomic
def _import_cases(*, actor: User | None, site: Site, cases: list[dict[str, Any]]) -> ImportOutcome:
    created = updated = 0
    patients = []
    for case in cases:
        patient, was_created = replace_patient_record(
            actor=actor, site=site, case=case, reason=f"imported from case file {case['case_id']}"
        )
        created += was_created
        updated += not was_created
        patients.append(patient)
    return ImportOutcome(created, updated, patients)


def _num(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def export_case(patient: Patient) -> dict[str, Any]:
    """The patient as a case file (records in the order they were recorded)."""
    case: dict[str, Any] = {
        "format": vocab.CASE_FORMAT,
        "case_id": patient.identifier,
        "patient": {
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
            "sex": patient.sex,
            "weight_kg": _num(patient.weight_kg),
            "sle_attested": patient.sle_attested,
        },
    }
    if patient.ana_titre is not None or patient.eular_criteria is not None:
        classification: dict[str, Any] = {"ana_titre": patient.ana_titre}
        if patient.eular_criteria is not None:
            classification["criteria"] = list(patient.eular_criteria)
        case["classification"] = classification
    case["assessments"] = []
    for a in patient.assessment_set.order_by("pk"):
        entry: dict[str, Any] = {
            "date": a.date.isoformat(),
            "window_days": a.window_days,
            "sledai2k": {"present": list(a.sledai_present), "not_assessed": list(a.sledai_not_assessed)},
        }
        if a.pga is not None:
            entry["pga"] = _num(a.pga)
        if a.bilag:
            entry["bilag"] = dict(a.bilag)
        case["assessments"].append(entry)
    case["damage"] = [
        {"date": d.date.isoformat(), "items": dict(d.items)} for d in patient.damageindex_set.order_by("pk")
    ]
    case["manifestations"] = []
    for m in patient.manifestation_set.order_by("pk"):
        entry = {"code": m.code, "date": m.date.isoformat(), "active": m.active}
        if m.biopsy_class is not None:
            entry["biopsy_class"] = m.biopsy_class
        case["manifestations"].append(entry)
    case["observations"] = []
    for o in patient.observation_set.order_by("pk"):
        entry = {"code": o.code, "date": o.date.isoformat(), "value": _num(o.value)}
        if o.uln is not None:
            entry["uln"] = _num(o.uln)
        case["observations"].append(entry)
    case["treatments"] = []
    for t in patient.treatmentcourse_set.order_by("pk"):
        entry = {"drug": t.drug, "start": t.start.isoformat()}
        if t.end is not None:
            entry["end"] = t.end.isoformat()
        entry["dose"] = _num(t.dose)
        entry["dose_unit"] = t.dose_unit
        if t.stop_reason:
            entry["stop_reason"] = t.stop_reason
        case["treatments"].append(entry)
    case["conditions"] = [
        {"code": c.code, "status": c.status, "date": c.date.isoformat()} for c in patient.condition_set.order_by("pk")
    ]
    return case


# What the database columns hold (patients.models): (field path suffix, largest value, decimal places).
_STORABLE = {
    "weight_kg": (Decimal("300"), 1),
    "pga": (Decimal("3"), 1),
    "value": (Decimal("99999999.9999"), 4),
    "uln": (Decimal("99999999.9999"), 4),
    "dose": (Decimal("9999999.999"), 3),
}


def _storable(value: Any, field: str) -> None:
    name = field.rsplit(".", 1)[-1]
    largest, places = _STORABLE[name]
    number = Decimal(str(value))
    if number > largest:
        raise CaseFileError(field, f"is too large (at most {largest})")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise CaseFileError(
            field, f"has more than {places} decimal place{'s' if places > 1 else ''}; it would be stored rounded"
        )


def check_storable(case: dict[str, Any], *, today: date) -> None:
    """Refuse what the clinical record cannot hold as given: what the record forms would refuse
    (``clinical.plausibility``: a date after today or before birth, a lab value outside its range, ...),
    and numbers beyond a column's size or precision (they would be rounded, and screening would differ)."""
    found = plausibility.stored_case(case, today=today)
    if found is not None:
        raise CaseFileError(*found)
    patient = case["patient"]
    if patient.get("weight_kg") is not None:
        _storable(patient["weight_kg"], "patient.weight_kg")
    for i, a in enumerate(case.get("assessments", [])):
        if a.get("pga") is not None:
            _storable(a["pga"], f"assessments[{i}].pga")
    for i, o in enumerate(case.get("observations", [])):
        _storable(o["value"], f"observations[{i}].value")
        if o.get("uln") is not None:
            _storable(o["uln"], f"observations[{i}].uln")
    for i, t in enumerate(case.get("treatments", [])):
        if t.get("dose") is not None:
            _storable(t["dose"], f"treatments[{i}].dose")
