"""The app's own error pages: a page not found (404), not allowed (403), and the database cannot answer.

``page_not_found`` and ``permission_denied`` (the URLconf's ``handler404`` and ``handler403``)
render templates/404.html and 403.html with the request's context: the app's layout, with its
navigation for a signed-in user. They never show the exception's message or the address asked
for: a patient of another site answers the same page as one that does not exist.

The database pages:

Three cases, told apart by the database's error code:

- a row lock held by another change for longer than the lock time limit (``lock_timeout``;
  also a deadlock, or SQLite's "database is locked"): 409, someone else was changing the same
  thing;
- a statement that ran longer than ``statement_timeout``: 503, the database took too long;
- anything else the driver reports as an operational or interface error (the server is down,
  refuses connections, the connection dropped): 503, the database cannot be reached.

``DatabaseErrorMiddleware`` answers for errors raised in a view; ``server_error`` (the URLconf's
``handler500``) for those raised around it (loading the session or the user). The pages are
rendered without the request's context processors from templates that read nothing from the
database: no user, fixed navigation links.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme

log = logging.getLogger(__name__)

LOCKED, SLOW, UNREACHABLE = "locked", "slow", "unreachable"
# PostgreSQL error codes (SQLSTATE)
LOCK_CODES = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock_detected, serialization_failure
SLOW_CODES = {"57014"}  # query_canceled (statement_timeout)
RETRY_AFTER_SECONDS = 30

PAGES = {
    LOCKED: (
        409,
        "Someone else is changing the same information",
        "Another change to the same information was being saved at the same moment, and this page could "
        "not wait for it to finish. Open the page again to see what is saved now, then make your change "
        "again if it is still needed.",
    ),
    SLOW: (
        503,
        "The database took too long to answer",
        "The database took too long to answer, so this request was stopped. Try again in a moment; if it "
        "happens again, tell the person who runs Candidacy.",
    ),
    UNREACHABLE: (
        503,
        "The database cannot be reached",
        "Candidacy cannot reach its database right now, so this page cannot be shown. Try again in a few "
        "minutes; if it goes on, tell the person who runs Candidacy.",
    ),
}


def database_problem(exc: BaseException | None) -> str | None:
    """LOCKED, SLOW or UNREACHABLE for a database error; None for anything else."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    cause = exc.__cause__
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    if code in LOCK_CODES or "database is locked" in str(exc):
        return LOCKED
    if code in SLOW_CODES:
        return SLOW
    return UNREACHABLE


API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    """A request to the API (/api/): its errors are JSON in the API's error shape, never a page."""
    return request.path.startswith(API_PREFIX)


def api_error(status: int, detail: str, field: str | None = None) -> JsonResponse:
    errors = [{"field": field, "message": detail}] if field else []
    return JsonResponse({"detail": detail, "errors": errors}, status=status)


def database_error_page(request: HttpRequest, problem: str) -> HttpResponse:
    status, heading, sentence = PAGES[problem]
    if is_api(request):
        response: HttpResponse = api_error(status, f"{heading}. {sentence}")
        if status == 503:
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    html = render_to_string(
        "503.html" if status == 503 else "409.html",
        {"heading": heading, "sentence": sentence, **_way_back(request)},
    )
    response = HttpResponse(html, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _way_back(request: HttpRequest) -> dict[str, str]:
    """A link to try again: this address for a page that was read, the form's page for a form sent."""
    if request.method in ("GET", "HEAD"):
        return {"again": request.get_full_path(), "again_label": "Try again"}
    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return {"again": referer, "again_label": "Back to the page"}
    return {}


class DatabaseErrorMiddleware:
    """A database error in a view → the page for it (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        problem = database_problem(exception)
        if problem is None:
            return None
        level = logging.WARNING if problem == LOCKED else logging.ERROR
        log.log(level, "%s %s: database %s", request.method, request.path, problem, exc_info=exception)
        return database_error_page(request, problem)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the database pages for a database error raised outside a view, else the 500 page."""
    problem = database_problem(sys.exc_info()[1])
    if problem is not None:
        return database_error_page(request, problem)
    if is_api(request):
        return api_error(500, "Something went wrong on the server; nothing more is said here.")
    return HttpResponseServerError(render_to_string("500.html"))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: the app's page, in its layout; nothing of the exception or the address is shown."""
    if is_api(request):
        return api_error(404, "Not found.")
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: the app's page, in its layout; nothing of the exception is shown."""
    if is_api(request):
        return api_error(403, "Not allowed.")
    return render(request, "403.html", status=403)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: Django's page for a page; for the API, JSON naming the parameter at fault when known."""
    from django.views.defaults import bad_request as default

    if is_api(request):
        return api_error(400, str(exception) or "Bad request.", getattr(exception, "field", None) or "request")
    return default(request, exception)
