"""Maintained per-site summaries: counts per state and pathway, times to decision, patients.

The dashboard, the queue's counts (with no filter beyond site, state and pathway) and the patient
list's total read them instead of counting the whole history on every page view: one row per site,
read in the same query as the user's sites. A summary is recomputed (for every site that needs it,
in a fixed number of queries) when it is missing, older than ``SUMMARY_MAX_AGE`` seconds or from
an earlier day; saving a referral drops its site's summary and adding or removing a patient counts
them (wired in ``referrals.apps``), so people see their own changes at once, while bulk changes (the daily
re-screen, deferrals coming due) show within ``SUMMARY_MAX_AGE``. The pages say "as of" when they
show these figures.

Times from flag to decision are kept as a histogram in tenths of a day, so the median of several
sites is the median of their merged histograms (to a tenth of a day, as the dashboard shows it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.db.models.signals import post_delete
from django.utils import timezone

from accounts.models import Site
from patients.models import Patient
from referrals.models import DECIDED_STATES, Referral, ReferralState, SiteSummary

TENTH_OF_A_DAY = 8640  # seconds


def max_age() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "SUMMARY_MAX_AGE", 60)))


@dataclass
class Merged:
    """The summaries of a set of sites, added up."""

    computed_at: datetime | None = None
    patients: int = 0
    states: dict[str, Counter[str]] = field(default_factory=dict)  # pathway → state → n
    due: Counter[str] = field(default_factory=Counter)  # pathway → deferred referrals due for review
    durations: dict[str, Counter[int]] = field(default_factory=dict)  # pathway → tenths of a day → n
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)


def _fresh(summary: SiteSummary | None, now: datetime, today: date) -> bool:
    return (
        summary is not None
        and summary.computed_at > now - max_age()
        and summary.computed_at <= now
        and summary.data.get("today") == today.isoformat()
    )


def sites_with_summaries(sites: QuerySet[Site]) -> list[Site]:
    """The sites, each with its summary attached (one query; ``site.summary`` raises if none)."""
    return list(sites.select_related("summary").order_by("name"))


def _summary_of(site: Site) -> SiteSummary | None:
    try:
        return site.summary  # type: ignore[attr-defined,no-any-return]
    except SiteSummary.DoesNotExist:
        return None


def _claim(stale: list[Site], now: datetime) -> list[int]:
    """The stale sites this request recomputes: a site with no summary, and a site whose summary this
    request is the first to claim (its ``computed_at`` moved to now by one conditional update). A request
    that finds the summary claimed by another one, recomputing it at that moment, shows it as it is (the
    pages say as of when): under load, when a summary expires, one request recomputes it, not every
    request that comes in meanwhile (three exports at once made each of them wait a second)."""
    claimed = []
    for site in stale:
        summary = _summary_of(site)
        if summary is None or SiteSummary.objects.filter(pk=summary.pk, computed_at=summary.computed_at).update(
            computed_at=now
        ):
            claimed.append(site.pk)
    return claimed


def merged(sites: list[Site], *, now: datetime | None = None) -> Merged:
    """The summaries of ``sites`` (from ``sites_with_summaries``), recomputing the stale ones first."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    claimed = _claim([s for s in sites if not _fresh(_summary_of(s), now, today)], now)
    computed = compute(claimed, now=now) if claimed else {}
    total = Merged()
    for site in sites:
        summary = computed.get(site.pk) or _summary_of(site)
        if summary is None:
            continue
        total.computed_at = min(total.computed_at or summary.computed_at, summary.computed_at)
        data = summary.data
        total.patients += summary.patients
        for pathway, counts in data["states"].items():
            total.states.setdefault(pathway, Counter()).update(counts)
        total.due.update(data["due"])
        for pathway, histogram in data["durations"].items():
            total.durations.setdefault(pathway, Counter()).update({int(k): v for k, v in histogram.items()})
        for version, v in data["versions"].items():
            into = total.versions.setdefault(version, {"referred": 0, "not_referred": 0, "reasons": Counter()})
            into["referred"] += v["referred"]
            into["not_referred"] += v["not_referred"]
            into["reasons"].update(v["reasons"])
    return total


