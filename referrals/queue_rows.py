"""The queue's rows as HTML, each rendered once per distinct content and then served from a cache.

Rendering a row through the template engine costs about 0.8 ms (eight cells, a loop over reasons and
one over cautions), so a page of 50 rows spent 40 ms there while its queries took 2 ms. Rows seldom
change between two views, so each row's HTML is kept in the ``fragments`` cache under a digest of
everything the row shows (``QueueRow``: the referral's fields as displayed, the patient's identifier
and site, the assignee, the flag's age in words) together with the language, the date format and the
row template's own source. The key *is* the content: a row whose content changed has a new key and is
rendered afresh, so a cached row can never be out of date, and nothing has to be invalidated when a
referral, a patient or a template changes. Old keys simply age out of the cache.

The template sees only the ``QueueRow`` (not the referral), so nothing can be shown that the key does
not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.core.cache import caches
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince, timeuntil

from accounts.fragments import CACHE_ALIAS, fragment_key, sources_digest
from accounts.models import display_name
from referrals.models import ReferralState, due_for_review
from referrals.queue import LAPSE_SOON_DAYS, CautionBadge, caution_badges

ROW_TEMPLATE = "referrals/includes/queue_row.html"
# every template a row is drawn with (the row's, and the state badge it includes): their sources are in the key
ROW_TEMPLATES = (ROW_TEMPLATE, "referrals/includes/state.html")


# The columns a row reads (with the sort keys for the cursor), read as values: no model instances, and none
# of a referral's other fields (notes, centre, the result it came from) read 50 times.
FIELDS = (
    "id",
    "state",
    "review_on",
    "flag_withdrawn",
    "withdrawn_reason",
    "pathway",
    "flagged_at",
    "updated_at",
    "lapses_on",
    "lapse_reason",
    "reasons",
    "cautions",
    "patient__identifier",
    "patient__site__name",
    "assigned_to__username",
    "assigned_to__first_name",
    "assigned_to__last_name",
)


@dataclass(frozen=True)
class QueueRow:
    """One queue row as shown: every value the row template reads, and nothing else."""

    pk: int
    state: str
    due: bool
    review_on: date | None
    flag_withdrawn: bool
    withdrawn_reason: str
    identifier: str
    site_name: str
    pathway: str
    flagged_at: datetime
    flag_age: str
    lapses_on: date | None
    lapse_reason: str
    lapse_in: str  # "in 5 days" when the flag lapses within LAPSE_SOON_DAYS, else ""
    reasons: tuple[str, ...]
    cautions: tuple[CautionBadge, ...]
    assignee: str

    def get_state_display(self) -> str:  # the name the shared state badge template calls
        return str(ReferralState(self.state).label)

    @classmethod
    def of(cls, r: dict[str, Any], *, today: date) -> QueueRow:
        """The row of a referral read as values (``FIELDS``): no model instances, which cost more to build
        than the whole row's rendering from the cache."""
        lapses_on = r["lapses_on"]
        soon = lapses_on is not None and lapses_on <= today + timedelta(days=LAPSE_SOON_DAYS)
        return cls(
            pk=r["id"],
            state=r["state"],
            due=due_for_review(r["state"], r["review_on"], today),
            review_on=r["review_on"],
            flag_withdrawn=r["flag_withdrawn"],
            withdrawn_reason=r["withdrawn_reason"],
            identifier=r["patient__identifier"],
            site_name=r["patient__site__name"],
            pathway=r["pathway"],
            flagged_at=r["flagged_at"],
            flag_age=flag_age(timezone.localdate(r["flagged_at"]), today),
            lapses_on=lapses_on,
            lapse_reason=r["lapse_reason"],
            lapse_in=timeuntil(lapses_on, today) if soon and lapses_on and not r["flag_withdrawn"] else "",
            reasons=tuple(r["reasons"]),
            cautions=tuple(caution_badges(r["cautions"])),
            assignee=display_name(r["assigned_to__first_name"], r["assigned_to__last_name"], r["assigned_to__username"])
            if r["assigned_to__username"]
            else "",
        )

    def key(self) -> str:
        """The row's cache key: a digest of its content and of everything that shapes its HTML."""
        return fragment_key("queue-row", sources_digest(ROW_TEMPLATES), self)


@lru_cache(maxsize=4096)
def flag_age(flagged_on: date, today: date) -> str:
    """How long ago a referral was flagged, in days and weeks ("today", "3 days ago", "2 weeks, 1 day
    ago"): a queue is worked in days, and a text of two days is computed once, not once a row."""
    if flagged_on >= today:
        return "today"
    return f"{timesince(flagged_on, today)} ago"


def render_rows(rows: list[QueueRow]) -> list[SafeString]:
    """Each row's HTML: one cache read for the page, the template only for rows not seen before."""
    store = caches[CACHE_ALIAS]
    keys = [row.key() for row in rows]
    found = store.get_many(keys)
    template = get_template(ROW_TEMPLATE)
    fresh: dict[str, str] = {}
    out = []
    for row, key in zip(rows, keys, strict=True):
        html = found.get(key)
        if html is None:
            html = fresh[key] = template.render({"r": row})
        out.append(mark_safe(html))  # noqa: S308 - rendered by our own autoescaping template
    if fresh:
        store.set_many(fresh)
    return out
