"""The shapes the API reads and writes (its OpenAPI description is generated from them).

Inputs carry the types and vocabularies; the forms of the pages (``patients.forms``,
``referrals.forms``) then check them as they check what a person types, so a value the
pages refuse is refused here too, naming the same field.
"""

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, create_model

from clinical import scoring, vocab
from referrals.models import NotReferredReason, ReferralState

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID, description="The version you read; refused (409) if it changed since.")]
Reason = Annotated[str, Field(max_length=500, description="Why: required when changing an existing row.")]
Number = Annotated[float, Field(allow_inf_nan=False)]


def _enum(name: str, values: Any) -> Any:
    return Enum(name, {str(v): str(v) for v in values}, type=str)


ManifestationCode = _enum("ManifestationCode", vocab.MANIFESTATION_CODES)
BiopsyClass = _enum("BiopsyClass", vocab.LN_CLASSES)
ObservationCode = _enum("ObservationCode", vocab.OBSERVATIONS)
ConditionCode = _enum("ConditionCode", vocab.CONDITION_CODES)
ConditionStatus = _enum("ConditionStatus", vocab.CONDITION_STATUSES)
StopReason = _enum("StopReason", vocab.STOP_REASONS)
EularCriterion = _enum("EularCriterion", vocab.EULAR_CRITERIA)
BilagGrade = _enum("BilagGrade", vocab.BILAG_GRADES)
Sex = _enum("Sex", vocab.SEXES)
_units: list[str] = []
for _code, _obs in vocab.OBSERVATIONS.items():
    for _unit in [_obs.unit, *scoring.ALTERNATIVE_UNITS.get(_code, {})]:
        if _unit not in _units:
            _units.append(_unit)
ObservationUnit = _enum("ObservationUnit", _units)
SledaiAnswer = Literal["present", "absent", "not_assessed"]

StrictConfig = ConfigDict(extra="forbid")

SledaiAnswers = create_model(  # type: ignore[call-overload]
    "SledaiAnswers",
    __config__=StrictConfig,
    **{
        code: (SledaiAnswer, Field(description=f"{item.label} ({item.weight})"))
        for code, item in vocab.SLEDAI_ITEMS.items()
    },
)
BilagGrades = create_model(  # type: ignore[call-overload]
    "BilagGrades",
    __config__=StrictConfig,
    **{system: (BilagGrade | None, None) for system in vocab.BILAG_SYSTEMS},
)
DamageItems = create_model(  # type: ignore[call-overload]
    "DamageItems",
    __config__=StrictConfig,
    **{
        code: (Annotated[int, Field(ge=0, le=item.max_count)], Field(description=f"{item.label} ({item.points})"))
        for code, item in vocab.SDI_ITEMS.items()
    },
)


class In(Schema):
    model_config = StrictConfig


# --- patients ---------------------------------------------------------------------------------


class PatientCreate(In):
    site: str = Field(max_length=32, description="The site's code (one of your sites).")
    identifier: str = Field(max_length=64, description="The clinic's identifier: letters, digits, . _ -")
    birth_date: date | None = None
    sex: Sex | None = None  # type: ignore[valid-type]
    weight_kg: Number | None = None


class PatientUpdate(In):
    identifier: str = Field(max_length=64)
    birth_date: date | None = None
    sex: Sex | None = None  # type: ignore[valid-type]
    weight_kg: Number | None = None
    version: Version
    reason: Reason


class DiagnosisUpdate(In):
    sle_attested: bool = Field(description="SLE diagnosis attested by a specialist.")
    ana_titre: Annotated[int, Field(ge=0, le=MAX_ID)] | None = Field(
        None, description="Highest ANA titre, reciprocal (640 for 1:640; 0 negative; null: never recorded)."
    )
    criteria_assessed: bool = Field(description="Whether the 2019 EULAR/ACR criteria have been assessed.")
    criteria: list[EularCriterion] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=len(vocab.EULAR_CRITERIA), description="Criteria ever present."
    )
    version: Version
    reason: Reason


class PatientSummary(Schema):
    id: int
    identifier: str
    site: str
    birth_date: date | None
    sex: str | None
    version: int
    last_activity: datetime
    latest_outcomes: dict[str, str] | None = Field(description="Pathway → outcome of the latest screening.")


class PatientOut(PatientSummary):
    weight_kg: float | None
    sle_attested: bool
    ana_titre: int | None
    eular_criteria: list[str] | None = Field(description="null: not assessed; []: assessed, none present.")
    created_at: datetime


class Page(Schema):
    count: int
    limit: int
    offset: int


class PatientPage(Page):
    items: list[PatientSummary]


# --- records ------------------------------------------------------------------------------------


class RecordIn(In):
    version: Version | None = Field(None, description="Required to change a record: the version you read.")
    reason: str = Field("", max_length=500, description="Why: required to change a record, optional for a new one.")


class RecordOut(Schema):
    id: int
    version: int


class AssessmentIn(RecordIn):
    date: date
    window_days: Literal[10, 30] = 10
    pga: Annotated[float, Field(ge=0, le=3, allow_inf_nan=False)] | None = None
    sledai: SledaiAnswers = Field(description="Every SLEDAI-2K descriptor answered.")  # type: ignore[valid-type]
    bilag: BilagGrades = Field(default_factory=BilagGrades)  # type: ignore[valid-type]


