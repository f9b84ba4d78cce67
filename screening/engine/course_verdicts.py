"""The engine's judgement of each treatment course: failed, not failed or undetermined, and why.

``course_verdicts(rule_set, facts, as_of)`` judges every course the rule set's
``failed_agents_at_least`` criteria read, with the same function those criteria use
(``criteria._judge_course``) and each criterion's own parameters (its drug classes,
whether intolerance counts, the still-active SLEDAI-2K of an ongoing course). A stop
reason is not a verdict: a course stopped for inadequate response whose dose or length
was not adequate has not failed.

Pathways may judge a course differently (one counts intolerance, another does not): each
course then carries one judgement per distinct verdict, naming the pathways (and criteria)
that reach it. Courses no such criterion reads (another drug class, a drug outside the
catalogue) are left out.

Pure: no Django; the same rule set, facts and as-of date always give the same verdicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from screening.engine.context import Course, build_context
from screening.engine.criteria import _judge_course
from screening.engine.criterion_types import FailedAgentsAtLeastParams
from screening.engine.facts import PatientFacts
from screening.engine.results import Result
from screening.engine.ruleset import Criterion, Group, Node, RuleSet

FAILED, NOT_FAILED, UNDETERMINED = "failed", "not failed", "undetermined"
VERDICT_OF = {Result.MET: FAILED, Result.NOT_MET: NOT_FAILED, Result.UNKNOWN: UNDETERMINED}


@dataclass(frozen=True, slots=True)
class Judgement:
    """One verdict on a course, the reason, what is missing when undetermined, and who reaches it."""

    verdict: str  # FAILED, NOT_FAILED or UNDETERMINED
    reason: str  # the engine's words: "stopped for inadequate response, not adequate: 60 of 90 days"
    missing: tuple[str, ...]  # what would settle an undetermined verdict (empty otherwise)
    pathways: tuple[str, ...]  # pathway ids whose criteria judge the course so
    criteria: tuple[str, ...]  # the failed_agents_at_least criterion ids that do


@dataclass(frozen=True, slots=True)
class CourseVerdict:
    """Every judgement of one course (its ref), in the rule set's pathway order."""

    ref: str
    drug: str
    agent: str
    drug_class: str
    start: date
    end: date | None  # None: ongoing on the as-of date
    stop_reason: str | None
    judgements: tuple[Judgement, ...]

    @property
    def uniform(self) -> bool:
        """Whether every pathway judges the course the same way."""
        return len(self.judgements) == 1

    @property
    def verdict(self) -> str | None:
        """The one verdict when all pathways agree, else None (read ``judgements``)."""
        return self.judgements[0].verdict if self.uniform else None

    def verdicts(self) -> set[str]:
        return {j.verdict for j in self.judgements}


def _criteria(node: Node) -> Iterator[Criterion]:
    if isinstance(node, Group):
        for child in node.children:
            yield from _criteria(child)
    else:
        yield node


def failed_agents_criteria(rule_set: RuleSet) -> list[tuple[str, Criterion, FailedAgentsAtLeastParams]]:
    """(pathway id, criterion, its parameters) for every failed_agents_at_least criterion of the pathways."""
    return [
        (pathway.id, criterion, criterion.params)
        for pathway in rule_set.pathways
        for criterion in _criteria(pathway.inclusion)
        if isinstance(criterion.params, FailedAgentsAtLeastParams)
    ]


def course_verdicts(rule_set: RuleSet, facts: PatientFacts, as_of: date) -> dict[str, CourseVerdict]:
    """Course ref → the engine's verdicts on it, for the courses the rule set's failure criteria read.

    Courses come in the engine's order (by start, then drug); facts dated after as_of are not known.
    """
    ctx = build_context(facts, rule_set, as_of)
    criteria = failed_agents_criteria(rule_set)
    out: dict[str, CourseVerdict] = {}
    for course in ctx.courses:
        # (verdict, reason, missing) → pathways and criteria reaching it, in first-seen order
        found: dict[tuple[str, str, tuple[str, ...]], tuple[list[str], list[str]]] = {}
        for pathway_id, criterion, params in criteria:
            if course.drug.drug_class not in params.classes:
                continue
            judged = _judge_course(course, params, ctx)
            key = (VERDICT_OF[judged.result], judged.text, tuple(dict.fromkeys(n.text for n in judged.lacks)))
            pathways, ids = found.setdefault(key, ([], []))
            if pathway_id not in pathways:
                pathways.append(pathway_id)
            ids.append(criterion.id)
        if found:
            out[course.ref] = _verdict(course, found)
    return out


def _verdict(
    course: Course, found: dict[tuple[str, str, tuple[str, ...]], tuple[list[str], list[str]]]
) -> CourseVerdict:
    return CourseVerdict(
        ref=course.ref,
        drug=course.drug.drug,
        agent=course.drug.agent,
        drug_class=course.drug.drug_class,
        start=course.start,
        end=course.end,
        stop_reason=course.stop_reason,
        judgements=tuple(
            Judgement(verdict=v, reason=reason, missing=missing, pathways=tuple(p), criteria=tuple(c))
            for (v, reason, missing), (p, c) in found.items()
        ),
    )
