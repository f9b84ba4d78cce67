"""When a flag lapses if nothing new is recorded (docs/case-files.md, ``lapses_on`` and ``lapse_reason``).

"The same facts" are the facts as known on as-of: records dated later stay ignored, and a course
ongoing on as-of stays ongoing with no end or stop reason. With those facts fixed, Kleene ``all`` and
``any`` only go down when a child does, so the first day the inclusion tree is no longer met is a day on
which some criterion turns down. Each criterion type says which days those can be (``turning_days``: a
window letting go of a record, a glucocorticoid span passing a course's end, a birthday); the engine
tries them in date order within the horizon. Tests compare this with trying every day of the year.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from screening.engine.context import build_context
from screening.engine.criteria import evaluate_criterion
from screening.engine.criterion_types import (
    AgeBetweenParams,
    ConditionPresentParams,
    CriterionParams,
    FailedAgentsAtLeastParams,
    GlucocorticoidDependentParams,
    ManifestationActiveParams,
    ObservationCompareParams,
    RecentDrugParams,
    SledaiAtLeastParams,
)
from screening.engine.facts import PatientFacts, TreatmentCourse
from screening.engine.results import CriterionResult, NodeResult, Result, deciding_leaves
from screening.engine.ruleset import Criterion, Group, Node, RuleSet
from screening.engine.tree import evaluate_node

HORIZON_DAYS = 366


@dataclass(frozen=True, slots=True)
class Lapse:
    on: date
    reason: str


def facts_as_known(facts: PatientFacts, as_of: date) -> PatientFacts:
    """The facts as known on as_of: later records dropped, a course ongoing then kept ongoing."""

    def known(course: TreatmentCourse) -> TreatmentCourse:
        if course.end is not None and course.end > as_of:
            return dataclasses.replace(course, end=None, stop_reason=None)
        return course

    return dataclasses.replace(
        facts,
        assessments=tuple(a for a in facts.assessments if a.date <= as_of),
        damage=tuple(d for d in facts.damage if d.date <= as_of),
        manifestations=tuple(m for m in facts.manifestations if m.date <= as_of),
        observations=tuple(o for o in facts.observations if o.date <= as_of),
        conditions=tuple(c for c in facts.conditions if c.date <= as_of),
        treatments=tuple(known(t) for t in facts.treatments if t.start <= as_of),
    )


def _shifted(days: Iterable[date], spans: Iterable[int | None], as_of: date, horizon: int) -> set[date]:
    """The days ``d + span + δ`` (δ in −1, 0, 1) after as_of, within the horizon."""
    found = set()
    for day in days:
        for span in spans:
            if span is None:
                continue
            for delta in (-1, 0, 1):
                offset = (day - as_of).days + span + delta
                if 0 < offset <= horizon:
                    found.add(as_of + timedelta(days=offset))
    return found


def birthdays_between(birth: date | None, first: date, last: date) -> set[date]:
    """The days in [first, last] on which the age in whole years goes up."""
    if birth is None:
        return set()
    days = set()
    for year in range(first.year, last.year + 1):
        try:
            days.add(birth.replace(year=year))
        except ValueError:  # 29 February in a common year: reached on 1 March
            days.add(date(year, 3, 1))
    return {d for d in days if first <= d <= last}


def _course_days(facts: PatientFacts) -> set[date]:
    return {t.start for t in facts.treatments} | {t.end for t in facts.treatments if t.end is not None}


def turning_days(params: CriterionParams, facts: PatientFacts, as_of: date, horizon: int) -> set[date]:
    """The days after as_of, within the horizon, on which a criterion over the facts as known may turn down.

    Per type: what it reads that time can take away. A window lets go of a record on its date + the window
    + 1; a glucocorticoid span passes a course's end + 1, or a gap's end + its length; a birthday raises the
    age. What only grows with time (days covered by an ongoing course, its length) never turns a criterion
    down, and what has no window (a diagnosis, a drug tried, the damage index) never changes."""
    match params:
        case AgeBetweenParams():
            return birthdays_between(facts.birth_date, as_of + timedelta(days=1), as_of + timedelta(days=horizon))
        case SledaiAtLeastParams(max_age_days=days):
            return _shifted((a.date for a in facts.assessments), (days,), as_of, horizon)
        case FailedAgentsAtLeastParams(max_age_days=days):  # an ongoing course judged by the latest SLEDAI-2K
            return _shifted((a.date for a in facts.assessments), (days,), as_of, horizon)
        case ManifestationActiveParams(biopsy_max_age_days=days):
            return _shifted((m.date for m in facts.manifestations), (days,), as_of, horizon)
        case GlucocorticoidDependentParams(min_days=days):
            return _shifted(_course_days(facts), (0, days), as_of, horizon)
        case ObservationCompareParams(code=code, max_age_days=days):
            return _shifted((o.date for o in facts.observations if o.code == code), (days,), as_of, horizon)
        case ConditionPresentParams(codes=codes, max_age_days=days):
            return _shifted((c.date for c in facts.conditions if c.code in codes), (days,), as_of, horizon)
        case RecentDrugParams(within_days=days):
            return _shifted(_course_days(facts), (days,), as_of, horizon)
    return set()  # sle_diagnosis, drug_tried, exposure_days_at_least, damage_index_at_least


def _criteria(node: Node) -> Iterator[Criterion]:
    if isinstance(node, Group):
        for child in node.children:
            yield from _criteria(child)
    else:
        yield node


def candidate_days(facts: PatientFacts, node: Node, as_of: date, horizon: int) -> list[date]:
    """The days after as_of, up to the horizon, on which some criterion of the tree may turn down, in order.

    Only such a day can be the first on which the tree is no longer met: Kleene ``all`` and ``any`` never
    go down unless a child does."""
    found: set[date] = set()
    for criterion in _criteria(node):
        found |= turning_days(criterion.params, facts, as_of, horizon)
    return sorted(found)


def evaluate_tree(node: Node, facts: PatientFacts, rule_set: RuleSet, day: date) -> NodeResult:
    """The tree's results on ``day`` (criteria through their type's function, groups by Kleene logic)."""
    return evaluate_node(node, build_context(facts, rule_set, day))


def _value(node: Node, facts: PatientFacts, rule_set: RuleSet, day: date) -> Result:
    """Only the value: no words built, for the many days tried."""
    ctx = build_context(facts, rule_set, day)

    def value(n: Node) -> Result:
        if isinstance(n, Criterion):
            return evaluate_criterion(n.params, ctx).result
        settles = Result.NOT_MET if n.op == "all" else Result.MET  # Kleene: the value that decides at once
        seen = Result.MET if n.op == "all" else Result.NOT_MET
        for child in n.children:
            result = value(child)
            if result is settles:
                return result
            if result is Result.UNKNOWN:
                seen = result
        return seen

    return value(node)


def _leaves(node: NodeResult) -> Iterator[CriterionResult]:
    if isinstance(node, CriterionResult):
        yield node
    else:
        for child in node.children:
            yield from _leaves(child)


def lapse_reason(before: NodeResult, after: NodeResult, day: date) -> str:
    """One line naming the criterion that stops being met on ``day`` (``before``: the day before) and why:
    what it reads from that day (what it read until then is in the result's own explanation)."""
    was = {leaf.id: leaf for leaf in _leaves(before) if leaf.result is Result.MET}
    changed = [leaf for leaf in deciding_leaves(after, after.result) if leaf.id in was]
    leaf = changed[0] if changed else next(leaf for leaf in _leaves(after) if leaf.id in was)
    state = "unknown" if leaf.result is Result.UNKNOWN else "not met"
    return f"{leaf.id} becomes {state} on {day.isoformat()}: {leaf.explanation}"


def find_lapse(
    facts: PatientFacts,
    rule_set: RuleSet,
    node: Node,
    as_of: date,
    horizon: int = HORIZON_DAYS,
) -> Lapse | None:
    """The first day after as_of, within the horizon, on which the flagged tree is no longer met; None if none."""
    known = facts_as_known(facts, as_of)
    for day in candidate_days(known, node, as_of, horizon):
        if _value(node, known, rule_set, day) is not Result.MET:
            # the day before is still flagged: the tree's value only changes on a candidate day
            before = evaluate_tree(node, known, rule_set, day - timedelta(days=1))
            after = evaluate_tree(node, known, rule_set, day)
            return Lapse(on=day, reason=lapse_reason(before, after, day))
    return None
