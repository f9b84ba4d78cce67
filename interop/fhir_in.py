"""A FHIR R4 Bundle as a case file (docs/fhir.md): parsed by fhir.resources, mapped by interop.codes.

The result is a case-file dict that then goes through exactly what a case file goes through
(``clinical.casefile.validate_case``, ``patients.casefiles.check_storable``, the import with its
audit). What cannot be mapped is listed in ``Mapped.unmapped`` (one line each, naming the entry),
never guessed; Candidacy's own outputs (screening results, referrals) are listed in ``ignored``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from clinical import limits, vocab
from clinical.casefile import CaseFileError
from clinical.safejson import JsonRefused, load_json
from interop import codes as c

BUNDLE_BYTES = 8 * limits.CASE_FILE_BYTES  # FHIR is wordier than a case file for the same record
CASE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
READ = ("Patient", "Observation", "Condition", "MedicationStatement", "MedicationRequest", "Procedure")
OURS = ("GuidanceResponse", "ServiceRequest", "Parameters")  # outputs of Candidacy: never read back


@dataclass
class Mapped:
    case: dict[str, Any]
    bundle_id: str
    unmapped: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)  # case-file path → bundle entry that gave it

    def where(self, case_field: str) -> str:
        """A case-file field path in the words of the bundle ("entry[4] Observation/x: value")."""
        for path in sorted(self.origin, key=len, reverse=True):
            if case_field == path or case_field.startswith((path + ".", path + "[")):
                rest = case_field[len(path) :].lstrip(".")
                return (
                    f"{self.origin[path]} ({path}{'.' + rest if rest else ''})"
                    if rest
                    else f"{self.origin[path]} ({path})"
                )
        return case_field


def parse_bundle(text: str | bytes) -> Bundle:
    """The text as a FHIR R4 Bundle, or CaseFileError naming the element."""
    try:
        data = load_json(text, max_bytes=BUNDLE_BYTES)
    except JsonRefused as err:
        raise CaseFileError("(top level)", err.message) from err
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise CaseFileError("resourceType", "must be Bundle (a FHIR R4 Bundle of one patient's resources)")
    try:
        return Bundle.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]).lstrip(".")
        raise CaseFileError(loc or "(top level)", f"not valid FHIR R4: {first['msg']}") from err


def _codings(concept: Any) -> list[tuple[str, str]]:
    if concept is None:
        return []
    return [(cd.system or "", cd.code or "") for cd in (concept.coding or [])]


def _code_text(concept: Any) -> str:
    pairs = _codings(concept)
    if pairs:
        return ", ".join(f"{system}|{code}" for system, code in pairs)
    return f"text {concept.text!r}" if concept is not None and concept.text else "no code"


def _day(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", value):
        return value[:10]
    return None


def _number(value: Decimal | float | int) -> int | float:
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def _lookup(pairs: Iterable[tuple[str, str]], table: dict[tuple[str, str], str]) -> set[str]:
    return {table[p] for p in pairs if p in table}


class _Reader:
    def __init__(self, bundle: Bundle, *, drugs: dict[str, str], site_code: str | None) -> None:
        self.bundle = bundle
        self.drugs = drugs
        self.site_code = site_code
        self.out = Mapped(case={}, bundle_id=bundle.id or "(no id)")
        self.patient_refs: set[str] = set()

    def skip(self, label: str, why: str) -> None:
        self.out.unmapped.append(f"{label}: {why}; not imported")

    def read(self) -> Mapped:
        entries = list(self.bundle.entry or [])
        patients = [(i, e) for i, e in enumerate(entries) if e.resource and e.resource.get_resource_type() == "Patient"]
        if len(patients) != 1:
            raise CaseFileError("entry", f"must hold exactly one Patient (holds {len(patients)})")
        pi, pe = patients[0]
        self.patient_refs = {
            ref for ref in (pe.fullUrl, f"Patient/{pe.resource.id}" if pe.resource.id else None) if ref
        }
        self.case: dict[str, Any] = {"format": vocab.CASE_FORMAT, "case_id": None, "patient": {}}
        self.lists: dict[str, list[tuple[str, dict[str, Any]]]] = {
            key: [] for key in ("assessments", "damage", "manifestations", "observations", "treatments", "conditions")
        }
        self.weights: list[tuple[str, Any, str]] = []
        self.biopsies: list[tuple[str, str, str]] = []  # (date, class, label)
        self.attested = False
        self.classification: dict[str, Any] = {}
        self._patient(pe.resource, f"entry[{pi}] Patient/{pe.resource.id or ''}".rstrip("/"))
        for i, entry in enumerate(entries):
            res = entry.resource
            if res is None or i == pi:
                continue
            kind = res.get_resource_type()
            label = f"entry[{i}] {kind}/{res.id or ''}".rstrip("/")
            if kind in OURS:
                self.out.ignored.append(
                    f"{label}: made by Candidacy (screening results and referrals are computed here)"
                )
                continue
            if kind not in READ:
                self.skip(label, f"{kind} resources are not read")
                continue
            subject = getattr(res, "subject", None)
            if subject is None or subject.reference not in self.patient_refs:
                self.skip(label, "not about the bundle's Patient (subject missing or another patient)")
                continue
            getattr(self, f"_{kind.lower()}")(res, label)
        self._finish()
        return self.out

    # ---- Patient

    def _patient(self, res: Any, label: str) -> None:
        ids = list(res.identifier or [])
        ours = [i for i in ids if i.system and i.system.startswith(c.PATIENT_IDENTIFIER) and i.value]
        official = [i for i in ids if i.use in ("official", "usual") and i.value]
        chosen = (ours or official or [i for i in ids if i.value])[:1]
        case_id = chosen[0].value if chosen else res.id
        if not case_id:
            raise CaseFileError(f"{label}.identifier", "no identifier and no id: the patient needs one")
        self.case["case_id"] = case_id
        self.out.origin["case_id"] = f"{label}.identifier"
        patient = self.case["patient"]
        if res.birthDate:
            patient["birth_date"] = _day(res.birthDate)
        if res.gender in ("female", "male"):
            patient["sex"] = res.gender
        elif res.gender:
            self.skip(f"{label}.gender", f"{res.gender!r} is not a sex the clinical equations use (female, male)")
        self.out.origin["patient"] = label

    # ---- Observation

    def _observation(self, res: Any, label: str) -> None:
        if res.status not in ("final", "amended", "corrected"):
            self.skip(label, f"status {res.status!r} (only final, amended or corrected results are read)")
            return
        pairs = _codings(res.code)
        day = _day(res.effectiveDateTime) or _day(getattr(res.effectivePeriod, "start", None))
        if (c.LOINC, c.WEIGHT_LOINC) in pairs:
            self._weight(res, label, day)
            return
        record = {code for system, code in pairs if system == c.SYS_RECORD}
        if c.ASSESSMENT in record:
            self._assessment(res, label, day)
        elif c.DAMAGE in record:
            self._damage(res, label, day)
        elif c.CLASSIFICATION in record:
            criteria = []
            for comp in res.component or []:
                found = [code for system, code in _codings(comp.code) if system == c.SYS_EULAR]
                if not found or comp.valueBoolean is not True:
                    self.skip(label, f"a component that is not a criterion present ({_code_text(comp.code)})")
                    continue
                criteria.append(found[0])
            self.classification["criteria"] = criteria
            self.out.origin["classification.criteria"] = label
        elif c.ANA_TITRE in record:
            if res.valueInteger is None:
                self.skip(label, "an ANA titre without a whole-number value")
                return
            self.classification["ana_titre"] = res.valueInteger
            self.out.origin["classification.ana_titre"] = label
        else:
            self._lab(res, label, day, pairs)

    def _weight(self, res: Any, label: str, day: str | None) -> None:
        q = res.valueQuantity
        if q is None or q.value is None or (q.system or c.UCUM) != c.UCUM or q.code not in c.WEIGHT_UNITS:
            self.skip(label, "a body weight without a value in kg, g or [lb_av]")
            return
        kg = (Decimal(str(q.value)) * c.WEIGHT_UNITS[q.code]).quantize(Decimal("0.1"))
        self.weights.append((day or "", kg, label))

    def _lab(self, res: Any, label: str, day: str | None, pairs: list[tuple[str, str]]) -> None:
        found = {code for system, code in pairs if system == c.SYS_OBSERVATION and code in vocab.OBSERVATIONS}
        found |= _lookup(pairs, {(c.LOINC, loinc): code for loinc, code in c.observation_loinc().items()})
        if len(found) != 1:
            why = (
                "no code of the mapping table" if not found else f"codes of several kinds ({', '.join(sorted(found))})"
            )
            self.skip(label, f"{why} ({_code_text(res.code)})")
            return
        code = found.pop()
        if day is None:
            self.skip(label, "no effective date")
            return
        value = self._convert(res.valueQuantity, code, label, "value")
        if value is None:
            return
        entry: dict[str, Any] = {"code": code, "date": day, "value": value}
        for rr in res.referenceRange or []:
            if rr.high is not None:
                uln = self._convert(rr.high, code, label, "referenceRange.high")
                if uln is None:
                    return
                entry["uln"] = uln
                break
        self.lists["observations"].append((label, entry))

    def _convert(self, q: Any, code: str, label: str, what: str) -> int | float | None:
        rule = c.OBSERVATION_UNITS[code]
        if q is None or q.value is None:
            self.skip(label, f"no {what} quantity")
            return None
        if q.system not in (None, c.UCUM):
            self.skip(label, f"{what} unit is not UCUM ({q.system}|{q.code})")
            return None
        unit = q.code or q.unit
        if unit == rule.ucum:
            return _number(q.value)
        if unit in rule.other:
            value = (Decimal(str(q.value)) * rule.other[unit]).quantize(Decimal(1).scaleb(-c.CONVERTED_PLACES))
            return _number(value)
        self.skip(label, f"{what} unit {unit!r} has no conversion to {rule.ucum} ({vocab.OBSERVATIONS[code].unit})")
        return None

    def _assessment(self, res: Any, label: str, day: str | None) -> None:
        if day is None:
            self.skip(label, "an assessment without a date")
            return
        present, not_assessed, bilag = [], [], {}
        entry: dict[str, Any] = {"date": day, "window_days": 10}
        for comp in res.component or []:
            pairs = _codings(comp.code)
            sledai = [code for system, code in pairs if system == c.SYS_SLEDAI]
            grade = [code for system, code in pairs if system == c.SYS_BILAG]
            if sledai:
                if comp.valueBoolean is True:
                    present.append(sledai[0])
                elif comp.valueBoolean is None and comp.dataAbsentReason is not None:
                    not_assessed.append(sledai[0])
            elif grade and comp.valueString:
                bilag[grade[0]] = comp.valueString
            elif (c.SYS_RECORD, c.WINDOW) in pairs and comp.valueInteger is not None:
                entry["window_days"] = comp.valueInteger
            elif (c.SYS_RECORD, c.PGA) in pairs and comp.valueQuantity is not None:
                entry["pga"] = _number(comp.valueQuantity.value)
            else:
                self.skip(label, f"an assessment component not in the mapping table ({_code_text(comp.code)})")
        entry["sledai2k"] = {"present": present, "not_assessed": not_assessed}
        if bilag:
            entry["bilag"] = bilag
        self.lists["assessments"].append((label, entry))

    def _damage(self, res: Any, label: str, day: str | None) -> None:
        items: dict[str, Any] = {}
        for comp in res.component or []:
            found = [code for system, code in _codings(comp.code) if system == c.SYS_SDI]
            if not found or comp.valueInteger is None:
                self.skip(label, f"a damage component not in the mapping table ({_code_text(comp.code)})")
                continue
            items[found[0]] = comp.valueInteger
        if day is None:
            self.skip(label, "a damage index without a date")
            return
        self.lists["damage"].append((label, {"date": day, "items": items}))

    # ---- Condition

    def _condition(self, res: Any, label: str) -> None:
        pairs = _codings(res.code)
        day = _day(res.onsetDateTime) or _day(res.recordedDate)
        clinical = {code for system, code in _codings(res.clinicalStatus) if system == c.CONDITION_CLINICAL}
        verification = {code for system, code in _codings(res.verificationStatus) if system == c.CONDITION_VERIFICATION}
        if "entered-in-error" in verification:
            self.skip(label, "entered in error")
            return
        if any(p in c.SLE_CODES for p in pairs):
            attested = any(ext.url == c.EXT_SLE_ATTESTED and ext.valueBoolean for ext in res.extension or [])
            if attested:
                self.attested = True
                self.out.origin["patient.sle_attested"] = label
            else:
                self.skip(label, "an SLE diagnosis: a specialist attests it in Candidacy (Diagnosis basis)")
            return
        manifestation = {code for s, code in pairs if s == c.SYS_MANIFESTATION} | _lookup(
            pairs, c.codes_for(c.MANIFESTATION_STANDARD)
        )
        condition = {code for s, code in pairs if s == c.SYS_CONDITION} | _lookup(
            pairs, c.codes_for(c.CONDITION_STANDARD)
        )
        if len(manifestation) + len(condition) != 1:
            found = sorted(manifestation | condition)
            why = "no code of the mapping table" if not found else f"codes of several kinds ({', '.join(found)})"
            self.skip(label, f"{why} ({_code_text(res.code)})")
            return
        if day is None:
            self.skip(label, "no onset or recorded date")
            return
        if manifestation:
            if clinical & {"active", "recurrence", "relapse"}:
                active = True
            elif clinical & {"inactive", "remission", "resolved"}:
                active = False
            else:
                self.skip(label, "an organ manifestation without a clinical status (active or not)")
                return
            self.lists["manifestations"].append((label, {"code": manifestation.pop(), "date": day, "active": active}))
            return
        if "refuted" in verification:
            status = "absent"
        elif "confirmed" in verification or (not verification and clinical & {"active", "recurrence", "relapse"}):
            status = "present"
        else:
            states = ", ".join(sorted(verification | clinical)) or "none"
            self.skip(label, f"status {states}: neither confirmed present nor refuted")
            return
        self.lists["conditions"].append((label, {"code": condition.pop(), "status": status, "date": day}))

    # ---- Procedure (renal biopsies)

    def _procedure(self, res: Any, label: str) -> None:
        pairs = _codings(res.code)
        if (c.SYS_RECORD, c.RENAL_BIOPSY) not in pairs and not any(p in c.BIOPSY_STANDARD for p in pairs):
            self.skip(label, f"a procedure that is not a renal biopsy of the mapping table ({_code_text(res.code)})")
            return
        if res.status != "completed":
            self.skip(label, f"a renal biopsy with status {res.status!r}")
            return
        day = _day(res.performedDateTime) or _day(getattr(res.performedPeriod, "start", None))
        classes = [code for system, code in _codings(res.outcome) if system == c.SYS_BIOPSY_CLASS]
        if day is None or len(classes) != 1 or classes[0] not in vocab.LN_CLASSES:
            self.skip(label, "a renal biopsy without a date and one ISN/RPS class")
            return
        self.biopsies.append((day, classes[0], label))

    # ---- Medications

    def _drug(self, concept: Any, routes: list[tuple[str, str]], label: str) -> str | None:
        pairs = _codings(concept)
        found = {code for s, code in pairs if s == c.SYS_DRUG and code in self.drugs}
        found |= {d for d in _lookup(pairs, c.codes_for(c.DRUG_STANDARD)) if d in self.drugs}
        if any(p in c.CYCLOPHOSPHAMIDE for p in pairs) and not found:
            by_route = {c.CYCLOPHOSPHAMIDE_BY_ROUTE[r] for r in routes if r in c.CYCLOPHOSPHAMIDE_BY_ROUTE}
            if len(by_route) != 1:
                self.skip(label, "cyclophosphamide without an intravenous or oral route")
                return None
            found = by_route
        if len(found) != 1:
            why = "no drug of the mapping table" if not found else f"several drugs ({', '.join(sorted(found))})"
            self.skip(label, f"{why} ({_code_text(concept)})")
            return None
        return found.pop()

    def _dose(self, dosages: list[Any], drug: str, label: str) -> tuple[bool, Any]:
        unit = self.drugs[drug]
        for dosage in dosages:
            for dr in dosage.doseAndRate or []:
                q = dr.doseQuantity
                if q is None or q.value is None:
                    continue
                ok = (q.system == c.SYS_DOSE_UNIT and q.code == unit) or (
                    q.system == c.UCUM and c.DOSE_UNIT_UCUM.get(unit) == q.code
                )
                if not ok:
                    self.skip(label, f"dose unit {q.system}|{q.code} is not the catalogue's unit of {drug} ({unit})")
                    return False, None
                return True, _number(q.value)
        return True, None

    def _routes(self, dosages: list[Any]) -> list[tuple[str, str]]:
        return [p for d in dosages for p in _codings(d.route)]

    def _course(self, label: str, drug: str, start: str | None, end: str | None, dose: Any, stop: Any) -> None:
        if start is None:
            self.skip(label, "a treatment without a start date")
            return
        entry: dict[str, Any] = {"drug": drug, "start": start}
        if end:
            entry["end"] = end
        entry["dose"] = dose
        entry["dose_unit"] = self.drugs[drug]
        if stop and end:
            entry["stop_reason"] = stop
        self.lists["treatments"].append((label, entry))

    def _medicationstatement(self, res: Any, label: str) -> None:
        if res.status in ("entered-in-error", "not-taken", "intended"):
            self.skip(label, f"status {res.status!r}")
            return
        if res.medicationCodeableConcept is None:
            self.skip(label, "the medication is a reference, not a code")
            return
        dosages = list(res.dosage or [])
        drug = self._drug(res.medicationCodeableConcept, self._routes(dosages), label)
        if drug is None:
            return
        ok, dose = self._dose(dosages, drug, label)
        if not ok:
            return
        period = res.effectivePeriod
        start = _day(period.start) if period else _day(res.effectiveDateTime)
        end = _day(period.end) if period and period.end else (start if res.effectiveDateTime else None)
        stops = [code for r in res.statusReason or [] for s, code in _codings(r) if s == c.SYS_STOP_REASON]
        self._course(label, drug, start, end, dose, stops[0] if stops else None)

    def _medicationrequest(self, res: Any, label: str) -> None:
        if res.status in ("entered-in-error", "draft", "cancelled") or res.intent not in (
            "order",
            "original-order",
            "instance-order",
        ):
            self.skip(label, f"status {res.status!r}, intent {res.intent!r}: not a treatment given")
            return
        if res.medicationCodeableConcept is None:
            self.skip(label, "the medication is a reference, not a code")
            return
        dosages = list(res.dosageInstruction or [])
        drug = self._drug(res.medicationCodeableConcept, self._routes(dosages), label)
        if drug is None:
            return
        ok, dose = self._dose(dosages, drug, label)
        if not ok:
            return
        bounds = [
            d.timing.repeat.boundsPeriod
            for d in dosages
            if d.timing and d.timing.repeat and d.timing.repeat.boundsPeriod
        ]
        start = _day(bounds[0].start) if bounds and bounds[0].start else _day(res.authoredOn)
        end = _day(bounds[0].end) if bounds and bounds[0].end else None
        self._course(label, drug, start, end, dose, None)

    # ---- the case

    def _finish(self) -> None:
        case = self.case
        if self.weights:
            dated = sorted(self.weights, key=lambda w: w[0])
            case["patient"]["weight_kg"] = _number(dated[-1][1])
            self.out.origin["patient.weight_kg"] = dated[-1][2]
        case["patient"]["sle_attested"] = self.attested
        if self.classification:
            case["classification"] = {"ana_titre": self.classification.get("ana_titre"), **self.classification}
        for day, cls, label in self.biopsies:
            targets = [
                e for _, e in self.lists["manifestations"] if e["code"] == "lupus_nephritis" and e["date"] == day
            ]
            if len(targets) != 1:
                self.skip(label, f"a renal biopsy on {day} with no lupus nephritis entry on that date")
                continue
            targets[0]["biopsy_class"] = cls
        for key, entries in self.lists.items():
            case[key] = [entry for _, entry in entries]
            for i, (label, _) in enumerate(entries):
                self.out.origin[f"{key}[{i}]"] = label
        self.out.case = case


def bundle_to_case(bundle: Bundle, *, drugs: dict[str, str], site_code: str | None = None) -> Mapped:
    """The bundle's one patient as a case-file dict (not yet validated), with what could not be mapped."""
    return _Reader(bundle, drugs=drugs, site_code=site_code).read()
