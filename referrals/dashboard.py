"""Dashboard aggregates: counts and times only, never a patient.

Read from the maintained per-site summaries (``referrals.summary``): the page costs the same with ten
referrals or a hundred thousand, and says how fresh its figures are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from referrals.models import OPEN_STATES, NotReferredReason, ReferralState
from referrals.summary import Merged, median_tenths

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
    as_of: datetime | None = None
    extra_columns: list[str] = field(default_factory=list)


def build_dashboard(summary: Merged, sites: Any = None) -> Dashboard:
    """Open referrals by state and pathway, median days from flag to decision, decisions per rule set version."""
    d = Dashboard(
        open_states=[(s, ReferralState(s).label) for s in OPEN_STATES],
        reasons=list(NotReferredReason.choices),
        as_of=summary.computed_at,
    )
    # 1. open referrals by pathway and state
    for pathway in sorted(summary.states):
        counts = [summary.states[pathway].get(s, 0) for s in OPEN_STATES]
        if not sum(counts):
            continue
        d.open_rows.append({"pathway": pathway.upper(), "counts": counts, "total": sum(counts)})
        d.open_total += sum(counts)
    # 2. time from flag to decision (a median: a few slow cases should not hide the usual pace)
    every: Counter[int] = Counter()
    for histogram in summary.durations.values():
        every.update(histogram)
    d.decided_count = sum(every.values())
    if d.decided_count:
        d.median_days = median_tenths(every)
        d.median_by_pathway = [
            (p.upper(), median_tenths(h) or 0.0, sum(h.values())) for p, h in sorted(summary.durations.items())
        ]
    # 3. decisions and not-referred reasons per rule set version (of the result that raised the referral)
    versions = {k: v for k, v in summary.versions.items()}
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