def compute(site_ids: list[int], *, now: datetime | None = None) -> dict[int, SiteSummary]:
    """Recompute and store the summaries of these sites: three queries and one upsert, whatever the number
    of sites."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    data: dict[int, dict[str, Any]] = {
        pk: {"today": today.isoformat(), "patients": 0, "states": {}, "due": {}, "durations": {}, "versions": {}}
        for pk in site_ids
    }
    for row in Patient.objects.filter(site_id__in=site_ids).order_by().values("site_id").annotate(n=Count("id")):
        data[row["site_id"]]["patients"] = row["n"]  # (kept in its own column, counted up and down)
    referrals = Referral.objects.filter(patient__site_id__in=site_ids).order_by()
    due = Q(state=ReferralState.DEFERRED, review_on__lte=today)
    for row in referrals.values("patient__site_id", "pathway", "state").annotate(
        n=Count("id"), due=Count("id", filter=due)
    ):
        d = data[row["patient__site_id"]]
        d["states"].setdefault(row["pathway"], {})[row["state"]] = row["n"]
        if row["due"]:
            d["due"][row["pathway"]] = d["due"].get(row["pathway"], 0) + row["due"]
    decided = referrals.filter(state__in=DECIDED_STATES, decided_at__isnull=False)
    for site_id, pathway, state, reason, version, flagged_at, decided_at in decided.values_list(
        "patient__site_id",
        "pathway",
        "state",
        "not_referred_reason",
        "raised_on__rule_set__version",
        "flagged_at",
        "decided_at",
    ):
        d = data[site_id]
        bucket = str(round((decided_at - flagged_at).total_seconds() / TENTH_OF_A_DAY))
        histogram = d["durations"].setdefault(pathway, {})
        histogram[bucket] = histogram.get(bucket, 0) + 1
        v = d["versions"].setdefault(version, {"referred": 0, "not_referred": 0, "reasons": {}})
        v[state] += 1
        if state == ReferralState.NOT_REFERRED:
            v["reasons"][reason] = v["reasons"].get(reason, 0) + 1
    summaries = [SiteSummary(site_id=pk, computed_at=now, patients=d.pop("patients"), data=d) for pk, d in data.items()]
    SiteSummary.objects.bulk_create(
        summaries, update_conflicts=True, unique_fields=["site"], update_fields=["computed_at", "patients", "data"]
    )
    return {s.site_id: s for s in summaries}


def median_tenths(histogram: Counter[int]) -> float | None:
    """The median of a histogram of tenths of a day, in days (to a tenth)."""
    n = sum(histogram.values())
    if not n:
        return None
    middle = ((n - 1) // 2, n // 2)  # the two middle ranks (the same one when n is odd)
    values: list[int] = []
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        for rank in middle:
            if seen <= rank < seen + count:
                values.append(bucket)
        seen += count
    return round(sum(values) / len(values) / 10, 1)


def drop_for_referral(sender: Any, instance: Referral, **kwargs: Any) -> None:
    """A referral was saved (state, decision, assignment): its site's summary is recomputed when next read."""
    SiteSummary.objects.filter(site_id__in=Patient.objects.filter(pk=instance.patient_id).values("site_id")).delete()


def count_patient(sender: Any, instance: Patient, created: bool = False, **kwargs: Any) -> None:
    """A patient was added (post_save, created) or removed (post_delete): count them on the site's summary."""
    if kwargs.get("signal") is post_delete:
        SiteSummary.objects.filter(site_id=instance.site_id, patients__gt=0).update(patients=F("patients") - 1)
    elif created:
        SiteSummary.objects.filter(site_id=instance.site_id).update(patients=F("patients") + 1)
