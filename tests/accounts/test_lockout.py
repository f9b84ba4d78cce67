"""Login throttling (django-axes): a username from one address is locked out after the failure limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import User
from tests.conftest import PASSWORD, client_for

HERE = "192.0.2.10"  # documentation addresses (RFC 5737)
ELSEWHERE = "192.0.2.99"


def attempt(username: str, password: str, address: str = HERE) -> object:
    return Client(REMOTE_ADDR=address).post(reverse("login"), {"username": username, "password": password})


def signed_in(response: object) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("home")  # type: ignore[attr-defined]


def fail(username: str, times: int, address: str = HERE) -> list[object]:
    return [attempt(username, "wrong-password", address) for _ in range(times)]


@pytest.mark.django_db
def test_one_failure_short_of_the_limit_still_lets_the_right_password_in(specialist) -> None:
    assert settings.AXES_FAILURE_LIMIT >= 3
    responses = fail("spec_a", settings.AXES_FAILURE_LIMIT - 1)
    assert all(r.status_code == 200 for r in responses)  # the login form again, with its error
    assert signed_in(attempt("spec_a", PASSWORD))


@pytest.mark.django_db
def test_the_limit_locks_the_username_from_that_address_even_with_the_right_password(specialist) -> None:
    *before, last = fail("spec_a", settings.AXES_FAILURE_LIMIT)
    assert all(r.status_code == 200 for r in before)
    assert last.status_code == 429
    locked = attempt("spec_a", PASSWORD)
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Sign-in locked" in text and f"{settings.AXES_FAILURE_LIMIT} wrong passwords" in text
    assert "30 minutes" in text  # the cool-off, in words
    assert "no-store" in locked["Cache-Control"] and "script-src 'self'" in locked["Content-Security-Policy"]


@pytest.mark.django_db
def test_the_lock_is_on_the_username_and_address_together(specialist, staff) -> None:
    fail("spec_a", settings.AXES_FAILURE_LIMIT)
    assert attempt("spec_a", PASSWORD).status_code == 429
    # the same person from another computer, and another person from this one, are not locked out
    assert signed_in(attempt("spec_a", PASSWORD, ELSEWHERE))
    assert signed_in(attempt("staff_a", PASSWORD))


@pytest.mark.django_db
def test_failures_for_a_name_that_does_not_exist_lock_it_out_too(specialist) -> None:
    fail("nobody", settings.AXES_FAILURE_LIMIT)
    assert attempt("nobody", "anything").status_code == 429
    assert signed_in(attempt("spec_a", PASSWORD))


@pytest.mark.django_db
def test_the_lock_ends_after_the_cool_off(specialist, clock) -> None:
    fail("spec_a", settings.AXES_FAILURE_LIMIT)
    clock.shift(settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
    # trying while locked out is refused, and does not start the wait again
    assert attempt("spec_a", PASSWORD).status_code == 429
    clock.shift(timedelta(minutes=2))
    assert signed_in(attempt("spec_a", PASSWORD))


@pytest.mark.django_db
def test_a_success_starts_the_count_again(specialist) -> None:
    fail("spec_a", settings.AXES_FAILURE_LIMIT - 1)
    assert signed_in(attempt("spec_a", PASSWORD))
    fail("spec_a", settings.AXES_FAILURE_LIMIT - 1)
    assert signed_in(attempt("spec_a", PASSWORD))


@pytest.mark.django_db
def test_an_admin_unlocks_a_user_from_the_user_list(specialist) -> None:
    fail("spec_a", settings.AXES_FAILURE_LIMIT)
    assert attempt("spec_a", PASSWORD).status_code == 429
    root = User.objects.create_superuser("root", password=PASSWORD)
    admin = client_for(root)
    response = admin.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [specialist.pk]},
    )
    assert response.status_code == 302
    assert signed_in(attempt("spec_a", PASSWORD))


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_escape_the_lock(specialist) -> None:
    fail("spec_a", settings.AXES_FAILURE_LIMIT)
    forged = Client(REMOTE_ADDR=HERE, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert forged.post(reverse("login"), {"username": "spec_a", "password": PASSWORD}).status_code == 429


def test_behind_the_proxy_the_address_it_saw_counts(rf) -> None:
    from accounts.security import client_ip

    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{ELSEWHERE}, {HERE}")
    with override_settings(BEHIND_PROXY=True):
        assert client_ip(request) == HERE  # the last hop, appended by our proxy; the first is the client's word
    with override_settings(BEHIND_PROXY=False):
        assert client_ip(request) == "127.0.0.1"
