"""A rules admin raises HSCT's upper age limit; the preview names the patient; a second admin signs off; the flag shows."""

from __future__ import annotations

import importlib
import json
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login, with_authenticator
from tests.shipped import CASES, case_paths

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CASES_SHIPPED = len(case_paths())


def shifted(value, days: int):
    """Every date of a case file moved by ``days``, so the case reads as of today as it did as of its as_of."""
    if isinstance(value, dict):
        return {k: shifted(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [shifted(v, days) for v in value]
    if isinstance(value, str) and ISO.match(value):
        return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
    return value


def seed_shipped_test_cases() -> None:
    """The test cases are data-migration rows: put them back after the previous flush, as the migrations seed them
    (0005: the cases of 2026.1; the migration shipping 2026.2: its new case and expectations)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    loader = MigrationExecutor(connection).loader
    state = loader.project_state().apps
    importlib.import_module("screening.migrations.0005_seed_test_cases").seed(state, None)
    [ship] = [
        name for app, name in loader.graph.nodes if app == "screening" and name.endswith("_ship_default_rules_2026_2")
    ]
    importlib.import_module(f"screening.migrations.{ship}").ship(state, None)


@pytest.fixture
def older_patient(db):
    from accounts.models import Role, Site
    from clinical.casefile import validate_case
    from patients.casefiles import import_cases
    from patients.models import Patient
    from screening.catalogue import drug_units

    seed_shipped_test_cases()
    site = Site.objects.create(code="e2e-rules", name="Rules clinic")
    make_user("rules_spec", Role.SPECIALIST, site)
    make_user("admin_1", Role.RULES_ADMIN, site)
    make_user("admin_2", Role.RULES_ADMIN, site)
    case = json.loads((CASES / "older-patient.json").read_text())
    today = timezone.localdate()
    case = shifted(case, (today - date.fromisoformat(case.pop("as_of"))).days)
    case["case_id"] = "OLDER-63"
    import_cases(actor=None, site=site, cases=[validate_case(case, drugs=drug_units(), today=today)])
    return Patient.objects.get(identifier="OLDER-63")


@pytest.fixture
def keys(older_patient) -> dict[str, str]:
    """Rules admins sign in with a second factor: both have an authenticator app (set-up: test_two_factor.py)."""
    return {name: with_authenticator(name) for name in ("admin_1", "admin_2")}


def test_raise_the_age_limit_preview_sign_off_publish_and_see_the_flag(page, live_server, older_patient, keys) -> None:
    page.set_default_timeout(15_000)
    base = live_server.url

    # the specialist sees the patient not flagged for HSCT: too old for the published rules
    login(page, live_server, "rules_spec", PASSWORD)
    page.goto(f"{base}/patients/{older_patient.pk}/")
    expect(page.locator("article[data-pathway=hsct]")).to_have_attribute("data-outcome", "not_flagged")
    page.context.clear_cookies()

    # admin_1 drafts the change
    login(page, live_server, "admin_1", PASSWORD, keys["admin_1"])
    page.get_by_role("link", name="Manage rules").click()
    page.get_by_role("link", name="Create a draft from it").click()
    expect(page.get_by_label("Version of the new draft")).to_have_value("2026.3")
    page.get_by_label("Why").fill("LIST protocol admits patients up to 65")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#status")).to_have_text("draft")

    page.get_by_role("link", name="Edit hsct.age").click()
    page.get_by_label("Oldest age (max_years)").fill("65")
    page.get_by_label("Why").fill("LIST protocol (S30) admits patients up to 65")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#audit")).to_contain_text("hsct.age: 18–60 → 18–65 (max_years 60 → 65)")

    # the impact preview names the patient it newly flags, and the criterion that made the difference
    page.get_by_role("button", name="Preview impact").click()
    row = page.locator("#impact-rows tr[data-patient=OLDER-63]")
    expect(row).to_have_attribute("data-direction", "newly_flagged")
    expect(row).to_contain_text("hsct.age")
    expect(page.locator("#impact-counts tr[data-pathway=hsct] td[data-direction=newly_flagged]")).to_have_text("1")

    # the shipped older-patient test case now fails; admin_1 updates its expectation with a reason
    page.get_by_role("link", name=re.compile("Default rules 2026.3")).click()
    page.get_by_role("link", name="Run test cases").click()
    expect(page.locator("#test-summary")).to_contain_text(f"1 of {CASES_SHIPPED} test cases failing")
    page.locator("[data-case=older-patient]").get_by_role("link", name="Update the expected outcome…").click()
    expect(page.get_by_label("Expected for HSCT")).to_have_value("flagged")
    page.get_by_label("Why").fill("63-year-olds are flagged under the new limit")
    page.get_by_role("button", name="Update expectation").click()
    expect(page.locator("#test-summary")).to_contain_text(f"All {CASES_SHIPPED} test cases pass.")
    page.context.clear_cookies()

    # admin_2 reviews, signs off and publishes
    login(page, live_server, "admin_2", PASSWORD, keys["admin_2"])
    page.get_by_role("link", name="Manage rules").click()
    page.get_by_role("link", name="2026.3", exact=True).click()
    page.get_by_role("link", name="Review and sign off").click()
    expect(page.locator("#release-checks")).to_contain_text(f"all {CASES_SHIPPED} pass")
    page.get_by_label("Review note").fill("Checked the preview: one patient newly flagged")
    page.get_by_role("button", name="Sign off").click()
    expect(page.locator("#sign-off-state")).to_contain_text("signed off by admin_2")
    page.get_by_role("link", name="Publish…").click()
    page.get_by_label("Change note").fill("HSCT upper age limit raised to 65 (LIST protocol)")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#rescreen-summary")).to_contain_text("re-screened")
    page.context.clear_cookies()

    # the patient's page now shows the flag
    login(page, live_server, "rules_spec", PASSWORD)
    page.goto(f"{base}/patients/{older_patient.pk}/")
    hsct = page.locator("article[data-pathway=hsct]")
    expect(hsct).to_have_attribute("data-outcome", "flagged")
    expect(hsct).to_contain_text("A referral for HSCT evaluation may be worth considering.")
