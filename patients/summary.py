"""Read models for the patient pages: one query per table, whatever the record size."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from accounts.dates import show_date
from clinical import scoring, vocab
from patients.models import (
    Assessment,
    Condition,
    DamageIndex,
    Manifestation,
    Observation,
    Patient,
    TreatmentCourse,
)

KEY_LABS = (
    "egfr",
    "creatinine",
    "upcr",
    "c3",
    "c4",
    "anti_dsdna",
    "hemoglobin",
    "wbc",
    "platelets",
    "alt",
    "ast",
    "bilirubin",
    "lvef",
    "dlco",
    "fev1",
    "ecog",
)


@dataclass
class TimelineBar:
    course: TreatmentCourse
    left: float
    width: float
    ongoing: bool


@dataclass
class PatientSummary:
    patient: Patient
    today: date
    assessments: list[Assessment]
    damage: list[DamageIndex]
    manifestations: list[Manifestation]
    observations: list[Observation]
    treatments: list[TreatmentCourse]
    conditions: list[Condition]
    age: int | None = None
    eular: scoring.EularResult | None = None
    latest_labs: list[Observation] = field(default_factory=list)
    workup: list[tuple[str, str, Condition | None]] = field(default_factory=list)
    current_treatments: list[TreatmentCourse] = field(default_factory=list)
    timeline: list[TimelineBar] = field(default_factory=list)
    timeline_start: date | None = None
    timeline_end: date | None = None
    sledai_series: list[dict[str, Any]] = field(default_factory=list)
    latest_damage: DamageIndex | None = None


def build_summary(patient: Patient, today: date) -> PatientSummary:
    """Everything the patient page shows, in six queries (one per record table)."""
    s = PatientSummary(
        patient=patient,
        today=today,
        assessments=list(Assessment.objects.filter(patient=patient).order_by("-date")),
        damage=list(DamageIndex.objects.filter(patient=patient).order_by("-date")),
        manifestations=list(Manifestation.objects.filter(patient=patient).order_by("-date", "code")),
        observations=list(Observation.objects.filter(patient=patient).order_by("-date", "code")),
        treatments=list(TreatmentCourse.objects.filter(patient=patient).order_by("-start", "-pk")),
        conditions=list(Condition.objects.filter(patient=patient).order_by("-date", "code")),
    )
    if patient.birth_date and patient.birth_date <= today:
        s.age = scoring.age_on(patient.birth_date, today)
    s.eular = scoring.eular_acr(patient.ana_titre, patient.eular_criteria)
    latest: dict[str, Observation] = {}
    for obs in s.observations:
        latest.setdefault(obs.code, obs)
    s.latest_labs = [latest[c] for c in KEY_LABS if c in latest] + [o for c, o in latest.items() if c not in KEY_LABS]
    latest_condition: dict[str, Condition] = {}
    for cond in s.conditions:
        latest_condition.setdefault(cond.code, cond)
    s.workup = [(code, label, latest_condition.get(code)) for code, label in vocab.CONDITION_CODES.items()]
    s.current_treatments = [t for t in s.treatments if t.end is None or t.end >= today]
    s.latest_damage = s.damage[0] if s.damage else None
    s.sledai_series = [
        {"date": a.date.isoformat(), "label": show_date(a.date), "low": a.sledai_low, "high": a.sledai_high}
        for a in reversed(s.assessments)
    ]
    if s.treatments:
        start = min(t.start for t in s.treatments)
        end = max(today, *(t.end or today for t in s.treatments))
        span = max((end - start).days, 1)
        s.timeline_start, s.timeline_end = start, end
        for t in sorted(s.treatments, key=lambda t: (t.start, t.pk)):
            stop = t.end or today
            s.timeline.append(
                TimelineBar(
                    course=t,
                    left=round(100 * (t.start - start).days / span, 2),
                    width=max(round(100 * ((stop - t.start).days + 1) / span, 2), 0.8),
                    ongoing=t.end is None,
                )
            )
    return s
