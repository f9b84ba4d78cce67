"""Screening: the rule set's trees evaluated over a patient's facts as of a date.

docs/rule-sets.md, "How screening works": Kleene logic over the inclusion tree gives the
outcome; the missing list names what would settle an unknown outcome;
cautions are evaluated for every pathway they apply to and never change the
outcome. The same facts, rule set and as-of date always give the same result.
"""

from __future__ import annotations

from datetime import date, datetime

from screening.engine.context import build_context
from screening.engine.facts import PatientFacts
from screening.engine.lapse import find_lapse
from screening.engine.nearest import next_lines
from screening.engine.results import (
    CAUTION_STATUS_OF,
    OUTCOME_OF,
    CautionResult,
    NodeResult,
    Outcome,
    PathwayResult,
    Result,
    ScreeningResult,
    deciding_leaves,
    leaf_refs,
    missing_lines,
)
from screening.engine.ruleset import Caution, RuleSet, Severity
from screening.engine.tree import evaluate_node

WORKUP_INCOMPLETE = "work-up incomplete: "


class EngineError(ValueError):
    """The engine was given input it refuses (e.g. an as-of date before the birth date)."""


def caution_explanation(node: NodeResult) -> str:
    """Why a caution is present or absent, or "work-up incomplete: " and what would settle it."""
    if node.result is Result.UNKNOWN:
        lines = missing_lines(node) or (node.explanation,)
        return WORKUP_INCOMPLETE + "; ".join(lines)
    # Leaves that read the same data say the same (e.g. the sex check of two conditions): once each.
    return "; ".join(dict.fromkeys(leaf.explanation for leaf in deciding_leaves(node, node.result)))


def _caution_result(
    caution: Caution, severity: Severity, node: NodeResult, said: tuple[str, tuple[str, ...]]
) -> CautionResult:
    explanation, refs = said
    return CautionResult(
        id=caution.id,
        severity=severity,
        status=CAUTION_STATUS_OF[node.result],
        explanation=explanation,
        source=caution.source,
        node=node,
        refs=refs,
    )


def screen(
    facts: PatientFacts, rule_set: RuleSet, as_of: date, *, outlook: bool = True, cautions: bool = True
) -> ScreeningResult:
    """Screen one patient's facts with a rule set as of a date (EngineError on bad input).

    With ``outlook`` (the default), each pathway also says what would change it: the nearest ways to
    flagged when it is not flagged, the day the flag lapses when it is. With ``cautions`` (the default),
    each pathway lists its cautions and contraindications. An impact preview, which compares outcomes
    and the inclusion criteria only, leaves both out (a caution never changes an outcome)."""
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise EngineError(f"as_of must be a date, got {as_of!r}")
    if facts.birth_date is not None and as_of < facts.birth_date:
        raise EngineError(f"as-of date {as_of.isoformat()} is before the birth date {facts.birth_date.isoformat()}")
    ctx = build_context(facts, rule_set, as_of)
    # A caution's value does not depend on the pathway: evaluate each one once.
    caution_nodes = {
        c.id: evaluate_node(c.criterion, ctx)
        for c in (rule_set.cautions if cautions else ())
        if any(c.severity_for(p.id) is not None for p in rule_set.pathways)
    }
    # nor its explanation and the records it read: said once, however many pathways list it
    caution_said = {cid: (caution_explanation(node), leaf_refs(node)) for cid, node in caution_nodes.items()}
    pathways: list[PathwayResult] = []
    for pathway in rule_set.pathways:
        inclusion = evaluate_node(pathway.inclusion, ctx)
        outcome = OUTCOME_OF[inclusion.result]
        lapse = None
        if outlook and outcome is Outcome.FLAGGED:
            lapse = find_lapse(facts, rule_set, pathway.inclusion, as_of)
        listed = []
        for caution in rule_set.cautions if cautions else ():
            severity = caution.severity_for(pathway.id)
            if severity is not None:
                listed.append(_caution_result(caution, severity, caution_nodes[caution.id], caution_said[caution.id]))
        pathways.append(
            PathwayResult(
                id=pathway.id,
                label=pathway.label,
                outcome=outcome,
                inclusion=inclusion,
                missing=missing_lines(inclusion) if outcome is Outcome.INSUFFICIENT_DATA else (),
                cautions=tuple(listed),
                next=next_lines(pathway.inclusion, inclusion, ctx) if outlook else (),
                lapses_on=lapse.on if lapse else None,
                lapse_reason=lapse.reason if lapse else None,
            )
        )
    return ScreeningResult(
        as_of=as_of,
        rule_set_name=rule_set.name,
        rule_set_version=rule_set.version,
        pathways=tuple(pathways),
    )
