"""After a specialist saves an assessment that makes the patient flagged, the page shows the flag."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.clock import TODAY
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login
from tests.shipped import CASES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def almost_flagged(db):
    from accounts.models import Role, Site
    from clinical.casefile import validate_case
    from patients.casefiles import import_cases
    from patients.models import Patient
    from screening.catalogue import drug_units

    site = Site.objects.create(code="e2e-flag", name="Flag clinic")
    make_user("flag_spec", Role.SPECIALIST, site)
    case = json.loads((CASES / "refractory-nephritis.json").read_text())
    case.update(case_id="ALMOST-1", assessments=[], manifestations=[])
    case.pop("as_of")
    import_cases(actor=None, site=site, cases=[validate_case(case, drugs=drug_units(), today=TODAY)])
    return Patient.objects.get(identifier="ALMOST-1")


def test_flag_shows_after_saving_an_assessment(page, live_server, almost_flagged) -> None:
    page.set_default_timeout(10_000)
    login(page, live_server, "flag_spec", PASSWORD)
    page.goto(f"{live_server.url}/patients/{almost_flagged.pk}/")
    hsct = page.locator("article[data-pathway=hsct]")
    expect(hsct).to_contain_text("Not enough data to screen for HSCT evaluation.")
    expect(hsct.locator(".missing-list")).to_contain_text("SLEDAI-2K")

    page.get_by_role("link", name="Add assessment", exact=True).click()
    page.get_by_label("Date").fill(TODAY.isoformat())
    for code in ("proteinuria", "urinary_casts", "hematuria"):
        page.locator(f"#id_sledai_{code}_1").check()
    page.get_by_role("button", name="Mark the rest absent").click()
    expect(page.locator("#sledai-score")).to_have_text("12")
    page.get_by_role("button", name="Save assessment").click()

    hsct = page.locator("article[data-pathway=hsct]")
    expect(hsct).to_have_attribute("data-outcome", "flagged")
    expect(hsct).to_contain_text("A referral for HSCT evaluation may be worth considering.")
    expect(hsct).to_contain_text("SLEDAI-2K 12")
    expect(page.locator("#screening")).to_contain_text("the decision rests with the clinicians")
