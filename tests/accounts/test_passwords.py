"""Users change their own password; an admin resets a forgotten one. Either signs the other sessions out."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.conftest import PASSWORD, client_for

NEW = "a-new-long-passphrase-for-tests"


def can_login(username: str, password: str) -> bool:
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


@pytest.mark.django_db
def test_a_user_changes_their_own_password(specialist) -> None:
    client = client_for(specialist)
    other_computer = client_for(specialist)
    page = client.get(reverse("accounts:password_change"))
    assert page.status_code == 200 and "Old password" in page.content.decode()
    wrong = client.post(
        reverse("accounts:password_change"),
        {"old_password": "not-it", "new_password1": NEW, "new_password2": NEW},
    )
    assert wrong.status_code == 200 and specialist.__class__.objects.get(pk=specialist.pk).check_password(PASSWORD)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_change_done")
    assert "Your new password is in use" in client.get(response["Location"]).content.decode()
    assert client.get(reverse("patients:list")).status_code == 200  # this session goes on
    assert other_computer.get(reverse("patients:list")).status_code == 302  # the other is signed out
    assert can_login("spec_a", NEW) and not can_login("spec_a", PASSWORD)


@pytest.mark.django_db
def test_the_new_password_must_pass_the_validators(specialist) -> None:
    response = client_for(specialist).post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert response.status_code == 200 and "too common" in response.content.decode()


@pytest.mark.django_db
def test_a_rules_admin_changes_it_after_the_second_factor(rules_admin) -> None:
    unverified = Client()
    unverified.force_login(rules_admin)
    assert unverified.get(reverse("accounts:password_change")).status_code == 302
    assert client_for(rules_admin).get(reverse("accounts:password_change")).status_code == 200


@pytest.mark.django_db
def test_an_admin_resets_a_forgotten_password(specialist) -> None:
    in_use = client_for(specialist)
    root = User.objects.create_superuser("root", password=PASSWORD)
    admin = client_for(root)
    url = reverse("admin:auth_user_password_change", kwargs={"id": specialist.pk})
    assert admin.get(url).status_code == 200
    response = admin.post(url, {"password1": NEW, "password2": NEW, "usable_password": "true"})
    assert response.status_code == 302
    assert can_login("spec_a", NEW) and not can_login("spec_a", PASSWORD)
    assert in_use.get(reverse("patients:list")).status_code == 302
