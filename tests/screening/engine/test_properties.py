"""Properties over generated patients: order of records, SLEDAI monotonicity, records after as_of."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinical import vocab
from screening.engine import (
    Assessment,
    ConditionEntry,
    DamageEntry,
    Manifestation,
    Observation,
    PatientFacts,
    Result,
    TreatmentCourse,
    result_to_dict,
    screen,
)
from screening.engine.context import build_context
from screening.engine.criteria import read_sledai, sledai_at_least
from screening.engine.criterion_types import SledaiAtLeastParams
from tests.screening.engine.helpers import AS_OF, default_rules

T = TypeVar("T")
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SLEDAI = list(vocab.SLEDAI_ITEMS)
# Mostly close to AS_OF (so windows hold several records), sometimes far; some after AS_OF.
RECORD_DATES = st.one_of(st.integers(-45, 10), st.integers(-900, 200)).map(lambda n: AS_OF + timedelta(days=n))
LATER_DATES = st.integers(201, 900).map(lambda n: AS_OF + timedelta(days=n))  # after every RECORD_DATES date
OBSERVATION_CODES = [
    "lvef",
    "dlco",
    "fev1",
    "egfr",
    "alt",
    "ast",
    "bilirubin",
    "wbc",
    "hemoglobin",
    "platelets",
    "ecog",
]


def numbers(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=1, allow_nan=False, allow_infinity=False)


@st.composite
def assessments(draw: st.DrawFn, dates: st.SearchStrategy[date]) -> Assessment:
    present = draw(st.sets(st.sampled_from(SLEDAI), max_size=6))
    rest = [item for item in SLEDAI if item not in present]
    not_assessed = draw(st.sets(st.sampled_from(rest), max_size=4))
    return Assessment(
        date=draw(dates),
        sledai_present=tuple(sorted(present)),
        sledai_not_assessed=tuple(sorted(not_assessed)),
        ref="",
    )


@st.composite
def courses(draw: st.DrawFn, starts: st.SearchStrategy[date]) -> TreatmentCourse:
    drug = draw(st.sampled_from(default_rules().drugs))
    start = draw(starts)
    length = draw(st.none() | st.integers(min_value=0, max_value=500))
    end = None if length is None else start + timedelta(days=length)
    stop = draw(st.none() | st.sampled_from(list(vocab.STOP_REASONS))) if end is not None else None
    dose = draw(st.none() | numbers(0, 3500))
    return TreatmentCourse(
        drug=drug.drug, start=start, end=end, dose=dose, dose_unit=drug.dose_unit, stop_reason=stop, ref=""
    )


@st.composite
def observations(draw: st.DrawFn, dates: st.SearchStrategy[date]) -> Observation:
    return Observation(
        code=draw(st.sampled_from(OBSERVATION_CODES)),
        date=draw(dates),
        value=draw(numbers(0, 200)),
        uln=draw(st.none() | numbers(1, 100)),
        ref="",
    )


@st.composite
def conditions(draw: st.DrawFn, dates: st.SearchStrategy[date]) -> ConditionEntry:
    return ConditionEntry(
        code=draw(st.sampled_from(list(vocab.CONDITION_CODES))),
        status=draw(st.sampled_from(vocab.CONDITION_STATUSES)),
        date=draw(dates),
        ref="",
    )


@st.composite
def manifestations(draw: st.DrawFn, dates: st.SearchStrategy[date]) -> Manifestation:
    code = draw(st.sampled_from(list(vocab.MANIFESTATION_CODES)))
    biopsy = draw(st.none() | st.sampled_from(vocab.LN_CLASSES)) if code == "lupus_nephritis" else None
    return Manifestation(code=code, date=draw(dates), active=draw(st.booleans()), biopsy_class=biopsy, ref="")


@st.composite
def damage_entries(draw: st.DrawFn, dates: st.SearchStrategy[date]) -> DamageEntry:
    codes = draw(st.sets(st.sampled_from(list(vocab.SDI_ITEMS)), max_size=5))
    items = tuple(sorted((c, draw(st.integers(1, vocab.SDI_ITEMS[c].max_count))) for c in codes))
    return DamageEntry(date=draw(dates), items=items, ref="")


def with_refs(records: list[T], kind: str) -> tuple[T, ...]:
    return tuple(dataclasses.replace(r, ref=f"{kind}[{i}]") for i, r in enumerate(records))  # type: ignore[type-var]


def record_lists(dates: st.SearchStrategy[date]) -> dict[str, st.SearchStrategy[list[Any]]]:
    return {
        "assessments": st.lists(assessments(dates), max_size=4, unique_by=lambda a: a.date),
        "damage": st.lists(damage_entries(dates), max_size=2, unique_by=lambda d: d.date),
        "manifestations": st.lists(manifestations(dates), max_size=4, unique_by=lambda m: (m.code, m.date)),
        "observations": st.lists(observations(dates), max_size=8, unique_by=lambda o: (o.code, o.date)),
        "treatments": st.lists(courses(dates), max_size=6),
        "conditions": st.lists(conditions(dates), max_size=8, unique_by=lambda c: (c.code, c.date)),
    }


@st.composite
def patients(draw: st.DrawFn) -> PatientFacts:
    criteria = draw(st.none() | st.sets(st.sampled_from(list(vocab.EULAR_CRITERIA)), max_size=5))
    records: dict[str, Any] = {
        kind: with_refs(draw(strategy), kind) for kind, strategy in record_lists(RECORD_DATES).items()
    }
    return PatientFacts(
        birth_date=draw(st.none() | st.dates(min_value=date(1940, 1, 1), max_value=date(2008, 12, 31))),
        sex=draw(st.sampled_from([None, "female", "male"])),
        weight_kg=draw(st.none() | numbers(40, 120)),
        sle_attested=draw(st.booleans()),
        ana_titre=draw(st.sampled_from([None, 0, 40, 80, 640])),
        criteria=None if criteria is None else tuple(sorted(criteria)),
        **records,
    )


def shuffled(data: st.DataObject, records: tuple[T, ...]) -> tuple[T, ...]:
    return tuple(data.draw(st.permutations(records)))


@PROPERTY
@given(st.data())
def test_result_does_not_depend_on_record_order(data: st.DataObject) -> None:
    facts = data.draw(patients())
    reordered = dataclasses.replace(
        facts,
        criteria=None if facts.criteria is None else shuffled(data, facts.criteria),
        assessments=shuffled(data, facts.assessments),
        damage=shuffled(data, facts.damage),
        manifestations=shuffled(data, facts.manifestations),
        observations=shuffled(data, facts.observations),
        treatments=shuffled(data, facts.treatments),
        conditions=shuffled(data, facts.conditions),
    )
    first = screen(facts, default_rules(), AS_OF)
    assert first == screen(reordered, default_rules(), AS_OF)
    assert result_to_dict(first, case_id="x") == result_to_dict(screen(reordered, default_rules(), AS_OF), case_id="x")


@PROPERTY
@given(st.data())
def test_records_after_as_of_change_nothing(data: st.DataObject) -> None:
    facts = data.draw(patients())
    later = {kind: data.draw(strategy) for kind, strategy in record_lists(LATER_DATES).items()}
    extended = dataclasses.replace(
        facts,
        **{kind: getattr(facts, kind) + with_refs(records, f"later_{kind}") for kind, records in later.items()},
    )
    assert screen(facts, default_rules(), AS_OF) == screen(extended, default_rules(), AS_OF)


@PROPERTY
@given(
    assessment=assessments(st.dates(min_value=AS_OF - timedelta(days=30), max_value=AS_OF)),
    pick=st.integers(min_value=0),
    clinical_only=st.booleans(),
)
def test_marking_a_not_assessed_item_present_never_lowers_the_score(
    assessment: Assessment, pick: int, clinical_only: bool
) -> None:
    if not assessment.sledai_not_assessed:
        return
    item = assessment.sledai_not_assessed[pick % len(assessment.sledai_not_assessed)]
    marked = dataclasses.replace(
        assessment,
        sledai_present=(*assessment.sledai_present, item),
        sledai_not_assessed=tuple(i for i in assessment.sledai_not_assessed if i != item),
    )
    rules = default_rules()
    before_ctx = build_context(PatientFacts(assessments=(dataclasses.replace(assessment, ref="a"),)), rules, AS_OF)
    after_ctx = build_context(PatientFacts(assessments=(dataclasses.replace(marked, ref="a"),)), rules, AS_OF)
    for min_score in range(0, 41):
        before = read_sledai(before_ctx, min_score, 30, clinical_only)
        after = read_sledai(after_ctx, min_score, 30, clinical_only)
        assert after.low >= before.low and after.high == before.high
        params = SledaiAtLeastParams(min_score=min_score, max_age_days=30, clinical_only=clinical_only)
        was = sledai_at_least(params, before_ctx).result
        now = sledai_at_least(params, after_ctx).result
        if was is Result.MET:
            assert now is Result.MET
        if was is Result.NOT_MET:
            assert now is Result.NOT_MET
