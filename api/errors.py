"""One error shape for every refusal: ``{"detail": ..., "errors": [{"field": ..., "message": ...}]}``.

Bad input (the body's or a parameter's type, a form's check, a service's refusal) is 422 and names
each field in ``errors`` (nested fields with dots: ``sledai.fever``); a body that is not JSON, or
holds a NUL character or a lone surrogate, is 400 naming ``body`` or the field. A stale or missing
``version`` is 409 with what changed since. 401, 403 and 404 carry ``detail`` only.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import forms
from ninja import Schema
from ninja.parser import Parser

from accounts.locking import Conflict


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldError] = []


class ChangeOut(Schema):
    at: datetime
    who: str
    what: str
    reason: str
    fields: list[dict[str, str]] = []


class ConflictOut(ErrorOut):
    version_now: int | None = None
    changes: list[ChangeOut] = []


class ApiError(Exception):
    """A refusal with a status and the fields at fault."""

    def __init__(self, status: int, detail: str, errors: list[tuple[str, str]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "errors": [{"field": f, "message": m} for f, m in self.errors],
            **self.extra,
        }


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, f"{field}: {message}", [(field, message)])


def form_invalid(form: forms.BaseForm, rename: dict[str, str] | None = None, *, general: str = "body") -> ApiError:
    """A form's errors as a 422 naming each field by its API name (``rename``: form name → API name); an
    error of the whole form is put on ``general``."""
    rename = rename or {}
    errors: list[tuple[str, str]] = []
    for name, messages in form.errors.items():
        field = general if name == forms.forms.NON_FIELD_ERRORS else rename.get(name, name)
        errors.extend((field, str(m)) for m in messages)
    first = errors[0] if errors else (general, "invalid")
    return ApiError(422, f"{first[0]}: {first[1]}", errors)


def conflict(err: Conflict) -> ApiError:
    changes = [
        {
            "at": c.at,
            "who": c.who,
            "what": c.action,
            "reason": c.reason,
            "fields": [{"label": f.label, "before": f.before, "after": f.after} for f in c.fields],
        }
        for c in err.changes
    ]
    return ApiError(409, err.message, [("version", err.message)], version_now=err.version_now, changes=changes)


class BodyError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check_text(value: Any, path: str) -> None:
    """Refuse text no page sends and the database cannot store: NUL, lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise BodyError(path or "body", "The text holds a NUL character.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BodyError(path or "body", "The text is not valid Unicode (a lone surrogate).") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path or "body")
            _check_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{path}.{index}" if path else "body")


class StrictJsonParser(Parser):
    """JSON bodies only (no NaN or Infinity), with no NUL or lone surrogate in any text."""

    def parse_body(self, request: Any) -> Any:
        try:
            data = json.loads(request.body, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as err:
            raise BodyError("body", f"The body is not valid JSON ({err}).") from err
        _check_text(data, "")
        return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
