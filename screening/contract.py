"""The stored screening result: one versioned JSON shape, its one writer and its one reader.

``ScreeningResult.trace`` holds the engine's screening output (docs/case-files.md, "Screening a
case file": what ``screen_case`` prints) plus, per pathway, what the pages show: label,
headline, criteria not met, the missing-data checklist with structured needs, and per
caution the needs that would settle it. docs/results.md documents the shape and its
versions. ``build_trace`` writes it; ``read_trace`` / ``read_result`` turn a stored trace
(of any version) into frozen, typed views; ``read_outcomes`` reads the ``outcomes``
column. The patient pages, the referrals (queue, referral page, printout) and any export
read results through these views: no other module indexes trace keys or compares outcome
words (tests/screening/test_contract.py checks this).

Version history: 1 had no ``schema_version`` key (absent means 1): checklist items named
only the criterion type, and an unknown caution its criterion types (``settle``).
2 adds ``schema_version`` and ``needs`` (record kind, code, ref, text, form) on checklist
items and cautions; later version-2 rows also carry optional keys, read as empty when absent
(so no new version): ``refs`` on each caution, and per pathway ``next``, ``lapses_on`` and
``lapse_reason``. A reader for each version stays: results are never rewritten.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol, cast, get_args

from clinical import vocab
from screening import engine
from screening.engine.results import CautionStatus, Outcome, RecordKind, Result, deciding_leaves
from screening.engine.ruleset import Severity

SCHEMA_VERSION = 2
VERSIONS = (1, 2)

__all__ = [
    "OUTCOME_LABEL",
    "SCHEMA_VERSION",
    "CautionStatus",
    "CautionView",
    "CriterionView",
    "FormKey",
    "MissingItem",
    "NeedView",
    "Outcome",
    "PathwayView",
    "RecordKind",
    "RecordRef",
    "Result",
    "ResultView",
    "build_trace",
    "canonical_json",
    "content_hash",
    "outcome_of",
    "outcome_summary",
    "pack",
    "parse_ref",
    "read_outcomes",
    "read_result",
    "read_trace",
    "signature",
    "unpack",
    "view_of",
]

# The outcome vocabulary in words (docs/rule-sets.md, "How screening works"); the values are Outcome's.
OUTCOME_LABEL: dict[Outcome, str] = {
    Outcome.FLAGGED: "flagged",
    Outcome.NOT_FLAGGED: "not flagged",
    Outcome.INSUFFICIENT_DATA: "insufficient data",
}


class FormKey(StrEnum):
    """The patient form that records a kind of data; the patient pages map each key to its URL.

    The record-form keys are the ``kind`` of the patient record URLs, and the prefix of the refs
    ``screening.facts`` writes (``"treatments/12"``).
    """

    PATIENT = "patient"
    CLASSIFICATION = "classification"
    ASSESSMENTS = "assessments"
    MANIFESTATIONS = "manifestations"
    OBSERVATIONS = "observations"
    TREATMENTS = "treatments"
    CONDITIONS = "conditions"
    DAMAGE = "damage"


FORM_FOR_RECORD: dict[RecordKind, FormKey] = {
    RecordKind.PATIENT: FormKey.PATIENT,
    RecordKind.CLASSIFICATION: FormKey.CLASSIFICATION,
    RecordKind.ASSESSMENT: FormKey.ASSESSMENTS,
    RecordKind.MANIFESTATION: FormKey.MANIFESTATIONS,
    RecordKind.OBSERVATION: FormKey.OBSERVATIONS,
    RecordKind.TREATMENT: FormKey.TREATMENTS,
    RecordKind.CONDITION: FormKey.CONDITIONS,
    RecordKind.DAMAGE: FormKey.DAMAGE,
}
RECORD_FOR_FORM: dict[FormKey, RecordKind] = {form: record for record, form in FORM_FOR_RECORD.items()}
# Version 1 named only the criterion type of an unknown leaf: the form that records that type's data.
FORM_FOR_TYPE_V1: dict[str, FormKey] = {
    "sle_diagnosis": FormKey.CLASSIFICATION,
    "age_between": FormKey.PATIENT,
    "sledai_at_least": FormKey.ASSESSMENTS,
    "manifestation_active": FormKey.MANIFESTATIONS,
    "observation_compare": FormKey.OBSERVATIONS,
    "condition_present": FormKey.CONDITIONS,
    "damage_index_at_least": FormKey.DAMAGE,
    "glucocorticoid_dependent": FormKey.TREATMENTS,
    "failed_agents_at_least": FormKey.TREATMENTS,
}
# Patient values recorded on the diagnosis-basis form rather than the patient details form.
CLASSIFICATION_FIELDS = frozenset({"ana_titre", "eular_criteria", "criteria", "sle_attested"})


# --------------------------------------------------------------------------------------------
# Record refs


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where a ref points: a form, and the record's pk (an entry) or the field (a patient value)."""

    form: FormKey
    pk: int | None = None
    field: str | None = None


