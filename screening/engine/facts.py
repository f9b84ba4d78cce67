"""The facts the screening engine reads (docs/rule-sets.md, "How the facts are read").

Plain frozen dataclasses with no Django in sight: the case-file reader
(``casefile.py``) and the Django service both build them, the engine only
reads them. Every record carries ``ref``, an opaque string naming its source
record (a path such as ``"treatments[3]"`` for case files); results quote
refs back so a reviewer can see which records a criterion read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """One visit's disease-activity assessment with its SLEDAI-2K record."""

    date: date
    sledai_present: tuple[str, ...] = ()
    sledai_not_assessed: tuple[str, ...] = ()  # every other descriptor is absent
    window_days: int = 10  # recorded for reading, not used by screening
    pga: Decimal | None = None
    bilag: tuple[tuple[str, str], ...] = ()  # (system, grade) pairs
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DamageEntry:
    """A SLICC/ACR damage index entry: item code → count (1, or 2 for ×2 items)."""

    date: date
    items: tuple[tuple[str, int], ...] = ()
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifestation:
    """Organ involvement; an entry with a ``biopsy_class`` is a biopsy (lupus nephritis only)."""

    code: str
    date: date
    active: bool
    biopsy_class: str | None = None
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """A lab or function-test value in the code's canonical unit."""

    code: str
    date: date
    value: Decimal
    uln: Decimal | None = None
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TreatmentCourse:
    """A course of one drug; ``end`` None = ongoing, ``dose`` in ``dose_unit``."""

    drug: str
    start: date
    end: date | None = None
    dose: Decimal | None = None
    dose_unit: str | None = None
    stop_reason: str | None = None
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionEntry:
    """A safety-relevant status (``present``/``absent``) observed on a date."""

    code: str
    status: str
    date: date
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientRefs:
    """Refs of the undated patient-level values (defaults: case-file paths)."""

    birth_date: str = "patient.birth_date"
    sex: str = "patient.sex"
    weight_kg: str = "patient.weight_kg"
    sle_attested: str = "patient.sle_attested"
    ana_titre: str = "classification.ana_titre"
    criteria: str = "classification.criteria"


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientFacts:
    """Everything the engine may read about one patient.

    ``criteria`` None means the 2019 EULAR/ACR criteria were not assessed; an
    empty tuple means assessed, none present (they screen differently).
    """

    birth_date: date | None = None
    sex: str | None = None
    weight_kg: Decimal | None = None
    sle_attested: bool = False
    ana_titre: int | None = None
    criteria: tuple[str, ...] | None = None
    assessments: tuple[Assessment, ...] = ()
    damage: tuple[DamageEntry, ...] = ()
    manifestations: tuple[Manifestation, ...] = ()
    observations: tuple[Observation, ...] = ()
    treatments: tuple[TreatmentCourse, ...] = ()
    conditions: tuple[ConditionEntry, ...] = ()
    refs: PatientRefs = field(default_factory=PatientRefs)
