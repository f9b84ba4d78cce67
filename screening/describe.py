"""Rule sets in plain language, from the rule-set file content (no Django import).

Used by the readable rules page, the rules administration pages and the version comparison.
Codes read with the labels of the vocabulary their parameter is declared with.
"""

from __future__ import annotations

from typing import Any

from clinical import vocab
from screening.engine import CRITERION_TYPES, ParamSpec
from screening.engine.criterion_types import VOCABULARIES


def _lc(label: str) -> str:
    """Lower-case a label's first letter unless it starts an acronym (HIV, SLE)."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _list(codes: list[str], labels: dict[str, str] | None = None) -> str:
    words = [_lc((labels or {}).get(c, c.replace("_", " "))) for c in codes]
    if not words:
        return "none"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _spec(kind: str, name: str) -> ParamSpec:
    return next(s for s in CRITERION_TYPES[kind].params if s.name == name)


def _codes(kind: str, p: dict[str, Any], name: str) -> str:
    """A code-list parameter in words, each code by its vocabulary's label."""
    return _list(p[name], dict(VOCABULARIES[_spec(kind, name).vocabulary or ""].labels))


def _window(days: int | None) -> str:
    return f"dated within the last {days} days" if days is not None else "at any date"


def _within(days: int | None, last: str = "") -> str:
    return f"within {last}{days} days" if days is not None else "at any date"


OPS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}


def describe_criterion(kind: str, p: dict[str, Any]) -> str:
    """One sentence saying when a criterion of this type is met."""
    if kind == "sle_diagnosis":
        return (
            f"SLE diagnosis: attested by a specialist, or ANA titre at least 1:{p['ana_min_titre']} with a 2019 "
            f"EULAR/ACR score of at least {p['classification_min_score']} including a clinical criterion"
        )
    if kind == "age_between":
        return f"age {p['min_years']} to {p['max_years']} years"
    if kind == "sledai_at_least":
        which = "clinical SLEDAI-2K (without serology)" if p["clinical_only"] else "SLEDAI-2K"
        return f"{which} of at least {p['min_score']} in the latest assessment {_window(p['max_age_days'])}"
    if kind == "manifestation_active":
        text = f"active {_codes(kind, p, 'codes')}"
        if "lupus_nephritis" in p["codes"]:
            classes = ", ".join(p["ln_classes"]) or "none"
            text += f" (lupus nephritis counts with a biopsy of class {classes} {_within(p['biopsy_max_age_days'])}"
            if p.get("ln_unconfirmed", _spec(kind, "ln_unconfirmed").if_absent) == "unknown":
                older = "" if p["biopsy_max_age_days"] is None else ", or only an older biopsy"
                text += f"; with no biopsy class recorded{older}, it is unknown until a biopsy is recorded"
            text += ")"
        return text
    if kind == "failed_agents_at_least":
        intol = (
            "stopped for inadequate response or intolerance"
            if p["count_intolerance"]
            else "stopped for inadequate response"
        )
        return (
            f"at least {p['min_count']} different {_codes(kind, p, 'classes')} agents failed: an adequate course "
            f"{intol}, or an adequate ongoing course with SLEDAI-2K still at least {p['ongoing_active_sledai_min']} "
            f"{_within(p['max_age_days'])}"
        )
    if kind == "glucocorticoid_dependent":
        return (
            f"glucocorticoids above {p['above_mg_per_day']} mg/day prednisone-equivalent on every one of the "
            f"last {p['min_days']} days"
        )
    if kind == "drug_tried":
        text = f"{_codes(kind, p, 'agents')} tried at some point"
        if p["or_conditions"]:
            text += f", or {_codes(kind, p, 'or_conditions')} recorded"
        return text
    if kind == "exposure_days_at_least":
        return f"at least {p['min_days']} days on {_codes(kind, p, 'classes')} treatment in total"
    if kind == "observation_compare":
        obs = vocab.OBSERVATIONS[p["code"]]
        value = f"{p['value']} × the upper limit of normal" if p["times_uln"] else f"{p['value']} {obs.unit}"
        return f"latest {obs.label} {_window(p['max_age_days'])} {OPS[p['op']]} {value}"
    if kind == "condition_present":
        text = f"{_codes(kind, p, 'codes')} recorded as present {_within(p['max_age_days'], 'the last ')}"
        if p.get("sex"):
            text += f" (applies to {p['sex']} patients)"
        if p.get("if_unrecorded") == "absent":
            text += "; taken as absent when never recorded"
        return text
    if kind == "recent_drug":
        return f"{_codes(kind, p, 'agents')} given {_within(p['within_days'], 'the last ')}"
    if kind == "damage_index_at_least":
        return f"latest SLICC/ACR damage index at least {p['min_score']}"
    return kind


def describe_node(node: dict[str, Any]) -> dict[str, Any]:
    """A node with its plain-language text; groups say whether all or any must hold."""
    if "all" in node or "any" in node:
        op = "all" if "all" in node else "any"
        return {
            "id": node["id"],
            "op": op,
            "text": "all of these hold" if op == "all" else "at least one of these holds",
            "children": [describe_node(c) for c in node[op]],
        }
    return {
        "id": node["id"],
        "type": node["type"],
        "text": describe_criterion(node["type"], node["params"]),
        "source": node.get("source"),
        "params": node["params"],
    }


def describe_rule_set(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "pathways": [
            {"id": p["id"], "label": p["label"], "tree": describe_node(p["inclusion"])} for p in content["pathways"]
        ],
        # severity in pathway order: the table's columns follow the pathways, and jsonb does not keep key order
        "cautions": [
            {
                "id": c["id"],
                "severity": {p["id"]: c["severity"].get(p["id"]) for p in content["pathways"]},
                "source": c.get("source"),
                "tree": describe_node(c["criterion"]),
            }
            for c in content["cautions"]
        ],
        "drugs": content["drugs"],
    }


def source_keys(content: dict[str, Any]) -> list[str]:
    """Every source key the rule set cites (S6, S19, …), in numeric order."""
    import re

    keys: set[str] = set()

    def visit(node: dict[str, Any]) -> None:
        keys.update(re.findall(r"S\d+", node.get("source") or ""))
        for child in node.get("all", node.get("any", [])):
            visit(child)

    for p in content["pathways"]:
        visit(p["inclusion"])
    for c in content["cautions"]:
        keys.update(re.findall(r"S\d+", c.get("source") or ""))
        visit(c["criterion"])
    return sorted(keys, key=lambda k: int(k[1:]))


def describe_disabled(disabled: dict[str, Any]) -> list[dict[str, Any]]:
    """Switched-off nodes of a draft, each with the group it came from, in plain language."""
    return [
        {"id": node_id, "parent": entry["parent"], "tree": describe_node(entry["node"])}
        for node_id, entry in disabled.items()
    ]