def parse_ref(ref: str | None) -> RecordRef | None:
    """A database ref (``"treatments/12"``, ``"patient.weight_kg"``) as a form and record; None otherwise."""
    if not ref:
        return None
    if ref.startswith("patient."):
        name = ref.split(".", 1)[1]
        return RecordRef(FormKey.CLASSIFICATION if name in CLASSIFICATION_FIELDS else FormKey.PATIENT, field=name)
    kind, _, pk = ref.partition("/")
    if kind in {form.value for form in FormKey} and pk.isdigit():
        return RecordRef(FormKey(kind), pk=int(pk))
    return None


# --------------------------------------------------------------------------------------------
# Typed views


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedView:
    """One piece of data that would settle an unknown criterion or caution, and the form that records it."""

    record: RecordKind
    code: str | None  # which one: observation or condition code, patient field, drug
    ref: str | None  # the recorded entry that lacks it; None when a new entry is needed
    text: str
    form: FormKey

    @property
    def record_pk(self) -> int | None:
        """The pk of the entry to complete, when it is one this form edits; None: add a new one."""
        target = parse_ref(self.ref)
        return target.pk if target is not None and target.form is self.form else None


@dataclass(frozen=True, slots=True, kw_only=True)
class MissingItem:
    """One line of a pathway's missing-data checklist, with the criterion it comes from and what it needs."""

    line: str
    criterion: str
    type: str
    refs: tuple[str, ...]
    needs: tuple[NeedView, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionView:
    """A criterion or group of a pathway's trace with its result and explanation."""

    id: str
    result: Result
    explanation: str
    type: str | None = None  # None for a group
    source: str | None = None
    refs: tuple[str, ...] = ()
    children: tuple[CriterionView, ...] = ()

    @property
    def is_group(self) -> bool:
        return self.type is None

    @property
    def met(self) -> bool:
        return self.result is Result.MET

    def met_leaves(self) -> tuple[CriterionView, ...]:
        """The criteria reached through met nodes: what made a met node met."""
        if not self.is_group:
            return (self,)
        return tuple(leaf for child in self.children if child.met for leaf in child.met_leaves())

    def first_met_leaf(self) -> CriterionView:
        """The first met criterion down the first met children (the node itself when none is)."""
        for child in self.children:
            if child.met:
                return child.first_met_leaf()
        return self


@dataclass(frozen=True, slots=True, kw_only=True)
class CautionView:
    id: str
    severity: Severity  # contraindication or caution, for this pathway
    status: CautionStatus
    explanation: str
    source: str
    needs: tuple[NeedView, ...] = ()  # what would settle it, when unknown
    refs: tuple[str, ...] = ()  # the records its criteria read; empty in results stored before refs were

    @property
    def label(self) -> str:
        """The caution's name in words (the rule set gives none): clinical.vocab's label, else the humanised id."""
        return vocab.caution_label(self.id)

    @property
    def is_contraindication(self) -> bool:
        return self.severity == "contraindication"

    @property
    def present(self) -> bool:
        return self.status is CautionStatus.PRESENT

    @property
    def absent(self) -> bool:
        return self.status is CautionStatus.ABSENT

    @property
    def unknown(self) -> bool:
        return self.status is CautionStatus.UNKNOWN


@dataclass(frozen=True, slots=True, kw_only=True)
class PathwayView:
    id: str
    label: str
    outcome: Outcome
    sentence: str
    why_not: tuple[str, ...]  # the criteria not met that decide a not-flagged outcome
    criteria: tuple[CriterionView, ...]  # the top-level criteria of the inclusion tree
    missing: tuple[MissingItem, ...]  # empty unless the outcome is insufficient data
    cautions: tuple[CautionView, ...]
    next: tuple[str, ...] = ()  # not flagged: the nearest ways to flagged, fewest facts first
    lapses_on: date | None = None  # flagged: the day the same facts stop flagging (within a year)
    lapse_reason: str | None = None

    @property
    def flagged(self) -> bool:
        return self.outcome is Outcome.FLAGGED

    @property
    def insufficient_data(self) -> bool:
        return self.outcome is Outcome.INSUFFICIENT_DATA

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABEL[self.outcome]

    @property
    def met_criteria(self) -> tuple[CriterionView, ...]:
        return tuple(c for c in self.criteria if c.met)

    @property
    def shown_cautions(self) -> tuple[CautionView, ...]:
        """Cautions present or unknown (absent ones are only counted)."""
        return tuple(c for c in self.cautions if not c.absent)

    @property
    def absent_cautions(self) -> tuple[CautionView, ...]:
        return tuple(c for c in self.cautions if c.absent)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultView:
    schema_version: int
    case_id: str
    as_of: date
    rule_set_name: str
    rule_set_version: str
    pathways: tuple[PathwayView, ...]

    def pathway(self, pathway_id: str) -> PathwayView | None:
        return next((p for p in self.pathways if p.id == pathway_id), None)

    @property
    def outcomes(self) -> dict[str, Outcome]:
        return {p.id: p.outcome for p in self.pathways}


# --------------------------------------------------------------------------------------------
# Writer


def short_label(pathway_id: str) -> str:
    return pathway_id.upper()


def _need_to_json(need: engine.Need) -> dict[str, Any]:
    return {
        "record": need.record.value,
        "code": need.code,
        "ref": need.ref,
        "text": need.text,
        "form": FORM_FOR_RECORD[need.record].value,
    }


def _checklist(pathway: engine.PathwayResult) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for leaf in deciding_leaves(pathway.inclusion, Result.UNKNOWN):
        for lack in leaf.lacks:
            if lack.line not in seen:
                seen.add(lack.line)
                items.append(
                    {
                        "line": lack.line,
                        "criterion": leaf.id,
                        "type": leaf.type,
                        "refs": list(leaf.refs),
                        "needs": [_need_to_json(n) for n in lack.needs],
                    }
                )
    return items


def _caution_needs(caution: engine.CautionResult) -> list[dict[str, Any]]:
    if caution.status is not CautionStatus.UNKNOWN:
        return []
    needs = dict.fromkeys(
        need for leaf in deciding_leaves(caution.node, Result.UNKNOWN) for lack in leaf.lacks for need in lack.needs
    )
    return [_need_to_json(n) for n in needs]


def build_trace(result: engine.ScreeningResult, *, case_id: str) -> dict[str, Any]:
    """What ``ScreeningResult.trace`` stores: the screening output with the display extras (version 2)."""
    trace: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **engine.result_to_dict(result, case_id=case_id)}
    for pathway in result.pathways:
        out = trace["pathways"][pathway.id]
        out["label"] = pathway.label
        out["sentence"] = engine.outcome_sentence(pathway.outcome, short_label(pathway.id))
        out["why_not"] = engine.why_not(result, pathway.id)
        out["checklist"] = _checklist(pathway)
        for caution_out, caution in zip(out["cautions"], pathway.cautions, strict=True):
            caution_out["needs"] = _caution_needs(caution)
    return trace


