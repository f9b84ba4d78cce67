"""The maintained per-site summaries behind the dashboard, the queue's counts and the patient list's total."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.models import Referral, ReferralState, SiteSummary
from referrals.summary import median_tenths
from tests.conftest import client_for
from tests.patients.factories import PatientFactory
from tests.referrals.factories import make_referral, move

S = ReferralState
DASHBOARD = reverse("referrals:dashboard")
QUEUE = reverse("referrals:queue")


def queries(client, url, **params) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize(
    "histogram,median",
    [({}, None), ({20: 1, 60: 1}, 4.0), ({5: 3}, 0.5), ({10: 1, 20: 1, 90: 1}, 2.0), ({0: 1, 11: 1}, 0.6)],
)
def test_median_of_a_histogram_of_tenths(histogram, median) -> None:
    assert median_tenths(Counter(histogram)) == median


@pytest.mark.django_db
def test_the_dashboard_reads_the_summary_while_fresh(site_a, staff) -> None:
    client = client_for(staff)
    make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW)
    first, _ = queries(client, DASHBOARD)
    again, response = queries(client, DASHBOARD)
    # session, user, the user's sites with their summaries: no count over the referrals; plus one query for
    # each per-version count another app registers (the CDS Hooks feedback, a small table of its own)
    from referrals.dashboard import VERSION_COUNTS

    assert again == 3 + len(VERSION_COUNTS) < first
    assert "Figures as of" in response.content.decode()


@pytest.mark.django_db
def test_a_referral_saved_shows_at_once(site_a, staff) -> None:
    client = client_for(staff)
    referral = make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW)
    assert client.get(DASHBOARD).context["d"].open_total == 1
    move(referral, staff, S.REFERRED, centre="Centre A")
    d = client.get(DASHBOARD).context["d"]
    assert d.open_total == 0 and d.decided_count == 1
    counts = client.get(QUEUE, {"state": "all"}).context["counts"]
    assert counts.for_view("decided") == 1 and counts.for_view("todo") == 0


@pytest.mark.django_db
def test_a_bulk_change_shows_within_the_maximum_age(site_a, staff, settings) -> None:
    settings.SUMMARY_MAX_AGE = 60
    client = client_for(staff)
    referral = make_referral(PatientFactory(site=site_a), staff, state=S.NEW)
    assert client.get(QUEUE).context["counts"].for_view("todo") == 1
    Referral.objects.filter(pk=referral.pk).update(state=S.NEEDS_DATA, data_needed="x")  # no signal
    assert client.get(QUEUE).context["counts"].for_view("todo") == 1  # the summary, as of a moment ago
    assert client.get(QUEUE, {"mine": "0", "age": "7"}).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert client.get(QUEUE).context["counts"].for_view("todo") == 0


@pytest.mark.django_db
def test_summaries_of_several_sites_add_up(site_a, site_b, staff, specialist_b, rules_admin) -> None:
    a = make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW)
    b = make_referral(PatientFactory(site=site_b), specialist_b, state=S.IN_REVIEW)
    move(a, staff, S.REFERRED, centre="A")
    move(b, specialist_b, S.NOT_REFERRED)
    now = timezone.now()
    Referral.objects.filter(pk=a.pk).update(flagged_at=now - timedelta(days=2), decided_at=now)
    Referral.objects.filter(pk=b.pk).update(flagged_at=now - timedelta(days=6), decided_at=now)
    SiteSummary.objects.all().delete()
    staff_view = client_for(staff).get(DASHBOARD).context["d"]
    assert staff_view.decided_count == 1 and staff_view.median_days == 2.0
    every = client_for(rules_admin).get(DASHBOARD).context["d"]
    assert every.decided_count == 2 and every.median_days == 4.0
    assert SiteSummary.objects.count() == 2


@pytest.mark.django_db
def test_the_summary_of_yesterday_is_recomputed(site_a, staff) -> None:
    client = client_for(staff)
    make_referral(PatientFactory(site=site_a), staff, state=S.NEW)
    client.get(DASHBOARD)
    SiteSummary.objects.update(data={"today": "2000-01-01", "states": {}, "due": {}, "durations": {}, "versions": {}})
    assert client.get(DASHBOARD).context["d"].open_total == 1


@pytest.mark.django_db
def test_an_expired_summary_is_recomputed_by_one_request_while_the_others_show_it_as_it_is(site_a, staff) -> None:
    """Requests that come in together when the summary expires: the first claims it and recomputes it; one
    that read the same expired summary finds it claimed and shows it as it is, without counting again."""
    from accounts.models import Site
    from referrals import summary

    make_referral(PatientFactory(site=site_a), staff, state=S.NEW)
    summary.compute([site_a.pk])
    expired = timezone.now() - timedelta(hours=1)
    SiteSummary.objects.update(computed_at=expired)
    first = summary.sites_with_summaries(Site.objects.filter(pk=site_a.pk))  # both read it expired
    second = summary.sites_with_summaries(Site.objects.filter(pk=site_a.pk))
    with CaptureQueriesContext(connection) as recomputing:
        fresh = summary.merged(first)
    with CaptureQueriesContext(connection) as showing:
        shown = summary.merged(second)
    assert fresh.computed_at > expired and len(recomputing) > 2
    assert shown.computed_at == expired and len(showing) == 1  # the claim that found it taken; no count
    assert shown.states == fresh.states
    assert SiteSummary.objects.get().computed_at == fresh.computed_at
