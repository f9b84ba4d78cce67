"""The printable referral summary: what an evaluating centre needs on one page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from accounts.dates import show_date
from clinical import vocab
from patients.models import Observation, TreatmentCourse
from patients.summary import KEY_LABS, PatientSummary
from screening import engine
from screening.contract import CautionView, CriterionView, PathwayView, short_label
from screening.engine.criterion_types import ObservationCompareParams
from screening.facts import facts_from_records

SOURCES = Path(__file__).resolve().parent.parent / "screening" / "data" / "sources.json"
SVG_W, SVG_H, PAD_L, PAD_B, PAD_T, PAD_R = 520, 130, 30, 22, 8, 10


@lru_cache(maxsize=1)
def citations() -> dict[str, str]:
    """The source keys of the rule sets (S1, S2, …) and their citations."""
    try:
        return json.loads(SOURCES.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def source_keys(sources: list[str | None]) -> list[str]:
    """Source keys (S1, S2, …) cited by criteria and cautions, in order of first appearance."""
    keys: list[str] = []
    for source in sources:
        keys.extend(k for k in re.findall(r"\bS\d+\b", source or "") if k not in keys)
    return keys


@dataclass
class SledaiChart:
    """SLEDAI-2K over time as an inline SVG polyline (prints reliably; no script)."""

    width: int = SVG_W
    height: int = SVG_H
    points: str = ""
    dots: list[dict[str, Any]] = field(default_factory=list)
    y_ticks: list[dict[str, Any]] = field(default_factory=list)
    x_labels: list[dict[str, Any]] = field(default_factory=list)
    label: str = ""


def sledai_chart(summary: PatientSummary) -> SledaiChart | None:
    series = summary.sledai_series
    if not series:
        return None
    top = max(12, *(p["high"] for p in series))
    top = ((top + 3) // 4) * 4
    first = summary.assessments[-1].date
    last = summary.assessments[0].date
    span = max((last - first).days, 1)
    inner_w, inner_h = SVG_W - PAD_L - PAD_R, SVG_H - PAD_T - PAD_B

    def xy(day: Any, value: int) -> tuple[float, float]:
        x = PAD_L + (inner_w * (day - first).days / span if len(series) > 1 else inner_w / 2)
        return round(x, 1), round(PAD_T + inner_h * (1 - value / top), 1)

    chart = SledaiChart()
    dots = []
    for a in reversed(summary.assessments):
        x, y = xy(a.date, a.sledai_low)
        dots.append({"x": x, "y": y, "value": a.sledai_display, "date": a.date})
    chart.dots = dots
    chart.points = " ".join(f"{d['x']},{d['y']}" for d in dots)
    chart.y_ticks = [{"y": xy(first, v)[1], "value": v} for v in range(0, top + 1, top // 4)]
    chart.x_labels = [dots[0]] if len(dots) == 1 else [dots[0], dots[-1]]
    chart.label = "SLEDAI-2K over time: " + "; ".join(f"{show_date(d['date'])} {d['value']}" for d in dots)
    return chart


def _nodes(node: engine.Node) -> list[engine.Criterion]:
    if isinstance(node, engine.Group):
        return [leaf for child in node.children for leaf in _nodes(child)]
    return [node]


def observation_codes_read(rule_set: engine.RuleSet) -> list[str]:
    """Every lab or function test a criterion or caution of the rule set reads (observation_compare), in the
    order of the patient page's key labs, then the catalogue's."""
    roots = [p.inclusion for p in rule_set.pathways] + [c.criterion for c in rule_set.cautions]
    read = {
        leaf.params.code for root in roots for leaf in _nodes(root) if isinstance(leaf.params, ObservationCompareParams)
    }
    order = list(KEY_LABS) + [c for c in vocab.OBSERVATIONS if c not in KEY_LABS]
    return sorted(read, key=lambda code: order.index(code) if code in order else len(order))


@dataclass(frozen=True)
class LabRow:
    """One lab or function test on the printout: its latest result, or None (not recorded)."""

    code: str
    label: str
    unit: str
    latest: Observation | None
    read_by_rules: bool

    @property
    def unit_text(self) -> str:
        """The unit after a value: "mL/min/1.73m²", or a scale's range in brackets ("(scale 0–5)")."""
        return f"(scale {self.unit})" if self.unit[:1].isdigit() else self.unit


