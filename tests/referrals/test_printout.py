"""The printable referral summary leaves nothing out: every test the rules read, and the engine's verdict on
each course (not its stop reason), with the rule set the result was screened with."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from referrals.printout import observation_codes_read
from referrals.services import open_referral
from screening import engine
from screening.models import RuleSet, RuleSetStatus
from screening.services import parsed_rules
from tests.conftest import client_for
from tests.patients.factories import ObservationFactory, PatientFactory, TreatmentFactory
from tests.referrals.factories import make_referral, stored_result, today
from tests.screening.engine.helpers import BASE_PARAMS, default_rules_json

pytestmark = pytest.mark.django_db


def printout(user, referral) -> str:
    response = client_for(user).get(reverse("referrals:print", kwargs={"pk": referral.pk}))
    assert response.status_code == 200
    return response.content.decode()


def section(page: str, element_id: str) -> str:
    """The text of the element with this id (up to its closing tag of the same name)."""
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, element_id
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(2)))


def lab(page: str, code: str) -> str:
    match = re.search(rf'<span data-lab="{code}">(.*?)</span>(?: · |</p>)', page, re.S)
    assert match, code
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_every_test_the_default_rules_read_is_on_the_printout(site_a, staff) -> None:
    patient = PatientFactory(site=site_a)
    day = today() - timedelta(days=20)
    ObservationFactory(patient=patient, code="fev1", value=Decimal("62"), date=day)
    ObservationFactory(patient=patient, code="ecog", value=Decimal("1"), date=day)
    for i in range(14):  # more tests than the old twelve, none the rules read
        ObservationFactory(patient=patient, code="c3", value=80 + i, date=day - timedelta(days=i))
    ObservationFactory(patient=patient, code="c4", value=Decimal("12"), date=day)
    referral = make_referral(patient)
    page = printout(staff, referral)
    codes = observation_codes_read(parsed_rules(RuleSet.objects.published()))
    assert {"fev1", "ecog", "lvef", "dlco", "egfr"} <= set(codes)
    for code in codes:
        assert f'data-lab="{code}"' in page, code
    assert lab(page, "fev1") == f"FEV1 62 % predicted {day:%d %b %Y}"
    assert lab(page, "ecog") == f"ECOG performance status 1 (scale 0–5) {day:%d %b %Y}"
    assert lab(page, "lvef") == "Left ventricular ejection fraction not recorded"
    # tests the rules do not read are still listed, after them
    assert lab(page, "c3").startswith("Complement C3 80 mg/dL") and 'data-lab="c4"' in page
    assert page.index('data-lab="ecog"') < page.index('data-lab="c3"')


def test_the_printout_loads_its_favicon_and_styles(site_a, staff) -> None:
    page = printout(staff, make_referral(PatientFactory(site=site_a)))
    head = page[: page.index("</head>")]
    links = re.findall(r'<link rel="(\w+)" href="([^"]+)"', head)
    assert {rel for rel, _ in links} == {"stylesheet", "icon"}
    for _, href in links:
        assert href.startswith("/static/"), href
        assert finders.find(href.removeprefix("/static/")), href


def test_failed_treatments_follow_the_engines_judgement_not_the_stop_reason(site_a, staff) -> None:
    patient = PatientFactory(site=site_a, weight_kg=Decimal("60"))
    day = today()
    # stopped for inadequate response after 31 days: cyclophosphamide needs 70, so it has not failed
    short = TreatmentFactory(
        patient=patient,
        drug="cyclophosphamide_iv",
        start=day - timedelta(days=400),
        end=day - timedelta(days=370),
        dose=750,
        dose_unit="mg/pulse",
        stop_reason="inadequate_response",
    )
    # an adequate mycophenolate course stopped for inadequate response: failed
    full = TreatmentFactory(
        patient=patient,
        drug="mycophenolate_mofetil",
        start=day - timedelta(days=360),
        end=day - timedelta(days=100),
        dose=3000,
        dose_unit="mg/day",
        stop_reason="inadequate_response",
    )
    # no dose recorded: undetermined, and the printout says what is missing
    no_dose = TreatmentFactory(
        patient=patient,
        drug="azathioprine",
        start=day - timedelta(days=300),
        end=day - timedelta(days=150),
        dose=None,
        dose_unit="mg/day",
        stop_reason="inadequate_response",
    )
    # stopped for remission: not failed; hydroxychloroquine is not read by the failure criteria at all
    TreatmentFactory(
        patient=patient,
        drug="rituximab",
        start=day - timedelta(days=90),
        end=day - timedelta(days=80),
        dose=1000,
        dose_unit="mg/dose",
        stop_reason="remission",
    )
    TreatmentFactory(patient=patient, drug="hydroxychloroquine", start=day - timedelta(days=700), dose=400)
    page = printout(staff, make_referral(patient))

    failed = section(page, "failed-courses")
    assert "mycophenolate mofetil" in failed and "stopped for inadequate response, adequate" in failed
    assert "cyclophosphamide IV" not in failed and "azathioprine" not in failed
    not_failed = section(page, "not-failed-courses")
    assert (
        f"cyclophosphamide IV {short.start:%d %b %Y}–{short.end:%d %b %Y} "
        "(stopped for inadequate response, not adequate: 31 of 70 days)" in not_failed
    )
    assert "rituximab" in not_failed and "stopped for remission" in not_failed
    undetermined = section(page, "undetermined-courses")
    assert f"azathioprine {no_dose.start:%d %b %Y}" in undetermined and "missing: dose" in undetermined
    assert "hydroxychloroquine" not in failed + not_failed + undetermined
    assert "2026.2" in section(page, "p-failed-basis") and full.drug_label in failed


def test_no_course_judged_failed_says_so(site_a, staff) -> None:
    patient = PatientFactory(site=site_a)
    TreatmentFactory(
        patient=patient,
        drug="cyclophosphamide_iv",
        start=today() - timedelta(days=400),
        end=today() - timedelta(days=390),
        dose=750,
        dose_unit="mg/pulse",
        stop_reason="inadequate_response",
    )
    page = printout(staff, make_referral(patient))
    assert section(page, "failed-courses") == "No course judged failed."
    assert "cyclophosphamide IV" in section(page, "not-failed-courses")


def _two_pathway_rules() -> RuleSet:
    """A stored (retired) rule set whose pathways judge intolerance differently."""

    def node(node_id: str, count_intolerance: bool) -> dict:
        params = {**copy.deepcopy(BASE_PARAMS["failed_agents_at_least"]), "count_intolerance": count_intolerance}
        return {"id": node_id, "type": "failed_agents_at_least", "params": params, "source": "S6"}

    content = {
        "format": "sle-screening-rules/1",
        "name": "Two pathways",
        "version": "t-two",
        "pathways": [
            {"id": "hsct", "label": "HSCT evaluation", "inclusion": node("hsct", True)},
            {"id": "msc", "label": "MSC evaluation", "inclusion": node("msc", False)},
        ],
        "cautions": [],
        "drugs": default_rules_json()["drugs"],
    }
    return RuleSet.objects.create(name="Two pathways", version="t-two", content=content, status=RuleSetStatus.RETIRED)


def test_the_printout_judges_with_the_rule_set_the_result_was_screened_with_per_pathway(site_a, staff) -> None:
    rules = _two_pathway_rules()
    patient = PatientFactory(site=site_a)
    TreatmentFactory(
        patient=patient,
        drug="azathioprine",
        start=today() - timedelta(days=200),
        end=today() - timedelta(days=150),
        dose=150,
        dose_unit="mg/day",
        stop_reason="intolerance",
    )
    result = stored_result(patient, {"hsct": "flagged", "msc": "flagged"}, rule_set=rules)
    referral = open_referral(result=result, pathway="msc")
    page = printout(staff, referral)
    failed = section(page, "failed-courses")
    assert "HSCT failed: stopped for intolerance (counted)" in failed
    assert "MSC not failed: stopped for intolerance (not counted)" in failed
    assert "Two pathways t-two" in section(page, "p-failed-basis")


def test_the_verdicts_come_from_the_engine_function(site_a) -> None:
    """The printout adds no judgement of its own: engine.course_verdicts on the same facts gives the same."""
    from patients.summary import build_summary
    from referrals.printout import judge_treatments
    from screening.facts import load_facts

    patient = PatientFactory(site=site_a)
    course = TreatmentFactory(
        patient=patient,
        drug="mycophenolate_mofetil",
        start=today() - timedelta(days=360),
        end=today() - timedelta(days=100),
        dose=1500,
        dose_unit="mg/day",
        stop_reason="inadequate_response",
    )
    rules = parsed_rules(RuleSet.objects.published())
    judged = judge_treatments(build_summary(patient, today()), rules, today())
    direct = engine.course_verdicts(rules, load_facts(patient), today())
    assert [j.verdict for j in judged.not_failed] == [direct[f"treatments/{course.pk}"]]
    assert judged.failed == [] and judged.undetermined == []


def test_the_verdicts_agree_with_the_reasons_printed_beside_them(site_a, staff, cases_day) -> None:
    """Judged as of the screening's date: the failed courses are those the refractory criterion counted."""
    from referrals.models import Referral
    from tests.referrals.factories import import_case, screen

    patient = import_case(site_a, "refractory-nephritis")
    screen(patient)
    page = printout(staff, Referral.objects.get(patient=patient, pathway="hsct"))
    failed = section(page, "failed-courses")
    for drug in ("mycophenolate mofetil", "cyclophosphamide IV", "belimumab"):
        assert drug in failed, drug
    assert "3 failed agents (belimumab, cyclophosphamide, mycophenolate)" in page
    assert 'id="undetermined-courses"' not in page
