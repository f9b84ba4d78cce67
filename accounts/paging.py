"""Keyset-pagination cursors shared by the lists that page "after this row" (the queue, the patient list).

A cursor is ``<ISO time>~<id>``: the sort value of the row a page ends on, and its id to break ties.
"""

from __future__ import annotations

from datetime import datetime

_MAX_ID = 2**63 - 1  # a bigint


def decode_cursor(text: str) -> tuple[datetime, int] | None:
    """The (time, id) a cursor names; None for anything a list's own encoder does not write (the first page)."""
    value, _, pk = text.rpartition("~")
    if len(text) > 80 or not pk.isascii() or not pk.isdigit():
        return None
    try:
        when, key = datetime.fromisoformat(value), int(pk)
    except ValueError:
        return None
    if when.tzinfo is None or not 0 < key <= _MAX_ID:
        return None
    return when, key
