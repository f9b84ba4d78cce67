"""Screening through the database: stored results, re-screening, query budgets, wording."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinical.casefile import validate_case
from patients import services as patient_services
from patients.casefiles import import_cases
from patients.models import Assessment, Patient
from screening import engine
from screening.catalogue import drug_units
from screening.facts import load_facts
from screening.models import RuleSet, ScreeningResult
from screening.rulesets import import_rule_set, parse_rules_text
from screening.services import parsed_rules, screen_patient
from tests.clock import TODAY
from tests.conftest import client_for
from tests.patients.factories import AssessmentFactory, ObservationFactory, TreatmentFactory
from tests.shipped import CASES, EXPECTATIONS, EXPECTED_PATH, earlier_rules_path, earlier_versions

EXPECTED = json.loads(EXPECTED_PATH.read_text())
FORBIDDEN = re.compile(r"\b(eligible|eligibility|approved|candidate)\b", re.IGNORECASE)


def load(name: str) -> dict:
    return validate_case(json.loads((CASES / f"{name}.json").read_text()), drugs=drug_units())


VERSIONED = [(version, name) for version in ["2026.2", *earlier_versions()] for name in sorted(EXPECTED)]


@pytest.mark.django_db
@pytest.mark.parametrize(("version", "name"), VERSIONED, ids=[f"{v}-{n}" for v, n in VERSIONED])
def test_shipped_cases_screen_the_same_from_the_database(site_a, version, name) -> None:
    """Under the published 2026.2, and under each earlier default stored beside it, as their expectations say."""
    expected_outcomes = EXPECTED if version == "2026.2" else json.loads((EXPECTATIONS / f"{version}.json").read_text())
    rule_set = RuleSet.objects.published()
    if version != rule_set.version:
        content = json.loads(earlier_rules_path(version).read_text())
        rule_set = RuleSet.objects.create(name=content["name"], version=version, status="retired", content=content)
    case = load(name)
    import_cases(actor=None, site=site_a, cases=[case])
    patient = Patient.objects.get(identifier=case["case_id"])
    result = screen_patient(
        patient=patient, trigger="manual", as_of=date.fromisoformat(case["as_of"]), rule_set=rule_set
    )
    for pathway, expected in expected_outcomes[name].items():
        assert result.outcomes[pathway] == expected["outcome"]
        statuses = {c["id"]: c["status"] for c in result.trace["pathways"][pathway]["cautions"]}
        assert statuses == expected["cautions"]
    assert result.rule_set.version == version and result.facts["birth_date"] == case["patient"]["birth_date"]


@pytest.mark.django_db
def test_engine_runs_with_zero_queries_and_facts_load_in_a_fixed_budget(site_a) -> None:
    import_cases(actor=None, site=site_a, cases=[load("refractory-nephritis")])
    big = Patient.objects.get()
    small = Patient.objects.create(site=site_a, identifier="small")
    rules = parsed_rules(RuleSet.objects.published())
    counts = []
    for patient in (small, big):
        with CaptureQueriesContext(connection) as ctx:
            facts = load_facts(patient)
        counts.append(len(ctx.captured_queries))
        with CaptureQueriesContext(connection) as ctx:
            engine.screen(facts, rules, date(2026, 11, 1))
        assert len(ctx.captured_queries) == 0
    assert counts == [6, 6]  # one query per record table


@pytest.mark.django_db
def test_saving_data_rescreens_after_commit(site_a, specialist, django_capture_on_commit_callbacks) -> None:
    patient = Patient.objects.create(site=site_a, identifier="R-1", birth_date=date(1990, 1, 1))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record = Assessment(patient=patient, date=date(2026, 10, 1), sledai_present=["arthritis"])
        patient_services.save_record(actor=specialist, record=record)
        assert not ScreeningResult.objects.exists()  # nothing before the commit
    assert callbacks
    first = ScreeningResult.objects.get()
    assert first.trigger == "data" and first.changed and first.change_cause == "first screening"


@pytest.mark.django_db
def test_history_says_whether_new_data_or_new_rules_changed_the_outcome(site_a) -> None:
    import_cases(actor=None, site=site_a, cases=[load("older-patient")])
    patient = Patient.objects.get()
    as_of = date(2026, 11, 1)
    base = screen_patient(patient=patient, trigger="manual", as_of=as_of)
    assert base.outcomes["hsct"] == "not_flagged"  # aged over 60
    again = screen_patient(patient=patient, trigger="data", as_of=as_of)  # a data change stores its result
    assert not again.changed and again.change_cause == ""
    # New rules: raise the HSCT upper age limit.
    content = json.loads(json.dumps(RuleSet.objects.published().content))
    content["version"] = "2026.3"
    content["pathways"][0]["inclusion"]["all"][1]["params"]["max_years"] = 70
    draft = import_rule_set(actor=None, content=parse_rules_text(json.dumps(content)))
    by_rules = screen_patient(patient=patient, trigger="rules", as_of=as_of, rule_set=draft)
    assert by_rules.outcomes["hsct"] == "flagged" and by_rules.change_cause == "new rules"
    # New data: the birth date is removed, so age is unknown.
    Patient.objects.filter(pk=patient.pk).update(birth_date=None)
    patient.refresh_from_db()
    by_data = screen_patient(patient=patient, trigger="data", as_of=as_of, rule_set=draft)
    assert by_data.outcomes["hsct"] == "insufficient_data" and by_data.change_cause == "new data"


def _flag_ready_patient(site) -> Patient:
    """Everything for an HSCT flag but a recent high SLEDAI-2K."""
    case = load("refractory-nephritis")
    case["case_id"] = "almost"
    case["assessments"] = []
    case["manifestations"] = []
    import_cases(actor=None, site=site, cases=[case])
    return Patient.objects.get(identifier="almost")


@pytest.mark.django_db
def test_patient_page_shows_the_flag_with_reasons(spec_client, site_a, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        patient = _flag_ready_patient(site_a)
    url = reverse("patients:detail", kwargs={"pk": patient.pk})
    page = spec_client.get(url).content.decode()
    assert "Not enough data to screen for HSCT evaluation." in page
    assert "add an assessment" in page
    from tests.patients.test_record_views import sledai_post

    with django_capture_on_commit_callbacks(execute=True):
        spec_client.post(
            reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "assessments"}),
            sledai_post(TODAY.isoformat(), present=["proteinuria", "urinary_casts", "hematuria"]),
        )
    page = spec_client.get(url).content.decode()
    assert "A referral for HSCT evaluation may be worth considering." in page
    assert "SLEDAI-2K 12" in page and "[S19]" in page
    assert "When the outcome changed" in page and "new data" in page
    assert not FORBIDDEN.search(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.django_db
def test_not_flagged_names_how_far_off(spec_client, site_a) -> None:
    import_cases(actor=None, site=site_a, cases=[load("mild-disease")])
    patient = Patient.objects.get()
    screen_patient(patient=patient, trigger="manual", as_of=date(2026, 11, 1))
    page = spec_client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    assert "Not flagged for HSCT evaluation by the current rules." in page
    assert "Criteria not met" in page and "needs ≥ 8" in page


@pytest.mark.django_db
def test_rules_page_in_plain_language(spec_client) -> None:
    page = spec_client.get(reverse("screening:rules")).content.decode()
    for text in (
        "Intended use and users",
        "Inputs",
        "The logic",
        "Sources",
        "Known limitations",
        "SLEDAI-2K of at least 8 in the latest assessment dated within the last 30 days",
        "Age 18 to 60 years",
        "Aringer M",
        "mycophenolate_mofetil",
    ):
        assert text in page, text
    assert not FORBIDDEN.search(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.django_db
def test_drafts_are_visible_to_rules_admins_only(specialist, rules_admin) -> None:
    content = json.loads(json.dumps(RuleSet.objects.published().content))
    content["version"] = "draft-1"
    import_rule_set(actor=None, content=content)
    url = reverse("screening:rules") + "?version=draft-1"
    assert client_for(specialist).get(url).status_code == 404
    assert client_for(rules_admin).get(url).status_code == 200


@pytest.mark.django_db
def test_adequacy_shown_for_each_course(spec_client, patient) -> None:
    TreatmentFactory(
        patient=patient,
        drug="mycophenolate_mofetil",
        dose=1500,
        dose_unit="mg/day",
        start=date(2025, 1, 1),
        end=date(2025, 9, 1),
        stop_reason="inadequate_response",
    )
    TreatmentFactory(
        patient=patient,
        drug="azathioprine",
        dose=None,
        dose_unit="mg/day",
        start=date(2025, 10, 1),
        end=date(2026, 3, 1),
        stop_reason="intolerance",
    )
    ObservationFactory(patient=patient)
    AssessmentFactory(patient=patient)
    page = spec_client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    assert "not adequate: dose 1500 mg/day &lt; 2000 mg/day" in page
    assert "adequacy unknown: no dose recorded" in page


@pytest.mark.django_db
def test_cohort_rescreen_runs_as_a_task(site_a) -> None:
    from clinic.tasks import rescreen_all_patients

    import_cases(actor=None, site=site_a, cases=[load("mild-disease"), load("older-patient")])
    result = rescreen_all_patients.enqueue()  # the immediate backend runs it here
    assert result.return_value == 2
    assert set(ScreeningResult.objects.values_list("trigger", "actor", flat=False)) == {("scheduled", None)}


@pytest.mark.django_db
def test_patient_list_shows_the_latest_outcomes(spec_client, site_a) -> None:
    import_cases(actor=None, site=site_a, cases=[load("refractory-nephritis"), load("mild-disease")])
    for patient in Patient.objects.all():
        screen_patient(patient=patient, trigger="manual", as_of=date(2026, 11, 1))
    page = spec_client.get(reverse("patients:list")).content.decode()
    assert page.count("HSCT flagged") == 1 and page.count("HSCT not flagged") == 1 and "MSC flagged" in page


@pytest.mark.django_db
def test_staff_see_the_panel_without_links_to_forms_they_cannot_use(client, staff, site_a) -> None:
    from clinic.services import screen_and_apply
    from referrals.models import Referral

    import_cases(actor=None, site=site_a, cases=[load("workup-pending")])
    patient = Patient.objects.get()
    screen_and_apply(patient=patient, trigger="manual", as_of=date(2026, 11, 1))
    assert Referral.objects.filter(patient=patient).count() == 2  # flagged for both pathways
    client.force_login(staff)
    page = client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    assert "work-up incomplete" in page and "/edit/" not in page and "/add/" not in page
    assert reverse("referrals:detail", kwargs={"pk": Referral.objects.first().pk}) in page


@pytest.mark.django_db
def test_an_old_result_says_so_and_can_be_refreshed(client, staff, site_a) -> None:
    import_cases(actor=None, site=site_a, cases=[load("mild-disease")])
    patient = Patient.objects.get()
    screen_patient(patient=patient, trigger="manual", as_of=date(2020, 1, 1))
    client.force_login(staff)  # staff may refresh a result: it changes no clinical data
    detail = reverse("patients:detail", kwargs={"pk": patient.pk})
    assert 'id="screening-age"' in client.get(detail).content.decode()
    assert client.get(reverse("patients:rescreen", kwargs={"pk": patient.pk})).status_code == 405
    response = client.post(reverse("patients:rescreen", kwargs={"pk": patient.pk}))
    assert response.status_code == 302
    latest = ScreeningResult.objects.latest_for(patient.pk)
    assert latest.trigger == "manual" and latest.as_of > date(2020, 1, 1)
    assert 'id="screening-age"' not in client.get(detail).content.decode()


@pytest.mark.django_db
def test_the_published_rules_are_read_without_their_content_once_parsed() -> None:
    """The patient page asks for them at every view: the 12 KB of JSON is read the first time only."""
    from screening import services

    services._PARSED.clear()
    with CaptureQueriesContext(connection) as first:
        rules = services.published_rules()
    with CaptureQueriesContext(connection) as again:
        assert services.published_rules() is rules
    assert rules.version == RuleSet.objects.published().version
    assert len(first) == 2 and '"content"' in first[-1]["sql"]  # the content read on the first parse
    assert len(again) == 1 and '"content"' not in again[0]["sql"]
