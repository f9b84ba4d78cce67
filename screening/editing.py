"""Edits of a rule-set file's content: pure functions over the plain dict (no Django).

Each function takes the content (and, for switching, the draft's side list of
switched-off nodes), returns new copies and never mutates its input. They check
the shape of the edit (a root cannot be switched off, a group keeps one child,
ids stay unique); the engine's parser checks everything else afterwards.

The rule-set file format has no "enabled" flag, so a switched-off criterion is
taken out of the content and kept in the side list
``{node_id: {"parent": group id, "index": n, "node": {...}}}`` to be put back
where it was: the content stays a valid rule-set file at every step.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from screening.engine import id_problem

GROUP_OPS = ("all", "any")
DRUG_THRESHOLDS = ("min_days", "min_dose", "min_dose_per_kg")

Content = dict[str, Any]
Disabled = dict[str, dict[str, Any]]


class EditError(ValueError):
    """An edit that cannot be made; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Located:
    """A node with the group holding it (None for a pathway's or caution's root)."""

    node: dict[str, Any]
    parent: dict[str, Any] | None
    index: int | None
    root: str  # the pathway or caution id the node belongs to
    root_kind: str  # "pathway" or "caution"
    depth: int


def is_group(node: Mapping[str, Any]) -> bool:
    return "all" in node or "any" in node


def op_of(node: Mapping[str, Any]) -> str:
    return "all" if "all" in node else "any"


def children(node: Mapping[str, Any]) -> list[dict[str, Any]]:
    return node.get("all", node.get("any", [])) if is_group(node) else []


def _walk(
    node: dict[str, Any], parent: dict[str, Any] | None, index: int | None, root: str, kind: str, depth: int
) -> Iterator[Located]:
    yield Located(node, parent, index, root, kind, depth)
    for i, child in enumerate(children(node)):
        yield from _walk(child, node, i, root, kind, depth + 1)


def iter_nodes(content: Mapping[str, Any]) -> Iterator[Located]:
    """Every node of the file in order: pathways' trees, then cautions' trees."""
    for pathway in content["pathways"]:
        yield from _walk(pathway["inclusion"], None, None, pathway["id"], "pathway", 0)
    for caution in content["cautions"]:
        yield from _walk(caution["criterion"], None, None, caution["id"], "caution", 0)


def locate(content: Mapping[str, Any], node_id: str) -> Located | None:
    return next((loc for loc in iter_nodes(content) if loc.node["id"] == node_id), None)


def subtree_ids(node: Mapping[str, Any]) -> set[str]:
    ids = {node["id"]}
    for child in children(node):
        ids |= subtree_ids(child)
    return ids


def used_ids(content: Mapping[str, Any], disabled: Mapping[str, Any]) -> set[str]:
    """Ids taken in the content or by a switched-off node (which may come back)."""
    ids = {loc.node["id"] for loc in iter_nodes(content)}
    for entry in disabled.values():
        ids |= subtree_ids(entry["node"])
    return ids


def _find(content: Content, node_id: str) -> Located:
    loc = locate(content, node_id)
    if loc is None:
        raise EditError("node", f"no node {node_id!r} in this rule set")
    return loc


def set_params(content: Content, node_id: str, params: Mapping[str, Any], source: str | None) -> Content:
    """A criterion's parameters (every one of its type) and source replaced."""
    new = copy.deepcopy(content)
    node = _find(new, node_id).node
    if is_group(node):
        raise EditError("node", f"{node_id} is a group; change its all/any instead")
    node["params"] = dict(params)
    if source:
        node["source"] = source
    else:
        node.pop("source", None)
    return new


def set_op(content: Content, group_id: str, op: str) -> Content:
    """A group's operator switched between all and any (children kept in order)."""
    if op not in GROUP_OPS:
        raise EditError("op", "must be all or any")
    new = copy.deepcopy(content)
    loc = _find(new, group_id)
    node = loc.node
    if not is_group(node):
        raise EditError("node", f"{group_id} is a criterion, not a group")
    kids = node.pop(op_of(node))
    node[op] = kids
    # keep "id" first, as in the files
    items = [("id", node["id"]), (op, kids)]
    node.clear()
    node.update(items)
    return new


