"""The referral queue as a read model: filters, counts per state, keyset pagination.

Keyset pagination ("after this row") reads one indexed range whatever the page
number, so the queue stays fast on a large table. The counts per state and per
pathway come from the sites' maintained summaries (``referrals.summary``) when
no filter beyond site, state and pathway is set, and otherwise from one GROUP BY
query over the filtered referrals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.paging import decode_cursor, past
from clinical import limits, vocab
from referrals.models import DECIDED_STATES, OPEN_STATES, Referral, ReferralState
from referrals.summary import Merged
from screening.contract import CautionStatus
from screening.display import CAUTION_STYLE

S = ReferralState
PAGE_SIZES = (25, 50, 100)
LAPSE_SOON_DAYS = 14  # "lapses within 14 days": flags about to lapse if nothing new is recorded
AGES = {"7": "flagged over 7 days ago", "30": "flagged over 30 days ago", "90": "flagged over 90 days ago"}
# state filter → label (conditions in state_condition); "todo" is the working queue, which a deferred
# referral joins again on its review date.
STATE_VIEWS: dict[str, str] = {
    "todo": "To do (new, in review, due for review)",
    "open": "All open",
    **{s.value: s.label for s in ReferralState},
    "due": "Deferred, due for review",
    "decided": "Decided",
    "all": "All",
}
# sort key → (field, descending, label); every order ends with id so the keyset cursor is unique.
SORTS: dict[str, tuple[str, bool, str]] = {
    "oldest": ("flagged_at", False, "Oldest flag first"),
    "newest": ("flagged_at", True, "Newest flag first"),
    "updated": ("updated_at", True, "Recently changed first"),
}


@dataclass
class QueueFilters:
    pathway: str = ""
    state: str = "todo"
    site: str = ""
    mine: bool = False
    contraindication: bool = False
    withdrawn: bool = False
    lapsing: bool = False
    age: str = ""
    sort: str = "oldest"
    per_page: int = 50

    @classmethod
    def from_params(cls, params: Any) -> QueueFilters:
        """Read filters from a query string; unknown or garbled values fall back to the defaults."""
        f = cls(
            pathway=_text(params, "pathway", limits.PATHWAY_ID),
            state=params.get("state", "todo"),
            site=_text(params, "site", 32),
            mine=params.get("mine") == "1",
            contraindication=params.get("contraindication") == "1",
            withdrawn=params.get("withdrawn") == "1",
            lapsing=params.get("lapsing") == "1",
            age=params.get("age", ""),
            sort=params.get("sort", "oldest"),
        )
        if f.state not in STATE_VIEWS:
            f.state = "todo"
        if f.age not in AGES:
            f.age = ""
        if f.sort not in SORTS:
            f.sort = "oldest"
        try:
            per_page = int(params.get("per_page", 50))
        except ValueError:
            per_page = 50
        f.per_page = per_page if per_page in PAGE_SIZES else 50
        return f

    def _values(self) -> dict[str, Any]:
        # every field is a plain value: a shallow read, not dataclasses.asdict's deep copy (called a dozen
        # times a page, once per link)
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def query(self, **extra: Any) -> str:
        """This filter set as a query string (defaults left out), with ``extra`` fields or cursors."""
        defaults = _DEFAULTS
        values = {**self._values(), **extra}
        params = {
            k: ("1" if v is True else v)
            for k, v in values.items()
            if v not in ("", False, None) and (k not in defaults or v != defaults[k])
        }
        return urlencode(params)


_DEFAULTS = QueueFilters()._values()


def _text(params: Any, name: str, limit: int) -> str:
    """A free-text filter: trimmed; longer than its column can hold, or holding a control character
    (no link of the app writes one), it matches nothing the queue could show, so it is dropped."""
    value = params.get(name, "").strip()
    if len(value) > limit or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return ""
    return value


def state_condition(view: str, today: date) -> Q:
    due = Q(state=S.DEFERRED, review_on__lte=today)
    return {
        "todo": Q(state__in=(S.NEW, S.IN_REVIEW)) | due,
        "open": Q(state__in=OPEN_STATES),
        "due": due,
        "decided": Q(state__in=DECIDED_STATES),
        "all": Q(),
    }.get(view, Q(state=view))


def filtered(user: Any, f: QueueFilters, *, now: datetime) -> QuerySet[Referral]:
    """Referrals of the user's sites matching every filter except pathway and state (counted apart)."""
    qs = Referral.objects.visible_to(user)
    if f.site:
        qs = qs.filter(patient__site__code=f.site)
    if f.mine:
        qs = qs.filter(assigned_to=user)
    if f.contraindication:
        qs = qs.filter(has_contraindication=True)
    if f.withdrawn:
        qs = qs.filter(flag_withdrawn=True)
    if f.lapsing:
        soon = timezone.localdate(now) + timedelta(days=LAPSE_SOON_DAYS)
        qs = qs.filter(flag_withdrawn=False, lapses_on__isnull=False, lapses_on__lte=soon)
    if f.age:
        qs = qs.filter(flagged_at__lt=now - timedelta(days=int(f.age)))
    return qs


def matching(user: Any, f: QueueFilters, *, now: datetime) -> tuple[QuerySet[Referral], QuerySet[Referral]]:
    """The referrals before (for the counts) and after the state and pathway filters."""
    base = filtered(user, f, now=now)
    rows = base.filter(state_condition(f.state, timezone.localdate(now)))
    if f.pathway:
        rows = rows.filter(pathway=f.pathway)
    return base, rows


