"""CSV export of the filtered queue, safe to open in a spreadsheet.

A cell that starts with = + - @ or a control character (tab, carriage return,
…) would be run as a formula by Excel or LibreOffice (OWASP "CSV injection"):
such cells get a leading single quote, which spreadsheets show as text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from referrals.models import Referral

FORMULA_STARTS = ("=", "+", "-", "@")
HEADER = (
    "referral",
    "patient",
    "site",
    "pathway",
    "state",
    "flag withdrawn",
    "flagged at",
    "lapses on",
    "assigned to",
    "key reasons",
    "cautions",
    "review on",
    "centre",
    "referred on",
    "not-referred reason",
    "decided at",
)


def neutralise(value: Any) -> str:
    """The cell as text, with a leading quote if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text and (text.startswith(FORMULA_STARTS) or ord(text[0]) < 32 or ord(text[0]) == 127):
        return "'" + text
    return text


def row_for(r: Referral) -> list[str]:
    cells = [
        r.pk,
        r.patient.identifier,
        r.patient.site.code,
        r.pathway.upper(),
        r.get_state_display(),
        "yes" if r.flag_withdrawn else "no",
        r.flagged_at.isoformat(timespec="seconds"),
        "" if r.flag_withdrawn or r.lapses_on is None else r.lapses_on.isoformat(),
        r.assigned_to or "",
        " | ".join(r.reasons),
        " | ".join(f"{c['label']} ({c['status']} {c['severity']})" for c in r.cautions),
        r.review_on or "",
        r.centre,
        r.referred_on or "",
        r.get_not_referred_reason_display(),
        r.decided_at.isoformat(timespec="seconds") if r.decided_at else "",
    ]
    return [neutralise(c) for c in cells]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(referrals: Iterable[Referral]) -> Iterator[str]:
    """The CSV text, one line at a time (for a streaming response)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for r in referrals:
        yield writer.writerow(row_for(r))
