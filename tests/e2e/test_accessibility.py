"""axe-core finds no serious or critical accessibility violations on the specialist's pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clock import TODAY
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login
from tests.shipped import CASES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
AXE = (ROOT / "static" / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


@pytest.fixture
def flagged_patient(db):
    from accounts.models import Role, Site
    from clinical.casefile import validate_case
    from patients.casefiles import import_cases
    from patients.models import Patient
    from screening.catalogue import drug_units

    site = Site.objects.create(code="a11y", name="A11y clinic")
    make_user("a11y_spec", Role.SPECIALIST, site)
    case = json.loads((CASES / "workup-pending.json").read_text())
    case.pop("as_of")
    import_cases(actor=None, site=site, cases=[validate_case(case, drugs=drug_units(), today=TODAY)])
    return Patient.objects.get(identifier=case["case_id"])


def violations(page) -> list[str]:
    page.evaluate(AXE)
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} node(s)"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_main_pages_have_no_serious_violations(page, live_server, flagged_patient) -> None:
    page.set_default_timeout(10_000)
    login(page, live_server, "a11y_spec", PASSWORD)
    pk = flagged_patient.pk
    problems = {}
    for path in [
        "/patients/",
        f"/patients/{pk}/",
        f"/patients/{pk}/assessments/add/",
        f"/patients/{pk}/observations/add/",
        f"/patients/{pk}/treatments/add/",
        f"/patients/{pk}/history/",
        "/rules/",
        "/patients/import/",
        "/queue/",
        "/queue/exports/?state=all",
        "/dashboard/",
    ]:
        page.goto(live_server.url + path)
        found = violations(page)
        if found:
            problems[path] = found
    assert not problems, problems


def test_login_page(page, live_server) -> None:
    page.goto(live_server.url + "/login/")
    assert not violations(page)


def test_privacy_officer_pages_have_no_serious_violations(page, live_server, flagged_patient) -> None:
    from accounts.models import Role

    make_user("a11y_privacy", Role.PRIVACY_OFFICER, flagged_patient.site)
    page.set_default_timeout(10_000)
    login(page, live_server, "a11y_privacy", PASSWORD)
    problems = {}
    for path in ["/privacy/patients/", f"/privacy/patients/{flagged_patient.pk}/"]:
        page.goto(live_server.url + path)
        found = violations(page)
        if found:
            problems[path] = found
    assert not problems, problems