def in_order(rows: QuerySet[Referral], f: QueueFilters) -> QuerySet[Referral]:
    """Every matching row in the queue's order (for the CSV export)."""
    name, desc, _label = SORTS[f.sort]
    order = [f"-{name}", "-id"] if desc else [name, "id"]
    return rows.select_related("patient__site", "assigned_to").order_by(*order)


@dataclass
class Counts:
    by_state: dict[str, int] = field(default_factory=dict)
    due: int = 0
    pathways: list[str] = field(default_factory=list)

    def for_view(self, view: str) -> int:
        if view == "todo":
            return self.by_state.get(S.NEW, 0) + self.by_state.get(S.IN_REVIEW, 0) + self.due
        if view == "open":
            return sum(self.by_state.get(s, 0) for s in OPEN_STATES)
        if view == "decided":
            return sum(self.by_state.get(s, 0) for s in DECIDED_STATES)
        if view == "all":
            return sum(self.by_state.values())
        if view == "due":
            return self.due
        return self.by_state.get(view, 0)


def counted_by_summary(f: QueueFilters) -> bool:
    """With no filter but site, state and pathway, the counts come from the sites' maintained summaries
    (``referrals.summary``); any other filter counts the matching referrals."""
    return not (f.mine or f.contraindication or f.withdrawn or f.lapsing or f.age)


def count_from_summary(summary: Merged, f: QueueFilters) -> Counts:
    """Counts per state (for the selected pathway) and the pathways present, from the sites' summaries."""
    counts = Counts(pathways=sorted(p for p, states in summary.states.items() if sum(states.values())))
    for pathway, states in summary.states.items():
        if f.pathway and pathway != f.pathway:
            continue
        for state, n in states.items():
            counts.by_state[state] = counts.by_state.get(state, 0) + n
        counts.due += summary.due.get(pathway, 0)
    return counts


def count(qs: QuerySet[Referral], f: QueueFilters, *, today: date) -> Counts:
    """Counts per state (for the selected pathway) and the pathways present: one GROUP BY query."""
    rows = (
        qs.order_by()
        .values("state", "pathway")
        .annotate(n=Count("id"), due=Count("id", filter=Q(state=S.DEFERRED, review_on__lte=today)))
    )
    counts = Counts()
    pathways: set[str] = set()
    for row in rows:
        pathways.add(row["pathway"])
        if f.pathway and row["pathway"] != f.pathway:
            continue
        counts.by_state[row["state"]] = counts.by_state.get(row["state"], 0) + row["n"]
        counts.due += row["due"]
    counts.pathways = sorted(pathways)
    return counts


@dataclass(frozen=True)
class CautionBadge:
    """A caution at a glance as the referral keeps it (written from the result's views by ``glance``)."""

    label: str
    severity: str
    status: CautionStatus

    @property
    def is_contraindication(self) -> bool:
        return self.severity == "contraindication"

    @property
    def unknown(self) -> bool:
        return self.status is CautionStatus.UNKNOWN

    @property
    def style(self) -> str:
        return CAUTION_STYLE[self.status]


def caution_badges(cautions: list[dict[str, Any]]) -> list[CautionBadge]:
    """A referral's cautions (as it keeps them), named by today's label of their id (the label kept with
    older rows was the humanised id: "Active cns lupus")."""
    return [
        CautionBadge(
            vocab.caution_label(c["id"]) if c.get("id") else c["label"], c["severity"], CautionStatus(c["status"])
        )
        for c in cautions
    ]


def encode_cursor(row: Any, sort: str) -> str:
    """The keyset cursor of a row (a referral, or its values as a dict)."""
    name = SORTS[sort][0]
    value, pk = (row[name], row["id"]) if isinstance(row, dict) else (getattr(row, name), row.pk)
    return f"{value.isoformat()}~{pk}"


@dataclass
class QueuePage:
    rows: list[Any]
    next_cursor: str = ""
    prev_cursor: str = ""


def page(qs: QuerySet[Any], f: QueueFilters, *, after: str = "", before: str = "") -> QueuePage:
    """One page after (or before) a cursor, reading per_page + 1 rows from the sort's index. ``qs`` yields
    referrals or their values (dicts holding the sort field and ``id``), as the caller chose."""
    name, desc, _ = SORTS[f.sort]
    backwards = bool(before) and not after
    cursor = decode_cursor(before if backwards else after) if (after or before) else None
    # going backwards reads the opposite order from the cursor, then flips the page
    forward_desc = desc != backwards
    if cursor:
        value, pk = cursor
        op = "lt" if forward_desc else "gt"
        qs = qs.filter(past(name, value, pk, value_op=op, pk_op=op))
    order = [f"-{name}", "-id"] if forward_desc else [name, "id"]
    rows = list(qs.order_by(*order)[: f.per_page + 1])
    more = len(rows) > f.per_page
    rows = rows[: f.per_page]
    if backwards:
        rows.reverse()
    result = QueuePage(rows=rows)
    if rows:
        if backwards:
            result.next_cursor = encode_cursor(rows[-1], f.sort)
            result.prev_cursor = encode_cursor(rows[0], f.sort) if more else ""
        else:
            result.next_cursor = encode_cursor(rows[-1], f.sort) if more else ""
            result.prev_cursor = encode_cursor(rows[0], f.sort) if cursor else ""
    return result
