"""Optimistic locking: the one mechanism for every row two people may edit at once.

A versioned row (``VersionedModel``) has an integer ``version``, 1 when created.
The edit form carries the version the user saw in a hidden ``VersionField``; the
service, inside its ``transaction.atomic()`` and before writing anything, claims
the row with a single conditional update::

    UPDATE … SET version = version + 1 WHERE id = <pk> AND version = <seen>

One row updated: the row was still as the user saw it, and on PostgreSQL the
update holds the row lock until commit, so a second writer waits, then matches
no row. No row updated: someone else changed or deleted it first; ``claim``
raises ``Conflict`` with what changed since (who, when, which fields, from the
audit trail) and the values now, and the caller writes nothing. A missing seen
version is refused the same way, never skipped. Writes made by the system, with
no user's view to check (a screening result, a note appended), use ``bump``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeAlias

from django import forms
from django.db import models
from django.db.models import F
from django.utils.text import capfirst

from accounts.dates import show_date, show_datetime

__all__ = [
    "Change",
    "Conflict",
    "FieldChange",
    "VersionField",
    "VersionedModel",
    "bump",
    "claim",
    "history_changes",
    "keep_input",
]

# Bookkeeping columns: never shown as "what changed".
UNTRACKED = {"version", "created_at", "updated_at", "last_activity"}


class VersionedModel(models.Model):
    """Base of the rows edited through a form: ``version`` is bumped by every change.

    ``value_labels`` names the codes a JSON field holds (field name → code → label),
    so that a list of changes reads in words.
    """

    version = models.PositiveIntegerField(default=1, help_text="Bumped by every change (optimistic locking).")
    value_labels: ClassVar[dict[str, dict[str, str]]] = {}

    class Meta:
        abstract = True


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Change:
    """One change to a row since the user opened it: when, who, what (created, changed, deleted), fields, why."""

    at: datetime
    who: str
    action: str
    fields: tuple[FieldChange, ...]
    reason: str


class Conflict(Exception):
    """A write refused because the row is no longer at the version the user saw, or no version was given.

    ``changes`` lists what changed since (``Change`` rows, or a model's own events),
    ``current`` the values now of the fields that changed (all fields when the
    version was missing), ``version_now`` the version now (None: the row is gone).
    """

    def __init__(
        self,
        message: str,
        *,
        what: str,
        seen: int | None,
        version_now: int | None,
        changes: Sequence[Any] = (),
        current: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.what = what
        self.seen = seen
        self.version_now = version_now
        self.changes = list(changes)
        self.current = list(current)

    @property
    def missing(self) -> bool:
        return self.seen is None

    @property
    def deleted(self) -> bool:
        return self.version_now is None

    @property
    def title(self) -> str:
        if self.missing:
            return f"Nothing was saved: the version of this {self.what} you opened is missing"
        return f"This {self.what} {'was deleted' if self.deleted else 'changed'} since you opened it"


Rows: TypeAlias = "type[models.Model] | models.QuerySet[Any]"
Events: TypeAlias = Callable[[Any, int], Sequence[Any]]


def _queryset(rows: Rows) -> models.QuerySet[Any]:
    return rows._default_manager.all() if isinstance(rows, type) else rows


def claim(rows: Rows, *, pk: Any, seen: int | None, what: str = "", events: Events | None = None, **also: Any) -> int:
    """Bump the row's version if it is still ``seen`` (also setting ``also``); return the new version.

    Call inside the write's ``transaction.atomic()`` before writing. Raises
    ``Conflict`` when ``seen`` is missing or stale; ``events(pk, seen)`` lists
    the changes since for a model whose trail is an event table, otherwise they
    are read from its django-simple-history rows.
    """
    qs = _queryset(rows)
    what = what or str(qs.model._meta.verbose_name)
    if seen is not None and qs.filter(pk=pk, version=seen).update(version=F("version") + 1, **also):
        return seen + 1
    version_now = qs.filter(pk=pk).values_list("version", flat=True).first()
    if seen is None:
        message = f"The form did not say which version of this {what} you opened, so nothing was saved."
        since = version_now or 0
    elif version_now is None:
        message = f"Someone else deleted this {what} after you opened it; nothing was saved."
        since = seen
    else:
        message = f"Someone else changed this {what} after you opened it; nothing was saved."
        since = seen
    changes: list[Any] = []
    current: list[tuple[str, str]] = []
    if events is None:
        changes, current = history_changes(qs.model, pk, since=since, everything=seen is None)
    elif seen is not None:
        changes = list(events(pk, since))
    raise Conflict(message, what=what, seen=seen, version_now=version_now, changes=changes, current=current)


def bump(rows: Rows, *, pk: Any, **also: Any) -> bool:
    """Bump the row's version whatever it is (a system write, or an append that overwrites nothing)."""
    return bool(_queryset(rows).filter(pk=pk).update(version=F("version") + 1, **also))


def _tracked(model: type[models.Model]) -> list[Any]:
    history = model.history.model  # type: ignore[attr-defined]
    kept = {f.attname for f in history._meta.concrete_fields}
    return [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key or f.is_relation or f.name in UNTRACKED) and f.attname in kept
    ]


