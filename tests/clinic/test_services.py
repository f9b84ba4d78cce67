"""One way through a change: every stored screening is attributed and applied to the referrals with it."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from clinic import services
from patients.models import Observation, Patient
from patients.services import save_record
from referrals.models import EventKind, Referral
from screening import jobs
from screening.models import ScreeningResult
from tests.conftest import client_for
from tests.referrals.factories import import_case, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(site_a, cases_day) -> Patient:
    patient = import_case(site_a, "refractory-nephritis")
    screen(patient)
    assert set(Referral.objects.filter(patient=patient).values_list("pathway", flat=True)) == {"hsct", "msc"}
    return patient


def test_a_manual_rescreen_by_staff_that_withdraws_a_referral_records_that_person(flagged, staff) -> None:
    Patient.objects.filter(pk=flagged.pk).update(birth_date=date(1940, 1, 1))  # now outside every age range
    response = client_for(staff).post(reverse("patients:rescreen", kwargs={"pk": flagged.pk}))
    assert response.status_code == 302
    result = ScreeningResult.objects.latest_for(flagged.pk)
    assert (result.trigger, result.actor, result.outcomes["hsct"]) == ("manual", staff, "not_flagged")
    hsct = Referral.objects.get(patient=flagged, pathway="hsct")
    assert hsct.flag_withdrawn and hsct.latest_result == result
    withdrawn = hsct.events.get(kind=EventKind.FLAG_WITHDRAWN)
    assert withdrawn.actor == staff
    assert hsct.history.latest().history_user == staff


def test_a_data_change_is_attributed_to_who_saved_it(flagged, specialist, django_capture_on_commit_callbacks) -> None:
    before = ScreeningResult.objects.latest_for(flagged.pk)
    with django_capture_on_commit_callbacks(execute=True):
        save_record(
            actor=specialist, record=Observation(patient=flagged, code="lvef", date=date(2026, 10, 20), value=58)
        )
    result = ScreeningResult.objects.latest_for(flagged.pk)
    assert (result.trigger, result.actor, result.previous) == ("data", specialist, before)


def test_a_publish_rescreen_is_attributed_to_the_publisher(flagged, rules_admin) -> None:
    from screening.models import Job, RuleSet

    published = RuleSet.objects.published()
    Patient.objects.filter(pk=flagged.pk).update(birth_date=date(1940, 1, 1))  # a change, so a result is stored
    job = Job.objects.create(
        kind="rescreen",
        rule_set=published,
        revision=published.revision,
        as_of=date(2026, 11, 1),
        created_by=rules_admin,
    )
    jobs.run_job(job.pk)  # claims the job (an attempt), then runs services.run_rescreen_job
    result = ScreeningResult.objects.latest_for(flagged.pk)
    assert (result.trigger, result.actor) == ("rules", rules_admin)


def test_result_and_referrals_commit_together_or_not_at_all(flagged, staff, monkeypatch) -> None:
    count = ScreeningResult.objects.count()
    Patient.objects.filter(pk=flagged.pk).update(birth_date=date(1940, 1, 1))
    flagged.refresh_from_db()

    def broken(**kwargs):
        raise RuntimeError("the queue could not be updated")

    monkeypatch.setattr(services, "apply_screening_result", broken)
    with pytest.raises(RuntimeError):
        services.screen_and_apply(patient=flagged, trigger="manual", actor=staff)
    assert ScreeningResult.objects.count() == count  # no result without its referral changes
    assert not Referral.objects.filter(patient=flagged, flag_withdrawn=True).exists()


def test_a_result_records_the_one_before_it(flagged) -> None:
    first = ScreeningResult.objects.latest_for(flagged.pk)
    again = services.screen_and_apply(patient=flagged, trigger="data")  # a data change always stores its result
    assert first.previous is None and again.previous == first and not again.changed
