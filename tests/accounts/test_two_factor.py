"""Two-factor sign-in: required for rules admins and admins, optional for everyone, recovery codes single use."""

from __future__ import annotations

import re
from binascii import unhexlify
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from accounts.models import User
from tests.conftest import PASSWORD, client_for, give_second_factor

SETUP = reverse("accounts:two_factor_setup")
VERIFY = reverse("accounts:two_factor_verify")
STEP = timedelta(seconds=30)  # one TOTP time step: a code is accepted once


def code_for(key_hex: str) -> str:
    return f"{TOTP(unhexlify(key_hex)).token():06d}"


def wrong_code(key_hex: str) -> str:
    """Six digits the app does not show now, nor one step before or after (the accepted window)."""
    window = {f"{TOTP(unhexlify(key_hex), drift=d).token():06d}" for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


def password_login(username: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    return client


def enrol(client: Client) -> tuple[str, list[str]]:
    """Set up an authenticator app through the pages; return its key and the recovery codes shown."""
    assert client.get(SETUP).status_code == 200
    key = client.session[twofactor.SETUP_KEY]
    response = client.post(SETUP, {"code": code_for(key), "next": "/"})
    assert response.status_code == 200
    codes = re.findall(r'<li class="col">([a-z2-7]{8})</li>', response.content.decode())
    return key, codes


def gated_to(response, url: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(url)


@pytest.mark.django_db
def test_a_rules_admin_reaches_nothing_until_enrolled(rules_admin, patient) -> None:
    client = password_login("admin_1")
    for url in [reverse("home"), reverse("screening:admin_home"), reverse("accounts:security"), reverse("admin:index")]:
        assert gated_to(client.get(url), SETUP), url
    assert gated_to(client.post(reverse("patients:rescreen", kwargs={"pk": patient.pk})), SETUP)
    # the way in names where the user was going; logging out stays possible
    assert client.get(reverse("screening:admin_home"))["Location"] == f"{SETUP}?next=%2Frules%2Fmanage%2F"
    assert client.post(reverse("logout")).status_code == 302
    assert gated_to(client.get(reverse("screening:admin_home")), reverse("login"))


@pytest.mark.django_db
def test_the_setup_page_shows_the_secret_three_ways_drawn_here(rules_admin) -> None:
    client = password_login("admin_1")
    page = client.get(SETUP).content.decode()
    key = client.session[twofactor.SETUP_KEY]
    secret = re.search(r'<code class="fs-5" id="setup-secret">([A-Z2-7 ]+)</code>', page).group(1)
    from base64 import b32decode

    assert b32decode(secret.replace(" ", "")) == unhexlify(key)
    assert "otpauth://totp/Candidacy%3Aadmin_1?secret=" in page and "issuer=Candidacy" in page
    assert '<svg width="' in page and 'class="qr-code"' in page  # inline SVG: no image from anywhere else
    assert "Your account needs a second factor" in page
    assert not TOTPDevice.objects.exists()  # looking at the page stores nothing
    # the same secret until confirmed (a reload does not invalidate what the user scanned)
    client.get(SETUP)
    assert client.session[twofactor.SETUP_KEY] == key


@pytest.mark.django_db
def test_enrolment_needs_a_right_code_then_shows_recovery_codes_and_opens_the_app(rules_admin) -> None:
    client = password_login("admin_1")
    client.get(SETUP)
    wrong = client.post(SETUP, {"code": wrong_code(client.session[twofactor.SETUP_KEY])})
    assert wrong.status_code == 200 and "That code does not match" in wrong.content.decode()
    assert not TOTPDevice.objects.exists()
    assert gated_to(client.get(reverse("home")), SETUP)
    key, codes = enrol(client)
    assert len(codes) == twofactor.RECOVERY_CODE_COUNT == len(set(codes))
    assert TOTPDevice.objects.get(user=rules_admin, confirmed=True).key == key
    assert client.get(reverse("screening:admin_home")).status_code == 200
    assert twofactor.SETUP_KEY not in client.session
    assert LogEntry.objects.filter(object_id=str(rules_admin.pk), change_message__contains="set up").exists()


@pytest.mark.django_db
def test_after_enrolment_login_needs_a_code_from_the_app(rules_admin, clock) -> None:
    key, _ = enrol(password_login("admin_1"))
    clock.shift(STEP)
    client = password_login("admin_1")
    assert gated_to(client.get(reverse("screening:admin_home")), VERIFY)
    assert gated_to(client.get(SETUP), VERIFY)  # no replacing the app without the second factor
    refused = client.post(VERIFY, {"code": wrong_code(key)})
    assert refused.status_code == 200 and "That code was not accepted" in refused.content.decode()
    clock.shift(timedelta(seconds=2))  # django-otp's throttle: one second after one wrong code
    code = code_for(key)
    response = client.post(VERIFY, {"code": code, "next": reverse("screening:admin_home")})
    assert response.status_code == 302 and response["Location"] == reverse("screening:admin_home")
    assert client.get(reverse("screening:admin_home")).status_code == 200
    # the same code cannot sign in a second session (replay)
    other = password_login("admin_1")
    assert other.post(VERIFY, {"code": code}).status_code == 200
    assert gated_to(other.get(reverse("home")), VERIFY)


@pytest.mark.django_db
def test_wrong_codes_are_throttled(rules_admin, clock) -> None:
    key, _ = enrol(password_login("admin_1"))
    clock.shift(STEP)
    client = password_login("admin_1")
    client.post(VERIFY, {"code": "12345x"})
    client.post(VERIFY, {"code": wrong_code(key)})
    # within the wait, even the right code is refused, and the page says until when
    response = client.post(VERIFY, {"code": code_for(key)})
    assert response.status_code == 200 and "Too many wrong codes: wait until" in response.content.decode()


@pytest.mark.django_db
def test_a_recovery_code_works_once(rules_admin) -> None:
    _, codes = enrol(password_login("admin_1"))
    first = password_login("admin_1")
    response = first.post(VERIFY, {"code": codes[0].upper()})
    assert response.status_code == 302
    assert first.get(reverse("screening:admin_home")).status_code == 200
    assert StaticToken.objects.filter(device__user=rules_admin).count() == len(codes) - 1
    second = password_login("admin_1")
    assert second.post(VERIFY, {"code": codes[0]}).status_code == 200
    assert gated_to(second.get(reverse("home")), VERIFY)


@pytest.mark.django_db
def test_new_recovery_codes_replace_the_old_ones(rules_admin, clock) -> None:
    _, old = enrol(password_login("admin_1"))
    client = client_for(rules_admin)
    page = client.post(reverse("accounts:recovery_codes")).content.decode()
    new = re.findall(r'<li class="col">([a-z2-7]{8})</li>', page)
    assert len(new) == twofactor.RECOVERY_CODE_COUNT and not set(new) & set(old)
    assert password_login("admin_1").post(VERIFY, {"code": old[1]}).status_code == 200  # refused
    clock.shift(timedelta(seconds=2))  # django-otp's throttle after the wrong code
    assert password_login("admin_1").post(VERIFY, {"code": new[1]}).status_code == 302


@pytest.mark.django_db
def test_a_rules_admin_cannot_turn_it_off(rules_admin) -> None:
    client = client_for(rules_admin)
    assert client.get(reverse("accounts:two_factor_remove")).status_code == 403
    assert client.post(reverse("accounts:two_factor_remove"), {"password": PASSWORD}).status_code == 403
    assert twofactor.authenticator(rules_admin) is not None


@pytest.mark.django_db
@pytest.mark.parametrize("flag", ["is_superuser", "is_staff"])
def test_whoever_can_open_django_admin_needs_it_too(site_a, flag) -> None:
    User.objects.create_user("root", password=PASSWORD, role="staff", **{flag: True})
    client = password_login("root")
    assert gated_to(client.get(reverse("admin:index")), SETUP)
    assert gated_to(client.get(reverse("patients:list")), SETUP)


@pytest.mark.django_db
def test_staff_and_specialists_are_not_asked_unless_they_choose_it(staff, clock) -> None:
    client = password_login("staff_a")
    assert client.get(reverse("patients:list")).status_code == 200
    security = client.get(reverse("accounts:security")).content.decode()
    assert "Set up two-factor sign-in" in security
    key, codes = enrol(client)
    assert len(codes) == twofactor.RECOVERY_CODE_COUNT
    assert (
        'Recovery codes left: <strong id="codes-left">10</strong>'
        in client.get(reverse("accounts:security")).content.decode()
    )
    # from now on their logins ask for a code too
    clock.shift(STEP)
    later = password_login("staff_a")
    assert gated_to(later.get(reverse("patients:list")), VERIFY)
    assert later.post(VERIFY, {"code": code_for(key)}).status_code == 302
    assert later.get(reverse("patients:list")).status_code == 200
    # and they may turn it off again, with their password
    wrong = later.post(reverse("accounts:two_factor_remove"), {"password": "not-it"})
    assert wrong.status_code == 200 and twofactor.authenticator(staff) is not None
    assert later.post(reverse("accounts:two_factor_remove"), {"password": PASSWORD}).status_code == 302
    assert twofactor.authenticator(staff) is None
    assert password_login("staff_a").get(reverse("patients:list")).status_code == 200


@pytest.mark.django_db
def test_an_admin_resets_a_lost_phone(rules_admin) -> None:
    enrol(password_login("admin_1"))
    in_use = client_for(rules_admin)
    root = User.objects.create_superuser("root", password=PASSWORD)
    admin = client_for(root)
    listing = admin.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "Reset two-factor sign-in" in listing and "Unlock sign-in" in listing
    response = admin.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [rules_admin.pk]},
    )
    assert response.status_code == 302
    assert twofactor.authenticator(rules_admin) is None and twofactor.recovery_codes_left(rules_admin) == 0
    assert LogEntry.objects.filter(object_id=str(rules_admin.pk), change_message__contains="reset by root").exists()
    # the session verified with the old device is sent to set up a new one
    assert gated_to(in_use.get(reverse("screening:admin_home")), SETUP)


@pytest.mark.django_db
def test_the_test_helper_goes_through_the_verify_page(rules_admin, monkeypatch) -> None:
    """client_for gives the second factor through the real page: when the page refuses, the helper fails."""
    client = client_for(rules_admin)
    assert client.session["otp_device_id"].startswith("otp_static.staticdevice/")
    assert client.get(reverse("screening:admin_home")).status_code == 200

    monkeypatch.setattr(twofactor, "verify", lambda user, code: None)
    other = Client()
    other.force_login(rules_admin)
    with pytest.raises(AssertionError):
        give_second_factor(other, rules_admin)
    assert gated_to(other.get(reverse("screening:admin_home")), VERIFY)