class AssessmentOut(RecordOut):
    date: date
    window_days: int
    pga: float | None
    sledai_present: list[str]
    sledai_not_assessed: list[str]
    sledai_low: int
    sledai_high: int
    csledai_low: int
    csledai_high: int
    bilag: dict[str, str]


class DamageIn(RecordIn):
    date: date
    items: DamageItems = Field(description="Every SLICC/ACR item answered: 0 (no), 1, or 2 where it can count twice.")  # type: ignore[valid-type]


class DamageOut(RecordOut):
    date: date
    items: dict[str, int]
    score: int


class ManifestationIn(RecordIn):
    code: ManifestationCode  # type: ignore[valid-type]
    date: date
    active: bool
    biopsy_class: BiopsyClass | None = None  # type: ignore[valid-type]


class ManifestationOut(RecordOut):
    code: str
    date: date
    active: bool
    biopsy_class: str | None


class ObservationIn(RecordIn):
    code: ObservationCode  # type: ignore[valid-type]
    date: date
    value: Number
    unit: ObservationUnit | None = Field(None, description="The value's unit; default: the code's canonical unit.")  # type: ignore[valid-type]
    uln: Number | None = Field(None, description="Upper limit of normal, in the same unit.")
    add_egfr: bool = Field(False, description="For a creatinine: also record the CKD-EPI 2021 eGFR of that day.")


class ObservationOut(RecordOut):
    code: str
    date: date
    value: float
    unit: str
    uln: float | None


class TreatmentIn(RecordIn):
    drug: str = Field(max_length=64, description="A drug code of the published catalogue.")
    start: date
    end: date | None = None
    dose: Number | None = None
    dose_unit: str | None = Field(None, max_length=32, description="Default: the drug's unit in the catalogue.")
    stop_reason: StopReason | None = None  # type: ignore[valid-type]


class TreatmentOut(RecordOut):
    drug: str
    start: date
    end: date | None
    dose: float | None
    dose_unit: str
    stop_reason: str | None


class ConditionIn(RecordIn):
    code: ConditionCode  # type: ignore[valid-type]
    status: ConditionStatus  # type: ignore[valid-type]
    date: date


class ConditionOut(RecordOut):
    code: str
    status: str
    date: date


# --- screening -----------------------------------------------------------------------------------


class CriterionOut(Schema):
    id: str
    explanation: str
    source: str | None


class MissingOut(Schema):
    line: str
    criterion: str


class CautionOut(Schema):
    id: str
    label: str
    severity: str
    status: str
    explanation: str
    source: str


class PathwayOut(Schema):
    id: str
    label: str
    outcome: Literal["flagged", "not_flagged", "insufficient_data"]
    outcome_label: str
    sentence: str
    reasons: list[CriterionOut] = Field(description="The criteria met (flagged: why).")
    why_not: list[str]
    missing: list[MissingOut]
    cautions: list[CautionOut]
    next: list[str]
    lapses_on: date | None
    lapse_reason: str | None


class ScreeningSummary(Schema):
    id: int
    computed_at: datetime
    as_of: date
    rule_set_version: str
    trigger: str
    actor: str = Field(description="Who caused it, named as they were then (blank: scheduled).")
    outcomes: dict[str, str]
    changed: bool
    change_cause: str


class ScreeningOut(ScreeningSummary):
    pathways: list[PathwayOut]


class ScreeningPage(Page):
    items: list[ScreeningSummary]


# --- referrals -----------------------------------------------------------------------------------

RefState = _enum("RefState", ReferralState.values)
TargetState = _enum("TargetState", [s for s in ReferralState.values if s != ReferralState.NEW])
NotReferred = _enum("NotReferred", NotReferredReason.values)


class ReferralOut(Schema):
    id: int
    patient_id: int
    patient_identifier: str
    site: str
    pathway: str
    pathway_label: str
    state: RefState  # type: ignore[valid-type]
    version: int
    flagged_at: datetime
    opened_at: datetime
    updated_at: datetime
    assigned_to: str | None = Field(description="Username of the person it is assigned to.")
    flag_withdrawn: bool
    withdrawn_reason: str
    reasons: list[str]
    cautions: list[dict[str, Any]]
    has_contraindication: bool
    lapses_on: date | None
    centre: str
    referred_on: date | None
    not_referred_reason: str
    review_on: date | None
    data_needed: str
    decided_at: datetime | None


class ReferralPage(Page):
    items: list[ReferralOut]


class EventOut(Schema):
    version: int
    kind: str
    at: datetime
    who: str
    from_state: str
    to_state: str
    reason: str


class ReferralDetail(ReferralOut):
    events: list[EventOut]


class TransitionIn(In):
    to_state: TargetState  # type: ignore[valid-type]
    version: Version
    reason: str = Field("", max_length=4000, description="Required for not_referred and deferred.")
    centre: str | None = Field(None, max_length=200, description="referred: the evaluating centre.")
    referred_on: date | None = Field(None, description="referred: the date it was sent.")
    not_referred_reason: NotReferred | None = None  # type: ignore[valid-type]
    review_on: date | None = Field(None, description="deferred: the date to review it again.")
    data_needed: str | None = Field(None, max_length=2000, description="needs_data: what is needed.")


class AssignIn(In):
    version: Version
    assignee: Id | None = Field(
        description="User id of a specialist or staff member of the patient's site; null: nobody."
    )


class NoteIn(In):
    text: str = Field(max_length=4000)
