"""A rules admin's first login: set up an authenticator app in the browser, keep the recovery codes, go on."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def new_admin(db):
    from accounts.models import Role, Site

    make_user("first_admin", Role.RULES_ADMIN, Site.objects.create(code="e2e-2fa", name="2FA clinic"))


def test_first_login_sets_up_two_factor_then_logins_ask_for_a_code(page, live_server, new_admin, clock) -> None:
    from datetime import timedelta

    from accounts.models import User
    from accounts.twofactor import authenticator

    page.set_default_timeout(10_000)
    login(page, live_server, "first_admin", PASSWORD)
    # nothing opens before the set-up; the page shows the QR code (drawn inline) and the key to type
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.locator("svg.qr-code")).to_be_visible()
    expect(page.get_by_role("link", name="Manage rules")).to_have_count(0)
    page.goto(f"{live_server.url}/rules/manage/")
    expect(page).to_have_url(re.compile(r"/account/two-factor/setup/\?next=%2Frules%2Fmanage%2F$"))

    # the app is fed the key by hand; its code confirms the set-up
    uri = page.locator("#setup-uri").text_content()
    secret = page.locator("#setup-secret").text_content().replace(" ", "")
    assert f"secret={secret}" in uri
    from base64 import b32decode

    key_hex = b32decode(secret + "=" * (-len(secret) % 8)).hex()
    page.get_by_label("Code from the app").fill(totp_code(key_hex))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page).to_have_url(re.compile(r"/rules/manage/$"))
    assert authenticator(User.objects.get(username="first_admin")) is not None

    # a later login asks for the app's code (a new one: each is accepted once)
    page.get_by_role("button", name="Log out").click()
    clock.shift(timedelta(seconds=30))
    login(page, live_server, "first_admin", PASSWORD, key_hex)
    expect(page).to_have_url(re.compile(r"/rules/$"))
    page.get_by_role("link", name="Security").click()
    expect(page.locator("#codes-left")).to_have_text("10")
