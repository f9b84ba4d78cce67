"""Turn a stored screening trace into what the patient's panel shows: links, groups, badges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from patients.models import Patient

RESULT_BADGE = {"met": "success", "not_met": "secondary", "unknown": "warning"}
RESULT_WORD = {"met": "met", "not_met": "not met", "unknown": "unknown"}
OUTCOME_STYLE = {"flagged": "primary", "not_flagged": "secondary", "insufficient_data": "warning"}
STATUS_BADGE = {"present": "danger", "absent": "success", "unknown": "warning"}

# Which form settles an unknown criterion of each type (observation/condition forms get the code).
ADD_FORM = {
    "sledai_at_least": "assessments",
    "observation_compare": "observations",
    "condition_present": "conditions",
    "damage_index_at_least": "damage",
    "glucocorticoid_dependent": "treatments",
    "failed_agents_at_least": "treatments",
    "manifestation_active": "manifestations",
}


ADD_TEXT = {
    "assessments": "add an assessment",
    "observations": "add a lab result",
    "conditions": "record a work-up status",
    "damage": "add a damage index",
    "treatments": "add a treatment course",
    "manifestations": "add a manifestation",
}


@dataclass
class Link:
    text: str
    url: str


@dataclass
class PathwayPanel:
    id: str
    label: str
    outcome: str
    sentence: str
    style: str
    criteria: list[dict[str, Any]]
    why_not: list[str]
    checklist: list[dict[str, Any]]
    contraindications: list[dict[str, Any]] = field(default_factory=list)
    cautions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def caution_groups(self) -> list[dict[str, Any]]:
        """Contraindications, then cautions: present and unknown shown, absent folded away."""
        groups = []
        for title, rows in (("Contraindications", self.contraindications), ("Cautions", self.cautions)):
            if rows:
                groups.append(
                    {
                        "title": title,
                        "shown": [r for r in rows if r["status"] != "absent"],
                        "absent": [r for r in rows if r["status"] == "absent"],
                    }
                )
        return groups


def ref_link(patient: Patient, ref: str) -> Link:
    """A link to the record or patient field a criterion read."""
    if ref.startswith("patient."):
        name = ref.split(".", 1)[1]
        target = (
            "patients:classification" if name in {"ana_titre", "eular_criteria", "sle_attested"} else "patients:edit"
        )
        return Link(name.replace("_", " "), reverse(target, kwargs={"pk": patient.pk}))
    kind, _, pk = ref.partition("/")
    if pk.isdigit():
        return Link(
            f"{kind[:-1] if kind.endswith('s') else kind} #{pk}",
            reverse("patients:record_edit", kwargs={"pk": patient.pk, "kind": kind, "rid": int(pk)}),
        )
    return Link(ref, reverse("patients:detail", kwargs={"pk": patient.pk}))


def settle_link(patient: Patient, item: dict[str, Any], facts: dict[str, Any]) -> Link:
    """The form that would settle a missing-data line."""
    line, kind = item["line"].lower(), item["type"]
    if kind == "sle_diagnosis":
        return Link("record ANA and criteria", reverse("patients:classification", kwargs={"pk": patient.pk}))
    if kind == "age_between" or "weight" in line:
        return Link("edit patient details", reverse("patients:edit", kwargs={"pk": patient.pk}))
    if kind in {"failed_agents_at_least", "glucocorticoid_dependent"}:
        if "assessment" in line or "sledai" in line:
            return add_link(patient, "assessments")
        for course in facts.get("treatments", []):
            if course["drug"].replace("_", " ") in line.replace("_", " ") and course["start"] in line:
                return ref_link(patient, course["ref"]) if "/" in course["ref"] else Link("treatments", "#treatments")
    return add_link(patient, ADD_FORM.get(kind, "assessments"))


def add_link(patient: Patient, kind: str) -> Link:
    return Link(ADD_TEXT[kind], reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": kind}))


def _criteria(patient: Patient, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for node in nodes:
        row = {**node, "badge": RESULT_BADGE[node["result"]], "word": RESULT_WORD[node["result"]]}
        if "children" in node:
            row["children"] = _criteria(patient, node["children"])
        else:
            row["links"] = [ref_link(patient, r) for r in node.get("refs", [])]
        out.append(row)
    return out


def panel(patient: Patient, result: Any) -> list[PathwayPanel]:
    """One panel per pathway of a stored result."""
    panels = []
    for pid, data in result.trace["pathways"].items():
        p = PathwayPanel(
            id=pid,
            label=data.get("label", pid),
            outcome=data["outcome"],
            sentence=data.get("sentence", ""),
            style=OUTCOME_STYLE[data["outcome"]],
            criteria=_criteria(patient, data["criteria"]),
            why_not=data.get("why_not", []),
            checklist=[{**item, "link": settle_link(patient, item, result.facts)} for item in data.get("checklist", [])]
            if data["outcome"] == "insufficient_data"
            else [],
        )
        for caution in data["cautions"]:
            row = {
                **caution,
                "badge": STATUS_BADGE[caution["status"]],
                "label": caution["id"].replace("_", " ").capitalize(),
            }
            if caution.get("settle"):
                row["link"] = add_link(patient, ADD_FORM.get(caution["settle"][0], "conditions"))
            (p.contraindications if caution["severity"] == "contraindication" else p.cautions).append(row)
        panels.append(p)
    return panels
