"""A case file (docs/case-files.md) as FHIR R4 resources, and a screening result as GuidanceResponses.

Pure mapping, no database: ``interop.export`` feeds it a patient's case file, stored results and
referrals. Every resource is checked by ``fhir.resources`` (its R4B models, whose resources used
here are those of R4) before it leaves: a bundle that would not validate is a bug, not a download.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from clinical import vocab
from interop import codes as c
from screening.contract import OUTCOME_LABEL, NeedView, PathwayView, ResultView
from screening.engine.results import Outcome, RecordKind

NAMESPACE = uuid.UUID("6f1e3c52-9a49-4a5e-8c3e-0c2b6a1f7d10")


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _concept(codings: Iterable[dict[str, Any]], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": list(codings)}
    if text:
        out["text"] = text
    return out


def _std(pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    return [_coding(system, code) for system, code in pairs]


class _Builder:
    def __init__(self, key: str) -> None:
        self.key = key
        self.entries: list[dict[str, Any]] = []

    def url(self, rtype: str, rid: str) -> str:
        return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{self.key}/{rtype}/{rid}')}"

    def add(self, resource: dict[str, Any]) -> str:
        url = self.url(resource["resourceType"], resource["id"])
        self.entries.append({"fullUrl": url, "resource": resource})
        return url


def observation_coding(code: str) -> list[dict[str, Any]]:
    entry = vocab.OBSERVATIONS[code]
    out = [_coding(c.LOINC, entry.loinc, entry.label)] if entry.loinc else []
    return out + [_coding(c.SYS_OBSERVATION, code, entry.label)]


def condition_coding(code: str) -> list[dict[str, Any]]:
    return [_coding(c.SYS_CONDITION, code, vocab.CONDITION_CODES[code]), *_std(c.CONDITION_STANDARD.get(code, ()))]


def manifestation_coding(code: str) -> list[dict[str, Any]]:
    return [
        _coding(c.SYS_MANIFESTATION, code, vocab.MANIFESTATION_CODES[code]),
        *_std(c.MANIFESTATION_STANDARD.get(code, ())),
    ]


def drug_coding(drug: str) -> list[dict[str, Any]]:
    standard = c.DRUG_STANDARD.get(drug, ())
    if drug in c.CYCLOPHOSPHAMIDE_BY_ROUTE.values():
        standard = c.CYCLOPHOSPHAMIDE
    return [_coding(c.SYS_DRUG, drug), *_std(standard)]


def _quantity(value: Any, unit: str, system: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": system, "code": code}


def case_resources(case: Mapping[str, Any], *, site_code: str) -> tuple[_Builder, str]:
    """The case file's records as FHIR resources (in the builder) and the Patient's reference."""
    b = _Builder(f"{site_code}/{case['case_id']}")
    p = case["patient"]
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "patient",
        "identifier": [{"system": f"{c.PATIENT_IDENTIFIER}:{site_code}", "value": case["case_id"]}],
    }
    if p.get("sex"):
        patient["gender"] = p["sex"]
    if p.get("birth_date"):
        patient["birthDate"] = p["birth_date"]
    subject = {"reference": b.add(patient)}

    def obs(rid: str, code: list[dict[str, Any]], **fields: Any) -> None:
        b.add(
            {
                "resourceType": "Observation",
                "id": rid,
                "status": "final",
                "code": _concept(code),
                "subject": subject,
                **fields,
            }
        )

    if p.get("weight_kg") is not None:
        obs(
            "weight",
            [_coding(c.LOINC, c.WEIGHT_LOINC, "Body weight")],
            valueQuantity=_quantity(p["weight_kg"], "kg", c.UCUM, "kg"),
        )
    if p.get("sle_attested"):
        b.add(
            {
                "resourceType": "Condition",
                "id": "sle",
                "extension": [{"url": c.EXT_SLE_ATTESTED, "valueBoolean": True}],
                "clinicalStatus": _concept([_coding(c.CONDITION_CLINICAL, "active")]),
                "verificationStatus": _concept([_coding(c.CONDITION_VERIFICATION, "confirmed")]),
                "code": _concept(_std(c.SLE_CODES[:1]), "Systemic lupus erythematosus"),
                "subject": subject,
            }
        )
    classification = case.get("classification") or {}
    if classification.get("ana_titre") is not None:
        obs(
            "ana",
            [_coding(c.SYS_RECORD, c.ANA_TITRE, "ANA, highest titre ever (reciprocal)")],
            valueInteger=classification["ana_titre"],
        )
    if classification.get("criteria") is not None:
        obs(
            "eular",
            [_coding(c.SYS_RECORD, c.CLASSIFICATION, "2019 EULAR/ACR classification criteria present")],
            component=[
                {"code": _concept([_coding(c.SYS_EULAR, code, vocab.EULAR_CRITERIA[code].label)]), "valueBoolean": True}
                for code in classification["criteria"]
            ],
        )
    for i, a in enumerate(case.get("assessments", [])):
        present, not_assessed = a["sledai2k"].get("present", []), a["sledai2k"].get("not_assessed", [])
        comps: list[dict[str, Any]] = []
        # present first, then not assessed (each in the record's order), then every other descriptor: absent
        order = [
            *present,
            *not_assessed,
            *(k for k in vocab.SLEDAI_ITEMS if k not in present and k not in not_assessed),
        ]
        for code in order:
            item = vocab.SLEDAI_ITEMS[code]
            comp: dict[str, Any] = {"code": _concept([_coding(c.SYS_SLEDAI, code, item.label)])}
            if code in not_assessed:
                comp["dataAbsentReason"] = _concept([_coding(c.DATA_ABSENT, "not-performed")])
            else:
                comp["valueBoolean"] = code in present
            comps.append(comp)
        comps.append({"code": _concept([_coding(c.SYS_RECORD, c.WINDOW)]), "valueInteger": a.get("window_days", 10)})
        if a.get("pga") is not None:
            comps.append(
                {
                    "code": _concept([_coding(c.SYS_RECORD, c.PGA, "Physician Global Assessment")]),
                    "valueQuantity": {"value": a["pga"], "system": c.UCUM, "code": "{score}"},
                }
            )
        for system, grade in (a.get("bilag") or {}).items():
            comps.append({"code": _concept([_coding(c.SYS_BILAG, system)]), "valueString": grade})
        obs(
            f"assessment-{i}",
            [_coding(c.SYS_RECORD, c.ASSESSMENT, "SLE disease-activity assessment (SLEDAI-2K)")],
            effectiveDateTime=a["date"],
            component=comps,
        )
    for i, d in enumerate(case.get("damage", [])):
        obs(
            f"damage-{i}",
            [_coding(c.SYS_RECORD, c.DAMAGE, "SLICC/ACR damage index")],
            effectiveDateTime=d["date"],
            component=[
                {"code": _concept([_coding(c.SYS_SDI, item, vocab.SDI_ITEMS[item].label)]), "valueInteger": count}
                for item, count in d["items"].items()
            ],
        )
    for i, m in enumerate(case.get("manifestations", [])):
        cond = {
            "resourceType": "Condition",
            "id": f"manifestation-{i}",
            "clinicalStatus": _concept([_coding(c.CONDITION_CLINICAL, "active" if m["active"] else "inactive")]),
            "code": _concept(manifestation_coding(m["code"])),
            "subject": subject,
            "recordedDate": m["date"],
        }
        url = b.add(cond)
        if m.get("biopsy_class"):
            b.add(
                {
                    "resourceType": "Procedure",
                    "id": f"biopsy-{i}",
                    "status": "completed",
                    "code": _concept([_coding(c.SYS_RECORD, c.RENAL_BIOPSY, "Renal biopsy")]),
                    "subject": subject,
                    "performedDateTime": m["date"],
                    "reasonReference": [{"reference": url}],
                    "outcome": _concept(
                        [_coding(c.SYS_BIOPSY_CLASS, m["biopsy_class"])], f"ISN/RPS class {m['biopsy_class']}"
                    ),
                }
            )
    for i, o in enumerate(case.get("observations", [])):
        rule = c.OBSERVATION_UNITS[o["code"]]
        fields: dict[str, Any] = {
            "effectiveDateTime": o["date"],
            "valueQuantity": _quantity(o["value"], vocab.OBSERVATIONS[o["code"]].unit, c.UCUM, rule.ucum),
        }
        if o.get("uln") is not None:
            fields["referenceRange"] = [
                {"high": _quantity(o["uln"], vocab.OBSERVATIONS[o["code"]].unit, c.UCUM, rule.ucum)}
            ]
        obs(f"observation-{i}", observation_coding(o["code"]), **fields)
    for i, t in enumerate(case.get("treatments", [])):
        period = {"start": t["start"]}
        if t.get("end"):
            period["end"] = t["end"]
        dosage: dict[str, Any] = {"text": f"dose in {t['dose_unit']}"}
        if t.get("dose") is not None:
            unit = t["dose_unit"]
            system, code = (c.UCUM, c.DOSE_UNIT_UCUM[unit]) if unit in c.DOSE_UNIT_UCUM else (c.SYS_DOSE_UNIT, unit)
            dosage["doseAndRate"] = [{"doseQuantity": _quantity(t["dose"], unit, system, code)}]
        for route, drug in c.CYCLOPHOSPHAMIDE_BY_ROUTE.items():
            if drug == t["drug"]:
                dosage["route"] = _concept([_coding(*route)])
        statement: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": f"treatment-{i}",
            "status": "completed" if t.get("end") else "active",
            "medicationCodeableConcept": _concept(drug_coding(t["drug"])),
            "subject": subject,
            "effectivePeriod": period,
            "dosage": [dosage],
        }
        if t.get("stop_reason"):
            statement["statusReason"] = [
                _concept([_coding(c.SYS_STOP_REASON, t["stop_reason"], vocab.STOP_REASONS[t["stop_reason"]])])
            ]
        b.add(statement)
    for i, cond in enumerate(case.get("conditions", [])):
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": f"condition-{i}",
            "code": _concept(condition_coding(cond["code"])),
            "subject": subject,
            "recordedDate": cond["date"],
        }
        if cond["status"] == "present":
            resource["clinicalStatus"] = _concept([_coding(c.CONDITION_CLINICAL, "active")])
            resource["verificationStatus"] = _concept([_coding(c.CONDITION_VERIFICATION, "confirmed")])
        else:
            resource["verificationStatus"] = _concept([_coding(c.CONDITION_VERIFICATION, "refuted")])
        b.add(resource)
    return b, subject["reference"]


# --------------------------------------------------------------------------------------------
# Screening results and referrals

NEED_TYPE: dict[RecordKind, str] = {
    RecordKind.PATIENT: "Patient",
    RecordKind.CLASSIFICATION: "Observation",
    RecordKind.ASSESSMENT: "Observation",
    RecordKind.MANIFESTATION: "Condition",
    RecordKind.OBSERVATION: "Observation",
    RecordKind.TREATMENT: "MedicationStatement",
    RecordKind.CONDITION: "Condition",
    RecordKind.DAMAGE: "Observation",
}
EXT_NEED_TEXT = "urn:candidacy:extension:need"


def data_requirement(need: NeedView) -> dict[str, Any]:
    """One piece of missing data as a DataRequirement: the resource type, its code, and the need in words."""
    out: dict[str, Any] = {
        "type": NEED_TYPE[need.record],
        "extension": [{"url": EXT_NEED_TEXT, "valueString": need.text}],
    }
    coding: list[dict[str, Any]] = []
    if need.code:
        if need.record is RecordKind.OBSERVATION and need.code in vocab.OBSERVATIONS:
            coding = observation_coding(need.code)
        elif need.record is RecordKind.CONDITION and need.code in vocab.CONDITION_CODES:
            coding = condition_coding(need.code)
        elif need.record is RecordKind.MANIFESTATION and need.code in vocab.MANIFESTATION_CODES:
            coding = manifestation_coding(need.code)
        elif need.record is RecordKind.TREATMENT:
            coding = drug_coding(need.code)
        elif need.record is RecordKind.PATIENT:
            out["mustSupport"] = [need.code]
    if need.record is RecordKind.ASSESSMENT:
        coding = [_coding(c.SYS_RECORD, c.ASSESSMENT)]
    elif need.record is RecordKind.DAMAGE:
        coding = [_coding(c.SYS_RECORD, c.DAMAGE)]
    if coding:
        out["codeFilter"] = [{"path": "code", "code": coding}]
    return out


def _output_parameters(pathway: PathwayView, pid: str) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": "pathway", "valueCode": pathway.id},
        {"name": "outcome", "valueCode": pathway.outcome.value},
        {"name": "summary", "valueString": pathway.sentence},
    ]
    for crit in pathway.criteria:
        parts = [
            {"name": "id", "valueString": crit.id},
            {"name": "result", "valueCode": crit.result.value},
            {"name": "explanation", "valueString": crit.explanation},
        ]
        if crit.source:
            parts.append({"name": "source", "valueString": crit.source})
        params.append({"name": "reason", "part": parts})
    for caution in pathway.cautions:
        params.append(
            {
                "name": "caution",
                "part": [
                    {"name": "id", "valueString": caution.id},
                    {"name": "severity", "valueCode": caution.severity},
                    {"name": "status", "valueCode": caution.status.value},
                    {"name": "explanation", "valueString": caution.explanation},
                    {"name": "source", "valueString": caution.source},
                ],
            }
        )
    for item in pathway.missing:
        params.append({"name": "missing", "valueString": item.line})
    if pathway.lapses_on:
        params.append({"name": "lapses-on", "valueDate": pathway.lapses_on.isoformat()})
    return {"resourceType": "Parameters", "id": pid, "parameter": params}


def guidance_responses(
    view: ResultView, *, result_id: str, subject: str, occurrence: str | None = None
) -> list[dict[str, Any]]:
    """A screening result as one GuidanceResponse per pathway: ``success`` with the outcome, or
    ``data-required`` with the missing data; the rule set is the module; reasons and cautions are
    in the contained output Parameters, and the sentence in the note."""
    out = []
    for pathway in view.pathways:
        params_id = "output"
        needs = [need for item in pathway.missing for need in item.needs]
        resource: dict[str, Any] = {
            "resourceType": "GuidanceResponse",
            "id": f"screening-{result_id}-{pathway.id}",
            "contained": [_output_parameters(pathway, params_id)],
            "requestIdentifier": {"system": c.local("screening-result"), "value": result_id},
            "identifier": [{"system": c.local("screening-result"), "value": f"{result_id}/{pathway.id}"}],
            "moduleCodeableConcept": _concept(
                [
                    _coding(
                        c.local("rule-set"),
                        view.rule_set_version,
                        f"{view.rule_set_name}, version {view.rule_set_version}",
                    )
                ],
                f"{view.rule_set_name} {view.rule_set_version}: {pathway.label}",
            ),
            "status": "data-required" if pathway.outcome is Outcome.INSUFFICIENT_DATA else "success",
            "subject": {"reference": subject},
            "outputParameters": {"reference": f"#{params_id}"},
            "note": [{"text": f"{pathway.label}: {OUTCOME_LABEL[pathway.outcome]}. {pathway.sentence}".strip()}],
            "reasonCode": [
                _concept([_coding(c.SYS_PATHWAY, pathway.id, pathway.label)], OUTCOME_LABEL[pathway.outcome])
            ],
        }
        if occurrence:
            resource["occurrenceDateTime"] = occurrence
        if pathway.outcome is Outcome.INSUFFICIENT_DATA:
            resource["dataRequirement"] = [data_requirement(need) for need in needs]
        out.append(resource)
    return out


def bundle(entries: list[dict[str, Any]], *, bundle_id: str, timestamp: str | None = None) -> dict[str, Any]:
    """A collection Bundle, validated by fhir.resources; returned as plain JSON data."""
    data: dict[str, Any] = {"resourceType": "Bundle", "id": bundle_id, "type": "collection", "entry": entries}
    if timestamp:
        data["timestamp"] = timestamp
    return Bundle.model_validate(data).model_dump(mode="json", exclude_none=True)


def case_bundle(case: Mapping[str, Any], *, site_code: str) -> dict[str, Any]:
    """A case file alone as a Bundle (no results): what the rules read."""
    b, _ = case_resources(case, site_code=site_code)
    return bundle(b.entries, bundle_id=f"{site_code}-{case['case_id']}")