# --------------------------------------------------------------------------------------------
# Reader


class StoredResult(Protocol):
    """What the reader needs of a ``ScreeningResult`` row (the model stays out of this pure module)."""

    trace: Any
    outcomes: Any


def _need(data: Mapping[str, Any]) -> NeedView:
    return NeedView(
        record=RecordKind(data["record"]),
        code=data.get("code"),
        ref=data.get("ref"),
        text=data.get("text", ""),
        form=FormKey(data["form"]),
    )


def _v1_need(criterion_type: str, text: str) -> tuple[NeedView, ...]:
    form = FORM_FOR_TYPE_V1.get(criterion_type)
    if form is None:
        return ()
    return (NeedView(record=RECORD_FOR_FORM[form], code=None, ref=None, text=text, form=form),)


def _missing_item(data: Mapping[str, Any], version: int) -> MissingItem:
    line, kind = data["line"], data.get("type", "")
    needs = tuple(_need(n) for n in data.get("needs", ())) if version >= 2 else _v1_need(kind, line)
    return MissingItem(
        line=line, criterion=data.get("criterion", ""), type=kind, refs=tuple(data.get("refs", ())), needs=needs
    )


def _criterion(data: Mapping[str, Any]) -> CriterionView:
    is_group = "children" in data
    return CriterionView(
        id=data["id"],
        result=Result(data["result"]),
        explanation=data.get("explanation", ""),
        type=None if is_group else data.get("type", ""),
        source=data.get("source"),
        refs=tuple(data.get("refs", ())),
        children=tuple(_criterion(child) for child in data.get("children", ())),
    )


