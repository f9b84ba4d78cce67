"""What a rule change would do to a patient: compare the published rules' result with a draft's (pure).

Both results are computed from the same facts as of the same date, so every
difference comes from the rules. For each pathway whose outcome differs the
comparison names the direction and the criteria that made the difference
("hsct.age not met → met"), following changed results down the tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from screening.engine.results import GroupResult, NodeResult, Outcome, Result, ScreeningResult

FLAGGED, INSUFFICIENT = Outcome.FLAGGED, Outcome.INSUFFICIENT_DATA
DIRECTIONS = {
    "newly_flagged": "newly flagged",
    "no_longer_flagged": "no longer flagged",
    "to_insufficient": "to insufficient data",
    "from_insufficient": "from insufficient data",
    "other": "other change",
}


def direction(before: str | None, after: str | None) -> str | None:
    """The kind of change of a pathway's outcome (None when it does not change)."""
    if before == after:
        return None
    if after == FLAGGED:
        return "newly_flagged"
    if before == FLAGGED:
        return "no_longer_flagged"
    if after == INSUFFICIENT:
        return "to_insufficient"
    if before == INSUFFICIENT:
        return "from_insufficient"
    return "other"


def _neutral(node: NodeResult, op: str) -> bool:
    """A child whose value cannot move its group: met under all, not met under any."""
    return node.result is (Result.MET if op == "all" else Result.NOT_MET)


def differing_criteria(before: NodeResult | None, after: NodeResult | None) -> list[dict[str, Any]]:
    """The criteria that made a pathway's result differ, found by following changed results down the tree.

    From a group whose result differs, the walk follows the children whose result differs; a child that
    exists on one side only counts unless its value cannot move the group (a met criterion added to an
    ``all``). A group none of whose children changed (its all/any was switched) is itself the answer.
    """
    rows: list[dict[str, Any]] = []

    def row(a: NodeResult | None, b: NodeResult | None) -> None:
        node = b or a
        assert node is not None
        rows.append({"id": node.id, "before": a.result.value if a else None, "after": b.result.value if b else None})

    def visit(a: NodeResult | None, b: NodeResult | None) -> None:
        if not (isinstance(a, GroupResult) and isinstance(b, GroupResult)):
            row(a, b)
            return
        old = {c.id: c for c in a.children}
        new = {c.id: c for c in b.children}
        changed = []
        for cid in dict.fromkeys([*new, *old]):
            x, y = old.get(cid), new.get(cid)
            if x is not None and y is not None:
                if x.result is not y.result:
                    changed.append((x, y))
            elif x is not None and not _neutral(x, a.op) or y is not None and not _neutral(y, b.op):
                changed.append((x, y))
        if not changed:
            row(a, b)
        for x, y in changed:
            visit(x, y)

    if before is None or after is None or before.result is not after.result:
        visit(before, after)
    return rows


def compare(before: ScreeningResult, after: ScreeningResult) -> list[dict[str, Any]]:
    """One row per pathway whose outcome differs: before, after, direction and the deciding criteria."""
    old = {p.id: p for p in before.pathways}
    new = {p.id: p for p in after.pathways}
    rows = []
    for pid in dict.fromkeys([*new, *old]):
        was, now = old.get(pid), new.get(pid)
        b = was.outcome.value if was else None
        a = now.outcome.value if now else None
        kind = direction(b, a)
        if kind is None:
            continue
        rows.append(
            {
                "pathway": pid,
                "before": b,
                "after": a,
                "direction": kind,
                "criteria": differing_criteria(was.inclusion if was else None, now.inclusion if now else None),
            }
        )
    return rows


def tally(rows: Iterable[dict[str, Any]], pathways: Iterable[str]) -> dict[str, dict[str, int]]:
    """Pathway → direction → number of patients."""
    counts = {pid: dict.fromkeys(DIRECTIONS, 0) for pid in pathways}
    for row in rows:
        counts.setdefault(row["pathway"], dict.fromkeys(DIRECTIONS, 0))[row["direction"]] += 1
    return counts
