"""Rule sets as plain data: parsing and export.

A rule set travels as a ``sle-screening-rules/1`` JSON file
(docs/rule-sets.md, "The file"). ``parse_rule_set`` checks every rule of the
format and each criterion's parameters against its type's declaration in
``criterion_types`` (the catalogue, docs/criteria.md), and raises
``RuleSetError`` naming the node id (or drug) and the parameter;
``rule_set_to_dict`` gives the file content back (parse then dump of
``default-rules.json`` is the file).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Final, Literal, TypeAlias

from clinical import limits, vocab
from screening.engine.criterion_types import (
    AGENT_VOCABULARY,
    CRITERION_TYPES,
    UNSET,
    VOCABULARIES,
    CriterionParams,
    ParamSpec,
    ParamValue,
)

GroupOp: TypeAlias = Literal["all", "any"]
Severity: TypeAlias = Literal["contraindication", "caution"]

SEVERITIES: Final[tuple[str, ...]] = ("contraindication", "caution")

_ID_RE: Final = re.compile(r"[A-Za-z0-9_.\-]+")
_CODE_RE: Final = re.compile(r"[a-z0-9][a-z0-9_]*")


class RuleSetError(ValueError):
    """A rule-set file breaks a rule; the message names the node (or drug) and the field."""

    def __init__(self, where: str, field: str, problem: str) -> None:
        super().__init__(f"{where}: {field}: {problem}")
        self.where = where
        self.field = field
        self.problem = problem


# --------------------------------------------------------------------------
# The rule set


@dataclass(frozen=True, slots=True, kw_only=True)
class Criterion:
    id: str
    type: str
    params: CriterionParams
    source: str | None = None  # None: the file has no "source" key


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    id: str
    op: GroupOp
    children: tuple[Criterion | Group, ...]


Node: TypeAlias = Criterion | Group


@dataclass(frozen=True, slots=True, kw_only=True)
class Pathway:
    id: str
    label: str
    inclusion: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Caution:
    id: str
    criterion: Node
    severity: tuple[tuple[str, Severity | None], ...]  # (pathway id, severity) in file order
    source: str

    def severity_for(self, pathway_id: str) -> Severity | None:
        """Severity for a pathway; None = the caution does not apply to it."""
        for pid, severity in self.severity:
            if pid == pathway_id:
                return severity
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Drug:
    drug: str
    agent: str
    drug_class: str  # "class" in the file
    dose_unit: str
    min_days: int | None = None
    min_dose: Decimal | None = None
    min_dose_per_kg: Decimal | None = None
    prednisone_factor: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSet:
    name: str
    version: str
    pathways: tuple[Pathway, ...]
    cautions: tuple[Caution, ...]
    drugs: tuple[Drug, ...]
    format: str = vocab.RULES_FORMAT

    def drug(self, code: str) -> Drug | None:
        """The catalogue entry of a drug code, or None."""
        for drug in self.drugs:
            if drug.drug == code:
                return drug
        return None

    def pathway(self, pathway_id: str) -> Pathway:
        """The pathway with this id (KeyError if none)."""
        for pathway in self.pathways:
            if pathway.id == pathway_id:
                return pathway
        raise KeyError(pathway_id)


# --------------------------------------------------------------------------
# Parsing

_TOP_KEYS: Final = ("format", "name", "version", "pathways", "cautions", "drugs")
_PATHWAY_KEYS: Final = ("id", "label", "inclusion")
_CAUTION_KEYS: Final = ("id", "criterion", "severity", "source")
_DRUG_KEYS: Final = (
    "drug",
    "agent",
    "class",
    "dose_unit",
    "min_days",
    "min_dose",
    "min_dose_per_kg",
    "prednisone_factor",
)
_CRITERION_KEYS: Final = ("id", "type", "params", "source")
# Upper bounds of a drug's thresholds: a dose in the drug's unit, mg/kg/day, a prednisone-equivalence factor.
_DRUG_MAXIMA: Final[Mapping[str, int]] = {
    "min_dose": limits.DOSE_MAX,
    "min_dose_per_kg": 1000,
    "prednisone_factor": 100,
}


def _number(value: object) -> Decimal | None:
    """A JSON number as Decimal, or None if the value is not a finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None


