"""Dashboard aggregates: counts and times only, never a patient."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet

from referrals.models import DECIDED_STATES, OPEN_STATES, NotReferredReason, Referral, ReferralState

# Per-version counts that other apps add to the decisions table without this module importing them:
# column label → function(sites, or None for every site) → {rule set version: count}. (interop registers
# the feedback of record systems on its CDS Hooks cards: accepted, overridden.)
VERSION_COUNTS: dict[str, Callable[[Any], dict[str, int]]] = {}


@dataclass
class Dashboard:
    open_states: list[tuple[str, str]]
    open_rows: list[dict[str, Any]] = field(default_factory=list)  # pathway, counts per open state, total
    open_total: int = 0
    median_days: float | None = None
    median_by_pathway: list[tuple[str, float, int]] = field(default_factory=list)
    decided_count: int = 0
    reasons: list[tuple[str, str]] = field(default_factory=list)
    by_version: list[dict[str, Any]] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)


def _days(seconds: float) -> float:
    return round(seconds / 86400, 1)


def build_dashboard(referrals: QuerySet[Referral], sites: Any = None) -> Dashboard:
    """Open referrals by state and pathway, median days from flag to decision, decisions per rule set version."""
    d = Dashboard(
        open_states=[(s, ReferralState(s).label) for s in OPEN_STATES], reasons=list(NotReferredReason.choices)
    )
    # 1. open referrals by pathway and state
    pivot: dict[str, dict[str, int]] = {}
    for row in referrals.open().order_by().values("pathway", "state").annotate(n=Count("id")):
        pivot.setdefault(row["pathway"], {})[row["state"]] = row["n"]
    for pathway in sorted(pivot):
        counts = [pivot[pathway].get(s, 0) for s in OPEN_STATES]
        d.open_rows.append({"pathway": pathway.upper(), "counts": counts, "total": sum(counts)})
        d.open_total += sum(counts)
    # 2. time from flag to decision (a median: a few slow cases should not hide the usual pace)
    durations: dict[str, list[float]] = {}
    decided = referrals.filter(state__in=DECIDED_STATES, decided_at__isnull=False)
    for pathway, flagged_at, decided_at in decided.order_by().values_list("pathway", "flagged_at", "decided_at"):
        durations.setdefault(pathway, []).append((decided_at - flagged_at).total_seconds())
    every = [s for values in durations.values() for s in values]
    d.decided_count = len(every)
    if every:
        d.median_days = _days(statistics.median(every))
        d.median_by_pathway = [(p.upper(), _days(statistics.median(v)), len(v)) for p, v in sorted(durations.items())]
    # 3. decisions and not-referred reasons per rule set version (of the result that raised the referral)
    versions: dict[str, dict[str, Any]] = {}
    rows = (
        decided.order_by()
        .values("raised_on__rule_set__version", "state", "not_referred_reason")
        .annotate(n=Count("id"))
    )
    for row in rows:
        v = versions.setdefault(row["raised_on__rule_set__version"], {"referred": 0, "not_referred": 0, "reasons": {}})
        v[row["state"]] += row["n"]
        if row["state"] == ReferralState.NOT_REFERRED:
            v["reasons"][row["not_referred_reason"]] = v["reasons"].get(row["not_referred_reason"], 0) + row["n"]
    extra = {label: count(sites) for label, count in VERSION_COUNTS.items()}
    d.extra_columns = list(extra)
    for counts in extra.values():
        for version in counts:
            versions.setdefault(version, {"referred": 0, "not_referred": 0, "reasons": {}})
    for version in sorted(versions, reverse=True):
        v = versions[version]
        d.by_version.append(
            {
                "version": version,
                "referred": v["referred"],
                "not_referred": v["not_referred"],
                "reasons": [v["reasons"].get(code, 0) for code, _ in d.reasons],
                "extra": [counts.get(version, 0) for counts in extra.values()],
            }
        )
    return d
