"""A flag's lapse date reaches its referral: the queue's Lapses column, its "lapses within 14 days" filter, the CSV."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.urls import reverse

from referrals.models import Referral
from tests.conftest import client_for
from tests.referrals.factories import import_case, screen
from tests.referrals.test_export import export
from tests.shipped import LAPSES_PATH

pytestmark = pytest.mark.django_db
LAPSES = json.loads(LAPSES_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def flagged(site_a, cases_day):
    """Two patients screened on the case files' day: steroid-dependent lapses in 14 days, refractory-nephritis's
    HSCT flag in March."""
    made = {}
    for name in ("steroid-dependent", "refractory-nephritis"):
        patient = import_case(site_a, name)
        screen(patient, as_of=cases_day)
        made[name] = patient
    return made


def referral(patient, pathway: str) -> Referral:
    return Referral.objects.get(patient=patient, pathway=pathway)


def test_each_referral_holds_the_lapse_date_and_reason_of_its_flag(flagged) -> None:
    for name, patient in flagged.items():
        for pathway in ("msc", "hsct"):
            r = referral(patient, pathway)
            assert r.lapses_on == date.fromisoformat(LAPSES[name][pathway])
            assert r.lapse_reason.startswith(f"{pathway}.")


def test_the_queue_shows_the_lapse_column_and_filters_flags_lapsing_within_14_days(flagged, staff, cases_day) -> None:
    client = client_for(staff)
    page = client.get(reverse("referrals:queue"), {"state": "all"})
    assert b"Lapses within 14 days" in page.content
    assert b'data-lapses="2027-03-21"' in page.content and b'data-lapses="2026-11-15"' in page.content
    soon = client.get(reverse("referrals:queue"), {"state": "all", "lapsing": "1"})
    shown = {(r.identifier, r.pathway) for r in soon.context["page"].rows}
    assert shown == {("steroid-dependent", "msc"), ("steroid-dependent", "hsct"), ("refractory-nephritis", "msc")}
    assert all(r.lapses_on <= cases_day + timedelta(days=14) for r in soon.context["page"].rows)


def test_a_withdrawn_flag_is_not_lapsing(flagged, staff) -> None:
    r = referral(flagged["steroid-dependent"], "msc")
    Referral.objects.filter(pk=r.pk).update(flag_withdrawn=True, withdrawn_reason="time", withdrawn_at=r.opened_at)
    soon = client_for(staff).get(reverse("referrals:queue"), {"state": "all", "lapsing": "1"})
    assert r.pk not in {row.pk for row in soon.context["page"].rows}


def test_the_csv_export_has_the_lapse_date(flagged, staff) -> None:
    table = export(client_for(staff), state="all")
    column = table[0].index("lapses on")
    dates = {(row[1], row[3]): row[column] for row in table[1:]}
    assert dates[("refractory-nephritis", "HSCT")] == "2027-03-21"
    assert dates[("steroid-dependent", "MSC")] == "2026-11-15"
