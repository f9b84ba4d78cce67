"""The printable referral summary: one page in the browser's print view, with what the centre needs."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def referral(db):
    from accounts.models import Role, Site
    from referrals.models import Referral
    from tests.referrals.factories import import_case, screen

    site = Site.objects.create(code="e2e-print", name="Print clinic")
    make_user("print_staff", Role.STAFF, site)
    patient = import_case(site, "refractory-nephritis")
    screen(patient, as_of=date(2026, 11, 1))
    return Referral.objects.get(patient=patient, pathway="hsct")


def test_print_the_referral_summary(page, live_server, referral) -> None:
    page.set_default_timeout(10_000)
    login(page, live_server, "print_staff", PASSWORD)
    page.goto(f"{live_server.url}/referrals/{referral.pk}/")
    failed_requests: list[str] = []
    page.on("response", lambda r: failed_requests.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.get_by_role("link", name="Printable summary").click()
    page.wait_for_load_state("load")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator("#print-patient")).to_have_text("refractory-nephritis")
    main = page.locator("main")
    for text in (
        "Diagnosis basis",
        "1:640",
        "SLEDAI-2K over time",
        "Failed treatments",
        "mycophenolate mofetil",
        "cyclophosphamide IV",
        "Inadequate response",
        "Key labs",
        "eGFR",
        "FEV1",
        "ECOG performance status",
        "Why the screening flagged this patient",
        "2026.2",
        "[S19]",
        "Cautions",
        "Missing work-up",
        "The evaluating centre decides.",
    ):
        expect(main).to_contain_text(text)
    # the favicon and the styles load (a missing icon would have asked for /favicon.ico and got a 404)
    icon = page.locator("link[rel=icon]")
    expect(icon).to_have_attribute("href", re.compile(r"^/static/favicon\.svg$"))
    assert page.evaluate("fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)") == 200
    assert page.evaluate("Array.from(document.styleSheets).filter(s => s.href).length") == 2
    assert not failed_requests, failed_requests
    expect(page.locator("svg.sledai-svg polyline")).to_have_count(1)
    expect(page.locator("svg.sledai-svg circle")).to_have_count(2)
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
