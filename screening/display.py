"""What the screening panels show of a stored result: links to forms and records, groups, badges.

Reads results only through ``screening.contract`` (typed views); links come from the structured
needs and refs there, never from the words of a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.urls import reverse

from clinical import vocab
from patients.models import Patient
from screening import engine
from screening.contract import (
    OUTCOME_LABEL,
    CautionStatus,
    CautionView,
    CriterionView,
    FormKey,
    MissingItem,
    NeedView,
    Outcome,
    PathwayView,
    Result,
    parse_ref,
    read_outcomes,
    read_result,
)
from screening.engine.criterion_types import CRITERION_TYPES
from screening.facts import facts_from_records

RESULT_BADGE = {Result.MET: "success", Result.NOT_MET: "secondary", Result.UNKNOWN: "warning"}
RESULT_WORD = {Result.MET: "met", Result.NOT_MET: "not met", Result.UNKNOWN: "unknown"}
OUTCOME_STYLE = {Outcome.FLAGGED: "primary", Outcome.NOT_FLAGGED: "secondary", Outcome.INSUFFICIENT_DATA: "warning"}
# The patient list: a lighter badge for "not flagged", and shorter words for insufficient data.
LIST_STYLE = {**OUTCOME_STYLE, Outcome.NOT_FLAGGED: "light border"}
LIST_WORDS = {**OUTCOME_LABEL, Outcome.INSUFFICIENT_DATA: "data missing"}
CAUTION_STYLE = {CautionStatus.PRESENT: "danger", CautionStatus.ABSENT: "success", CautionStatus.UNKNOWN: "warning"}

ADD_TEXT = {
    FormKey.ASSESSMENTS: "add an assessment",
    FormKey.OBSERVATIONS: "add a lab result",
    FormKey.CONDITIONS: "record a work-up status",
    FormKey.DAMAGE: "add a damage index",
    FormKey.TREATMENTS: "add a treatment course",
    FormKey.MANIFESTATIONS: "add a manifestation",
}


# The patient values a criterion reads, as a link's words (the field names stay out of the page).
FIELD_WORDS = {
    "birth_date": "birth date",
    "sex": "sex",
    "weight_kg": "weight",
    "sle_attested": "SLE attestation",
    "ana_titre": "ANA titre",
    "eular_criteria": "EULAR/ACR criteria",
    "criteria": "EULAR/ACR criteria",
}
# Criteria that hold for nearly every patient screened: never among the facts that decided an outcome.
GENERIC_TYPES = frozenset({"sle_diagnosis", "age_between"})
# How many deciding facts the summary shows per pathway (the rest are in the full criteria).
SUMMARY_FACTS = 3
# A part of an explanation this long, already shown in the same pathway, is not repeated.
REPEAT_MIN = 60


def criterion_label(node: CriterionView) -> str:
    """A criterion in words: its type's label ("SLEDAI-2K at least"); a group, its humanised id's last part."""
    kind = CRITERION_TYPES.get(node.type or "")
    if kind is not None:
        return kind.label
    return vocab.humanise(node.id.rsplit(".", 1)[-1])


def criterion_labels(nodes: Iterable[CriterionView]) -> dict[str, str]:
    """Every criterion id of a tree → its label."""
    labels: dict[str, str] = {}
    for node in nodes:
        labels[node.id] = criterion_label(node)
        labels.update(criterion_labels(node.children))
    return labels


def plain(text: str, labels: Mapping[str, str]) -> str:
    """Text of a stored result with the criterion ids it names replaced by their labels."""
    if not text or not labels:
        return text
    ids = sorted(labels, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(i) for i in ids) + r")(?![\w.])")
    return pattern.sub(lambda m: labels[m.group(1)], text)


def unrepeat(text: str, seen: set[str]) -> str:
    """An explanation without the long parts already shown (``seen``, updated): "courses: as above"."""
    parts = []
    for part in text.split("; "):
        if len(part) >= REPEAT_MIN and part in seen:
            head, sep, _rest = part.partition(": ")
            parts.append(f"{head}: as above" if sep and len(head) <= 30 else "as above")
            continue
        if len(part) >= REPEAT_MIN:
            seen.add(part)
        parts.append(part)
    return "; ".join(parts)


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class CriterionRow:
    node: CriterionView
    badge: str
    word: str
    links: tuple[Link, ...] = ()
    children: tuple[CriterionRow, ...] = ()
    label: str = ""
    text: str = ""  # the explanation, without what the same pathway already showed

    @property
    def id(self) -> str:
        return self.node.id

    @property
    def explanation(self) -> str:
        return self.text or self.node.explanation

    @property
    def source(self) -> str | None:
        return self.node.source


@dataclass(frozen=True)
class ChecklistRow:
    item: MissingItem
    links: tuple[Link, ...]

    @property
    def line(self) -> str:
        return self.item.line


@dataclass(frozen=True)
class CautionRow:
    caution: CautionView
    badge: str
    links: tuple[Link, ...] = ()

    @property
    def label(self) -> str:
        return self.caution.label

    @property
    def status(self) -> CautionStatus:
        return self.caution.status

    @property
    def explanation(self) -> str:
        return self.caution.explanation

    @property
    def source(self) -> str:
        return self.caution.source


@dataclass(frozen=True)
class Fact:
    """One fact that decided a pathway's outcome, in words: the criterion's label and what it found."""

    label: str
    text: str


@dataclass
class PathwayPanel:
    view: PathwayView
    style: str
    criteria: list[CriterionRow]
    checklist: list[ChecklistRow]
    contraindications: list[CautionRow] = field(default_factory=list)
    cautions: list[CautionRow] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # criterion id → label, for the result's texts

    @property
    def id(self) -> str:
        return self.view.id

    @property
    def label(self) -> str:
        return self.view.label

    @property
    def outcome(self) -> Outcome:
        return self.view.outcome

    @property
    def sentence(self) -> str:
        return self.view.sentence

    @property
    def why_not(self) -> tuple[str, ...]:
        """The criteria not met that decide a not-flagged outcome, named by their labels."""
        return tuple(plain(line, self.labels) for line in self.view.why_not)

    @property
    def next(self) -> tuple[str, ...]:
        """The nearest ways to a flag, criteria named by their labels."""
        return tuple(plain(line, self.labels) for line in self.view.next)

    @property
    def lapses_on(self) -> date | None:
        return self.view.lapses_on

    @property
    def lapse_reason(self) -> str | None:
        reason = self.view.lapse_reason
        return plain(reason, self.labels) if reason else reason

    @property
    def facts(self) -> list[Fact]:
        """The two or three facts that decided the outcome (the summary's "because")."""
        return self.all_facts[:SUMMARY_FACTS]

    @property
    def facts_title(self) -> str:
        if self.view.flagged:
            return "Flagged because"
        if self.view.insufficient_data:
            return "Not yet known"
        return "Criteria not met"

    @property
    def more_facts(self) -> int:
        """How many more deciding facts the full criteria show beyond the summary's."""
        return max(0, len(self.all_facts) - SUMMARY_FACTS)

    @property
    def all_facts(self) -> list[Fact]:
        """The facts that decided the outcome. Flagged: what met each met criterion (the generic diagnosis
        and age left out); not flagged: the criteria not met that decide it; insufficient data: the unknown
        criteria (the checklist says what would settle them). No explanation twice."""
        view = self.view
        if view.flagged:
            leaves = [c.first_met_leaf() for c in view.met_criteria if c.type not in GENERIC_TYPES]
        else:
            wanted = Result.NOT_MET if view.outcome is Outcome.NOT_FLAGGED else Result.UNKNOWN
            leaves = [leaf for c in view.criteria for leaf in _deciding(c, wanted)]
        seen: set[str] = set()
        facts = []
        for leaf in leaves:
            key = leaf.explanation.split("; ")[0]
            if key not in seen:
                seen.add(key)
                facts.append(Fact(label=criterion_label(leaf), text=_gist(leaf.explanation)))
        return facts

    @property
    def stops(self) -> list[CautionRow]:
        """Contraindications present: the summary names them first."""
        return [r for r in self.contraindications if r.caution.present]

    @property
    def present_cautions(self) -> list[CautionRow]:
        return [r for r in self.cautions if r.caution.present]

    @property
    def unknown_cautions(self) -> list[CautionRow]:
        """Contraindications and cautions not yet known (work-up incomplete)."""
        return [r for r in (*self.contraindications, *self.cautions) if r.caution.unknown]

    @property
    def absent_count(self) -> int:
        return sum(1 for r in (*self.contraindications, *self.cautions) if r.caution.absent)

    @property
    def caution_groups(self) -> list[dict[str, Any]]:
        """Contraindications, then cautions: present, not yet known (unknown) and checked and absent apart."""
        groups = []
        for title, rows in (("Contraindications", self.contraindications), ("Cautions", self.cautions)):
            if rows:
                groups.append(
                    {
                        "title": title,
                        "shown": [r for r in rows if not r.caution.absent],
                        "present": [r for r in rows if r.caution.present],
                        "unknown": [r for r in rows if r.caution.unknown],
                        "absent": [r for r in rows if r.caution.absent],
                    }
                )
        return groups


@dataclass(frozen=True)
class OutcomeBadge:
    pathway: str
    outcome: Outcome
    words: str
    style: str


def ref_link(patient: Patient, ref: str) -> Link:
    """A link to the record or patient field a criterion read."""
    target = parse_ref(ref)
    if target is None:
        return Link(ref, reverse("patients:detail", kwargs={"pk": patient.pk}))
    if target.field is not None:
        words = FIELD_WORDS.get(target.field, target.field.replace("_", " "))
        return Link(words, _form_url(patient, target.form))
    kind = target.form.value
    assert target.pk is not None
    return Link(
        f"{kind[:-1] if kind.endswith('s') else kind} #{target.pk}",
        reverse("patients:record_edit", kwargs={"pk": patient.pk, "kind": kind, "rid": target.pk}),
    )


def _form_url(patient: Patient, form: FormKey) -> str:
    if form is FormKey.CLASSIFICATION:
        return reverse("patients:classification", kwargs={"pk": patient.pk})
    if form is FormKey.PATIENT:
        return reverse("patients:edit", kwargs={"pk": patient.pk})
    return reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": form.value})


def settle_link(patient: Patient, need: NeedView) -> Link:
    """The form that records a missing piece of data: the entry that lacks it, or a new one."""
    if need.form is FormKey.CLASSIFICATION:
        return Link("record ANA and criteria", _form_url(patient, need.form))
    if need.form is FormKey.PATIENT:
        return Link("edit patient details", _form_url(patient, need.form))
    if need.record_pk is not None and need.ref is not None:
        return ref_link(patient, need.ref)
    return Link(ADD_TEXT[need.form], _form_url(patient, need.form))


def settle_links(patient: Patient, needs: Iterable[NeedView]) -> tuple[Link, ...]:
    """One link per distinct form among the needs, in order."""
    links: dict[str, Link] = {}
    for need in needs:
        link = settle_link(patient, need)
        links.setdefault(link.url, link)
    return tuple(links.values())


def _gist(explanation: str, limit: int = 160) -> str:
    """An explanation's first part, and the parts after it while short enough to read at a glance."""
    parts = explanation.split("; ")
    text = parts[0]
    for part in parts[1:]:
        if len(text) + len(part) + 2 > limit:
            break
        text = f"{text}; {part}"
    return text


def _deciding(node: CriterionView, wanted: Result) -> list[CriterionView]:
    """The criteria with the result ``wanted`` that give a node that result (all of them under a group)."""
    if node.result is not wanted:
        return []
    if node.is_group:
        return [leaf for child in node.children for leaf in _deciding(child, wanted)]
    return [node]


def _criteria(patient: Patient, nodes: Iterable[CriterionView], seen: set[str] | None = None) -> list[CriterionRow]:
    """The criterion tree's rows, in order; a long part of an explanation shown above is not repeated."""
    seen = set() if seen is None else seen
    rows = []
    for node in nodes:
        text = unrepeat(node.explanation, seen) if not node.is_group else node.explanation
        rows.append(
            CriterionRow(
                node=node,
                badge=RESULT_BADGE[node.result],
                word=RESULT_WORD[node.result],
                links=tuple(ref_link(patient, r) for r in node.refs),
                children=tuple(_criteria(patient, node.children, seen)),
                label=criterion_label(node),
                text=text,
            )
        )
    return rows


def pathway_panel(patient: Patient, view: PathwayView) -> PathwayPanel:
    p = PathwayPanel(
        view=view,
        style=OUTCOME_STYLE[view.outcome],
        criteria=_criteria(patient, view.criteria),
        checklist=[ChecklistRow(item=item, links=settle_links(patient, item.needs)) for item in view.missing],
        labels=criterion_labels(view.criteria),
    )
    for caution in view.cautions:
        row = CautionRow(
            caution=caution, badge=CAUTION_STYLE[caution.status], links=settle_links(patient, caution.needs)
        )
        (p.contraindications if caution.is_contraindication else p.cautions).append(row)
    return p


def panel(patient: Patient, result: Any) -> list[PathwayPanel]:
    """One panel per pathway of a stored result."""
    return [pathway_panel(patient, view) for view in read_result(result).pathways]


def outcome_badges(outcomes: Any) -> list[OutcomeBadge]:
    """The patient list's badges for a stored ``outcomes`` value, by pathway."""
    return [
        OutcomeBadge(pathway=pathway, outcome=outcome, words=LIST_WORDS[outcome], style=LIST_STYLE[outcome])
        for pathway, outcome in sorted(read_outcomes(outcomes).items())
    ]


def record_hints(summary: Any) -> list[dict[str, Any]]:
    """Where the patient's records seem to disagree, each with links to the records it read. Hints are for a
    person to look at; screening never reads them. No query: the summary's records are already read."""
    s = summary
    facts = facts_from_records(
        s.patient,
        assessments=s.assessments,
        damage=s.damage,
        manifestations=s.manifestations,
        observations=s.observations,
        treatments=s.treatments,
        conditions=s.conditions,
    )
    return [
        {"text": hint.text, "links": [ref_link(s.patient, ref) for ref in hint.refs]}
        for hint in engine.consistency_hints(facts, s.today)
    ]
