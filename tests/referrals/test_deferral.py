"""A deferred referral comes back on its date: shown as due in the queue, released by a daily command."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from referrals import queue as q
from referrals.models import EventKind, Referral, ReferralState
from referrals.services import release_due_deferrals
from tests.clock import TODAY, noon
from tests.referrals.factories import REVIEW_AFTER_DAYS, make_referral, move

S = ReferralState
REVIEW_ON = TODAY + timedelta(days=REVIEW_AFTER_DAYS)
pytestmark = pytest.mark.django_db


@pytest.fixture
def deferred(patient, staff) -> Referral:
    return make_referral(patient, staff, state=S.DEFERRED)  # review on REVIEW_ON


def todo(user, today: date) -> list[Referral]:
    f = q.QueueFilters()
    return list(q.filtered(user, f, now=timezone.now()).filter(q.state_condition("todo", today)))


def test_deferred_is_out_of_the_working_queue_until_its_date(deferred, staff) -> None:
    assert todo(staff, REVIEW_ON - timedelta(days=1)) == []
    assert todo(staff, REVIEW_ON) == [deferred]
    assert not deferred.is_due(REVIEW_ON - timedelta(days=1)) and deferred.is_due(REVIEW_ON)
    counts = q.count(q.filtered(staff, q.QueueFilters(), now=timezone.now()), q.QueueFilters(), today=REVIEW_ON)
    assert counts.due == 1 and counts.for_view("todo") == 1 and counts.for_view("deferred") == 1


def test_release_before_the_date_does_nothing(deferred) -> None:
    assert release_due_deferrals(today=REVIEW_ON - timedelta(days=1)) == 0
    deferred.refresh_from_db()
    assert deferred.state == S.DEFERRED


@pytest.mark.parametrize("today", [REVIEW_ON, REVIEW_ON + timedelta(days=3)])
def test_release_on_or_after_the_date_moves_it_back_to_review(deferred, today) -> None:
    assert release_due_deferrals(today=today) == 1
    deferred.refresh_from_db()
    assert deferred.state == S.IN_REVIEW and deferred.review_on is None
    event = deferred.events.latest("version")
    assert (event.kind, event.from_state, event.to_state, event.actor) == (
        EventKind.TRANSITION,
        S.DEFERRED,
        S.IN_REVIEW,
        None,
    )
    assert f"{REVIEW_ON} reached" in event.reason
    assert release_due_deferrals(today=today) == 0


def test_resuming_early_by_hand_leaves_nothing_to_release(deferred, staff) -> None:
    move(deferred, staff, S.IN_REVIEW)
    assert release_due_deferrals(today=REVIEW_ON) == 0


def test_release_deferred_command(deferred) -> None:
    out = StringIO()
    call_command("release_deferred", "--today", REVIEW_ON.isoformat(), stdout=out)
    assert out.getvalue().strip() == f"1 deferred referral back to review (as of {REVIEW_ON})"
    with pytest.raises(CommandError, match="--today"):
        call_command("release_deferred", "--today", "soon")


def test_release_task_runs(deferred, clock) -> None:
    from referrals.tasks import release_deferred_referrals

    assert release_deferred_referrals.enqueue().return_value == 0
    clock.move_to(noon(REVIEW_ON))
    assert release_deferred_referrals.enqueue().return_value == 1