def _severity(value: Any) -> Severity:
    if value not in get_args(Severity):
        raise ValueError(f"{value!r} is not a caution severity")
    return cast(Severity, value)


def _caution(data: Mapping[str, Any], version: int) -> CautionView:
    explanation = data.get("explanation", "")
    if version >= 2:
        needs = tuple(_need(n) for n in data.get("needs", ()))
    else:
        needs = tuple(n for kind in data.get("settle", ()) for n in _v1_need(kind, explanation))
    return CautionView(
        id=data["id"],
        severity=_severity(data["severity"]),
        status=CautionStatus(data["status"]),
        explanation=explanation,
        source=data.get("source") or "",
        needs=needs,
        refs=tuple(data.get("refs", ())),
    )


def _pathway(pathway_id: str, data: Mapping[str, Any], version: int) -> PathwayView:
    outcome = Outcome(data["outcome"])
    missing = tuple(_missing_item(item, version) for item in data.get("checklist", ()))
    return PathwayView(
        id=pathway_id,
        label=data.get("label") or pathway_id,
        outcome=outcome,
        sentence=data.get("sentence") or engine.outcome_sentence(outcome, short_label(pathway_id)),
        why_not=tuple(data.get("why_not", ())),
        criteria=tuple(_criterion(node) for node in data.get("criteria", ())),
        missing=missing if outcome is Outcome.INSUFFICIENT_DATA else (),
        cautions=tuple(_caution(c, version) for c in data.get("cautions", ())),
        next=tuple(data.get("next") or ()),
        lapses_on=date.fromisoformat(data["lapses_on"]) if data.get("lapses_on") else None,
        lapse_reason=data.get("lapse_reason") or None,
    )


def read_trace(trace: Mapping[str, Any]) -> ResultView:
    """A stored trace (any version; no ``schema_version`` key means version 1) as typed views.

    Also reads the bare screening output (``engine.result_to_dict``), which is version 1 less
    the display extras. Raises ValueError for a version this code does not know.
    """
    version = trace.get("schema_version", 1)
    if version not in VERSIONS:
        raise ValueError(f"screening result schema_version {version!r} is not one of {VERSIONS}")
    rule_set = trace.get("rule_set", {})
    return ResultView(
        schema_version=version,
        case_id=trace.get("case_id", ""),
        as_of=date.fromisoformat(trace["as_of"]),
        rule_set_name=rule_set.get("name", ""),
        rule_set_version=rule_set.get("version", ""),
        pathways=tuple(_pathway(pid, data, version) for pid, data in trace.get("pathways", {}).items()),
    )


def read_result(result: StoredResult) -> ResultView:
    """A stored ``ScreeningResult`` as typed views (reads its ``trace``; no query)."""
    return read_trace(result.trace)


def view_of(result: engine.ScreeningResult, *, case_id: str) -> ResultView:
    """An engine result as the views a stored one would give (for results that are not stored)."""
    return read_trace(build_trace(result, case_id=case_id))


def read_outcomes(outcomes: Mapping[str, str] | str | None) -> dict[str, Outcome]:
    """The ``outcomes`` column (pathway id → outcome) as Outcome values.

    Accepts the JSON text some databases hand back for a JSON value read through a subquery.
    """
    data: Mapping[str, str] = json.loads(outcomes) if isinstance(outcomes, str) else outcomes or {}
    return {pathway: Outcome(value) for pathway, value in data.items()}


