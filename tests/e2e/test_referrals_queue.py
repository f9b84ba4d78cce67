"""Clinic staff work the queue: filter, open a referral, review it, record the referral sent."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
AS_OF = date(2026, 11, 1)


@pytest.fixture
def queue_site(db):
    from accounts.models import Role, Site
    from tests.referrals.factories import import_case, screen

    site = Site.objects.create(code="e2e-queue", name="Queue clinic")
    make_user("queue_staff", Role.STAFF, site)
    for name in ("refractory-nephritis", "contraindications-present", "mild-disease"):
        screen(import_case(site, name), as_of=AS_OF)
    return site


def test_staff_review_and_refer_from_the_queue(page, live_server, queue_site) -> None:
    page.set_default_timeout(10_000)
    login(page, live_server, "queue_staff", PASSWORD)
    page.get_by_role("link", name="Referral queue").click()
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(4)  # two flagged patients, two pathways each

    page.get_by_label("Pathway", exact=True).select_option("hsct")
    page.get_by_label("Has a contraindication").check()
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("contraindications-present")

    page.get_by_label("Has a contraindication").uncheck()
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="refractory-nephritis").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("HSCT referral")
    expect(page.locator("#referral-state")).to_contain_text("New")
    page.get_by_role("button", name="Start review").click()
    expect(page.locator("#referral-state")).to_contain_text("In review")

    form = page.locator("form[data-action=referred]")
    form.get_by_label("Evaluating centre").fill("Regional evaluation centre")
    form.get_by_role("button", name="Record referral sent").click()
    expect(page.locator("#referral-state")).to_contain_text("Referred")
    expect(page.locator("#history")).to_contain_text("Referred to Regional evaluation centre on")

    page.get_by_role("link", name="Back to the queue").click()
    page.get_by_label("State", exact=True).select_option("all")
    page.get_by_label("Pathway", exact=True).select_option("hsct")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("#queue tbody tr", has_text="refractory-nephritis")
    expect(row.locator("[data-state]").first).to_have_text("Referred")
    expect(page.locator("[data-state-count=referred]")).to_contain_text("1")
