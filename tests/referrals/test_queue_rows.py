"""The queue's rows are rendered once per distinct content and then served from the fragment cache
(``referrals.queue_rows``): never out of date, because the key is everything the row shows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import caches
from django.template.loader import get_template
from django.test.signals import template_rendered
from django.urls import reverse

from referrals.models import Referral, ReferralState
from referrals.queue import CautionBadge
from referrals.queue_rows import ROW_TEMPLATE, QueueRow, flag_age
from referrals.services import assign_referral, transition_referral
from screening.contract import CautionStatus
from tests.conftest import client_for
from tests.referrals.factories import import_case, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(site_a, cases_day):
    for name in ("steroid-dependent", "refractory-nephritis"):
        screen(import_case(site_a, name), as_of=cases_day)
    return Referral.objects.order_by("pk")


class RowRenders:
    """Counts the row template's renders while in use."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, sender, template, **kwargs) -> None:
        self.n += template.name == ROW_TEMPLATE

    def __enter__(self) -> RowRenders:
        template_rendered.connect(self)
        return self

    def __exit__(self, *exc) -> None:
        template_rendered.disconnect(self)


def view(client) -> bytes:
    """The queue's table body (the rest of the page carries a per-response nonce)."""
    response = client.get(reverse("referrals:queue"), {"state": "all"})
    assert response.status_code == 200
    return response.content.split(b"<tbody>")[1].split(b"</tbody>")[0]


def test_a_second_view_renders_no_row_and_shows_the_same_page(queue, staff) -> None:
    client = client_for(staff)
    with RowRenders() as first:
        page = view(client)
    assert first.n == queue.count() == 4
    with RowRenders() as second:
        again = view(client)
    assert second.n == 0
    assert again == page


def test_cached_rows_are_the_rows_the_template_writes(queue, staff) -> None:
    client = client_for(staff)
    view(client)
    cached = view(client)
    caches["fragments"].clear()
    assert view(client) == cached


def test_a_change_shows_at_once_and_only_the_changed_row_is_rendered_again(queue, staff, specialist, cases_day) -> None:
    client = client_for(staff)
    view(client)
    first, second = queue[0], queue[1]
    transition_referral(
        referral=first, actor=staff, to_state=ReferralState.IN_REVIEW, seen_version=first.version, today=cases_day
    )
    assign_referral(referral=second, actor=staff, seen_version=second.version, assignee=specialist)
    first.patient.identifier = "renamed-patient"
    first.patient.save()
    with RowRenders() as renders:
        page = view(client)
    assert b"renamed-patient" in page and str(specialist).encode() in page
    row = page.split(f'data-referral="{first.pk}"'.encode())[1].split(b"</tr>")[0]
    assert b'data-state="in_review"' in row
    # both changed rows are the renamed patient's (one in review, one reassigned); the other patient's two
    # rows are served from the cache
    assert first.patient_id == second.patient_id
    assert renders.n == 2


def test_the_lapse_badge_says_how_long_is_left(queue, staff) -> None:
    page = view(client_for(staff))
    assert "in 2\xa0weeks".encode() in page  # steroid-dependent's MSC flag lapses on 15 Nov, 14 days on


def _other(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, date):
        return value + timedelta(days=1)
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple):
        return (*value, value[0]) if value else ("x",)
    return None


def test_every_field_of_a_row_is_in_its_key() -> None:
    badge = CautionBadge("Pregnancy", "contraindication", CautionStatus.PRESENT)
    row = QueueRow(
        pk=1,
        state="new",
        due=False,
        review_on=date(2026, 12, 1),
        flag_withdrawn=False,
        withdrawn_reason="",
        identifier="p-1",
        site_name="Site A",
        pathway="msc",
        flagged_at=datetime(2026, 11, 1, 12, tzinfo=UTC),
        flag_age="1 day",
        lapses_on=date(2026, 11, 15),
        lapse_reason="msc.activity becomes unknown",
        lapse_in="",
        reasons=("SLEDAI-2K 8",),
        cautions=(badge,),
        assignee="",
    )
    for f in dataclasses.fields(QueueRow):
        changed = dataclasses.replace(row, **{f.name: _other(getattr(row, f.name))})
        assert changed.key() != row.key(), f.name
    other_badge = dataclasses.replace(row, cautions=(CautionBadge("Pregnancy", "caution", CautionStatus.PRESENT),))
    assert other_badge.key() != row.key()


def test_the_age_of_a_flag_is_said_in_days_and_weeks() -> None:
    today = date(2026, 11, 20)
    assert flag_age(today, today) == "today"
    assert flag_age(date(2026, 11, 19), today) == "1\xa0day ago"
    assert flag_age(date(2026, 11, 4), today) == "2\xa0weeks, 2\xa0days ago"


def test_the_key_holds_the_source_of_every_template_a_row_is_drawn_with() -> None:
    from accounts.fragments import sources_digest
    from referrals import queue_rows

    assert "referrals/includes/state.html" in queue_rows.ROW_TEMPLATES
    rendered = get_template(ROW_TEMPLATE).template.source
    assert '{% include "referrals/includes/state.html"' in rendered  # the one include; its source counts too
    before = sources_digest(queue_rows.ROW_TEMPLATES)
    assert sources_digest((ROW_TEMPLATE,)) != before
