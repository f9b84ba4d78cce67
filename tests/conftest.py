"""The fixed cast of users and shared fixtures (style.md rule 10)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from django.test import Client

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
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


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
