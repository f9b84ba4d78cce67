"""The patient page says when a flag lapses and what would flag a pathway that is not flagged."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login
from tests.shipped import CASES, LAPSES_PATH

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def partial(db, cases_day):
    from accounts.models import Role, Site
    from clinical.casefile import validate_case
    from patients.casefiles import import_cases
    from patients.models import Patient
    from screening.catalogue import drug_units

    site = Site.objects.create(code="e2e-outlook", name="Outlook clinic")
    make_user("outlook_spec", Role.SPECIALIST, site)
    case = json.loads((CASES / "partial-activity-score.json").read_text())
    case.pop("as_of")  # screened as of today: the clock is on the case files' day
    import_cases(actor=None, site=site, cases=[validate_case(case, drugs=drug_units(), today=cases_day)])
    return Patient.objects.get(identifier=case["case_id"])


def test_the_patient_page_shows_the_lapse_date_and_the_nearest_miss(page, live_server, partial) -> None:
    lapses = json.loads(LAPSES_PATH.read_text())["partial-activity-score"]
    page.set_default_timeout(10_000)
    login(page, live_server, "outlook_spec", PASSWORD)
    page.goto(f"{live_server.url}/patients/{partial.pk}/")

    msc = page.locator("article[data-pathway=msc]")
    expect(msc).to_have_attribute("data-outcome", "flagged")
    lapse = msc.locator(".lapse")
    expect(lapse).to_have_attribute("data-lapses", lapses["msc"])
    expect(lapse).to_contain_text("Lapses on 15 Nov 2026")
    expect(lapse).to_contain_text("if nothing new is recorded")
    expect(msc.locator(".next-list")).to_have_count(0)

    hsct = page.locator("article[data-pathway=hsct]")
    expect(hsct).to_have_attribute("data-outcome", "insufficient_data")
    expect(hsct.locator(".lapse")).to_have_count(0)
    nearest = hsct.locator(".next-list li").first
    expect(nearest).to_contain_text("SLEDAI-2K 6 on 15 Oct 2026, needs 8: two more points")