def outcome_of(result: StoredResult | None, pathway_id: str) -> Outcome | None:
    """A stored result's outcome for one pathway (None when there is no result or no such pathway)."""
    if result is None:
        return None
    return read_outcomes(result.outcomes).get(pathway_id)


def outcome_summary(outcomes: Mapping[str, str] | str | None) -> str:
    """Outcomes in words, e.g. "HSCT flagged; MSC not flagged"."""
    return "; ".join(f"{short_label(p)} {OUTCOME_LABEL[o]}" for p, o in read_outcomes(outcomes).items())


# --------------------------------------------------------------------------------------------
# Lean storage and sameness (docs/results.md, "How results are stored" and "Unchanged results")
#
# Since storage version 3 (migration 0011) a row keeps its trace zlib-compressed in ``trace_z``
# and its facts once per distinct content in ``ScreeningBlob`` (keyed by the SHA-256 of their
# canonical JSON); rows written before keep plain JSON until the migration moves them, and the
# reader takes either. ``signature`` is what "the same result" means: two results of the same
# rule set and the same facts whose signatures are equal differ at most in the as-of date and the
# words and numbers that follow from it.

_NUMBER = re.compile(r"\d+")


def canonical_json(data: Any) -> bytes:
    """The one byte form of a JSON value (sorted keys, no spaces): what is hashed and compressed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(data: Any) -> str:
    """SHA-256 (hex) of the canonical JSON: the key of a stored blob."""
    return hashlib.sha256(canonical_json(data)).hexdigest()


def pack(data: Any) -> bytes:
    """JSON compressed for storage (zlib of the canonical JSON)."""
    return zlib.compress(canonical_json(data), 6)


def unpack(blob: bytes | memoryview | None) -> Any:
    """What ``pack`` stored (None for None)."""
    if blob is None:
        return None
    return json.loads(zlib.decompress(bytes(blob)))


def _words(text: Any) -> Any:
    """Text with every number masked: ages, day counts and dates move with the as-of date."""
    return _NUMBER.sub("#", text) if isinstance(text, str) else text


def _need_key(need: Mapping[str, Any]) -> list[Any]:
    return [need.get("record"), need.get("code"), need.get("ref"), need.get("form"), _words(need.get("text"))]


def _node_key(node: Mapping[str, Any]) -> list[Any]:
    return [
        node.get("id"),
        node.get("result"),
        node.get("type"),
        list(node.get("refs", ())),
        _words(node.get("explanation", "")),
        [_node_key(child) for child in node.get("children", ())],
    ]


def _pathway_key(data: Mapping[str, Any]) -> list[Any]:
    return [
        data.get("outcome"),
        data.get("label"),
        _words(data.get("sentence")),
        [_node_key(node) for node in data.get("criteria", ())],
        [
            [c.get("id"), c.get("severity"), c.get("status"), list(c.get("refs", ())), _words(c.get("explanation"))]
            + [[_need_key(n) for n in c.get("needs", ())]]
            for c in data.get("cautions", ())
        ],
        [
            [i.get("criterion"), i.get("type"), list(i.get("refs", ())), _words(i.get("line"))]
            + [[_need_key(n) for n in i.get("needs", ())]]
            for i in data.get("checklist", ())
        ],
        [_words(line) for line in data.get("why_not", ())],
        [_words(line) for line in data.get("next") or ()],
        data.get("lapses_on"),
        _words(data.get("lapse_reason")),
    ]


def signature(trace: Mapping[str, Any]) -> str:
    """What must be equal for a new screening to count as unchanged (with the same rule set and facts):
    outcomes, every criterion's result and the records it read, every caution's status, the missing
    data and what would settle it, the nearest ways to a flag and the lapse date; explanations with
    their numbers masked (dates, ages and day counts follow the as-of date). Not the as-of date."""
    rule_set = trace.get("rule_set", {})
    key = [
        trace.get("schema_version", 1),
        trace.get("case_id"),
        rule_set.get("name"),
        rule_set.get("version"),
        sorted([pid, _pathway_key(data)] for pid, data in trace.get("pathways", {}).items()),
    ]
    return content_hash(key)
