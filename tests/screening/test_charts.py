"""The patient page's server-drawn charts: the thresholds drawn are the published rules', labels fit."""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse

from screening import engine
from screening.charts import FONT, sledai_course, sledai_thresholds, text_width, treatment_timeline
from screening.models import RuleSet
from tests.patients.factories import AssessmentFactory, PatientFactory, TreatmentFactory


def published_minimums(content: dict) -> set[tuple[int, str]]:
    """(min_score, pathway) of every sledai_at_least criterion, read from the rule-set file itself."""
    found: set[tuple[int, str]] = set()

    def walk(node: dict, pathway: str) -> None:
        for child in node.get("all", node.get("any", [])):
            walk(child, pathway)
        if node.get("type") == "sledai_at_least":
            found.add((node["params"]["min_score"], pathway))

    for p in content["pathways"]:
        walk(p["inclusion"], p["id"])
    return found


@pytest.mark.django_db
def test_the_thresholds_drawn_are_the_published_rule_sets(spec_client, site_a, today) -> None:
    patient = PatientFactory(site=site_a)
    AssessmentFactory(patient=patient, date=today - timedelta(days=40))
    AssessmentFactory(patient=patient, date=today - timedelta(days=5))
    page = spec_client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    drawn = {
        (int(score), pathway)
        for score, pathways in re.findall(r'class="threshold" data-score="(\d+)" data-pathways="([^"]+)"', page)
        for pathway in pathways.split(",")
    }
    expected = published_minimums(RuleSet.objects.published().content)
    assert drawn == expected and len(expected) >= 2
    assert 'role="img"' in page and "The scores as a table" in page  # the text alternative
    for score, pathway in expected:
        assert f"{pathway.upper()} ≥ {score}" in page


@pytest.mark.django_db
def test_a_new_rule_set_moves_the_lines() -> None:
    content = copy.deepcopy(RuleSet.objects.published().content)

    def bump(node: dict) -> None:
        for child in node.get("all", node.get("any", [])):
            bump(child)
        if node.get("type") == "sledai_at_least":
            node["params"]["min_score"] = 11

    for p in content["pathways"]:
        bump(p["inclusion"])
    thresholds = sledai_thresholds(engine.parse_rule_set(content))
    assert [(t.score, t.pathways) for t in thresholds] == [(11, ("hsct", "msc"))]
    assert thresholds[0].label == "HSCT, MSC ≥ 11"


def assessment(day: date, low: int, high: int | None = None) -> SimpleNamespace:
    high = low if high is None else high
    return SimpleNamespace(
        date=day, sledai_low=low, sledai_high=high, sledai_display=str(low) if low == high else f"{low}–{high}"
    )


def test_threshold_labels_fit_and_do_not_overlap() -> None:
    from screening.charts import Threshold

    thresholds = [Threshold(6, ("msc",)), Threshold(7, ("hsct",), clinical_only=True), Threshold(8, ("other",))]
    summary = SimpleNamespace(assessments=[assessment(date(2026, 10, 1), 14, 18), assessment(date(2026, 1, 1), 4)])
    chart = sledai_course(summary, thresholds)
    assert chart is not None
    ys = [t.label_y for t in chart.thresholds]
    assert all(a - b >= FONT for a, b in zip(ys, ys[1:], strict=False))  # one line apart at least
    for t in chart.thresholds:
        assert chart.plot_right + 6 + text_width(t.label) <= chart.width, t.label
        assert t.label_y - FONT / 2 >= 0
    assert chart.ranges and [r["reaches"] for r in chart.rows] == [[], ["MSC ≥ 6", "OTHER ≥ 8"]]


def course(pk: int, drug: str, start: date, end: date | None, stop: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, drug=drug, drug_label=drug.replace("_", " "), start=start, end=end, stop_reason=stop)


def test_timeline_labels_are_never_clipped() -> None:
    today = date(2026, 11, 1)
    long_name = "a_drug_with_a_remarkably_long_name_indeed_iv"
    summary = SimpleNamespace(
        today=today,
        treatments=[
            course(1, "hydroxychloroquine", date(2015, 1, 1), None),
            course(2, long_name, date(2015, 1, 10), date(2015, 2, 1), "intolerance"),  # short bar, far left
            course(3, "belimumab", date(2026, 10, 1), date(2026, 10, 20), "inadequate_response"),  # short, far right
            course(4, "rituximab", date(2020, 1, 1), date(2024, 1, 1), "remission"),
        ],
    )
    chart = treatment_timeline(summary)
    assert chart is not None
    widest = max(text_width(r["label"]) for r in chart.rows)
    assert chart.label_w >= widest + 4  # the name column is as wide as the longest name
    for r in chart.rows:
        assert 4 + text_width(r["label"]) <= chart.plot_left, r["label"]
        tw = text_width(r["when"])
        if r["anchor"] == "start":
            assert r["text_x"] + tw <= chart.width, r["when"]
        else:  # written before its bar: clear of the names
            assert r["text_x"] - tw >= 4 + widest, r["when"]
        if r["inside"]:
            assert tw <= r["w"]
    assert {r["anchor"] for r in chart.rows} == {"start", "end"}
    assert chart.height >= len(chart.rows) * 20


@pytest.mark.django_db
def test_the_timeline_on_the_page_names_drugs_by_label(spec_client, site_a, today) -> None:
    patient = PatientFactory(site=site_a)
    TreatmentFactory(patient=patient, drug="mycophenolate_mofetil", start=today - timedelta(days=400), end=None)
    page = spec_client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    assert 'id="timeline-chart"' in page and ">mycophenolate mofetil</text>" in page
    assert "The courses as a table" in page
