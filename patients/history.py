"""A patient's audit trail: every create, update and delete of their record.

Reads the django-simple-history tables (one query per table) and works out
what changed between consecutive versions in Python, in words: codes by their
labels, a list of criteria as what was added and removed, the ANA titre as
1:N. Each row names who acted as they were named then (``accounts.audit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.text import capfirst

from accounts.locking import show
from patients.models import RECORD_MODELS, Assessment, DamageIndex, Patient

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
SKIP = {
    "id",
    "patient",
    "created_at",
    "updated_at",
    "last_activity",
    "version",
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user",
    "history_user_name",
    "history_username",
    "site",
}
EMPTY = (None, "", [], {})


def titre(value: Any) -> str:
    """An ANA titre as written on a lab report: 1:640; 0 is negative."""
    if value is None:
        return "—"
    return "negative" if value == 0 else f"1:{value}"


# How a field's value reads, where the stored value is not how people write it.
FORMATS: dict[tuple[type, str], Callable[[Any], str]] = {(Patient, "ana_titre"): titre}
LABELS: dict[tuple[type, str], str] = {
    (Patient, "ana_titre"): "ANA titre",
    (Assessment, "sledai_present"): "SLEDAI-2K items present",
    (Assessment, "sledai_not_assessed"): "SLEDAI-2K items not assessed",
    (DamageIndex, "items"): "SLICC/ACR damage items",
}


@dataclass(frozen=True)
class FieldChange:
    """One field of one version, in words: ``text`` is the value created, or what changed ("1:80 → 1:640")."""

    label: str
    text: str


@dataclass
class HistoryEntry:
    when: datetime
    who: str
    action: str
    what: str
    changes: list[FieldChange]
    reason: str

    @property
    def summary(self) -> str:
        """The changes on one line: "criteria: added: …; ANA titre: 1:80 → 1:640"."""
        return "; ".join(f"{c.label}: {c.text}" for c in self.changes)


def _fields(model: Any) -> list[Any]:
    return [f for f in model._meta.fields if f.name not in SKIP and f.attname not in SKIP and f.name != "patient_id"]


def _words(model: Any, field: Any, value: Any) -> str:
    fmt = FORMATS.get((model, field.name))
    return fmt(value) if fmt else show(field, value)


def _label(model: Any, field: Any) -> str:
    return LABELS.get((model, field.name)) or str(capfirst(field.verbose_name))


def _codes(field: Any, codes: list[Any]) -> str:
    return show(field, list(codes))


def describe_change(model: Any, field: Any, old: Any, new: Any) -> str:
    """What changed in one field, in words.

    A list of codes (criteria, SLEDAI-2K items) reads as what was added and removed;
    a mapping (BILAG grades, damage items) as what was added, removed and changed;
    anything else as "before → after".
    """
    if isinstance(old, list) and isinstance(new, list):
        added = [c for c in new if c not in old]
        removed = [c for c in old if c not in new]
        parts = ([f"added: {_codes(field, added)}"] if added else []) + (
            [f"removed: {_codes(field, removed)}"] if removed else []
        )
        return "; ".join(parts) or "reordered"
    if field.name == "eular_criteria" and (old is None) != (new is None):
        if old is None:
            return f"assessed: {_codes(field, new) if new else 'none present'}"
        return f"marked not assessed (were: {_codes(field, old) if old else 'none present'})"
    if isinstance(old, dict) and isinstance(new, dict):
        parts = []
        for key in new:
            if key not in old:
                parts.append(f"added: {show(field, {key: new[key]})}")
            elif old[key] != new[key]:
                parts.append(f"{show(field, [key])} {old[key]} → {new[key]}")
        parts += [f"removed: {show(field, [key])}" for key in old if key not in new]
        return "; ".join(parts) or "reordered"
    return f"{_words(model, field, old)} → {_words(model, field, new)}"


def patient_history(patient: Patient) -> list[HistoryEntry]:
    """Newest first; each entry names who, when, what changed and why."""
    entries: list[HistoryEntry] = []
    sources: list[tuple[Any, Any]] = [(Patient, Patient.history.filter(id=patient.pk))]
    sources += [(m, m.history.filter(patient_id=patient.pk)) for m in RECORD_MODELS]  # type: ignore[attr-defined]
    for model, qs in sources:
        fields = _fields(model)
        previous: dict[int, Any] = {}
        for row in qs.order_by("id", "history_date", "history_id"):
            before = previous.get(row.id)
            changes = []
            for f in fields:
                new = getattr(row, f.attname)
                old = getattr(before, f.attname) if before is not None else None
                if row.history_type == "+" and new not in EMPTY:
                    changes.append(FieldChange(_label(model, f), _words(model, f, new)))
                elif row.history_type == "~" and before is not None and old != new:
                    changes.append(FieldChange(_label(model, f), describe_change(model, f, old, new)))
            label = model._meta.verbose_name
            what = f"{label}: {row.instance}" if model is not Patient else f"patient {row.identifier}"
            entries.append(
                HistoryEntry(
                    when=row.history_date,
                    who=row.actor_display(system="system"),
                    action=ACTIONS[row.history_type],
                    what=what,
                    changes=changes,
                    reason=row.history_change_reason or "",
                )
            )
            previous[row.id] = row
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries
