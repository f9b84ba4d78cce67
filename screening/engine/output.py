"""Screening results as the output JSON of docs/case-files.md ("Screening a case file"), and display wording.

The display wording is that of docs/rule-sets.md ("How screening works"). The product flags; it never
decides, so no string here says that a patient qualifies.
"""

from __future__ import annotations

from typing import Any

from screening.engine.results import (
    CriterionResult,
    GroupResult,
    NodeResult,
    Outcome,
    Result,
    ScreeningResult,
    deciding_leaves,
)

STANDING_NOTE = (
    "Screening only flags that a referral for evaluation may be worth considering; "
    "the decision rests with the clinicians."
)


def node_to_output(node: NodeResult) -> dict[str, Any]:
    """A criterion (id, result, explanation, type, source, refs) or group (with children) of the output."""
    out: dict[str, Any] = {"id": node.id, "result": node.result.value, "explanation": node.explanation}
    if isinstance(node, GroupResult):
        out["children"] = [node_to_output(child) for child in node.children]
    else:
        out["type"] = node.type
        out["source"] = node.source
        out["refs"] = list(node.refs)
    return out


def result_to_dict(result: ScreeningResult, *, case_id: str) -> dict[str, Any]:
    """The screening output object of one case (docs/case-files.md, "Screening a case file")."""
    pathways: dict[str, Any] = {}
    for pathway in result.pathways:
        pathways[pathway.id] = {
            "outcome": pathway.outcome.value,
            "criteria": [node_to_output(node) for node in pathway.criteria],
            "missing": list(pathway.missing),
            "cautions": [
                {
                    "id": c.id,
                    "severity": c.severity,
                    "status": c.status.value,
                    "explanation": c.explanation,
                    "source": c.source,
                    "refs": list(c.refs),
                }
                for c in pathway.cautions
            ],
            "next": list(pathway.next),
            "lapses_on": pathway.lapses_on.isoformat() if pathway.lapses_on else None,
            "lapse_reason": pathway.lapse_reason,
        }
    return {
        "case_id": case_id,
        "as_of": result.as_of.isoformat(),
        "rule_set": {"name": result.rule_set_name, "version": result.rule_set_version},
        "pathways": pathways,
    }


def why_not(result: ScreeningResult, pathway_id: str) -> list[str]:
    """For a not-flagged pathway, one line per criterion that is not met and decides it."""
    pathway = result.pathway(pathway_id)
    if pathway.outcome is not Outcome.NOT_FLAGGED:
        return []
    leaves: tuple[CriterionResult, ...] = deciding_leaves(pathway.inclusion, Result.NOT_MET)
    return [f"{leaf.id}: {leaf.explanation}" for leaf in leaves]


def outcome_sentence(outcome: Outcome | str, pathway_label_short: str) -> str:
    """The headline of a pathway's result (docs/rule-sets.md, "How screening works"), e.g. for "HSCT"."""
    value = Outcome(outcome)
    if value is Outcome.FLAGGED:
        return f"A referral for {pathway_label_short} evaluation may be worth considering."
    if value is Outcome.NOT_FLAGGED:
        return f"Not flagged for {pathway_label_short} evaluation by the current rules."
    return f"Not enough data to screen for {pathway_label_short} evaluation."
