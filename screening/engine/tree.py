"""A rule-set tree evaluated over a context: criteria through their type's function, groups by Kleene logic."""

from __future__ import annotations

from collections import Counter

from screening.engine.context import Context
from screening.engine.criteria import evaluate_criterion
from screening.engine.results import CriterionResult, GroupResult, NodeResult, Result, combine
from screening.engine.ruleset import Criterion, Node

_RESULT_WORDS = ((Result.MET, "met"), (Result.NOT_MET, "not met"), (Result.UNKNOWN, "unknown"))


def evaluate_node(node: Node, ctx: Context) -> NodeResult:
    """A node's result: a criterion through its type's function, a group by Kleene all/any."""
    if isinstance(node, Criterion):
        leaf = evaluate_criterion(node.params, ctx)
        return CriterionResult(
            id=node.id,
            type=node.type,
            result=leaf.result,
            explanation=leaf.explanation,
            refs=leaf.refs,
            source=node.source,
            lacks=leaf.lacks,
        )
    children = tuple(evaluate_node(child, ctx) for child in node.children)
    result = combine(node.op, (child.result for child in children))
    counts = Counter(child.result for child in children)
    tally = ", ".join(f"{counts[r]} {word}" for r, word in _RESULT_WORDS if counts[r])
    return GroupResult(
        id=node.id,
        op=node.op,
        result=result,
        explanation=f"{node.op} of {len(children)}: {tally}",
        children=children,
    )
