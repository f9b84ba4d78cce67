"""The facts as known on the as-of date, sorted, with the lookups criteria share.

Records dated after as_of are dropped; a course ending after as_of is ongoing
(its end and stop reason are not known yet). Every collection is sorted on
the records' own content, so nothing downstream depends on input order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from clinical import vocab
from screening.engine.facts import (
    Assessment,
    ConditionEntry,
    DamageEntry,
    Manifestation,
    Observation,
    PatientFacts,
    TreatmentCourse,
)
from screening.engine.ruleset import Drug, RuleSet


def window_start(as_of: date, days: int | None) -> date | None:
    """First day of the closed window ``[as_of − days, as_of]``; None for a null window."""
    if days is None:
        return None
    try:
        return as_of - timedelta(days=days)
    except OverflowError:
        return date.min


def window_phrase(as_of: date, days: int | None) -> str:
    """How a window reads in explanations."""
    start = window_start(as_of, days)
    if start is None:
        return f"on or before {as_of.isoformat()}"
    return f"within {days} days (since {start.isoformat()})"


def drug_name(code: str) -> str:
    """A drug code as written in explanations: "mycophenolate_mofetil" → "mycophenolate mofetil",
    "cyclophosphamide_iv" → "cyclophosphamide IV"."""
    return vocab.drug_label(code)


def dedupe(items: Iterable[str]) -> tuple[str, ...]:
    """Items in first-seen order, without repeats."""
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True, slots=True)
class Course:
    """A treatment course as known on as_of (``end`` None = ongoing then)."""

    record: TreatmentCourse
    drug: Drug
    end: date | None
    stop_reason: str | None
    last_day: date  # last covered day: min(end, as_of)

    @property
    def ongoing(self) -> bool:
        return self.end is None

    @property
    def start(self) -> date:
        return self.record.start

    @property
    def ref(self) -> str:
        return self.record.ref

    @property
    def days_covered(self) -> int:
        """Calendar days of ``[start, min(end, as_of)]``, both ends included."""
        return max(0, (self.last_day - self.record.start).days + 1)

    @property
    def dose(self) -> Decimal | None:
        """The dose in the drug's unit; None if missing or recorded in another unit."""
        unit = self.record.dose_unit
        if unit is not None and unit != self.drug.dose_unit:
            return None
        return self.record.dose

    @property
    def dose_lack(self) -> str:
        """What is missing when ``dose`` is None."""
        if self.record.dose is not None:
            return f"dose in {self.drug.dose_unit} (recorded in {self.record.dose_unit})"
        return "dose"

    @property
    def name(self) -> str:
        """The drug as written in explanations."""
        return drug_name(self.drug.drug)

    @property
    def label(self) -> str:
        end = "ongoing" if self.end is None else self.end.isoformat()
        return f"{self.name} {self.start.isoformat()}–{end}"


def _course(record: TreatmentCourse, drug: Drug, as_of: date) -> Course:
    known_end = record.end if record.end is not None and record.end <= as_of else None
    return Course(
        record=record,
        drug=drug,
        end=known_end,
        stop_reason=record.stop_reason if known_end is not None else None,
        last_day=known_end if known_end is not None else as_of,
    )


@dataclass(frozen=True, slots=True)
class Context:
    """What criteria read: facts up to as_of, sorted; the rule set's drug catalogue."""

    facts: PatientFacts
    as_of: date
    assessments: tuple[Assessment, ...]  # by date
    damage: tuple[DamageEntry, ...]  # by date
    manifestations: tuple[Manifestation, ...]  # by code, date
    observations: tuple[Observation, ...]  # by code, date
    conditions: tuple[ConditionEntry, ...]  # by code, date
    courses: tuple[Course, ...]  # by start, drug; drugs outside the catalogue left out

    def in_window(self, day: date, days: int | None) -> bool:
        start = window_start(self.as_of, days)
        return (start is None or start <= day) and day <= self.as_of

    def latest_assessment(self, days: int | None) -> Assessment | None:
        found = [a for a in self.assessments if self.in_window(a.date, days)]
        return found[-1] if found else None

    def latest_observation(self, code: str, days: int | None) -> Observation | None:
        found = [o for o in self.observations if o.code == code and self.in_window(o.date, days)]
        return found[-1] if found else None

    def latest_condition(self, code: str, days: int | None) -> ConditionEntry | None:
        found = [c for c in self.conditions if c.code == code and self.in_window(c.date, days)]
        return found[-1] if found else None

    def latest_manifestation(self, code: str) -> Manifestation | None:
        found = [m for m in self.manifestations if m.code == code]
        return found[-1] if found else None

    def latest_biopsy(self, code: str) -> Manifestation | None:
        found = [m for m in self.manifestations if m.code == code and m.biopsy_class is not None]
        return found[-1] if found else None

    def latest_damage(self) -> DamageEntry | None:
        return self.damage[-1] if self.damage else None


def build_context(facts: PatientFacts, rule_set: RuleSet, as_of: date) -> Context:
    """The facts known on as_of, each collection sorted on its records' content."""
    drugs = {d.drug: d for d in rule_set.drugs}
    courses = [_course(t, drugs[t.drug], as_of) for t in facts.treatments if t.start <= as_of and t.drug in drugs]
    courses.sort(
        key=lambda c: (
            c.start,
            c.drug.drug,
            c.end or date.max,
            c.record.dose if c.record.dose is not None else Decimal(-1),
            c.record.dose_unit or "",
            c.record.stop_reason or "",
            c.ref,
        )
    )
    return Context(
        facts=facts,
        as_of=as_of,
        assessments=tuple(sorted((a for a in facts.assessments if a.date <= as_of), key=lambda a: (a.date, a.ref))),
        damage=tuple(sorted((d for d in facts.damage if d.date <= as_of), key=lambda d: (d.date, d.ref))),
        manifestations=tuple(
            sorted((m for m in facts.manifestations if m.date <= as_of), key=lambda m: (m.code, m.date, m.ref))
        ),
        observations=tuple(
            sorted((o for o in facts.observations if o.date <= as_of), key=lambda o: (o.code, o.date, o.ref))
        ),
        conditions=tuple(
            sorted((c for c in facts.conditions if c.date <= as_of), key=lambda c: (c.code, c.date, c.ref))
        ),
        courses=tuple(courses),
    )