def add_criterion(content: Content, disabled: Mapping[str, Any], group_id: str, node: Mapping[str, Any]) -> Content:
    """A new criterion appended to a group; its id must be new in the file and its side list."""
    node_id = node.get("id", "")
    problem = id_problem(node_id) if isinstance(node_id, str) else "must be text"
    if problem:
        raise EditError("node_id", problem)
    if node_id in used_ids(content, disabled):
        raise EditError("node_id", f"{node_id} is already used in this rule set (ids are unique)")
    new = copy.deepcopy(content)
    group = _find(new, group_id).node
    if not is_group(group):
        raise EditError("node", f"{group_id} is a criterion; add to a group")
    children(group).append(dict(node))
    return new


def switch_off(content: Content, disabled: Mapping[str, Any], node_id: str) -> tuple[Content, Disabled]:
    """Take a node out of its group and keep it aside, with where it was."""
    new, side = copy.deepcopy(content), copy.deepcopy(dict(disabled))
    loc = _find(new, node_id)
    if loc.parent is None:
        what = "pathway" if loc.root_kind == "pathway" else "caution"
        hint = "" if what == "pathway" else " (set its severity to not applicable instead)"
        raise EditError("node", f"{node_id} is the root of the {what} {loc.root} and cannot be switched off{hint}")
    siblings = children(loc.parent)
    if len(siblings) == 1:
        raise EditError("node", f"{node_id} is the only criterion of {loc.parent['id']}: a group keeps at least one")
    assert loc.index is not None
    siblings.pop(loc.index)
    side[node_id] = {"parent": loc.parent["id"], "index": loc.index, "node": loc.node}
    return new, side


def switch_on(content: Content, disabled: Mapping[str, Any], node_id: str) -> tuple[Content, Disabled]:
    """Put a switched-off node back in its group, where it was."""
    new, side = copy.deepcopy(content), copy.deepcopy(dict(disabled))
    entry = side.pop(node_id, None)
    if entry is None:
        raise EditError("node", f"{node_id} is not switched off")
    parent = locate(new, entry["parent"])
    if parent is None or not is_group(parent.node):
        raise EditError("node", f"its group {entry['parent']} is not in the rule set: switch that on first")
    taken = {loc.node["id"] for loc in iter_nodes(new)}
    clash = subtree_ids(entry["node"]) & taken
    if clash:
        raise EditError("node", f"id {sorted(clash)[0]} is now used by another node")
    kids = children(parent.node)
    kids.insert(min(entry["index"], len(kids)), entry["node"])
    return new, side


def set_severity(content: Content, caution_id: str, severity: Mapping[str, str | None]) -> Content:
    """A caution's severity per pathway (contraindication, caution or None = not applicable)."""
    new = copy.deepcopy(content)
    for caution in new["cautions"]:
        if caution["id"] == caution_id:
            caution["severity"] = {p["id"]: severity.get(p["id"]) for p in new["pathways"]}
            return new
    raise EditError("caution", f"no caution {caution_id!r} in this rule set")


def set_drug_thresholds(content: Content, drug: str, values: Mapping[str, Any]) -> Content:
    """A drug's adequacy thresholds (min_days, min_dose, min_dose_per_kg) replaced."""
    new = copy.deepcopy(content)
    for entry in new["drugs"]:
        if entry["drug"] == drug:
            for key in DRUG_THRESHOLDS:
                entry[key] = values.get(key)
            return new
    raise EditError("drug", f"no drug {drug!r} in the catalogue")


def with_version(content: Content, *, name: str, version: str) -> Content:
    new = copy.deepcopy(content)
    new["name"], new["version"] = name, version
    return new


def next_version(version: str, taken: set[str]) -> str:
    """A free version after ``version``: its trailing number raised (2026.1 → 2026.2)."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    stem, number = (match.group(1), int(match.group(2))) if match else (f"{version}.", 0)
    candidate = f"{stem}{number + 1}"
    while candidate in taken:
        number += 1
        candidate = f"{stem}{number + 1}"
    return candidate
