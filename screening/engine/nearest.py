"""The nearest ways to ``flagged`` for a pathway that is not flagged (docs/case-files.md, ``next``).

Computed from the tree, never written per rule: every criterion type says, from its parameters and
the facts, which new or completed facts would meet it and how many they are (a way); an ``any``
group offers each child's ways, an ``all`` group the cheapest combinations of one way for each of its
children not yet met. A criterion no change of recorded facts can meet (an age outside the range, a
caution for the other sex) offers none, and neither does an ``all`` group holding it. The pathway's
``next`` is its root's ways, fewest facts first, at most ``MAX_WAYS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from clinical import scoring, vocab
from screening.engine.context import Context, window_start
from screening.engine.criteria import (
    _SYMBOL,
    _covered_days,
    _judge_course,
    _observation_label,
    _titre,
    num,
    read_sledai,
)
from screening.engine.criterion_types import (
    AgeBetweenParams,
    ConditionPresentParams,
    DamageIndexAtLeastParams,
    DrugTriedParams,
    ExposureDaysAtLeastParams,
    FailedAgentsAtLeastParams,
    GlucocorticoidDependentParams,
    ManifestationActiveParams,
    ObservationCompareParams,
    RecentDrugParams,
    SledaiAtLeastParams,
    SleDiagnosisParams,
)
from screening.engine.results import CriterionResult, GroupResult, NodeResult, Result
from screening.engine.ruleset import Criterion, Group, Node

MAX_WAYS = 3
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True, slots=True)
class Way:
    """Facts that would meet a criterion or tree: how many, and in words."""

    facts: int
    parts: tuple[str, ...]

    @property
    def line(self) -> str:
        return "; and ".join(self.parts)

    def __add__(self, other: Way) -> Way:
        return Way(self.facts + other.facts, self.parts + other.parts)


def _count(n: int, one: str, many: str) -> str:
    word = _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)
    return f"{word} {one if n == 1 else many}"


def _since(ctx: Context, days: int | None) -> str:
    start = window_start(ctx.as_of, days)
    return "" if start is None else f" dated on or after {start.isoformat()}"


def _best(ways: Iterable[Way]) -> list[Way]:
    """Fewest facts first (stable: tree order among equals), without repeats, at most MAX_WAYS."""
    unique = {way.line: way for way in ways}
    return sorted(unique.values(), key=lambda w: w.facts)[:MAX_WAYS]


def _lacking(leaf: CriterionResult) -> list[Way]:
    """What an unknown criterion lacks, as one way (if the data shows what it needs)."""
    needs = [need.text for item in leaf.lacks for need in item.needs]
    return [Way(len(needs), (f"{'; '.join(needs)} (if it meets {leaf.id})",))] if needs else []


# --------------------------------------------------------------------------
# One function per criterion type: the ways to meet it, from its parameters and the facts.


def _sle_diagnosis(p: SleDiagnosisParams, ctx: Context) -> list[Way]:
    ways = [Way(1, ("a specialist's attestation of the SLE diagnosis",))]
    ana = ctx.facts.ana_titre
    if ana is not None and ana >= p.ana_min_titre and ctx.facts.criteria is not None:
        ways.append(
            Way(1, (f"2019 EULAR/ACR criteria reaching {p.classification_min_score} points with a clinical criterion",))
        )
    elif ana is not None and ana < p.ana_min_titre:
        ways.append(Way(2, (f"an ANA titre of at least {_titre(p.ana_min_titre)} and classifying criteria",)))
    return ways


def _age_between(p: AgeBetweenParams, ctx: Context) -> list[Way]:
    return []  # an age is not a fact to record (an unknown birth date is asked for as missing data)


def _sledai_at_least(p: SledaiAtLeastParams, ctx: Context) -> list[Way]:
    reading = read_sledai(ctx, p.min_score, p.max_age_days, p.clinical_only)
    fresh = Way(1, (f"a {reading.label} of {p.min_score} or more{_since(ctx, p.max_age_days)}",))
    if reading.assessment is None:
        return [fresh]
    when = reading.assessment.date.isoformat()
    short = p.min_score - reading.low
    head = f"{reading.label} {reading.low} on {when}, needs {p.min_score}: {_count(short, 'more point', 'more points')}"
    if reading.not_assessed and reading.high >= p.min_score:
        return [Way(1, (f"{head} (items not assessed on {when} could add up to {reading.high - reading.low})",))]
    return [Way(1, (f"{head} (a new assessment{_since(ctx, p.max_age_days)})",))]


def _manifestation_active(p: ManifestationActiveParams, ctx: Context) -> list[Way]:
    ways = []
    biopsy_since = window_start(ctx.as_of, p.biopsy_max_age_days)
    for code in p.codes:
        label = vocab.MANIFESTATION_CODES[code]
        if code != "lupus_nephritis":
            ways.append(Way(1, (f"{label} recorded as active",)))
            continue
        if not p.ln_classes:
            continue
        when = "" if biopsy_since is None else f" dated on or after {biopsy_since.isoformat()}"
        classes = ", ".join(p.ln_classes)
        latest = ctx.latest_manifestation(code)
        if latest is not None and latest.active:
            ways.append(Way(1, (f"a kidney biopsy class ({classes}) of the active lupus nephritis{when}",)))
        else:
            ways.append(Way(1, (f"active lupus nephritis with a kidney biopsy class ({classes}){when}",)))
    return ways


def _failed_agents_at_least(p: FailedAgentsAtLeastParams, ctx: Context) -> list[Way]:
    failed = {
        c.drug.agent
        for c in ctx.courses
        if c.drug.drug_class in p.classes and _judge_course(c, p, ctx).result is Result.MET
    }
    short = p.min_count - len(failed)
    classes = " or ".join(p.classes)
    return [Way(short, (f"{_count(short, 'more failed', 'more failed')} {classes} agent{'s' if short > 1 else ''}",))]


def _glucocorticoid_dependent(p: GlucocorticoidDependentParams, ctx: Context) -> list[Way]:
    first = window_start(ctx.as_of, p.min_days - 1) or ctx.as_of
    return [
        Way(
            1,
            (
                f"glucocorticoids above {num(p.above_mg_per_day)} mg/day prednisone-equivalent on every day from "
                f"{first.isoformat()} to {ctx.as_of.isoformat()}",
            ),
        )
    ]


def _drug_tried(p: DrugTriedParams, ctx: Context) -> list[Way]:
    ways = [Way(1, (f"a course of {' or '.join(p.agents)}",))] if p.agents else []
    ways += [Way(1, (f"{vocab.CONDITION_CODES[code]} recorded as present",)) for code in p.or_conditions]
    return ways


def _exposure_days_at_least(p: ExposureDaysAtLeastParams, ctx: Context) -> list[Way]:
    days = _covered_days([c for c in ctx.courses if c.drug.drug_class in p.classes])
    short = p.min_days - days
    return [
        Way(
            1,
            (
                f"{short} more day{'' if short == 1 else 's'} covered by {' or '.join(p.classes)} courses (now {days}, needs {p.min_days})",
            ),
        )
    ]


def _observation_compare(p: ObservationCompareParams, ctx: Context) -> list[Way]:
    threshold = f"{num(p.value)} × ULN" if p.times_uln else num(p.value)
    label = _observation_label(p.code)
    return [Way(1, (f"a {label} result {_SYMBOL[p.op]} {threshold}{_since(ctx, p.max_age_days)}",))]


def _condition_present(p: ConditionPresentParams, ctx: Context) -> list[Way]:
    if p.sex is not None and ctx.facts.sex is not None and ctx.facts.sex != p.sex:
        return []
    since = _since(ctx, p.max_age_days)
    return [Way(1, (f"{vocab.CONDITION_CODES[code]} recorded as present{since}",)) for code in p.codes]


def _recent_drug(p: RecentDrugParams, ctx: Context) -> list[Way]:
    start = window_start(ctx.as_of, p.within_days)
    when = "" if start is None else f" covering a day on or after {start.isoformat()}"
    return [Way(1, (f"a course of {' or '.join(p.agents)}{when}",))]


def _damage_index_at_least(p: DamageIndexAtLeastParams, ctx: Context) -> list[Way]:
    latest = ctx.latest_damage()
    if latest is None:
        return [Way(1, (f"a SLICC/ACR damage index of {p.min_score} or more",))]
    score = scoring.sdi_score(dict(latest.items))
    short = p.min_score - score
    return [
        Way(
            1,
            (
                f"SLICC/ACR damage index {score} on {latest.date.isoformat()}, needs {p.min_score}: "
                f"{_count(short, 'more point', 'more points')}",
            ),
        )
    ]


# Types whose ways already say how to settle an unknown result (the rest add what it lacks).
_SETTLES_UNKNOWN = frozenset({"sledai_at_least", "manifestation_active"})

_WAYS: dict[type[Any], Callable[[Any, Context], list[Way]]] = {
    SleDiagnosisParams: _sle_diagnosis,
    AgeBetweenParams: _age_between,
    SledaiAtLeastParams: _sledai_at_least,
    ManifestationActiveParams: _manifestation_active,
    FailedAgentsAtLeastParams: _failed_agents_at_least,
    GlucocorticoidDependentParams: _glucocorticoid_dependent,
    DrugTriedParams: _drug_tried,
    ExposureDaysAtLeastParams: _exposure_days_at_least,
    ObservationCompareParams: _observation_compare,
    ConditionPresentParams: _condition_present,
    RecentDrugParams: _recent_drug,
    DamageIndexAtLeastParams: _damage_index_at_least,
}


def ways_to_meet(node: Node, result: NodeResult, ctx: Context) -> list[Way]:
    """The cheapest ways to make a tree that is not met be met (empty: none by recording facts)."""
    if result.result is Result.MET:
        return [Way(0, ())]
    if isinstance(node, Criterion):
        assert isinstance(result, CriterionResult)
        ways = _WAYS[type(node.params)](node.params, ctx)
        if result.result is Result.UNKNOWN and node.type not in _SETTLES_UNKNOWN:
            ways = _lacking(result) + ways
        return _best(ways)
    assert isinstance(node, Group) and isinstance(result, GroupResult)
    children = [ways_to_meet(child, r, ctx) for child, r in zip(node.children, result.children, strict=True)]
    if node.op == "any":
        return _best(way for ways in children for way in ways)
    combos = [Way(0, ())]
    for ways in children:
        if not ways:
            return []
        combos = _best(combo + way for combo in combos for way in ways)
    return combos


def next_lines(node: Node, result: NodeResult, ctx: Context) -> tuple[str, ...]:
    """The pathway's ``next``: one line per way, fewest facts first."""
    if result.result is Result.MET:
        return ()
    return tuple(way.line for way in ways_to_meet(node, result, ctx) if way.facts > 0)
