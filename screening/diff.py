"""What changed between two rule-set files, line by line (pure: no Django).

Used for the side-by-side comparison of two versions and for the audit line of
every draft edit ("hsct.age: 18–60 → 18–65 (max_years 60 → 65)"). Nodes are
matched by id, which the file format keeps unique; a node missing from the
newer content is "switched off" when the newer draft keeps it aside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from screening.describe import describe_criterion
from screening.editing import DRUG_THRESHOLDS, children, is_group, iter_nodes, op_of
from screening.engine import CRITERION_TYPES
from screening.engine.criterion_types import UNSET

NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Change:
    """One difference: where, what, and the old and new values as display text."""

    section: str  # "rule set", "pathway hsct", "caution pregnancy", "drug catalogue"
    where: str  # node, caution or drug id
    what: str  # the parameter or aspect; "" when the values say it all
    old: str
    new: str

    detail: str = ""  # e.g. the parameters behind a friendlier summary

    @property
    def text(self) -> str:
        if self.detail:
            return f"{self.where}: {self.old} → {self.new} ({self.detail})"
        head = f"{self.where}: {self.what}" if self.what else f"{self.where}:"
        if self.old and self.new:
            return f"{head} {self.old} → {self.new}"
        if self.new:
            return f"{head} {self.new}"
        return f"{head} (was {self.old})"

    def as_dict(self) -> dict[str, str]:
        return {
            "section": self.section,
            "where": self.where,
            "what": self.what,
            "old": self.old,
            "new": self.new,
            "detail": self.detail,
            "text": self.text,
        }


def fmt(value: Any) -> str:
    """A parameter value as people read it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "(empty)"
    return str(value)


def _age(params: Mapping[str, Any]) -> str:
    return f"{params['min_years']}–{params['max_years']}"


def _criterion_changes(section: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    node_id = new["id"]
    if old["type"] != new["type"]:
        return [Change(section, node_id, "type", old["type"], new["type"])]
    out: list[Change] = []
    specs = CRITERION_TYPES[new["type"]].params if new["type"] in CRITERION_TYPES else ()
    # A parameter a file may leave out (ln_unconfirmed before 2026.2) reads as its declared value there.
    absent = {spec.name: spec.if_absent for spec in specs if spec.if_absent is not UNSET}
    old_params, new_params = {**absent, **old["params"]}, {**absent, **new["params"]}
    names = list(dict.fromkeys([*(spec.name for spec in specs), *new_params]))
    changed = [k for k in names if k in new_params and old_params.get(k) != new_params[k]]
    if new["type"] == "age_between" and changed:
        detail = ", ".join(f"{k} {fmt(old_params.get(k))} → {fmt(new_params[k])}" for k in changed)
        out.append(Change(section, node_id, "age range", _age(old_params), _age(new_params), detail))
    else:
        out += [Change(section, node_id, k, fmt(old_params.get(k)), fmt(new_params[k])) for k in changed]
    if old.get("source") != new.get("source"):
        out.append(Change(section, node_id, "source", fmt(old.get("source")), fmt(new.get("source"))))
    return out


def _node_text(node: Mapping[str, Any]) -> str:
    if is_group(node):
        return f"{op_of(node)} of {len(children(node))}"
    return f"{node['type']}: {describe_criterion(node['type'], node['params'])}"


def _nodes(content: Mapping[str, Any]) -> dict[str, tuple[dict[str, Any], str | None, str]]:
    """id → (node, parent id, section) for every node of the file."""
    return {
        loc.node["id"]: (loc.node, loc.parent["id"] if loc.parent else None, f"{loc.root_kind} {loc.root}")
        for loc in iter_nodes(content)
    }


def _node_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], new_disabled: Mapping[str, Any], old_disabled: Mapping[str, Any]
) -> list[Change]:
    before, after = _nodes(old), _nodes(new)
    out: list[Change] = []
    for node_id, (node, parent, section) in after.items():
        if node_id not in before:
            if parent is not None and parent in before:  # the top of an added subtree only
                how = "switched on in" if node_id in old_disabled else "added to"
                out.append(Change(section, node_id, f"{how} {parent}:", "", _node_text(node)))
            continue
        was, was_parent, _ = before[node_id]
        if was_parent != parent:
            out.append(Change(section, node_id, "moved", f"from {was_parent}", f"to {parent}"))
        if is_group(was) and is_group(node):
            if op_of(was) != op_of(node):
                out.append(Change(section, node_id, "", op_of(was), op_of(node)))
        elif is_group(was) != is_group(node):
            out.append(Change(section, node_id, "", _node_text(was), _node_text(node)))
        else:
            out += _criterion_changes(section, was, node)
    for node_id, (node, parent, section) in before.items():
        if node_id not in after and parent is not None and parent in after:
            how = "switched off" if node_id in new_disabled else "removed"
            out.append(Change(section, node_id, how, _node_text(node), ""))
    return out


