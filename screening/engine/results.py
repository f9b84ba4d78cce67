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
    missing: tuple[str, ...] = ()  # non-empty only when result is unknown


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


@dataclass(frozen=True, slots=True, kw_only=True)
class PathwayResult:
    id: str
    label: str
    outcome: Outcome
    inclusion: NodeResult
    missing: tuple[str, ...]
    cautions: tuple[CautionResult, ...]

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


def missing_lines(node: NodeResult) -> tuple[str, ...]:
    """Lines of the unknown leaves reached from ``node`` through unknown nodes only, in order, deduplicated."""
    lines: dict[str, None] = {}

    def visit(n: NodeResult) -> None:
        if n.result is not Result.UNKNOWN:
            return
        if isinstance(n, CriterionResult):
            lines.update(dict.fromkeys(n.missing))
        else:
            for child in n.children:
                visit(child)

    visit(node)
    return tuple(lines)


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
