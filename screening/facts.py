"""Facts for the engine from the database: one query per table, whatever the record size.

Refs name the source record as ``"<kind>/<pk>"`` (kinds as in the patient
URLs: assessments, damage, manifestations, observations, treatments,
conditions) or ``"patient.<field>"``, so the patient page can link each
criterion to the records it read.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from patients.models import Assessment, Condition, DamageIndex, Manifestation, Observation, Patient, TreatmentCourse
from screening import engine
from screening.engine.facts import PatientRefs

DB_REFS = PatientRefs(
    birth_date="patient.birth_date",
    sex="patient.sex",
    weight_kg="patient.weight_kg",
    sle_attested="patient.sle_attested",
    ana_titre="patient.ana_titre",
    criteria="patient.eular_criteria",
)


def load_facts(patient: Patient) -> engine.PatientFacts:
    """The engine's view of one patient (six queries: one per record table)."""
    return facts_for([patient])[patient.pk]


def _by_patient(queryset: Any) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in queryset:
        grouped[row.patient_id].append(row)
    return grouped


ASSESSMENT_FIELDS = ("date", "sledai_present", "sledai_not_assessed", "window_days", "pga", "bilag")


def facts_for(patients: list[Patient]) -> dict[int, engine.PatientFacts]:
    """Patient pk → facts, for the given patients (six queries, whatever their number)."""
    ids = [p.pk for p in patients]

    def rows(model: Any, *fields: str, by: str = "date") -> dict[int, list[Any]]:
        # named rows with only what the facts read: building a model instance per record was half the load
        return _by_patient(
            model.objects.filter(patient_id__in=ids)
            .order_by(by, "pk")
            .values_list("patient_id", "pk", *fields, named=True)
        )

    assessments = rows(Assessment, *ASSESSMENT_FIELDS)
    damage = rows(DamageIndex, "date", "items")
    manifestations = rows(Manifestation, "code", "date", "active", "biopsy_class")
    observations = rows(Observation, "code", "date", "value", "uln")
    treatments = rows(TreatmentCourse, "drug", "start", "end", "dose", "dose_unit", "stop_reason", by="start")
    conditions = rows(Condition, "code", "status", "date")
    return {
        p.pk: facts_from_records(
            p,
            assessments=assessments[p.pk],
            damage=damage[p.pk],
            manifestations=manifestations[p.pk],
            observations=observations[p.pk],
            treatments=treatments[p.pk],
            conditions=conditions[p.pk],
        )
        for p in patients
    }


def facts_from_records(
    patient: Patient,
    *,
    assessments: Iterable[Assessment],
    damage: Iterable[DamageIndex],
    manifestations: Iterable[Manifestation],
    observations: Iterable[Observation],
    treatments: Iterable[TreatmentCourse],
    conditions: Iterable[Condition],
) -> engine.PatientFacts:
    """The engine's view of one patient from records already read (no query; the engine sorts them)."""
    return engine.PatientFacts(
        birth_date=patient.birth_date,
        sex=patient.sex,
        weight_kg=patient.weight_kg,
        sle_attested=patient.sle_attested,
        ana_titre=patient.ana_titre,
        criteria=tuple(patient.eular_criteria) if patient.eular_criteria is not None else None,
        assessments=tuple(
            engine.Assessment(
                date=a.date,
                sledai_present=tuple(a.sledai_present),
                sledai_not_assessed=tuple(a.sledai_not_assessed),
                window_days=a.window_days,
                pga=a.pga,
                bilag=tuple(sorted(a.bilag.items())),
                ref=f"assessments/{a.pk}",
            )
            for a in assessments
        ),
        damage=tuple(
            engine.DamageEntry(date=d.date, items=tuple(sorted(d.items.items())), ref=f"damage/{d.pk}") for d in damage
        ),
        manifestations=tuple(
            engine.Manifestation(
                code=m.code, date=m.date, active=m.active, biopsy_class=m.biopsy_class, ref=f"manifestations/{m.pk}"
            )
            for m in manifestations
        ),
        observations=tuple(
            engine.Observation(code=o.code, date=o.date, value=o.value, uln=o.uln, ref=f"observations/{o.pk}")
            for o in observations
        ),
        treatments=tuple(
            engine.TreatmentCourse(
                drug=t.drug,
                start=t.start,
                end=t.end,
                dose=t.dose,
                dose_unit=t.dose_unit,
                stop_reason=t.stop_reason,
                ref=f"treatments/{t.pk}",
            )
            for t in treatments
        ),
        conditions=tuple(
            engine.ConditionEntry(code=c.code, status=c.status, date=c.date, ref=f"conditions/{c.pk}")
            for c in conditions
        ),
        refs=DB_REFS,
    )


