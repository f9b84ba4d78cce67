"""A database that cannot answer gets the app's own page: a plain sentence and a way on, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client, RequestFactory
from django.urls import reverse

from config import errors
from tests.conftest import client_for

UNREACHABLE = "Candidacy cannot reach its database right now"
LOCKED = "Another change to the same information was being saved at the same moment"
SLOW = "The database took too long to answer"


class DriverError(Exception):
    """What the PostgreSQL driver raises: an SQLSTATE code (psycopg2: pgcode, psycopg 3: sqlstate)."""

    def __init__(self, message: str, pgcode: str) -> None:
        super().__init__(message)
        self.pgcode = pgcode


def database_error(message: str, pgcode: str | None = None) -> OperationalError:
    """A database error as Django raises it: the driver's error wrapped, the driver's as the cause."""
    error = OperationalError(message)
    if pgcode:
        error.__cause__ = DriverError(message, pgcode)
    return error


def failing(when: str, error: Exception) -> Any:
    """A connection.execute_wrapper: every statement whose SQL contains ``when`` raises ``error``."""

    def wrapper(execute, sql, params, many, context):
        if when in sql:
            raise error
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.parametrize(
    "error,problem",
    [
        (database_error("canceling statement due to lock timeout", "55P03"), errors.LOCKED),
        (database_error("deadlock detected", "40P01"), errors.LOCKED),
        (database_error("database is locked"), errors.LOCKED),  # SQLite
        (database_error("canceling statement due to statement timeout", "57014"), errors.SLOW),
        (database_error('connection to server at "db" failed: Connection refused'), errors.UNREACHABLE),
        (InterfaceError("connection already closed"), errors.UNREACHABLE),
        (ValueError("not the database"), None),
    ],
)
def test_database_errors_are_told_apart_by_their_code(error, problem) -> None:
    assert errors.database_problem(error) == problem


@pytest.mark.django_db
def test_a_database_that_cannot_be_reached_gives_a_503_page_with_a_sentence_and_navigation(specialist) -> None:
    client = client_for(specialist)
    client.raise_request_exception = False
    with connection.execute_wrapper(failing("", database_error("could not connect to server: Connection refused"))):
        # the first statement of the request is the session's: the middleware fails, before any view
        response = client.get(reverse("patients:list"))
    assert response.status_code == 503 and response["Retry-After"] == "30"
    text = response.content.decode()
    assert UNREACHABLE in text and "Traceback" not in text
    assert "<title>The database cannot be reached · Candidacy</title>" in text
    assert f'href="{reverse("home")}"' in text  # the navigation, fixed: it reads nothing from the database
    assert f'href="{reverse("patients:list")}">Try again</a>' in text


@pytest.mark.django_db
def test_a_database_error_in_a_view_gives_the_503_page(specialist, patient, caplog) -> None:
    client = client_for(specialist)  # raises any exception that reaches Django's handler: none must
    with connection.execute_wrapper(failing('FROM "patients_patient"', database_error("server closed the connection"))):
        with caplog.at_level(logging.ERROR, logger="config.errors"):
            response = client.get(reverse("patients:list"))
    assert response.status_code == 503 and UNREACHABLE in response.content.decode()
    assert "GET /patients/: database unreachable" in caplog.text  # logged with the traceback for whoever runs it


@pytest.mark.django_db
def test_a_lock_held_too_long_gives_a_409_page_with_the_way_back_to_the_form(specialist, patient) -> None:
    client = client_for(specialist)
    address = reverse("patients:edit", kwargs={"pk": patient.pk})
    form = {
        "identifier": patient.identifier,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "weight_kg": "70",
        "why-reason": "weighed",
        "version": patient.version,
    }
    timeout = database_error("canceling statement due to lock timeout", "55P03")
    with connection.execute_wrapper(failing('UPDATE "patients_patient"', timeout)):
        response = client.post(address, form, HTTP_REFERER=f"http://testserver{address}")
    assert response.status_code == 409
    text = response.content.decode()
    assert LOCKED in text and "Open the page again to see what is saved now" in text
    assert f'href="http://testserver{address}">Back to the page</a>' in text
    patient.refresh_from_db()
    assert (patient.version, patient.weight_kg) == (1, 64)  # nothing half-saved
    assert client.post(address, form).status_code == 302  # the lock gone, the same form saves


def test_a_form_sent_from_another_site_gets_no_link_back_to_it() -> None:
    request = RequestFactory().post("/patients/1/edit/", HTTP_REFERER="https://elsewhere.example/phish")
    response = errors.DatabaseErrorMiddleware(lambda r: None).process_exception(
        request, database_error("lock timeout", "55P03")
    )
    assert response is not None and response.status_code == 409
    assert "elsewhere.example" not in response.content.decode()


def test_a_statement_that_ran_too_long_gives_a_503_page() -> None:
    request = RequestFactory().get("/referrals/")
    response = errors.DatabaseErrorMiddleware(lambda r: None).process_exception(
        request, database_error("canceling statement due to statement timeout", "57014")
    )
    assert response is not None and response.status_code == 503 and SLOW in response.content.decode()


def test_other_errors_are_left_to_django_and_get_the_500_page() -> None:
    request = RequestFactory().get("/")
    assert errors.DatabaseErrorMiddleware(lambda r: None).process_exception(request, ValueError("bug")) is None
    try:
        raise ValueError("bug")
    except ValueError:
        response = errors.server_error(request)  # Django calls handler500 while handling the exception
    assert response.status_code == 500
    text = response.content.decode()
    assert "Something went wrong" in text and "bug" not in text and f'href="{reverse("home")}"' in text


def test_the_error_pages_render_without_a_database() -> None:
    """Not marked django_db: any query while rendering them fails the test."""
    for problem in errors.PAGES:
        response = errors.database_error_page(RequestFactory().get("/"), problem)
        assert response.status_code in (409, 503) and errors.PAGES[problem][2] in response.content.decode()


@pytest.mark.django_db
def test_the_handler500_is_the_apps(specialist) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(specialist)
    with connection.execute_wrapper(failing("django_session", InterfaceError("connection already closed"))):
        response = client.get(reverse("home"))
    assert response.status_code == 503 and UNREACHABLE in response.content.decode()


# ---- not found and not allowed: the app's own pages, in its layout ------------------------------------------


def _page(response) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_another_sites_patient_answers_the_apps_404_and_shows_nothing_of_it(specialist, site_b) -> None:
    from tests.patients.factories import PatientFactory

    other = PatientFactory(site=site_b, identifier="SECRET-B-77")
    response = client_for(specialist).get(reverse("patients:detail", kwargs={"pk": other.pk}))
    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["404.html", "base.html"]
    text = _page(response)
    assert "<title>Page not found · Candidacy</title>" in text
    assert "There is no page at this address, or it is not one you can open" in text
    assert "SECRET-B-77" not in text and "Site B" not in text and f"/patients/{other.pk}/" not in text
    assert 'aria-label="Main navigation"' in text and f'href="{reverse("patients:list")}"' in text  # signed in
    assert "Traceback" not in text and "No Patient matches" not in text


@pytest.mark.django_db
def test_a_404_does_not_show_the_exceptions_message(specialist, patient) -> None:
    url = reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "nonsense"})
    response = client_for(specialist).get(url)
    assert response.status_code == 404 and "404.html" in [t.name for t in response.templates]
    assert "No such kind of record" not in _page(response) and "nonsense" not in _page(response)


def test_an_unknown_address_signed_out_gets_the_404_without_navigation(client) -> None:
    response = client.get("/no-such-page-<script>/")
    assert response.status_code == 404 and "404.html" in [t.name for t in response.templates]
    text = _page(response)
    assert "Page not found" in text and "no-such-page" not in text and "<script>" not in text
    assert 'id="nav"' not in text and "Log out" not in text
    assert f'href="{reverse("home")}"' in text


@pytest.mark.django_db
def test_a_role_without_access_answers_the_apps_403(staff, patient) -> None:
    response = client_for(staff).get(reverse("patients:create"))
    assert response.status_code == 403
    assert [t.name for t in response.templates][:2] == ["403.html", "base.html"]
    text = _page(response)
    assert "<title>Not allowed · Candidacy</title>" in text
    assert "Your account (clinic staff) does not give access to this page or action" in text
    assert 'aria-label="Main navigation"' in text and f'href="{reverse("referrals:queue")}"' in text
    assert "Traceback" not in text


@pytest.mark.django_db
def test_a_403_does_not_show_the_exceptions_message(specialist, monkeypatch) -> None:
    from accounts import twofactor

    monkeypatch.setattr(twofactor, "required", lambda user: True)
    response = client_for(specialist).get(reverse("accounts:two_factor_remove"))
    assert response.status_code == 403 and "403.html" in [t.name for t in response.templates]
    assert "Two-factor sign-in is required" not in _page(response)


@pytest.mark.django_db
def test_another_sites_referral_printout_leaks_no_patient(staff, site_b) -> None:
    from tests.patients.factories import PatientFactory
    from tests.referrals.factories import make_referral

    referral = make_referral(PatientFactory(site=site_b, identifier="HIDDEN-PRINT-9"))
    response = client_for(staff).get(reverse("referrals:print", kwargs={"pk": referral.pk}))
    assert response.status_code in (403, 404)
    assert "HIDDEN-PRINT-9" not in _page(response)
    assert f"{response.status_code}.html" in [t.name for t in response.templates]