def show(field: Any, value: Any) -> str:
    """A stored value in words, for a list of changes."""
    labels = getattr(field.model, "value_labels", {}).get(field.name, {})

    def word(code: Any) -> str:
        return labels.get(code) or str(code).replace("_", " ")

    if value is None or value == "":
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(word(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{word(k)}: {v}" for k, v in value.items()) or "none"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, datetime):
        return show_datetime(value)
    if isinstance(value, date):
        return show_date(value)
    return str(value)


def history_changes(
    model: type[models.Model], pk: Any, *, since: int, everything: bool = False
) -> tuple[list[Change], list[tuple[str, str]]]:
    """What changed in one row after version ``since``, and the values now, from its history rows.

    ``everything``: the values now of every tracked field, not only of those that changed.
    """
    fields = _tracked(model)
    rows = list(
        model.history.filter(**{model._meta.pk.attname: pk}).order_by("history_date", "history_id")  # type: ignore[attr-defined]
    )
    # the changes are the history rows after the last one the user could have seen
    start = 0
    for i, row in enumerate(rows):
        if row.version <= since and row.history_type != "-":
            start = i + 1
    changes: list[Change] = []
    touched: list[Any] = []
    for i in range(start, len(rows)):
        row, before = rows[i], rows[i - 1] if i else None
        diff: list[FieldChange] = []
        if row.history_type == "~" and before is not None:
            for f in fields:
                old, new = getattr(before, f.attname), getattr(row, f.attname)
                if old != new:
                    diff.append(FieldChange(str(capfirst(f.verbose_name)), show(f, old), show(f, new)))
                    if f not in touched:
                        touched.append(f)
        changes.append(
            Change(
                at=row.history_date,
                who=row.actor_display(),
                action={"+": "created", "~": "changed", "-": "deleted"}[row.history_type],
                fields=tuple(diff),
                reason=row.history_change_reason or "",
            )
        )
    now = rows[-1] if rows and rows[-1].history_type != "-" else None
    shown = fields if everything else touched
    current = [(str(capfirst(f.verbose_name)), show(f, getattr(now, f.attname))) for f in shown] if now else []
    return changes, current


class VersionField(forms.IntegerField):
    """The hidden version the form was opened at. Missing or garbled: None, which the service refuses."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            return None
        return number if number >= 1 else None

    def validate(self, value: Any) -> None:
        """Never an error on a hidden field (the user could not see it): the service says what is wrong."""

    def run_validators(self, value: Any) -> None:
        return None


def keep_input(form: forms.BaseForm, conflict: Conflict) -> Conflict:
    """Keep what the user typed in a form refused by ``conflict``, now carrying the version current.

    Saving again is then a deliberate choice made after seeing what changed.
    """
    data = form.data.copy()
    data[form.add_prefix("version")] = "" if conflict.version_now is None else str(conflict.version_now)
    form.data = data
    return conflict
