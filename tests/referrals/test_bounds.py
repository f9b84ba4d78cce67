"""Referral dates within the plausibility rules, and queue parameters read defensively (issue 10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from clinical import limits
from referrals.models import Referral, ReferralState
from referrals.queue import QueueFilters, decode_cursor, encode_cursor
from referrals.services import ReferralError
from tests.clock import TODAY
from tests.referrals.factories import backdate, make_referral, move

S = ReferralState


@pytest.mark.django_db
def test_a_referral_cannot_be_sent_before_it_was_opened(patient, staff) -> None:
    referral = backdate(make_referral(patient, staff, state=S.IN_REVIEW), days=10)
    events = referral.events.count()
    with pytest.raises(ReferralError) as err:
        move(referral, staff, S.REFERRED, centre="North", referred_on=TODAY - timedelta(days=11))
    assert err.value.field == "referred_on"
    assert err.value.message == (
        "The date the referral was sent cannot be before the referral was opened "
        f"({(TODAY - timedelta(days=10)).isoformat()})."
    )
    assert Referral.objects.get(pk=referral.pk).state == S.IN_REVIEW and referral.events.count() == events
    done = move(referral, staff, S.REFERRED, centre="North", referred_on=TODAY - timedelta(days=10))
    assert done.referred_on == TODAY - timedelta(days=10)


@pytest.mark.django_db
def test_a_review_date_is_within_five_years(patient, staff) -> None:
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    too_far = TODAY + timedelta(days=limits.REVIEW_AHEAD_DAYS + 1)
    with pytest.raises(ReferralError) as err:
        move(referral, staff, S.DEFERRED, review_on=too_far)
    assert err.value.field == "review_on" and "must be within five years" in err.value.message
    deferred = move(referral, staff, S.DEFERRED, review_on=TODAY + timedelta(days=limits.REVIEW_AHEAD_DAYS))
    assert deferred.state == S.DEFERRED


@pytest.mark.django_db
def test_a_cursor_round_trips(patient, staff) -> None:
    referral = make_referral(patient, staff)
    assert decode_cursor(encode_cursor(referral, "oldest")) == (referral.flagged_at, referral.pk)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "~1",
        "2026-01-01T00:00:00~1",  # no time zone: not one encode_cursor writes
        "2026-01-01T00:00:00+00:00~" + "9" * 30,  # beyond a bigint
        "2026-01-01T00:00:00+00:00~0",
        "2026-01-01T00:00:00+00:00~-5",
        "2026-01-01T00:00:00+00:00~²",
        "2026-01-01T00:00:00+00:00~1\x00",
        "x" * 10_000 + "~1",
    ],
)
def test_a_garbled_cursor_means_the_first_page(text: str) -> None:
    assert decode_cursor(text) is None


def test_garbled_filters_fall_back_to_the_defaults() -> None:
    params = QueryDict(mutable=True)
    params.update(
        {"pathway": "h" * 33, "site": "a\x01b", "state": "x", "sort": "x", "per_page": "9" * 5000, "age": "1"}
    )
    f = QueueFilters.from_params(params)
    assert (f.pathway, f.site, f.state, f.sort, f.per_page, f.age) == ("", "", "todo", "oldest", 50, "")
    kept = QueueFilters.from_params(QueryDict(f"pathway={'h' * 32}&site=site-a"))
    assert (kept.pathway, kept.site) == ("h" * 32, "site-a")


@pytest.mark.django_db
def test_the_opened_day_is_the_earlier_of_flag_and_opening(patient, staff) -> None:
    referral = make_referral(patient, staff)
    Referral.objects.filter(pk=referral.pk).update(flagged_at=timezone.now() - timedelta(days=3))
    referral.refresh_from_db()
    assert referral.opened_on == TODAY - timedelta(days=3)
