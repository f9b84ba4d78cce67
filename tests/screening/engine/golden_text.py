"""The golden explanation text: every public case screened under the default rules, as readable lines.

``case_section`` renders one case: per pathway its outcome, then one block per entry of
``PATHWAY_BLOCKS``. To add what a pathway result gains (e.g. ``next``, ``lapses_on``), write a
function ``(pathway) -> list[str]`` that returns its block (a heading and indented lines, or no
lines when there is nothing to show) and append it to ``PATHWAY_BLOCKS``; then regenerate the
golden file (``CANDIDACY_UPDATE_GOLDEN=1``, see test_golden_explanations.py) and review the diff.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from screening.engine import (
    CriterionResult,
    NodeResult,
    PathwayResult,
    RuleSet,
    case_as_of,
    facts_from_case,
    screen,
)
from tests.screening.engine.helpers import load_case

INDENT = "  "


def _indented(lines: Iterable[str], depth: int = 1) -> list[str]:
    return [INDENT * depth + line for line in lines]


def node_lines(node: NodeResult, depth: int = 0) -> list[str]:
    """A criterion or group as ``[result] id: explanation``, its children one step further in."""
    kind = node.type if isinstance(node, CriterionResult) else node.op
    lines = [f"{INDENT * depth}[{node.result.value}] {node.id} ({kind}): {node.explanation}"]
    if isinstance(node, CriterionResult):
        if node.refs:
            lines.append(f"{INDENT * (depth + 1)}refs: {', '.join(node.refs)}")
    else:
        for child in node.children:
            lines += node_lines(child, depth + 1)
    return lines


def criteria_block(pathway: PathwayResult) -> list[str]:
    return ["criteria:", *_indented(node_lines(pathway.inclusion))]


def missing_block(pathway: PathwayResult) -> list[str]:
    if not pathway.missing:
        return []
    return ["missing:", *_indented(f"- {line}" for line in pathway.missing)]


def cautions_block(pathway: PathwayResult) -> list[str]:
    if not pathway.cautions:
        return []
    lines = ["cautions:"]
    for c in pathway.cautions:
        lines += _indented([f"[{c.status.value}] {c.id} ({c.severity}): {c.explanation}"])
        lines += _indented([f"refs: {', '.join(c.refs) or '(none)'}"], 2)
    return lines


def next_block(pathway: PathwayResult) -> list[str]:
    if not pathway.next:
        return []
    return ["next:", *_indented(f"- {line}" for line in pathway.next)]


def lapse_block(pathway: PathwayResult) -> list[str]:
    if pathway.lapses_on is None:
        return []
    return [f"lapses on {pathway.lapses_on.isoformat()}: {pathway.lapse_reason}"]


# One function per block of a pathway's section, in the order they are printed.
PATHWAY_BLOCKS: list[Callable[[PathwayResult], list[str]]] = [
    criteria_block,
    missing_block,
    cautions_block,
    next_block,
    lapse_block,
]


def pathway_lines(pathway: PathwayResult, blocks: Sequence[Callable[[PathwayResult], list[str]]]) -> list[str]:
    lines = [f"--- {pathway.id}: {pathway.outcome.value}"]
    for block in blocks:
        lines += block(pathway)
    return lines


def case_section(path: Path, rules: RuleSet) -> list[str]:
    case = load_case(path)
    as_of = case_as_of(case)
    assert as_of is not None, path
    result = screen(facts_from_case(case), rules, as_of)
    lines = [f"=== {case['case_id']} (as of {as_of.isoformat()}; {result.rule_set_name} {result.rule_set_version})"]
    for pathway in result.pathways:
        lines += ["", *pathway_lines(pathway, PATHWAY_BLOCKS)]
    return lines


def golden_text(paths: Iterable[Path], rules: RuleSet) -> str:
    """The whole golden file: one section per case, separated by a blank line."""
    sections = ["\n".join(case_section(path, rules)) for path in paths]
    return "\n\n\n".join(sections) + "\n"
