"""What the screening panels show of a stored result: links to forms and records, groups, badges.

Reads results only through ``screening.contract`` (typed views); links come from the structured
needs and refs there, never from the words of a line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

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

    @property
    def id(self) -> str:
        return self.node.id

    @property
    def explanation(self) -> str:
        return self.node.explanation

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


@dataclass
class PathwayPanel:
    view: PathwayView
    style: str
    criteria: list[CriterionRow]
    checklist: list[ChecklistRow]
    contraindications: list[CautionRow] = field(default_factory=list)
    cautions: list[CautionRow] = field(default_factory=list)

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
        return self.view.why_not

    @property
    def caution_groups(self) -> list[dict[str, Any]]:
        """Contraindications, then cautions: present and unknown shown, absent folded away."""
        groups = []
        for title, rows in (("Contraindications", self.contraindications), ("Cautions", self.cautions)):
            if rows:
                groups.append(
                    {
                        "title": title,
                        "shown": [r for r in rows if not r.caution.absent],
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
        return Link(target.field.replace("_", " "), _form_url(patient, target.form))
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


def _criteria(patient: Patient, nodes: Iterable[CriterionView]) -> list[CriterionRow]:
    return [
        CriterionRow(
            node=node,
            badge=RESULT_BADGE[node.result],
            word=RESULT_WORD[node.result],
            links=tuple(ref_link(patient, r) for r in node.refs),
            children=tuple(_criteria(patient, node.children)),
        )
        for node in nodes
    ]


def pathway_panel(patient: Patient, view: PathwayView) -> PathwayPanel:
    p = PathwayPanel(
        view=view,
        style=OUTCOME_STYLE[view.outcome],
        criteria=_criteria(patient, view.criteria),
        checklist=[ChecklistRow(item=item, links=settle_links(patient, item.needs)) for item in view.missing],
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
