"""How long a screening stays the same if nothing new is recorded (docs/results.md, "Stable until").

With the facts fixed, a screening as of a later day can differ from one as of ``as_of`` only on a day
when something it reads moves with time:
- a record enters the facts as known (its date), or a course's end becomes known (its end);
- a window lets go of a record, or a span reaches past a course's start or end: a record's or course's
  date + a day count of a criterion that reads it (its window, the glucocorticoid span, the recent-drug
  window, the drug catalogue's adequacy days for a course a failed-agents criterion judges);
- the age in whole years goes up (a birthday);
- the days covered by a course ongoing on as_of, which grow by one a day, reach an exposure threshold;
- the lapse search, which looks ``HORIZON_DAYS`` ahead, comes to see one of the days above.

``stable_until`` is the first such day after as_of (each taken one day either side, as ``lapse.py``
does), so the screening is the same on every day before it: outcomes, every criterion's result and
records, cautions, missing data, the nearest ways and the lapse date, explanations up to their numbers
(the result's signature). It may come earlier than the first real change, never later: a cohort
re-screen leaves a patient with unchanged facts before that day without evaluating them. Tests hold
it to screening every day of the year on the public cases and on generated patients.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from screening.engine.criterion_types import (
    ConditionPresentParams,
    CriterionParams,
    ExposureDaysAtLeastParams,
    FailedAgentsAtLeastParams,
    GlucocorticoidDependentParams,
    ManifestationActiveParams,
    ObservationCompareParams,
    RecentDrugParams,
    SledaiAtLeastParams,
)
from screening.engine.facts import PatientFacts
from screening.engine.lapse import HORIZON_DAYS, birthdays_between
from screening.engine.ruleset import Criterion, Group, Node, RuleSet

_NEAR = (-1, 0, 1)  # each day taken one day either side


@dataclass(frozen=True, slots=True)
class _Clock:
    """What a rule set reads that moves with time: per kind of record (and per code or drug), the
    sorted offsets from a record's date to a day on which a screening may change: its windows and
    spans (and 0: the day it becomes known), each one day either side and also as seen from the lapse
    horizon; and the exposure criteria (thresholds an ongoing course reaches)."""

    base: tuple[int, ...]  # a record no window reads: only the day it becomes known
    assessments: tuple[int, ...]
    manifestations: tuple[int, ...]
    observations: dict[str, tuple[int, ...]]  # by code
    conditions: dict[str, tuple[int, ...]]  # by code
    courses: dict[str, tuple[int, ...]]  # by drug code (its start and its end)
    exposures: tuple[ExposureDaysAtLeastParams, ...]
    classes: dict[str, str]  # drug code → class


_clocks: dict[int, tuple[RuleSet, _Clock]] = {}


def _params(node: Node) -> Iterator[CriterionParams]:
    if isinstance(node, Group):
        for child in node.children:
            yield from _params(child)
    elif isinstance(node, Criterion):
        yield node.params


def _offsets(spans: set[int]) -> tuple[int, ...]:
    """Each span (and 0), one day either side, and the same seen from the lapse horizon, sorted."""
    return tuple(sorted({span + near + seen for span in spans | {0} for near in _NEAR for seen in (0, -HORIZON_DAYS)}))


def _clock(rule_set: RuleSet) -> _Clock:
    """The rule set's clock, worked out once per parsed rule set (the engine's callers keep one).

    Per criterion type, the records whose dates it reads against a day count (``lapse.turning_days``
    says the same for the days it may turn down): assessments against SLEDAI-2K windows, biopsies
    against theirs, observations and conditions of a code against theirs, courses against the
    glucocorticoid span, the recent-drug window and (an ongoing course becoming long enough) the
    catalogue's adequacy days."""
    held = _clocks.get(id(rule_set))
    if held is not None and held[0] is rule_set:
        return held[1]
    every = [p for pathway in rule_set.pathways for p in _params(pathway.inclusion)]
    every += [p for caution in rule_set.cautions for p in _params(caution.criterion)]
    assessments: set[int] = set()
    manifestations: set[int] = set()
    observations: dict[str, set[int]] = {}
    conditions: dict[str, set[int]] = {}
    courses: dict[str, set[int]] = {}

    def add(to: set[int], days: int | None) -> None:
        if days is not None:
            to.add(days)

    for params in every:
        match params:
            case SledaiAtLeastParams(max_age_days=days):
                add(assessments, days)
            case FailedAgentsAtLeastParams(max_age_days=days, classes=classes):
                add(assessments, days)
                for drug in rule_set.drugs:
                    if drug.drug_class in classes:
                        add(courses.setdefault(drug.drug, set()), drug.min_days)
            case ManifestationActiveParams(biopsy_max_age_days=days):
                add(manifestations, days)
            case GlucocorticoidDependentParams(min_days=days):
                for drug in rule_set.drugs:
                    if drug.drug_class == "glucocorticoid":
                        # and the day before: a one-day stretch left in the span reads "on D", not "from D to E"
                        add(courses.setdefault(drug.drug, set()), days)
                        add(courses[drug.drug], days - 1)
            case ObservationCompareParams(code=code, max_age_days=days):
                add(observations.setdefault(code, set()), days)
            case ConditionPresentParams(codes=codes, max_age_days=days):
                for code in codes:
                    add(conditions.setdefault(code, set()), days)
            case RecentDrugParams(agents=agents, within_days=days):
                for drug in rule_set.drugs:
                    if drug.agent in agents:
                        add(courses.setdefault(drug.drug, set()), days)
    clock = _Clock(
        base=_offsets(set()),
        assessments=_offsets(assessments),
        manifestations=_offsets(manifestations),
        observations={code: _offsets(spans) for code, spans in observations.items()},
        conditions={code: _offsets(spans) for code, spans in conditions.items()},
        courses={drug: _offsets(spans) for drug, spans in courses.items()},
        exposures=tuple(p for p in every if isinstance(p, ExposureDaysAtLeastParams)),
        classes={d.drug: d.drug_class for d in rule_set.drugs},
    )
    if len(_clocks) > 16:
        _clocks.clear()
    _clocks[id(rule_set)] = (rule_set, clock)
    return clock


def _dated(facts: PatientFacts, clock: _Clock) -> Iterator[tuple[date, tuple[int, ...]]]:
    """Every date the facts hold (records, course starts and ends), with its offsets."""
    for a in facts.assessments:
        yield a.date, clock.assessments
    for d in facts.damage:
        yield d.date, clock.base
    for m in facts.manifestations:
        yield m.date, clock.manifestations
    for o in facts.observations:
        yield o.date, clock.observations.get(o.code, clock.base)
    for c in facts.conditions:
        yield c.date, clock.conditions.get(c.code, clock.base)
    for t in facts.treatments:
        offsets = clock.courses.get(t.drug, clock.base)
        yield t.start, offsets
        if t.end is not None:
            yield t.end, offsets


def _covered(spans: list[tuple[int, int]]) -> int:
    """Days covered by at least one of the (first, last) ordinal spans."""
    total, until = 0, None
    for first, last in sorted(spans):
        if until is not None and first <= until:
            first = until + 1
        if last >= first:
            total += last - first + 1
        until = last if until is None else max(until, last)
    return total


def _exposure_days(facts: PatientFacts, clock: _Clock, today: int) -> Iterator[int]:
    """The days on which the days covered by the listed classes' courses, growing with an ongoing
    course, reach an exposure criterion's threshold."""
    for p in clock.exposures:
        spans, ongoing = [], False
        for t in facts.treatments:
            start = t.start.toordinal()
            if clock.classes.get(t.drug) not in p.classes or start > today:
                continue
            end = t.end.toordinal() if t.end is not None else None
            if end is None or end > today:  # ongoing as known on the day
                ongoing, end = True, today
            spans.append((start, end))
        if ongoing:
            yield today + p.min_days - _covered(spans)


def stable_until(facts: PatientFacts, rule_set: RuleSet, as_of: date, horizon: int = HORIZON_DAYS) -> date:
    """The first day after as_of on which screening these facts may give another result; at most
    ``horizon`` days on (a result is looked at again at least that often)."""
    clock = _clock(rule_set)
    today = as_of.toordinal()
    first = today + horizon
    for day, offsets in _dated(facts, clock):
        dated = day.toordinal()
        i = bisect_right(offsets, today - dated)  # the smallest offset that puts the day after as_of
        if i < len(offsets) and dated + offsets[i] < first:
            first = dated + offsets[i]
    # the birthdays of the next three years (the lapse horizon's view of the one after next included)
    birthdays = birthdays_between(facts.birth_date, as_of + timedelta(days=1), as_of + timedelta(days=3 * 366))
    moving = [day.toordinal() for day in birthdays] + list(_exposure_days(facts, clock, today))
    for moves in moving:
        for near in _NEAR:
            for seen in (0, -horizon):
                if today < moves + near + seen < first:
                    first = moves + near + seen
    return as_of + timedelta(days=first - today)
