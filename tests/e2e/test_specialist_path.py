"""A specialist records a patient's history in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def specialist_user(db):
    from accounts.models import Role, Site

    site = Site.objects.create(code="e2e", name="E2E clinic")
    return make_user("e2e_spec", Role.SPECIALIST, site)


def test_specialist_records_a_patient(page, live_server, specialist_user) -> None:
    page.set_default_timeout(10_000)
    login(page, live_server, "e2e_spec", PASSWORD)
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()

    page.get_by_role("link", name="New patient").click()
    page.get_by_label("Identifier").fill("E2E-001")
    page.get_by_label("Birth date").fill("1990-04-02")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Weight (kg)").fill("62")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("E2E-001"))).to_be_visible()

    # An assessment: the computed score follows the boxes as they are ticked.
    page.get_by_role("link", name="Add assessment", exact=True).click()
    page.get_by_label("Date").fill("2026-10-01")
    score = page.locator("#sledai-score")
    # nothing answered yet: the score is a range until every descriptor is answered
    expect(score).to_have_text(re.compile(r"^0–\d+$"))
    page.get_by_role("button", name="Save assessment").click()
    expect(page.get_by_role("alert")).to_contain_text("24 SLEDAI-2K descriptors are not answered")
    page.get_by_role("button", name="Mark the rest absent").click()  # in the page, by the script
    expect(page.locator("#id_sledai_seizure_0")).to_be_checked()
    expect(score).to_have_text("0")
    page.locator("#id_sledai_arthritis_1").check()
    expect(score).to_have_text("4")
    page.locator("#id_sledai_rash_1").check()
    expect(score).to_have_text("6")
    page.locator("#id_sledai_low_complement_2").check()  # not assessed
    expect(score).to_have_text("6–8")
    page.get_by_role("button", name="Save assessment").click()
    expect(page.get_by_text("Disease-activity assessment saved.")).to_be_visible()

    # A creatinine in µmol/L, stored in mg/dL.
    page.get_by_role("link", name="Add lab").click()
    page.get_by_label("Lab or test").select_option("creatinine")
    page.get_by_label("Date").fill("2026-10-01")
    page.locator("#id_value").fill("88.4")
    page.get_by_label("Unit of the value entered").select_option("µmol/L")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Lab or function test saved.")).to_be_visible()

    # A treatment course.
    page.get_by_role("link", name="Add course").click()
    page.wait_for_url("**/treatments/add/")
    page.wait_for_load_state("load")  # the unit picker's script is attached on load
    page.get_by_label("Drug").select_option("belimumab")
    expect(page.get_by_label("Dose unit")).to_have_value("mg/dose")
    page.get_by_label("Drug").select_option("mycophenolate_mofetil")
    page.get_by_label("Start").fill("2025-01-10")
    page.get_by_label("End").fill("2025-09-01")
    page.locator("#id_dose").fill("2000")
    expect(page.get_by_label("Dose unit")).to_have_value("mg/day")  # picked from the drug
    page.get_by_label("Why it stopped").select_option("inadequate_response")
    page.get_by_role("button", name="Save").click()

    # All of it on the patient page.
    expect(page.get_by_text("Latest: 6–8")).to_be_visible()
    labs = page.locator("#h-labs").locator("xpath=..")
    expect(labs).to_contain_text("Creatinine")
    expect(labs).to_contain_text("1 mg/dL")
    expect(page.locator("#treatments")).to_contain_text("mycophenolate mofetil")
    expect(page.locator("#treatments")).to_contain_text("Inadequate response")
    expect(page.locator("#sledai-chart")).to_be_visible()
