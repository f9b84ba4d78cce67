"""Facts from a case file (docs/case-files.md), with refs as paths into the file.

The dict must already be valid (validation is the case-file validator's job);
this module only maps shapes: optional keys become None or empty tuples,
numbers become Decimal, dates become ``datetime.date``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from screening.engine.facts import (
    Assessment,
    ConditionEntry,
    DamageEntry,
    Manifestation,
    Observation,
    PatientFacts,
    TreatmentCourse,
)


def to_decimal(value: int | float | Decimal | str) -> Decimal:
    """A JSON number as an exact Decimal (a float goes through its shortest repr)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _date(value: str) -> date:
    return date.fromisoformat(value)


def _opt_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _opt_decimal(value: int | float | Decimal | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


def case_as_of(case: Mapping[str, Any]) -> date | None:
    """The case file's ``as_of`` date, or None when the file has none."""
    value = case.get("as_of")
    return None if value is None else _date(value)


def facts_from_case(case: Mapping[str, Any]) -> PatientFacts:
    """PatientFacts of a validated case-file dict; refs are paths such as ``"treatments[3]"``."""
    patient: Mapping[str, Any] = case.get("patient") or {}
    classification: Mapping[str, Any] = case.get("classification") or {}
    criteria = classification.get("criteria")

    assessments = tuple(
        Assessment(
            date=_date(a["date"]),
            sledai_present=tuple(a["sledai2k"].get("present") or ()),
            sledai_not_assessed=tuple(a["sledai2k"].get("not_assessed") or ()),
            window_days=a.get("window_days", 10),
            pga=_opt_decimal(a.get("pga")),
            bilag=tuple(sorted((a.get("bilag") or {}).items())),
            ref=f"assessments[{i}]",
        )
        for i, a in enumerate(case.get("assessments") or ())
    )
    damage = tuple(
        DamageEntry(
            date=_date(d["date"]),
            items=tuple(sorted((d.get("items") or {}).items())),
            ref=f"damage[{i}]",
        )
        for i, d in enumerate(case.get("damage") or ())
    )
    manifestations = tuple(
        Manifestation(
            code=m["code"],
            date=_date(m["date"]),
            active=m["active"],
            biopsy_class=m.get("biopsy_class"),
            ref=f"manifestations[{i}]",
        )
        for i, m in enumerate(case.get("manifestations") or ())
    )
    observations = tuple(
        Observation(
            code=o["code"],
            date=_date(o["date"]),
            value=to_decimal(o["value"]),
            uln=_opt_decimal(o.get("uln")),
            ref=f"observations[{i}]",
        )
        for i, o in enumerate(case.get("observations") or ())
    )
    treatments = tuple(
        TreatmentCourse(
            drug=t["drug"],
            start=_date(t["start"]),
            end=_opt_date(t.get("end")),
            dose=_opt_decimal(t.get("dose")),
            dose_unit=t.get("dose_unit"),
            stop_reason=t.get("stop_reason"),
            ref=f"treatments[{i}]",
        )
        for i, t in enumerate(case.get("treatments") or ())
    )
    conditions = tuple(
        ConditionEntry(
            code=c["code"],
            status=c["status"],
            date=_date(c["date"]),
            ref=f"conditions[{i}]",
        )
        for i, c in enumerate(case.get("conditions") or ())
    )
    return PatientFacts(
        birth_date=_opt_date(patient.get("birth_date")),
        sex=patient.get("sex"),
        weight_kg=_opt_decimal(patient.get("weight_kg")),
        sle_attested=bool(patient.get("sle_attested", False)),
        ana_titre=classification.get("ana_titre"),
        criteria=None if criteria is None else tuple(criteria),
        assessments=assessments,
        damage=damage,
        manifestations=manifestations,
        observations=observations,
        treatments=treatments,
        conditions=conditions,
    )
