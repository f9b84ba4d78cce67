"""The fixed cast of users and shared fixtures (style.md rule 10)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts import twofactor
from accounts.models import Role, Site, User
from patients.models import Patient
from tests.clock import CASES_DAY, NOON, TODAY, noon
from tests.shipped import RULES_PATH

PASSWORD = "pw-for-tests-only"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Coordinates]:
    """Every test runs at noon, clinic time, on the run's pinned day (tests/clock.py); the clock ticks on."""
    with time_machine.travel(NOON, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def empty_fragment_cache() -> Iterator[None]:
    """Each test starts with no rendered page pieces kept (a row cached by an earlier test would be correct,
    its key being its content, but a test counting renders must see its own)."""
    from django.core.cache import caches

    caches["fragments"].clear()
    yield


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture
def cases_day(clock: time_machine.Coordinates) -> date:
    """Pin the clock to the shipped case files' as-of day (tests that screen them as of "today")."""
    clock.move_to(noon(CASES_DAY))
    return CASES_DAY


def make_user(username: str, role: str, *sites: Site) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, role=role)
    user.sites.add(*sites)
    return user


@pytest.fixture
def site_a(db: None) -> Site:
    return Site.objects.create(code="site-a", name="Site A")


@pytest.fixture
def site_b(db: None) -> Site:
    return Site.objects.create(code="site-b", name="Site B")


@pytest.fixture
def specialist(site_a: Site) -> User:
    return make_user("spec_a", Role.SPECIALIST, site_a)


@pytest.fixture
def staff(site_a: Site) -> User:
    return make_user("staff_a", Role.STAFF, site_a)


@pytest.fixture
def specialist_b(site_b: Site) -> User:
    return make_user("spec_b", Role.SPECIALIST, site_b)


@pytest.fixture
def rules_admin(site_a: Site) -> User:
    return make_user("admin_1", Role.RULES_ADMIN, site_a)


@pytest.fixture
def privacy_officer(site_a: Site) -> User:
    return make_user("privacy_a", Role.PRIVACY_OFFICER, site_a)


@pytest.fixture
def privacy_officer_b(site_b: Site) -> User:
    return make_user("privacy_b", Role.PRIVACY_OFFICER, site_b)


@pytest.fixture
def patient(site_a: Site) -> Patient:
    return Patient.objects.create(
        site=site_a,
        identifier="P-001",
        birth_date=date(1990, 5, 1),
        sex="female",
        weight_kg=64,
        ana_titre=640,
        eular_criteria=["joint_involvement", "anti_dsdna_or_anti_sm"],
    )


def client_for(user: User | None) -> Client:
    """A client signed in as ``user``; for whom two-factor sign-in is required, with it given too."""
    client = Client()
    if user is not None:
        client.force_login(user)
        if twofactor.required(user):
            give_second_factor(client, user)
    return client


def give_second_factor(client: Client, user: User) -> None:
    """Give a signed-in session its second factor the way a person does, through the verify page.

    The user gets an authenticator app and recovery codes if they have none (what the set-up
    page stores), and the session types in one fresh single-use recovery code: no session key
    is set by hand, so a broken verification fails every test that signs in a rules admin.
    """
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import default_key

    if twofactor.authenticator(user) is None:
        twofactor.enable_two_factor(user=user, key=default_key())
    code = StaticToken.random_token()
    StaticDevice.objects.get(user=user).token_set.create(token=code)
    response = client.post(reverse("accounts:two_factor_verify"), {"code": code})
    assert response.status_code == 302, response.status_code
    assert not response["Location"].startswith(reverse("accounts:two_factor_verify")), response["Location"]
    # the notice "you used a recovery code" is read here, so it does not land on the test's first page
    assert b"You used a recovery code" in client.get(reverse("accounts:security")).content


@pytest.fixture
def spec_client(specialist: User) -> Client:
    return client_for(specialist)


def ensure_published_rules() -> Any:
    """Transactional tests flush the database, data migrations included: put the default rules back."""
    from screening.models import RuleSet

    rule_set = RuleSet.objects.filter(status="published").first()
    if rule_set is None:
        content = json.loads(RULES_PATH.read_text(encoding="utf-8"))
        rule_set = RuleSet.objects.create(
            name=content["name"], version=content["version"], status="published", content=content
        )
    return rule_set
