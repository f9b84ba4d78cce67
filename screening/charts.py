"""Charts of the patient page drawn on the server as inline SVG (no script, no library): the SLEDAI-2K
course with the published rules' thresholds drawn in, and the treatment timeline.

Each chart comes with the rows of its text alternative (the templates show them as a table). Text is
never scaled down: the SVGs are drawn at their pixel size (a narrow screen scrolls them), and the
label column is as wide as the longest label needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from clinical import vocab
from patients.summary import PatientSummary
from screening import engine
from screening.contract import short_label
from screening.engine.criterion_types import SledaiAtLeastParams

FONT = 12  # px, every text of the charts
# An upper bound of a character's advance at FONT px in the sans-serif fonts of the pages (wide letters
# such as "m" and "W" are ~0.8 em, the average ~0.55 em): a label's box is never narrower than its text.
CHAR_W = 0.62 * FONT
LINE_H = 28  # a timeline row


def text_width(text: str) -> float:
    """The width a label needs at FONT px (an upper bound, see CHAR_W)."""
    return len(text) * CHAR_W


# --- SLEDAI-2K course -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """A sledai_at_least criterion of the rule set: the pathways that need at least ``score``."""

    score: int
    pathways: tuple[str, ...]
    clinical_only: bool = False
    y: float = 0.0
    label_y: float = 0.0

    @property
    def label(self) -> str:
        who = ", ".join(short_label(p) for p in self.pathways)
        return f"{who} ≥ {self.score}{' (clinical)' if self.clinical_only else ''}"


def _leaves(node: engine.Node) -> Iterable[engine.Criterion]:
    if isinstance(node, engine.Group):
        for child in node.children:
            yield from _leaves(child)
    else:
        yield node


def sledai_thresholds(rules: engine.RuleSet) -> list[Threshold]:
    """The minimum scores of the rule set's sledai_at_least criteria, one per score (pathways joined),
    lowest first."""
    by_score: dict[tuple[int, bool], list[str]] = {}
    for pathway in rules.pathways:
        for leaf in _leaves(pathway.inclusion):
            if isinstance(leaf.params, SledaiAtLeastParams):
                key = (leaf.params.min_score, leaf.params.clinical_only)
                if pathway.id not in by_score.setdefault(key, []):
                    by_score[key].append(pathway.id)
    return [
        Threshold(score=score, pathways=tuple(ids), clinical_only=clinical)
        for (score, clinical), ids in sorted(by_score.items())
    ]


@dataclass
class SledaiCourse:
    width: int
    height: int
    plot_left: int
    plot_right: int
    points: str
    dots: list[dict[str, Any]]
    ranges: list[dict[str, Any]]
    thresholds: list[Threshold]
    y_ticks: list[dict[str, Any]]
    x_labels: list[dict[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)  # the text alternative, oldest first
    description: str = ""


SLEDAI_PLOT_W, SLEDAI_H, PAD_T, PAD_B, AXIS_W = 560, 200, 10, 24, 30


def sledai_course(summary: PatientSummary, thresholds: Sequence[Threshold]) -> SledaiCourse | None:
    """The SLEDAI-2K scores over time (a range where items were not assessed) with the thresholds."""
    assessments = list(reversed(summary.assessments))  # oldest first
    if not assessments:
        return None
    top = max(12, *(a.sledai_high for a in assessments), *(t.score + 2 for t in thresholds))
    top = ((top + 3) // 4) * 4
    first, last = assessments[0].date, assessments[-1].date
    span = max((last - first).days, 1)
    label_w = int(max((text_width(t.label) for t in thresholds), default=0)) + 12
    plot_left, plot_right = AXIS_W, AXIS_W + SLEDAI_PLOT_W
    inner_h = SLEDAI_H - PAD_T - PAD_B

    def x(day: date) -> float:
        inset = 8  # the first and last dots clear the axis and the threshold labels
        if len(assessments) == 1:
            return round((plot_left + plot_right) / 2, 1)
        return round(plot_left + inset + (SLEDAI_PLOT_W - 2 * inset) * (day - first).days / span, 1)

    def y(value: float) -> float:
        return round(PAD_T + inner_h * (1 - value / top), 1)

    placed: list[Threshold] = []
    last_y = float("inf")
    for t in thresholds:  # lowest score first: highest on the page last; labels at least a line apart
        line_y = y(t.score)
        label_y = min(line_y, last_y - FONT - 2)
        placed.append(Threshold(t.score, t.pathways, t.clinical_only, y=line_y, label_y=label_y))
        last_y = label_y
    dots = [
        {
            "x": x(a.date),
            "y": y(a.sledai_low),
            "value": a.sledai_display,
            "date": a.date,
            "range": a.sledai_low != a.sledai_high,
        }
        for a in assessments
    ]
    ranges = [
        {"x": x(a.date), "y1": y(a.sledai_low), "y2": y(a.sledai_high)}
        for a in assessments
        if a.sledai_low != a.sledai_high
    ]
    rows = [
        {
            "date": a.date,
            "score": a.sledai_display,
            "reaches": [t.label for t in placed if a.sledai_low >= t.score and not t.clinical_only],
        }
        for a in assessments
    ]
    met = ", ".join(t.label for t in placed)
    latest = assessments[-1]
    return SledaiCourse(
        width=plot_right + label_w,
        height=SLEDAI_H,
        plot_left=plot_left,
        plot_right=plot_right,
        points=" ".join(f"{d['x']},{d['y']}" for d in dots),
        dots=dots,
        ranges=ranges,
        thresholds=placed,
        y_ticks=[{"y": y(v), "value": v} for v in range(0, top + 1, top // 4)],
        x_labels=[dots[0]] if len(dots) == 1 else [dots[0], dots[-1]],
        rows=rows,
        description=(
            f"{len(assessments)} assessment{'s' if len(assessments) != 1 else ''}, latest {latest.sledai_display}"
            + (f"; thresholds of the published rules: {met}" if met else "")
        ),
    )


# --- treatment timeline -----------------------------------------------------------------------------


@dataclass
class TimelineChart:
    width: int
    height: int
    label_w: int
    plot_left: int
    plot_w: int
    rows: list[dict[str, Any]]
    years: list[dict[str, Any]]


TIMELINE_PLOT_W = 860


def _when(course: Any, today: date) -> str:
    end = course.end.strftime("%b %Y") if course.end and course.end <= today else "now"
    text = f"{course.start.strftime('%b %Y')}–{end}"
    if course.stop_reason:
        text += f" · {vocab.STOP_REASONS.get(course.stop_reason, course.stop_reason)}"
    return text


def treatment_timeline(summary: PatientSummary) -> TimelineChart | None:
    """One row per course, oldest first: the drug's name in a column as wide as the longest name needs,
    the bar, and its dates beside the bar (inside when it fits, else after it, else before it)."""
    courses = sorted(summary.treatments, key=lambda t: (t.start, t.pk))
    if not courses:
        return None
    today = summary.today
    start = min(t.start for t in courses)
    end = max(today, *(t.end or today for t in courses))
    span = max((end - start).days, 1)
    label_w = int(max(text_width(t.drug_label) for t in courses)) + 16
    plot_left = label_w

    def x(day: date) -> float:
        return round(plot_left + TIMELINE_PLOT_W * (day - start).days / span, 1)

    rows = []
    right_edge = plot_left + TIMELINE_PLOT_W
    for i, t in enumerate(courses):
        stop = min(t.end or today, end)
        x1, x2 = x(t.start), max(x(stop), x(t.start) + 3)
        when = _when(t, today)
        need = text_width(when) + 8
        if x2 - x1 >= need:
            text_x, anchor, inside = x1 + 4, "start", True
        elif right_edge - x2 >= need:
            text_x, anchor, inside = x2 + 4, "start", False
        else:
            text_x, anchor, inside = x1 - 4, "end", False
        rows.append(
            {  # the course's values, not the course: the chart is cached under its content (chart_fragments)
                "drug": t.drug,
                "start": t.start,
                "end": t.end,
                "stop_reason": vocab.STOP_REASONS.get(t.stop_reason, t.stop_reason),
                "label": t.drug_label,
                "when": when,
                "y": i * LINE_H + 4,
                "text_y": i * LINE_H + 4 + LINE_H / 2 - 2,
                "x": x1,
                "w": round(x2 - x1, 1),
                "ongoing": t.end is None or t.end > today,
                "text_x": round(text_x, 1),
                "anchor": anchor,
                "inside": inside,
            }
        )
    height = len(courses) * LINE_H + 24
    years = [
        {"x": x(date(year, 1, 1)), "year": year}
        for year in range(start.year + 1, end.year + 1)
        if date(year, 1, 1) <= end
    ]
    # the text beside a bar may reach left of the plot only into the label column's padding: widen if needed
    overflow = max(
        (text_width(r["when"]) + 4 - (r["text_x"] - plot_left) for r in rows if r["anchor"] == "end"), default=0
    )
    if overflow > 0:
        shift = int(overflow) + 1
        for r in rows:
            r["x"] += shift
            r["text_x"] += shift
        for yr in years:
            yr["x"] += shift
        plot_left += shift
    return TimelineChart(
        width=plot_left + TIMELINE_PLOT_W + 8,
        height=height,
        label_w=label_w,
        plot_left=plot_left,
        plot_w=TIMELINE_PLOT_W,
        rows=rows,
        years=years,
    )
