"""What a valid rule set must also be for the app to store, address, edit and apply it.

``parse_rule_set`` checks the format and each parameter against its type. A
rule set that passes can still be one the app cannot live with: a pathway id
longer than the referral column that stores it (every flagged patient's
re-screen then fails), an id that cannot be part of an address (``..``), a
version that breaks a file name, a label with a line break, a number the edit
forms cannot hold, thousands of nodes sent with every page of the draft.
``check_storable`` refuses these, naming the node (or drug) and the field like
every other ``RuleSetError``; the limits come from :mod:`clinical.limits`, the
numbers the models read.

The rules administration runs it on every import, every edit, at sign-off and
before publishing; the engine itself never needs it to evaluate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields
from decimal import Decimal
from typing import Final

from clinical import limits
from screening.engine.ruleset import Criterion, Group, Node, RuleSet, RuleSetError

__all__ = ["SAFE_ID", "VERSION", "check_storable", "id_problem", "version_problem"]

# Letters, digits, "_" and "-", in parts joined by single dots: no empty part, so no "..", no leading dot.
SAFE_ID: Final = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
# A version names files and addresses: letters, digits, ".", "_", "-", "+", starting with a letter or digit.
VERSION: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def _control(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def id_problem(value: str, *, limit: int = limits.NODE_ID) -> str | None:
    """Why an id cannot be used (None when it can): its characters, its parts, its length."""
    if not SAFE_ID.fullmatch(value):
        return (
            "must be letters, digits, '_' and '-', in parts joined by single dots "
            "(e.g. hsct.recent_activity; no '..', no dot at either end)"
        )
    if len(value) > limit:
        return f"must be at most {limit} characters (this one has {len(value)})"
    return None


def version_problem(value: str) -> str | None:
    """Why a version name cannot be used (None when it can)."""
    if len(value) > limits.RULE_SET_VERSION:
        return f"at most {limits.RULE_SET_VERSION} characters (this one has {len(value)})"
    if not VERSION.fullmatch(value):
        return "use letters, digits, '.', '_', '-' or '+', starting with a letter or digit (e.g. 2026.2)"
    return None


def _text(value: str, where: str, field: str, limit: int) -> None:
    if _control(value):
        raise RuleSetError(where, field, "must be one line of text (no line break, tab or control character)")
    if len(value) > limit:
        raise RuleSetError(where, field, f"must be at most {limit} characters (this one has {len(value)})")


def _places(value: Decimal | None, where: str, field: str) -> None:
    exponent = value.normalize().as_tuple().exponent if value is not None else 0
    if isinstance(exponent, int) and exponent < -limits.DECIMAL_PLACES:
        raise RuleSetError(where, field, f"must have at most {limits.DECIMAL_PLACES} decimal places")


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Group):
        for child in node.children:
            yield from _nodes(child)


def _check_node(node: Node) -> None:
    if problem := id_problem(node.id):
        raise RuleSetError(node.id, "id", problem)
    if isinstance(node, Criterion):
        if node.source is not None:
            _text(node.source, node.id, "source", limits.SOURCE)
        for param in fields(node.params):
            value = getattr(node.params, param.name)
            if isinstance(value, Decimal):
                _places(value, node.id, f"params.{param.name}")


def check_storable(rule_set: RuleSet) -> None:
    """RuleSetError for the first thing of a parsed rule set the app cannot store, address or edit."""
    where = "rule set"
    _text(rule_set.name, where, "name", limits.RULE_SET_NAME)
    if problem := version_problem(rule_set.version):
        raise RuleSetError(where, "version", problem)
    for count, limit, what in (
        (len(rule_set.pathways), limits.RULES_MAX_PATHWAYS, "pathways"),
        (len(rule_set.cautions), limits.RULES_MAX_CAUTIONS, "cautions"),
        (len(rule_set.drugs), limits.RULES_MAX_DRUGS, "drugs"),
    ):
        if count > limit:
            raise RuleSetError(where, what, f"at most {limit} (this file has {count})")
    roots = [p.inclusion for p in rule_set.pathways] + [c.criterion for c in rule_set.cautions]
    nodes = [node for root in roots for node in _nodes(root)]
    if len(nodes) > limits.RULES_MAX_NODES:
        raise RuleSetError(
            where, "nodes", f"at most {limits.RULES_MAX_NODES} criteria and groups (this file has {len(nodes)})"
        )
    for pathway in rule_set.pathways:
        if problem := id_problem(pathway.id, limit=limits.PATHWAY_ID):
            raise RuleSetError(pathway.id, "id", f"{problem}: a pathway id is stored with every referral")
        _text(pathway.label, pathway.id, "label", limits.PATHWAY_LABEL)
    for caution in rule_set.cautions:
        _text(caution.source, caution.id, "source", limits.SOURCE)
    for node in nodes:
        _check_node(node)
    for drug in rule_set.drugs:
        here = f"drug {drug.drug}"
        for field, code in (("drug", drug.drug), ("agent", drug.agent)):
            if len(code) > limits.DRUG_CODE:
                raise RuleSetError(
                    here, field, f"must be at most {limits.DRUG_CODE} characters (the treatment record stores it)"
                )
        _text(drug.dose_unit, here, "dose_unit", limits.DOSE_UNIT)
        for field, value in (
            ("min_dose", drug.min_dose),
            ("min_dose_per_kg", drug.min_dose_per_kg),
            ("prednisone_factor", drug.prednisone_factor),
        ):
            _places(value, here, field)
