"""The printable referral summary: what an evaluating centre needs on one page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from patients.summary import PatientSummary
from screening.contract import CautionView, CriterionView, PathwayView

SOURCES = Path(__file__).resolve().parent.parent / "screening" / "data" / "sources.json"
FAILED_STOP_REASONS = ("inadequate_response", "intolerance")
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
    chart.label = "SLEDAI-2K over time: " + "; ".join(f"{d['date'].isoformat()} {d['value']}" for d in dots)
    return chart


def failed_treatments(summary: PatientSummary) -> list[Any]:
    """Courses stopped for inadequate response or intolerance, oldest first."""
    return sorted(
        (t for t in summary.treatments if t.stop_reason in FAILED_STOP_REASONS), key=lambda t: (t.start, t.pk)
    )


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
