"""The printable referral summary: what an evaluating centre needs on one page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from patients.summary import PatientSummary

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


def source_keys(nodes: list[dict[str, Any]], keys: list[str] | None = None) -> list[str]:
    """Source keys (S1, S2, …) cited by criteria and cautions, in order of first appearance."""
    keys = [] if keys is None else keys
    for node in nodes:
        keys.extend(k for k in re.findall(r"\bS\d+\b", node.get("source") or "") if k not in keys)
        source_keys(node.get("children", []) + node.get("findings", []), keys)
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


def _met_leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "children" not in node:
        return [node]
    return [leaf for child in node["children"] if child["result"] == "met" for leaf in _met_leaves(child)]


def met_criteria(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The top-level criteria that made the flag, each with the met findings beneath it."""
    return [
        {
            "name": node["id"].split(".", 1)[-1].replace("_", " ").capitalize(),
            "source": node.get("source", ""),
            "findings": _met_leaves(node),
        }
        for node in nodes
        if node["result"] == "met"
    ]


def missing_workup(summary: PatientSummary, pathway: dict[str, Any]) -> dict[str, list[str]]:
    """Safety work-up never recorded, and the data that would settle an undecided criterion.

    Cautions the screening could not settle are listed with the cautions (status unknown), not again here.
    """
    return {
        "not_recorded": [label for code, label, condition in summary.workup if condition is None],
        "to_settle": [item["line"] for item in pathway.get("checklist", [])],
    }
