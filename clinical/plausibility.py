"""What a plausible value of the clinical record is: one set of rules for the forms, case files and imports.

Each function takes a value and what it is checked against (today, the birth
date, a code) and returns ``None`` when the value is plausible, or the problem
as a phrase that follows the field's name: ``"must not be before the birth
date (1994-03-12)"``. A form shows it after the field's label ("The date must
not be ..."), a case file after the field's path (``assessments[2].date: must
not be ...``): the same rule, the same words, whichever way the value came in.

Bounds come from :mod:`clinical.limits` and :mod:`clinical.vocab` (the plausible
range of each observation). Plain Python, no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from clinical import limits, vocab

__all__ = [
    "WEIGHT_RANGE",
    "PGA_RANGE",
    "ana_titre",
    "birth_date",
    "calendar_date",
    "dose",
    "observation_uln",
    "observation_value",
    "pga",
    "record_date",
    "referral_sent",
    "review_date",
    "stored_case",
    "weight",
]

Number = int | float | Decimal

WEIGHT_RANGE: Final = (20, 300)  # kg
PGA_RANGE: Final = (0, 3)


def _decimal(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _text(value: Number) -> str:
    number = _decimal(value).normalize()
    return f"{number:f}"


def calendar_date(value: date) -> str | None:
    """Any date the app reads: from 1900-01-01 to 2199-12-31."""
    if value < limits.EARLIEST_DATE:
        return f"must not be before {limits.EARLIEST_DATE.isoformat()}"
    if value > limits.LATEST_DATE:
        return f"must not be after {limits.LATEST_DATE.isoformat()}"
    return None


def _not_future(value: date, today: date | None) -> str | None:
    if today is not None and value > today:
        return f"cannot be in the future ({value.isoformat()} is after today, {today.isoformat()})"
    return None


def birth_date(value: date, *, today: date | None = None) -> str | None:
    """A birth date: a calendar date, not after today (when today is given)."""
    return _not_future(value, today) or calendar_date(value)


def record_date(value: date, *, born: date | None = None, today: date | None = None) -> str | None:
    """The date of a record (visit, lab, course, status): a calendar date, not before the patient's
    birth date (when recorded), not after today (when today is given: a stored record)."""
    problem = _not_future(value, today) or calendar_date(value)
    if problem is None and born is not None and value < born:
        problem = f"must not be before the birth date ({born.isoformat()})"
    return problem


def referral_sent(value: date, *, opened: date, today: date) -> str | None:
    """The day a referral was sent: not before the referral was opened on its flag, not after today."""
    problem = _not_future(value, today) or calendar_date(value)
    if problem is None and value < opened:
        problem = f"cannot be before the referral was opened ({opened.isoformat()})"
    return problem


def review_date(value: date, *, today: date) -> str | None:
    """The day a deferred referral comes back: after today and within limits.REVIEW_AHEAD_DAYS."""
    if value <= today:
        return "must be after today"
    latest = today + timedelta(days=limits.REVIEW_AHEAD_DAYS)
    if value > latest:
        return f"must be within five years (on or before {latest.isoformat()})"
    return None


def _between(value: Number, low: Number, high: Number) -> str | None:
    if not (_decimal(low) <= _decimal(value) <= _decimal(high)):
        return f"must be between {_text(low)} and {_text(high)}"
    return None


def weight(value: Number) -> str | None:
    """Body weight in kg."""
    return _between(value, *WEIGHT_RANGE)


def pga(value: Number) -> str | None:
    """Physician Global Assessment, 0.0 to 3.0."""
    return _between(value, *PGA_RANGE)


def ana_titre(value: int) -> str | None:
    """The reciprocal of the highest ANA titre (0 = negative)."""
    return _between(value, 0, limits.ANA_TITRE_MAX)


def dose(value: Number) -> str | None:
    """A dose in the drug's own unit."""
    return _between(value, 0, limits.DOSE_MAX)


def observation_value(code: str, value: Number) -> str | None:
    """A lab or test value in its code's canonical unit, within the code's plausible range (clinical.vocab)."""
    spec = vocab.OBSERVATIONS[code]
    if not (_decimal(spec.low) <= _decimal(value) <= _decimal(spec.high)):
        return (
            f"{_text(value)} {spec.unit} is outside the plausible range of {spec.label}, "
            f"{_text(spec.low)}–{_text(spec.high)} {spec.unit}; check the value and its unit"
        )
    return None


def observation_uln(code: str, value: Number) -> str | None:
    """An upper limit of normal: above 0 and within the code's plausible range."""
    spec = vocab.OBSERVATIONS[code]
    if _decimal(value) <= 0:
        return "must be above 0"
    if _decimal(value) > _decimal(spec.high):
        return f"must be at most {_text(spec.high)} {spec.unit}, the plausible range of {spec.label}"
    return None


# Each list of a case file and the dates of its entries.
_DATED: Final = (
    ("assessments", ("date",)),
    ("damage", ("date",)),
    ("manifestations", ("date",)),
    ("observations", ("date",)),
    ("treatments", ("start", "end")),
    ("conditions", ("date",)),
)


def stored_case(case: Mapping[str, Any], *, today: date) -> tuple[str, str] | None:
    """The first implausible value of a validated case file about to become a patient's record, as
    (field path, problem), in document order; None when the record forms would accept all of it.

    The forms' rules: no birth date or entry date after today, no entry before the birth date,
    observation values and upper limits within their code's range, titre and doses within bounds.
    """
    patient = case.get("patient") or {}
    born = date.fromisoformat(patient["birth_date"]) if patient.get("birth_date") else None
    if born is not None and (problem := birth_date(born, today=today)):
        return "patient.birth_date", problem
    if patient.get("weight_kg") is not None and (problem := weight(patient["weight_kg"])):
        return "patient.weight_kg", problem
    titre = (case.get("classification") or {}).get("ana_titre")
    if titre is not None and (problem := ana_titre(titre)):
        return "classification.ana_titre", problem
    for key, fields in _DATED:
        for index, entry in enumerate(case.get(key) or []):
            where = f"{key}[{index}]"
            for name in fields:
                if entry.get(name) is not None:
                    day = date.fromisoformat(entry[name])
                    if problem := record_date(day, born=born, today=today):
                        return f"{where}.{name}", problem
            if key == "assessments" and entry.get("pga") is not None and (problem := pga(entry["pga"])):
                return f"{where}.pga", problem
            if key == "observations":
                if problem := observation_value(entry["code"], entry["value"]):
                    return f"{where}.value", problem
                if entry.get("uln") is not None and (problem := observation_uln(entry["code"], entry["uln"])):
                    return f"{where}.uln", problem
            if key == "treatments" and entry.get("dose") is not None and (problem := dose(entry["dose"])):
                return f"{where}.dose", problem
    return None
