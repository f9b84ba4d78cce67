"""Session limits: signed out after the idle timeout and after the absolute limit, told why on the login page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import PASSWORD, client_for

PAGE = reverse("patients:list")
SECOND = timedelta(seconds=1)


def signed_out(response, client) -> str:
    """Assert the response sends the user to the login page; return what that page says."""
    assert response.status_code == 302 and response["Location"].startswith(reverse("login")), response.status_code
    return client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_defaults_are_fifteen_minutes_idle_and_eight_hours_in_all() -> None:
    assert settings.SESSION_IDLE_TIMEOUT == timedelta(minutes=15)
    assert settings.SESSION_ABSOLUTE_TIMEOUT == timedelta(hours=8)
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


@pytest.mark.django_db
def test_activity_keeps_the_session_and_idleness_ends_it(specialist, clock) -> None:
    client = client_for(specialist)
    for _ in range(3):  # 14 minutes between pages, three times: still signed in
        clock.shift(timedelta(minutes=14))
        assert client.get(PAGE).status_code == 200
    clock.shift(settings.SESSION_IDLE_TIMEOUT + SECOND)
    page = signed_out(client.get(PAGE), client)
    assert "You were signed out after 15 minutes without activity." in page
    # and the session is gone: the next page asks for the login again, without the notice
    again = client.get(PAGE)
    assert again.status_code == 302 and "without activity" not in client.get(again["Location"]).content.decode()


@pytest.mark.django_db
def test_the_idle_limit_is_a_setting(specialist, clock) -> None:
    with override_settings(SESSION_IDLE_TIMEOUT=timedelta(minutes=5)):
        client = client_for(specialist)
        clock.shift(timedelta(minutes=4))
        assert client.get(PAGE).status_code == 200
        clock.shift(timedelta(minutes=5) + SECOND)
        assert "after 5 minutes without activity" in signed_out(client.get(PAGE), client)


@pytest.mark.django_db
def test_the_absolute_limit_ends_even_an_active_session(specialist, clock) -> None:
    client = client_for(specialist)
    elapsed = timedelta(0)
    while elapsed + timedelta(minutes=10) < settings.SESSION_ABSOLUTE_TIMEOUT:
        clock.shift(timedelta(minutes=10))
        elapsed += timedelta(minutes=10)
        assert client.get(PAGE).status_code == 200
    clock.shift(settings.SESSION_ABSOLUTE_TIMEOUT - elapsed)
    assert "a session lasts at most 8 hours" in signed_out(client.get(PAGE), client)


@pytest.mark.django_db
def test_a_real_login_starts_the_clocks(specialist, clock) -> None:
    from django.test import Client

    client = Client()
    assert client.post(reverse("login"), {"username": "spec_a", "password": PASSWORD}).status_code == 302
    clock.shift(settings.SESSION_IDLE_TIMEOUT - SECOND)
    assert client.get(PAGE).status_code == 200
    clock.shift(settings.SESSION_IDLE_TIMEOUT + SECOND)
    assert client.get(PAGE).status_code == 302


@pytest.mark.django_db
def test_pages_do_not_save_the_session_every_time(specialist, clock) -> None:
    """Last activity is written at most once a minute: a page view within the minute writes nothing."""
    client = client_for(specialist)
    clock.shift(timedelta(minutes=2))

    def writes() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PAGE).status_code == 200
        return sum(q["sql"].startswith("UPDATE") and "django_session" in q["sql"] for q in ctx.captured_queries)

    assert writes() == 1  # two minutes since the last one: written
    assert writes() == 0
    clock.shift(timedelta(seconds=61))
    assert writes() == 1