def _check_keys(obj: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str], where: str) -> None:
    for key in obj:
        if key not in allowed:
            raise RuleSetError(where, str(key), "unknown key")
    for key in required:
        if key not in obj:
            raise RuleSetError(where, key, "missing")


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj[key]
    if not isinstance(value, str) or not value.strip():
        raise RuleSetError(where, key, "must be a non-empty string")
    return value


def _list(value: object, where: str, field: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise RuleSetError(where, field, f"must be a list of {what}")
    return value


class _Parser:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.agents: frozenset[str] = frozenset()

    # -- drugs

    def drugs(self, raw: object) -> tuple[Drug, ...]:
        items = _list(raw, "rule set", "drugs", "drug objects")
        drugs: list[Drug] = []
        agent_class: dict[str, str] = {}
        for i, item in enumerate(items):
            drug = self.drug(item, i)
            if any(d.drug == drug.drug for d in drugs):
                raise RuleSetError(f"drug {drug.drug}", "drug", "duplicate drug code")
            known = agent_class.setdefault(drug.agent, drug.drug_class)
            if known != drug.drug_class:
                raise RuleSetError(
                    f"drug {drug.drug}",
                    "class",
                    f"agent {drug.agent!r} is already of class {known!r} (drugs of one agent share a class)",
                )
            drugs.append(drug)
        self.agents = frozenset(agent_class)
        return tuple(drugs)

    def drug(self, raw: object, index: int) -> Drug:
        where = f"drugs[{index}]"
        if not isinstance(raw, dict):
            raise RuleSetError(where, "drug", "must be an object")
        code = raw.get("drug")
        if isinstance(code, str) and _CODE_RE.fullmatch(code):
            where = f"drug {code}"
        _check_keys(raw, _DRUG_KEYS, _DRUG_KEYS, where)
        for key in ("drug", "agent"):
            value = raw[key]
            if not isinstance(value, str) or not _CODE_RE.fullmatch(value):
                raise RuleSetError(where, key, "must be a lower-case code (a-z, 0-9, _)")
        drug_class = raw["class"]
        if drug_class not in vocab.DRUG_CLASSES:
            raise RuleSetError(where, "class", f"must be one of {', '.join(vocab.DRUG_CLASSES)}")
        dose_unit = _text(raw, "dose_unit", where)
        min_days = raw["min_days"]
        if min_days is not None and (isinstance(min_days, bool) or not isinstance(min_days, int) or min_days < 0):
            raise RuleSetError(where, "min_days", "must be an integer ≥ 0 or null")
        if min_days is not None and min_days > limits.MAX_WINDOW_DAYS:
            raise RuleSetError(where, "min_days", f"must be an integer ≤ {limits.MAX_WINDOW_DAYS} or null")
        doses: dict[str, Decimal | None] = {}
        for key in ("min_dose", "min_dose_per_kg"):
            value = raw[key]
            number = None if value is None else _number(value)
            if value is not None and (number is None or number < 0):
                raise RuleSetError(where, key, "must be a number ≥ 0 or null")
            if number is not None and number > _DRUG_MAXIMA[key]:
                raise RuleSetError(where, key, f"must be a number ≤ {_DRUG_MAXIMA[key]} or null")
            doses[key] = number
        factor_raw = raw["prednisone_factor"]
        factor = None if factor_raw is None else _number(factor_raw)
        if factor is not None and factor > _DRUG_MAXIMA["prednisone_factor"]:
            raise RuleSetError(where, "prednisone_factor", f"must be a number ≤ {_DRUG_MAXIMA['prednisone_factor']}")
        if drug_class == "glucocorticoid":
            if factor is None or factor <= 0:
                raise RuleSetError(where, "prednisone_factor", "must be a number > 0 for a glucocorticoid")
        elif factor_raw is not None:
            raise RuleSetError(where, "prednisone_factor", "must be null for a drug that is not a glucocorticoid")
        return Drug(
            drug=raw["drug"],
            agent=raw["agent"],
            drug_class=drug_class,
            dose_unit=dose_unit,
            min_days=min_days,
            min_dose=doses["min_dose"],
            min_dose_per_kg=doses["min_dose_per_kg"],
            prednisone_factor=factor,
        )

    # -- nodes

    def node(self, raw: object, path: str) -> Node:
        if not isinstance(raw, dict):
            raise RuleSetError(path, "node", "must be an object")
        if "id" not in raw:
            raise RuleSetError(path, "id", "missing")
        node_id = raw["id"]
        if not isinstance(node_id, str) or not _ID_RE.fullmatch(node_id):
            raise RuleSetError(path, "id", "must be a non-empty identifier (letters, digits, '_', '.', '-')")
        if node_id in self.ids:
            raise RuleSetError(node_id, "id", "duplicate node id (ids are unique in the file)")
        self.ids.add(node_id)
        if "all" in raw or "any" in raw:
            return self.group(raw, node_id)
        if "type" in raw:
            return self.criterion(raw, node_id)
        raise RuleSetError(node_id, "type", "missing (a node is a criterion with a type, or a group with all or any)")

    def group(self, raw: Mapping[str, Any], node_id: str) -> Group:
        if "all" in raw and "any" in raw:
            raise RuleSetError(node_id, "any", "a group has either all or any, not both")
        op: GroupOp = "all" if "all" in raw else "any"
        _check_keys(raw, ("id", op), ("id", op), node_id)
        children = _list(raw[op], node_id, op, "nodes")
        if not children:
            raise RuleSetError(node_id, op, "a group needs at least one child")
        return Group(
            id=node_id,
            op=op,
            children=tuple(self.node(child, f"{node_id}.{op}[{i}]") for i, child in enumerate(children)),
        )

    def criterion(self, raw: Mapping[str, Any], node_id: str) -> Criterion:
        _check_keys(raw, _CRITERION_KEYS, ("id", "type", "params"), node_id)
        type_name = raw["type"]
        if not isinstance(type_name, str) or type_name not in CRITERION_TYPES:
            raise RuleSetError(node_id, "type", f"unknown criterion type {type_name!r}")
        ctype = CRITERION_TYPES[type_name]
        params = raw["params"]
        if not isinstance(params, dict):
            raise RuleSetError(node_id, "params", "must be an object")
        names = [spec.name for spec in ctype.params]
        for spec in ctype.params:
            if spec.name not in params and spec.if_absent is UNSET:
                raise RuleSetError(node_id, f"params.{spec.name}", "missing")
        for key in params:
            if key not in names:
                raise RuleSetError(node_id, f"params.{key}", f"not a parameter of {type_name}")
        # Checked against the spec one by one, so the typed params class can take them as they are. A parameter
        # added after files were written reads its if_absent value where a file lacks it (ln_unconfirmed, added
        # in 2026.2: a 2026.1 file reads not_met, which is how 2026.1 judged).
        values: dict[str, Any] = {
            spec.name: self.param(spec, params.get(spec.name, spec.if_absent), node_id) for spec in ctype.params
        }
        for spec in ctype.params:
            _check_at_least(spec, values, node_id)
        source = raw.get("source")
        if "source" in raw and (not isinstance(source, str) or not source.strip()):
            raise RuleSetError(node_id, "source", "must be a non-empty string (leave the key out for none)")
        return Criterion(id=node_id, type=type_name, params=ctype.params_class(**values), source=source)

    def param(self, spec: ParamSpec, value: object, node_id: str) -> ParamValue:
        field = f"params.{spec.name}"
        if value is None:
            if spec.nullable:
                return None
            raise RuleSetError(node_id, field, "must not be null")
        or_null = " or null" if spec.nullable else ""
        if spec.kind == "boolean":
            if not isinstance(value, bool):
                raise RuleSetError(node_id, field, "must be true or false")
            return value
        if spec.kind == "integer":
            if isinstance(value, bool):
                raise RuleSetError(node_id, field, "must be an integer, not a boolean")
            if not isinstance(value, int):
                raise RuleSetError(node_id, field, f"must be an integer{or_null}")
            if spec.minimum is not None and value < spec.minimum:
                raise RuleSetError(node_id, field, f"must be an integer ≥ {spec.minimum}{or_null}")
            if spec.maximum is not None and value > spec.maximum:
                raise RuleSetError(node_id, field, f"must be an integer ≤ {spec.maximum}{or_null}")
            return value
        if spec.kind == "number":
            if isinstance(value, bool):
                raise RuleSetError(node_id, field, "must be a number, not a boolean")
            number = _number(value)
            if number is None:
                raise RuleSetError(node_id, field, f"must be a number{or_null}")
            if spec.minimum is not None and number < spec.minimum:
                raise RuleSetError(node_id, field, f"must be a number ≥ {spec.minimum}{or_null}")
            if spec.maximum is not None and number > spec.maximum:
                raise RuleSetError(node_id, field, f"must be a number ≤ {spec.maximum}{or_null}")
            return number
        if spec.kind == "choice":
            if not isinstance(value, str) or value not in spec.choices:
                options = [*spec.choices, "null"] if spec.nullable else list(spec.choices)
                allowed = " or ".join(options) if len(options) == 2 else "one of " + ", ".join(options)
                raise RuleSetError(node_id, field, f"must be {allowed}")
            return value
        allowed_codes = self.vocabulary(spec)
        label = VOCABULARIES[spec.vocabulary or ""].noun
        if spec.kind == "code":
            if not isinstance(value, str) or value not in allowed_codes:
                raise RuleSetError(node_id, field, f"unknown {label} code {value!r}")
            return value
        items = _list(value, node_id, field, f"{label} codes")
        for item in items:
            if not isinstance(item, str) or item not in allowed_codes:
                if spec.vocabulary == AGENT_VOCABULARY:
                    raise RuleSetError(node_id, field, f"unknown agent {item!r} (not in the file's drug catalogue)")
                raise RuleSetError(node_id, field, f"unknown {label} code {item!r}")
        if len(set(items)) != len(items):
            raise RuleSetError(node_id, field, "lists a code twice")
        if not items and not spec.allow_empty:
            raise RuleSetError(node_id, field, "must list at least one code")
        return tuple(items)

    def vocabulary(self, spec: ParamSpec) -> frozenset[str] | Mapping[str, str]:
        if spec.vocabulary == AGENT_VOCABULARY:
            return self.agents
        return VOCABULARIES[spec.vocabulary or ""].labels

    # -- pathways and cautions

    def pathway(self, raw: object, index: int) -> Pathway:
        where = f"pathways[{index}]"
        if not isinstance(raw, dict):
            raise RuleSetError(where, "pathway", "must be an object")
        pid = raw.get("id")
        if isinstance(pid, str) and _ID_RE.fullmatch(pid):
            where = pid
        _check_keys(raw, _PATHWAY_KEYS, _PATHWAY_KEYS, where)
        if not isinstance(pid, str) or not _ID_RE.fullmatch(pid):
            raise RuleSetError(where, "id", "must be a non-empty identifier (letters, digits, '_', '.', '-')")
        label = _text(raw, "label", where)
        inclusion = self.node(raw["inclusion"], f"{pid}.inclusion")
        if inclusion.id != pid:
            raise RuleSetError(pid, "inclusion.id", f"the inclusion root must carry the pathway id {pid!r}")
        return Pathway(id=pid, label=label, inclusion=inclusion)

    def caution(self, raw: object, index: int, pathway_ids: Sequence[str]) -> Caution:
        where = f"cautions[{index}]"
        if not isinstance(raw, dict):
            raise RuleSetError(where, "caution", "must be an object")
        cid = raw.get("id")
        if isinstance(cid, str) and _ID_RE.fullmatch(cid):
            where = cid
        _check_keys(raw, _CAUTION_KEYS, _CAUTION_KEYS, where)
        if not isinstance(cid, str) or not _ID_RE.fullmatch(cid):
            raise RuleSetError(where, "id", "must be a non-empty identifier (letters, digits, '_', '.', '-')")
        criterion = self.node(raw["criterion"], f"{cid}.criterion")
        if criterion.id != cid:
            raise RuleSetError(cid, "criterion.id", f"the criterion root must carry the caution id {cid!r}")
        severity_raw = raw["severity"]
        if not isinstance(severity_raw, dict):
            raise RuleSetError(cid, "severity", "must be an object with a key for every pathway")
        for key in severity_raw:
            if key not in pathway_ids:
                raise RuleSetError(cid, f"severity.{key}", "not a pathway id")
        severity: list[tuple[str, Severity | None]] = []
        for pid in pathway_ids:
            if pid not in severity_raw:
                raise RuleSetError(cid, f"severity.{pid}", "missing")
        for key, value in severity_raw.items():
            if value == "contraindication" or value == "caution" or value is None:
                severity.append((key, value))
            else:
                raise RuleSetError(cid, f"severity.{key}", "must be contraindication, caution or null")
        source = _text(raw, "source", cid)
        return Caution(id=cid, criterion=criterion, severity=tuple(severity), source=source)


_KIND_NOUN: Final[Mapping[str, str]] = {"integer": "an integer", "number": "a number"}


def _check_at_least(spec: ParamSpec, values: Mapping[str, ParamValue], node_id: str) -> None:
    """A parameter declared ``at_least`` another (e.g. the oldest age, the youngest) is not below it."""
    if spec.at_least is None:
        return
    low, high = values[spec.at_least], values[spec.name]
    assert isinstance(low, int | Decimal) and isinstance(high, int | Decimal)  # declared: numbers, not nullable
    if high < low:
        raise RuleSetError(node_id, f"params.{spec.name}", f"must be {_KIND_NOUN[spec.kind]} ≥ {spec.at_least}")


def parse_rule_set(data: Mapping[str, Any]) -> RuleSet:
    """Validate a ``sle-screening-rules/1`` dict and build the RuleSet (RuleSetError if bad)."""
    where = "rule set"
    if not isinstance(data, Mapping):
        raise RuleSetError(where, "file", "must be a JSON object")
    _check_keys(data, _TOP_KEYS, _TOP_KEYS, where)
    if data["format"] != vocab.RULES_FORMAT:
        raise RuleSetError(where, "format", f"must be {vocab.RULES_FORMAT!r}")
    name = _text(data, "name", where)
    version = _text(data, "version", where)
    parser = _Parser()
    drugs = parser.drugs(data["drugs"])
    raw_pathways = _list(data["pathways"], where, "pathways", "pathway objects")
    if not raw_pathways:
        raise RuleSetError(where, "pathways", "must hold at least one pathway")
    pathways = tuple(parser.pathway(raw, i) for i, raw in enumerate(raw_pathways))
    pathway_ids = [p.id for p in pathways]
    raw_cautions = _list(data["cautions"], where, "cautions", "caution objects")
    cautions = tuple(parser.caution(raw, i, pathway_ids) for i, raw in enumerate(raw_cautions))
    return RuleSet(name=name, version=version, pathways=pathways, cautions=cautions, drugs=drugs)


# --------------------------------------------------------------------------
# Export


def _dump_value(value: ParamValue) -> Any:
    if isinstance(value, Decimal):
        # An integral Decimal written without a fraction was a JSON integer.
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def node_to_dict(node: Node) -> dict[str, Any]:
    """A node as it appears in a rule-set file."""
    if isinstance(node, Group):
        return {"id": node.id, node.op: [node_to_dict(child) for child in node.children]}
    out: dict[str, Any] = {
        "id": node.id,
        "type": node.type,
        "params": {f.name: _dump_value(getattr(node.params, f.name)) for f in fields(node.params)},
    }
    if node.source is not None:
        out["source"] = node.source
    return out


def rule_set_to_dict(rule_set: RuleSet) -> dict[str, Any]:
    """The rule-set file content (``sle-screening-rules/1``) of a RuleSet."""
    return {
        "format": rule_set.format,
        "name": rule_set.name,
        "version": rule_set.version,
        "pathways": [{"id": p.id, "label": p.label, "inclusion": node_to_dict(p.inclusion)} for p in rule_set.pathways],
        "cautions": [
            {
                "id": c.id,
                "criterion": node_to_dict(c.criterion),
                "severity": dict(c.severity),
                "source": c.source,
            }
            for c in rule_set.cautions
        ],
        "drugs": [
            {
                "drug": d.drug,
                "agent": d.agent,
                "class": d.drug_class,
                "dose_unit": d.dose_unit,
                "min_days": d.min_days,
                "min_dose": _dump_value(d.min_dose),
                "min_dose_per_kg": _dump_value(d.min_dose_per_kg),
                "prednisone_factor": _dump_value(d.prednisone_factor),
            }
            for d in rule_set.drugs
        ],
    }
