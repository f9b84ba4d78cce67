"""What the patient page does to render fast shows the same page: the records' links built from one probe
per kind, the screening's pathways and the charts kept in the fragment cache under their content."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.db.models import Model
from django.template.loader import render_to_string
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.views import KINDS
from patients.summary import build_summary
from screening.charts import treatment_timeline
from screening.display import panel
from screening.pathway_fragments import PATHWAYS_TEMPLATE, pathways_key
from tests.conftest import client_for
from tests.patients.factories import AssessmentFactory, PatientFactory, TreatmentFactory
from tests.patients.test_query_budget import fill
from tests.referrals.factories import import_case, screen

pytestmark = pytest.mark.django_db


def page(client, patient) -> str:
    response = client.get(reverse("patients:detail", kwargs={"pk": patient.pk}))
    assert response.status_code == 200
    return response.content.decode()


def test_each_records_edit_and_delete_links_are_the_reversed_urls(spec_client, site_a) -> None:
    PatientFactory(site=site_a)  # the patient's id is not the first: the probe's 0 is not in its place
    patient = PatientFactory(site=site_a)
    fill(patient, 11)  # ids of one and two digits
    html = page(spec_client, patient)
    expected = [
        reverse(f"patients:record_{action}", kwargs={"pk": patient.pk, "kind": kind, "rid": record.pk})
        for kind, rows in ((kind, KINDS[kind].model.objects.filter(patient=patient)) for kind in KINDS)
        for record in rows
        for action in ("edit", "delete")
    ]
    records = html[html.index('<h2 class="h4 mt-4">Records</h2>') :]
    shown = re.findall(r'href="([^"]+/\d+/(?:edit|delete)/)"', records)
    assert len(expected) == 6 * 11 * 2
    assert sorted(shown) == sorted(expected)


def test_a_reader_who_cannot_edit_gets_no_record_links(staff, site_a) -> None:
    patient = PatientFactory(site=site_a)
    fill(patient, 2)
    html = page(client_for(staff), patient)
    records = html[html.index('<h2 class="h4 mt-4">Records</h2>') :]
    assert "/edit/" not in records and "/delete/" not in records


# --- the pathway panels, kept in the fragment cache -------------------------------------------------------


@pytest.fixture
def screened(site_a, cases_day):
    patient = import_case(site_a, "refractory-nephritis")
    return patient, screen(patient)


def panels(html: str) -> str:
    """The pathway panels of a page (with the referrals and changes under them, which link elsewhere)."""
    start = html.index('<div class="row g-3 mt-0">')
    return html[start : html.index("Screening only flags", start)]


def test_the_panels_from_the_cache_are_the_panels_rendered_afresh(spec_client, screened) -> None:
    patient, result = screened
    first = page(spec_client, patient)
    kept = caches["fragments"].get(pathways_key(patient.pk, result, can_edit=True))
    fresh = render_to_string(PATHWAYS_TEMPLATE, {"panels": panel(patient, result), "can_edit": True})
    assert fresh in first and fresh in page(spec_client, patient)
    assert isinstance(kept, bytes) and len(kept) * 4 < len(fresh.encode())  # kept compressed
    assert 'data-pathway="hsct"' in fresh and "full-trace" in fresh


def test_a_changed_trace_is_shown_at_once(spec_client, screened) -> None:
    patient, result = screened
    page(spec_client, patient)  # the panels are cached
    trace = result.trace
    trace["pathways"]["hsct"]["criteria"][0]["explanation"] = "Read again on 2026-03-01"
    result.trace = trace
    result.save()
    assert "Read again on 01 Mar 2026" in page(spec_client, patient)


def test_the_links_follow_the_readers_rights(spec_client, staff, screened) -> None:
    patient, _ = screened
    link = f'<a href="/patients/{patient.pk}/'
    assert link in panels(page(spec_client, patient))
    assert link not in panels(page(client_for(staff), patient))  # not the specialist's panels from the cache


def test_the_date_format_is_in_the_key(spec_client, screened) -> None:
    patient, result = screened
    day = f"{result.as_of:%d %b %Y}"
    assert day in panels(page(spec_client, patient))
    with override_settings(CLINIC_DATE_FORMAT="Y-m-d"):
        html = panels(page(spec_client, patient))
    assert f"{result.as_of:%Y-%m-%d}" in html and day not in html


def test_each_patients_panels_link_to_their_own_records(spec_client, site_a, screened) -> None:
    one, result = screened
    two = PatientFactory(site=site_a)
    result.pk, result.patient = None, two  # the very same trace, stored for another patient
    result.save()
    assert f"/patients/{one.pk}/" in panels(page(spec_client, one))
    html = panels(page(spec_client, two))
    assert f"/patients/{two.pk}/" in html and f"/patients/{one.pk}/" not in html


def test_the_screening_is_read_without_its_rule_sets_content(spec_client, screened) -> None:
    patient, result = screened
    with CaptureQueriesContext(connection) as ctx:
        html = page(spec_client, patient)
    results = [q["sql"] for q in ctx.captured_queries if '"screening_screeningresult"' in q["sql"]]
    assert len(results) == 2  # the latest result and the changes of outcome, each with its rule set joined
    assert all('"screening_ruleset"' in sql and '"screening_ruleset"."content"' not in sql for sql in results)
    assert f"{result.rule_set.name} {result.rule_set.version}" in html


# --- the charts, kept in the fragment cache --------------------------------------------------------------


def chart(html: str, chart_id: str) -> str:
    """One chart of a page with its table: from its SVG to the end of the table under it."""
    start = html.index(f'<svg id="{chart_id}"')
    return html[start : html.index("</details>", start)]


def test_a_recorded_assessment_is_drawn_at_once(spec_client, site_a, today) -> None:
    patient = PatientFactory(site=site_a)
    AssessmentFactory(patient=patient, date=today - timedelta(days=60))
    before = chart(page(spec_client, patient), "sledai-chart")
    assert before == chart(page(spec_client, patient), "sledai-chart")  # the second view: from the cache
    AssessmentFactory(patient=patient, date=today - timedelta(days=5), sledai_low=14, sledai_high=14)
    after = chart(page(spec_client, patient), "sledai-chart")
    assert after != before and "2 assessments, latest 14" in after


def test_an_ended_course_is_drawn_at_once(spec_client, site_a, today) -> None:
    patient = PatientFactory(site=site_a)
    course = TreatmentFactory(patient=patient, drug="mycophenolate_mofetil", start=today - timedelta(days=400))
    assert "Intolerance" not in chart(page(spec_client, patient), "timeline-chart")
    course.end, course.stop_reason = today - timedelta(days=10), "intolerance"
    course.save()
    after = chart(page(spec_client, patient), "timeline-chart")
    assert f"<td>{course.end:%d %b %Y}</td><td>{course.get_stop_reason_display()}</td>" in after
    assert 'fill="#0b5ed7"' in after  # drawn as ended


def test_the_charts_show_dates_in_the_clinics_format_of_the_moment(spec_client, site_a, today) -> None:
    patient = PatientFactory(site=site_a)
    AssessmentFactory(patient=patient, date=today - timedelta(days=60))
    TreatmentFactory(patient=patient, start=today - timedelta(days=400))
    html = page(spec_client, patient)
    with override_settings(CLINIC_DATE_FORMAT="Y-m-d"):
        iso = page(spec_client, patient)
    day = today - timedelta(days=60)
    assert f"{day:%d %b %Y}" in chart(html, "sledai-chart") and f"{day:%Y-%m-%d}" in chart(iso, "sledai-chart")
    start = today - timedelta(days=400)
    assert f"{start:%Y-%m-%d} to" in iso and f"{start:%d %b %Y} to" in html


def test_the_timeline_holds_the_courses_values_not_the_courses(site_a, today) -> None:
    """The chart is the cache key's content: a model instance there would key by its id, not by what is shown."""
    patient = PatientFactory(site=site_a)
    TreatmentFactory(patient=patient, start=today - timedelta(days=40), end=today, stop_reason="remission")
    timeline = treatment_timeline(build_summary(patient, today))
    assert timeline is not None
    assert not [v for row in timeline.rows for v in row.values() if isinstance(v, Model)]
    assert timeline.rows[0]["stop_reason"] == "Remission"
