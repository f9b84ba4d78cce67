"""Result values of a screening, and the three-valued (Kleene) logic.

Screening-rules.md section 1: every criterion is met, not_met or unknown;
groups combine children with Kleene ``all``/``any``; a pathway's outcome is
the value of its inclusion tree; cautions are present, absent or unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from screening.engine.ruleset import GroupOp, Severity


class Result(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    FLAGGED = "flagged"
    NOT_FLAGGED = "not_flagged"
    INSUFFICIENT_DATA = "insufficient_data"


class CautionStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"


class RecordKind(StrEnum):
    """The kind of record a piece of missing data belongs to (the fact kinds of section 2)."""

    PATIENT = "patient"  # an undated patient value: birth date, sex, weight
    CLASSIFICATION = "classification"  # the diagnosis basis: attestation, ANA titre, 2019 EULAR/ACR criteria
    ASSESSMENT = "assessment"
    MANIFESTATION = "manifestation"
    OBSERVATION = "observation"
    TREATMENT = "treatment"
    CONDITION = "condition"
    DAMAGE = "damage"


@dataclass(frozen=True, slots=True, kw_only=True)
class Need:
    """One piece of data that would settle an unknown criterion: which record, and what of it.

    ``code`` says which one when the kind has several (an observation or condition code, a
    patient field, a drug); ``ref`` names the recorded entry that lacks it (a course without a
    dose, a result without its ULN), None when a new entry is what is needed.
    """

    record: RecordKind
    text: str
    code: str | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Missing:
    """One missing-data line (the words of the output's ``missing`` list) and the data it names."""

    line: str
    needs: tuple[Need, ...]


OUTCOME_OF: dict[Result, Outcome] = {
    Result.MET: Outcome.FLAGGED,
    Result.NOT_MET: Outcome.NOT_FLAGGED,
    Result.UNKNOWN: Outcome.INSUFFICIENT_DATA,
}
CAUTION_STATUS_OF: dict[Result, CautionStatus] = {
    Result.MET: CautionStatus.PRESENT,
    Result.NOT_MET: CautionStatus.ABSENT,
    Result.UNKNOWN: CautionStatus.UNKNOWN,
}


def all_of(results: Iterable[Result]) -> Result:
    """Kleene AND: not_met if any is not_met; else unknown if any is unknown; else met."""
    seen = set(results)
    if Result.NOT_MET in seen:
        return Result.NOT_MET
    if Result.UNKNOWN in seen:
        return Result.UNKNOWN
    return Result.MET


def any_of(results: Iterable[Result]) -> Result:
    """Kleene OR: met if any is met; else unknown if any is unknown; else not_met."""
    seen = set(results)
    if Result.MET in seen:
        return Result.MET
    if Result.UNKNOWN in seen:
        return Result.UNKNOWN
    return Result.NOT_MET


def combine(op: GroupOp, results: Iterable[Result]) -> Result:
    """A group's value: ``all`` or ``any`` of its children."""
    return all_of(results) if op == "all" else any_of(results)


def from_bool(value: bool) -> Result:
    return Result.MET if value else Result.NOT_MET


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionResult:
    """A leaf's value with its one-line explanation, the refs it read and what it lacks."""

    id: str
    type: str
    result: Result
    explanation: str
    refs: tuple[str, ...] = ()
    source: str | None = None
    lacks: tuple[Missing, ...] = ()  # non-empty only when result is unknown

    @property
    def missing(self) -> tuple[str, ...]:
        """The missing-data lines."""
        return tuple(m.line for m in self.lacks)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupResult:
    id: str
    op: GroupOp
    result: Result
    explanation: str
    children: tuple[CriterionResult | GroupResult, ...]


NodeResult = CriterionResult | GroupResult


@dataclass(frozen=True, slots=True, kw_only=True)
class CautionResult:
    id: str
    severity: Severity
    status: CautionStatus
    explanation: str
    source: str
    node: NodeResult
    refs: tuple[str, ...] = ()  # the records its criteria read: the refs of its tree's leaves, in order, once each


@dataclass(frozen=True, slots=True, kw_only=True)
class PathwayResult:
    id: str
    label: str
    outcome: Outcome
    inclusion: NodeResult
    missing: tuple[str, ...]
    cautions: tuple[CautionResult, ...]
    next: tuple[str, ...] = ()  # not flagged: the nearest ways to flagged, fewest facts first
    lapses_on: date | None = None  # flagged: the first day the same facts no longer flag (within a year)
    lapse_reason: str | None = None  # the criterion that lapses then, and why

    @property
    def criteria(self) -> tuple[NodeResult, ...]:
        """Top-level criteria: the root's children, or the root itself if it is a criterion."""
        if isinstance(self.inclusion, GroupResult):
            return self.inclusion.children
        return (self.inclusion,)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScreeningResult:
    as_of: date
    rule_set_name: str
    rule_set_version: str
    pathways: tuple[PathwayResult, ...]

    def pathway(self, pathway_id: str) -> PathwayResult:
        """The result of one pathway (KeyError if the rule set has none of that id)."""
        for pathway in self.pathways:
            if pathway.id == pathway_id:
                return pathway
        raise KeyError(pathway_id)


def missing_items(node: NodeResult) -> tuple[Missing, ...]:
    """What the unknown leaves reached from ``node`` through unknown nodes only lack, in order, one per line."""
    items: dict[str, Missing] = {}
    for leaf in deciding_leaves(node, Result.UNKNOWN):
        for item in leaf.lacks:
            items.setdefault(item.line, item)
    return tuple(items.values())


def missing_lines(node: NodeResult) -> tuple[str, ...]:
    """Lines of the unknown leaves reached from ``node`` through unknown nodes only, in order, deduplicated."""
    return tuple(item.line for item in missing_items(node))


def leaf_refs(node: NodeResult) -> tuple[str, ...]:
    """The refs of every leaf under ``node``, in tree order, each once."""
    if isinstance(node, CriterionResult):
        return node.refs
    return tuple(dict.fromkeys(ref for child in node.children for ref in leaf_refs(child)))


def deciding_leaves(node: NodeResult, result: Result) -> tuple[CriterionResult, ...]:
    """Leaves with ``result`` reached from ``node`` through nodes with that same result."""
    found: list[CriterionResult] = []

    def visit(n: NodeResult) -> None:
        if n.result is not result:
            return
        if isinstance(n, CriterionResult):
            found.append(n)
        else:
            for child in n.children:
                visit(child)

    visit(node)
    return tuple(found)