def _severity(value: str | None) -> str:
    return value or NOT_APPLICABLE


def _top_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    if old["name"] != new["name"]:
        out.append(Change("rule set", "name", "", old["name"], new["name"]))
    old_p = {p["id"]: p for p in old["pathways"]}
    new_p = {p["id"]: p for p in new["pathways"]}
    for pid, p in new_p.items():
        if pid not in old_p:
            out.append(Change(f"pathway {pid}", pid, "pathway added:", "", p["label"]))
        elif old_p[pid]["label"] != p["label"]:
            out.append(Change(f"pathway {pid}", pid, "label", old_p[pid]["label"], p["label"]))
    out += [
        Change(f"pathway {pid}", pid, "pathway removed", p["label"], "") for pid, p in old_p.items() if pid not in new_p
    ]
    old_c = {c["id"]: c for c in old["cautions"]}
    new_c = {c["id"]: c for c in new["cautions"]}
    for cid, c in new_c.items():
        section = f"caution {cid}"
        if cid not in old_c:
            out.append(Change(section, cid, "caution added:", "", _node_text(c["criterion"])))
            continue
        was = old_c[cid]
        # in pathway order: a JSON object's key order is not kept by every database (jsonb sorts keys)
        for pid in dict.fromkeys([*new_p, *old_p, *was["severity"], *c["severity"]]):
            a, b = was["severity"].get(pid), c["severity"].get(pid)
            if a != b:
                out.append(Change(section, cid, f"severity for {pid}", _severity(a), _severity(b)))
        if was["source"] != c["source"]:
            out.append(Change(section, cid, "source", was["source"], c["source"]))
    out += [
        Change(f"caution {cid}", cid, "caution removed", _node_text(c["criterion"]), "")
        for cid, c in old_c.items()
        if cid not in new_c
    ]
    return out


def _drug_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    old_d = {d["drug"]: d for d in old["drugs"]}
    new_d = {d["drug"]: d for d in new["drugs"]}
    out: list[Change] = []
    for code, d in new_d.items():
        where = f"drug {code}"
        if code not in old_d:
            out.append(Change("drug catalogue", where, "added:", "", f"{d['agent']} ({d['class']})"))
            continue
        for key in (*DRUG_THRESHOLDS, "agent", "class", "dose_unit", "prednisone_factor"):
            if old_d[code][key] != d[key]:
                out.append(Change("drug catalogue", where, key, fmt(old_d[code][key]), fmt(d[key])))
    out += [
        Change("drug catalogue", f"drug {code}", "removed", f"{d['agent']} ({d['class']})", "")
        for code, d in old_d.items()
        if code not in new_d
    ]
    return out


def diff_contents(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    new_disabled: Mapping[str, Any] | None = None,
    old_disabled: Mapping[str, Any] | None = None,
) -> list[Change]:
    """Every difference from ``old`` to ``new``: rule set, pathways and nodes, cautions, drugs."""
    nodes = _node_changes(old, new, new_disabled or {}, old_disabled or {})
    top = _top_changes(old, new)
    order = {f"pathway {p['id']}": i for i, p in enumerate(new["pathways"])}
    order.update({f"caution {c['id']}": 1000 + i for i, c in enumerate(new["cautions"])})
    merged = sorted([*top, *nodes], key=lambda c: -1 if c.section == "rule set" else order.get(c.section, 999))
    return merged + _drug_changes(old, new)