def _plain(value: Any) -> Any:
    """A facts value as JSON: dataclasses as dicts of their fields, tuples as lists, dates ISO, decimals as
    strings. Read field by field (``dataclasses.asdict`` deep-copies every value first, which cost the
    daily re-screen more than evaluating the rules), each value's type looked up once (most are strings);
    the result is the same, so stored hashes hold."""
    convert = _CONVERT.get(type(value))
    if convert is not None:
        return convert(value)
    names = _field_names(type(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, date):  # (subclasses: what the table does not name)
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _same(value: Any) -> Any:
    return value


_CONVERT: dict[type, Any] = {
    str: _same,
    int: _same,
    bool: _same,
    float: _same,
    type(None): _same,
    date: date.isoformat,
    Decimal: lambda value: str(value.normalize()),
    tuple: lambda value: [_plain(v) for v in value],
    list: lambda value: [_plain(v) for v in value],
    dict: lambda value: {k: _plain(v) for k, v in value.items()},
}


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    return tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None


def _day(value: Any) -> Any:
    return value.isoformat() if value.__class__ is date else _plain(value)


def _number(value: Any) -> Any:
    return str(value.normalize()) if value.__class__ is Decimal else _plain(value)


# The records' JSON written field by field (the daily re-screen hashes every patient's facts): the same as
# ``_plain`` gives, which a test holds on the shipped cases and on generated patients.
_RECORDS: dict[str, Any] = {
    "assessments": lambda a: {
        "date": _day(a.date),
        "sledai_present": list(a.sledai_present),
        "sledai_not_assessed": list(a.sledai_not_assessed),
        "window_days": a.window_days,
        "pga": _number(a.pga),
        "bilag": [list(pair) for pair in a.bilag],
        "ref": a.ref,
    },
    "damage": lambda d: {"date": _day(d.date), "items": [list(pair) for pair in d.items], "ref": d.ref},
    "manifestations": lambda m: {
        "code": m.code,
        "date": _day(m.date),
        "active": m.active,
        "biopsy_class": m.biopsy_class,
        "ref": m.ref,
    },
    "observations": lambda o: {
        "code": o.code,
        "date": _day(o.date),
        "value": _number(o.value),
        "uln": _number(o.uln),
        "ref": o.ref,
    },
    "treatments": lambda t: {
        "drug": t.drug,
        "start": _day(t.start),
        "end": _day(t.end),
        "dose": _number(t.dose),
        "dose_unit": t.dose_unit,
        "stop_reason": t.stop_reason,
        "ref": t.ref,
    },
    "conditions": lambda c: {"code": c.code, "status": c.status, "date": _day(c.date), "ref": c.ref},
}


def facts_to_json(facts: engine.PatientFacts) -> dict[str, Any]:
    """The facts as stored beside a result (dates ISO, decimals as strings)."""
    data = {
        "birth_date": _day(facts.birth_date),
        "sex": facts.sex,
        "weight_kg": _number(facts.weight_kg),
        "sle_attested": facts.sle_attested,
        "ana_titre": facts.ana_titre,
        "criteria": _plain(facts.criteria),
    }
    for name, write in _RECORDS.items():
        data[name] = [write(record) for record in getattr(facts, name)]
    return data
