"""The API: one NinjaAPI under /api/, version 1 of its paths under /api/v1/, token authentication,
one error shape (``api.errors``). Its OpenAPI description is generated from the code at
/api/openapi.json; /api/docs renders it with the Swagger UI django-ninja ships (served from
our own static files, no CDN)."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accounts.security import two_factor_exempt
from api import patients, referrals
from api.auth import READ_AUTH, end_request
from api.errors import ApiError, BodyError, StrictJsonParser

API_VERSION = "1.0.0"

api = NinjaAPI(
    title="Candidacy API",
    version=API_VERSION,
    description=(
        "Read and write lupus patients' records, their screening results and the referral queue, with the "
        "access rules, checks and audit of the pages. A flag is a prompt for evaluation, never a decision. "
        "Authenticate with an API token: `Authorization: Bearer <token>`. See docs/api.md."
    ),
    auth=READ_AUTH,
    urls_namespace="api",
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=StrictJsonParser(),
)
api.add_router("/v1", patients.router)
api.add_router("/v1", referrals.router)


def _respond(
    request: HttpRequest, status: int, detail: str, errors: list[tuple[str, str]] | None = None
) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": detail, "errors": [{"field": f, "message": m} for f, m in errors or []]},
        status=status,
    )


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return api.create_response(request, exc.body(), status=exc.status)


def _field(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as the API's field name: ("body", "payload", "sledai", "fever") → sledai.fever."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else ["body"]
    elif parts and parts[0] in ("query", "path"):
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [(_field(tuple(e.get("loc", ()))), str(e.get("msg", "invalid"))) for e in exc.errors]
    first = errors[0] if errors else ("body", "invalid")
    return _respond(request, 422, f"{first[0]}: {first[1]}", errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _respond(request, 401, "Give a valid API token: Authorization: Bearer <token>.")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, BodyError):
        return _respond(request, 400, f"{cause.field}: {cause.message}", [(cause.field, cause.message)])
    return _respond(request, exc.status_code, str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _respond(request, 404, "Not found.")


def _exempt(view: Any) -> Any:
    """An API view: no login redirect (the token authenticates), no two-factor gate (no session), and the
    integration named in audit rows is forgotten once the request is answered."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        finally:
            end_request(request)

    return two_factor_exempt(login_not_required(wrapper))


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _exempt(pattern.callback)
    return patterns, app_name, namespace
