"""A patient's audit trail: every create, update and delete of their record.

Reads the django-simple-history tables (one query per table, users joined)
and works out what changed between consecutive versions in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patients.models import RECORD_MODELS, Patient

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
    "site",
}


@dataclass
class HistoryEntry:
    when: datetime
    who: str
    action: str
    what: str
    changes: list[tuple[str, Any, Any]]
    reason: str


def _fields(model: Any) -> list[Any]:
    return [f for f in model._meta.fields if f.name not in SKIP and f.attname not in SKIP and f.name != "patient_id"]


def patient_history(patient: Patient) -> list[HistoryEntry]:
    """Newest first; each entry names who, when, what changed and why."""
    entries: list[HistoryEntry] = []
    sources: list[tuple[Any, Any]] = [(Patient, Patient.history.filter(id=patient.pk))]
    sources += [(m, m.history.filter(patient_id=patient.pk)) for m in RECORD_MODELS]  # type: ignore[attr-defined]
    for model, qs in sources:
        fields = _fields(model)
        previous: dict[int, Any] = {}
        for row in qs.select_related("history_user").order_by("id", "history_date", "history_id"):
            before = previous.get(row.id)
            changes = []
            for f in fields:
                new = getattr(row, f.attname)
                old = getattr(before, f.attname) if before is not None else None
                if row.history_type == "+" and new not in (None, "", [], {}):
                    changes.append((f.verbose_name, None, new))
                elif row.history_type == "~" and before is not None and old != new:
                    changes.append((f.verbose_name, old, new))
            label = model._meta.verbose_name
            what = f"{label}: {row.instance}" if model is not Patient else f"patient {row.identifier}"
            user = row.history_user
            entries.append(
                HistoryEntry(
                    when=row.history_date,
                    who=(user.get_full_name() or user.username) if user else "system",
                    action=ACTIONS[row.history_type],
                    what=what,
                    changes=changes,
                    reason=row.history_change_reason or "",
                )
            )
            previous[row.id] = row
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries
