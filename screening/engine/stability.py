"""How long a screening stays the same if nothing new is recorded (docs/results.md, "Stable until").

With the facts fixed, a screening as of a later day can differ from one as of ``as_of`` only on a day
when something it reads moves with time:
- a record enters the facts as known (its date), or a course's end becomes known (its end);
- a window lets go of a record, or a span reaches past a course's start or end: a record's or course's
  date + one of the rule set's day counts (windows, minimum days, the drug catalogue's adequacy days);
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
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, timedelta

from screening.engine.criterion_types import CriterionParams, ExposureDaysAtLeastParams
from screening.engine.facts import PatientFacts
from screening.engine.lapse import HORIZON_DAYS
from screening.engine.ruleset import Criterion, Group, Node, RuleSet

_NEAR = (-1, 0, 1)  # each day taken one day either side


@dataclass(frozen=True, slots=True)
class _Clock:
    """What a rule set reads that moves with time: the offsets from a dated fact to a day on which a
    screening may change (its day counts, one day either side, and the same seen from the lapse
    horizon), and its exposure criteria (thresholds reached by an ongoing course)."""

    offsets: tuple[int, ...]
    exposures: tuple[ExposureDaysAtLeastParams, ...]
    classes: dict[str, str]  # drug code → class


_clocks: dict[int, tuple[RuleSet, _Clock]] = {}


def _params(node: Node) -> Iterator[CriterionParams]:
    if isinstance(node, Group):
        for child in node.children:
            yield from _params(child)
    elif isinstance(node, Criterion):
        yield node.params


def _day_counts(params: CriterionParams) -> Iterator[int]:
    """Every day count a criterion's parameters hold (``…_days`` fields)."""
    if not is_dataclass(params):
        return
    for f in fields(params):
        value = getattr(params, f.name)
        if f.name.endswith("_days") and isinstance(value, int) and not isinstance(value, bool):
            yield value


def _clock(rule_set: RuleSet) -> _Clock:
    """The rule set's clock, worked out once per parsed rule set (the engine's callers keep one)."""
    held = _clocks.get(id(rule_set))
    if held is not None and held[0] is rule_set:
        return held[1]
    every = [p for pathway in rule_set.pathways for p in _params(pathway.inclusion)]
    every += [p for caution in rule_set.cautions for p in _params(caution.criterion)]
    spans = {0} | {n for p in every for n in _day_counts(p)}
    spans |= {d.min_days for d in rule_set.drugs if d.min_days is not None}
    offsets = {span + near + seen for span in spans for near in _NEAR for seen in (0, -HORIZON_DAYS)}
    clock = _Clock(
        offsets=tuple(sorted(offsets)),
        exposures=tuple(p for p in every if isinstance(p, ExposureDaysAtLeastParams)),
        classes={d.drug: d.drug_class for d in rule_set.drugs},
    )
    if len(_clocks) > 16:
        _clocks.clear()
    _clocks[id(rule_set)] = (rule_set, clock)
    return clock


def _dated(facts: PatientFacts) -> list[int]:
    """The ordinals of every date the facts hold (records, course starts and ends), sorted."""
    days = {r.date.toordinal() for r in facts.assessments}
    days |= {r.date.toordinal() for r in facts.damage}
    days |= {r.date.toordinal() for r in facts.manifestations}
    days |= {r.date.toordinal() for r in facts.observations}
    days |= {r.date.toordinal() for r in facts.conditions}
    days |= {t.start.toordinal() for t in facts.treatments}
    days |= {t.end.toordinal() for t in facts.treatments if t.end is not None}
    return sorted(days)


def _birthdays(birth: date | None, after: date) -> Iterator[int]:
    """The ordinals of the next two birthdays after ``after`` (29 February: 1 March in a common year)."""
    if birth is None:
        return
    for year in range(after.year, after.year + 4):
        try:
            day = birth.replace(year=year)
        except ValueError:
            day = date(year, 3, 1)
        if day > after:
            yield day.toordinal()


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
    dated = _dated(facts)
    for offset in clock.offsets:
        i = bisect_right(dated, today - offset)  # the earliest dated fact that, offset, is after as_of
        if i < len(dated) and dated[i] + offset < first:
            first = dated[i] + offset
    moving = list(_birthdays(facts.birth_date, as_of)) + list(_exposure_days(facts, clock, today))
    for day in moving:
        for near in _NEAR:
            for seen in (0, -horizon):
                if today < day + near + seen < first:
                    first = day + near + seen
    return as_of + timedelta(days=first - today)
