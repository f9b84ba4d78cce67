"""Refuse a request whose parameters hold a NUL character, before any view reads them.

No page or form of Candidacy sends a NUL (``\\0``, ``%00``): one in a query
parameter, a form field or the path is an attack or a corrupted link.
PostgreSQL refuses NUL in text, so such a value reaching a query used to end
in a server error (or, in the streamed CSV export, in a truncated file sent
with status 200). Here it is one cheap check for every request: 400, nothing
read, nothing written. Views still validate their own parameters.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, QueryDict

NUL = "\x00"


class NulInRequest(BadRequest):
    """A NUL in ``field`` (a parameter's name, or "path")."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"A parameter of this request ({field}) holds a NUL character; no page of Candidacy sends one."
        )
        self.field = field


def _holds_nul(params: QueryDict) -> str | None:
    """The first parameter whose name or value holds a NUL, or None."""
    for key, values in params.lists():
        if NUL in key or any(NUL in value for value in values):
            return key or "parameter"  # named as sent (a NUL in a name is shown escaped)
    return None


class RefuseNulMiddleware:
    """400 Bad Request for a NUL in the path, a query parameter or a form field (names included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path:
            raise NulInRequest("path")
        field = _holds_nul(request.GET) or (_holds_nul(request.POST) if request.method == "POST" else None)
        if field:
            raise NulInRequest(field)
        return self.get_response(request)
