"""Keyset pages of the patient list: most recently active first, then by id.

A page is "the next ``per_page`` patients after this one" (or before it), read from the index on
(site, last activity, id): page 200 costs what page 1 costs, where an OFFSET read and threw away every
row before it (with the per-row columns computed for each). The cursor is the last (or first) row's
activity time and id; anything else in its place reads as the first page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from accounts.paging import decode_cursor, past
from patients.models import Patient


def encode(patient: Patient) -> str:
    return f"{patient.last_activity.isoformat()}~{patient.pk}"


@dataclass
class PatientPage:
    rows: list[Any] = field(default_factory=list)
    next_cursor: str = ""
    prev_cursor: str = ""


def page(qs: QuerySet[Patient], per_page: int, *, after: str = "", before: str = "") -> PatientPage:
    """``per_page`` patients after (or before) a cursor, in the list's order (-last_activity, id)."""
    backwards = bool(before) and not after
    cursor = decode_cursor(before if backwards else after)
    if cursor:
        when, pk = cursor
        if backwards:  # the rows before the cursor: more recent, or as recent with a smaller id
            qs = qs.filter(past("last_activity", when, pk, value_op="gt", pk_op="lt"))
        else:
            qs = qs.filter(past("last_activity", when, pk, value_op="lt", pk_op="gt"))
    order = ["last_activity", "-pk"] if backwards and cursor else ["-last_activity", "pk"]
    rows = list(qs.order_by(*order)[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards and cursor:
        rows.reverse()
    result = PatientPage(rows=rows)
    if rows:
        if backwards and cursor:
            result.next_cursor = encode(rows[-1])
            result.prev_cursor = encode(rows[0]) if more else ""
        else:
            result.next_cursor = encode(rows[-1]) if more else ""
            result.prev_cursor = encode(rows[0]) if cursor else ""
    return result