def lab_rows(summary: PatientSummary, codes_read: list[str]) -> list[LabRow]:
    """Every test the rules read (latest result or "not recorded"), then every other test recorded."""
    latest = {o.code: o for o in summary.latest_labs}

    def row(code: str, read: bool) -> LabRow:
        known = vocab.OBSERVATIONS.get(code)
        return LabRow(
            code=code,
            label=known.label if known else code,
            unit=known.unit if known else "",
            latest=latest.get(code),
            read_by_rules=read,
        )

    return [row(c, True) for c in codes_read] + [
        row(o.code, False) for o in summary.latest_labs if o.code not in codes_read
    ]


@dataclass(frozen=True)
class JudgedCourse:
    """A course on the printout with the engine's judgement of it (one line per pathway when they differ)."""

    course: TreatmentCourse
    verdict: engine.CourseVerdict

    @property
    def lines(self) -> list[str]:
        """The judgement in words: "failed: stopped for …" or, per pathway, "HSCT failed: …"."""
        if self.verdict.uniform:
            return [self.verdict.judgements[0].reason]
        return [
            f"{', '.join(short_label(p) for p in j.pathways)} {j.verdict}: {j.reason}" for j in self.verdict.judgements
        ]

    @property
    def missing(self) -> list[str]:
        return list(dict.fromkeys(m for j in self.verdict.judgements for m in j.missing))


@dataclass
class TreatmentJudgements:
    """The courses the rules' failure criteria read, sorted by the engine's verdict (oldest first in each)."""

    failed: list[JudgedCourse] = field(default_factory=list)  # failed for at least one pathway
    undetermined: list[JudgedCourse] = field(default_factory=list)  # failed for none, undetermined for one
    not_failed: list[JudgedCourse] = field(default_factory=list)  # not failed for every pathway


def judge_treatments(summary: PatientSummary, rule_set: engine.RuleSet, as_of: Any) -> TreatmentJudgements:
    """The engine's verdict on each course (``engine.course_verdicts``) from the records the summary read."""
    facts = facts_from_records(
        summary.patient,
        assessments=summary.assessments,
        damage=summary.damage,
        manifestations=summary.manifestations,
        observations=summary.observations,
        treatments=summary.treatments,
        conditions=summary.conditions,
    )
    verdicts = engine.course_verdicts(rule_set, facts, as_of)
    out = TreatmentJudgements()
    for course in sorted(summary.treatments, key=lambda t: (t.start, t.pk)):
        verdict = verdicts.get(f"treatments/{course.pk}")
        if verdict is None:
            continue
        judged = JudgedCourse(course, verdict)
        found = verdict.verdicts()
        if engine.FAILED in found:
            out.failed.append(judged)
        elif engine.UNDETERMINED in found:
            out.undetermined.append(judged)
        else:
            out.not_failed.append(judged)
    return out


@dataclass(frozen=True)
class Reason:
    """A top-level criterion that made the flag, with the met findings beneath it."""

    name: str
    source: str
    findings: tuple[CriterionView, ...]


def met_criteria(pathway: PathwayView | None) -> list[Reason]:
    """The top-level criteria that made the flag, each with the met findings beneath it."""
    if pathway is None:
        return []
    return [
        Reason(
            name=node.id.split(".", 1)[-1].replace("_", " ").capitalize(),
            source=node.source or "",
            findings=node.met_leaves(),
        )
        for node in pathway.met_criteria
    ]


def reason_and_caution_sources(reasons: list[Reason], cautions: tuple[CautionView, ...]) -> list[str | None]:
    """The sources cited by the reasons (each criterion, then its findings) and the cautions shown, in order."""
    sources: list[str | None] = []
    for reason in reasons:
        sources.append(reason.source)
        sources.extend(finding.source for finding in reason.findings)
    sources.extend(c.source for c in cautions)
    return sources


def missing_workup(summary: PatientSummary, pathway: PathwayView | None) -> dict[str, list[str]]:
    """Safety work-up never recorded, and the data that would settle an undecided criterion.

    Cautions the screening could not settle are listed with the cautions (status unknown), not again here.
    """
    return {
        "not_recorded": [label for code, label, condition in summary.workup if condition is None],
        "to_settle": [item.line for item in pathway.missing] if pathway is not None else [],
    }
