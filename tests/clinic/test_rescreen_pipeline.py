"""Issue 13: the set-wise cohort re-screen, no row when nothing changed, lean stored results."""

from __future__ import annotations

import copy
import importlib
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic import services
from patients.models import Condition, Observation, Patient
from referrals.models import EventKind, Referral
from screening import cohort, engine
from screening.contract import build_trace, content_hash, read_result, signature, unpack
from screening.facts import load_facts
from screening.models import RuleSet, ScreeningBlob, ScreeningResult
from screening.services import parsed_rules
from tests.conftest import client_for
from tests.referrals.factories import import_case, screen

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 1)
NEXT = DAY + timedelta(days=1)


def rescreen(*patients: Patient, as_of: date, trigger: str = "scheduled") -> int:
    return services.rescreen_patients([p.pk for p in patients], trigger=trigger, as_of=as_of)


@pytest.fixture
def flagged(site_a, cases_day) -> Patient:
    patient = import_case(site_a, "refractory-nephritis")
    screen(patient, as_of=DAY)
    return patient


# --- 1. no row when nothing changed -----------------------------------------------------------


def test_a_second_rescreen_with_no_change_writes_no_row_and_the_page_says_as_of_when(flagged, specialist) -> None:
    first = ScreeningResult.objects.latest_for(flagged.pk)
    count = ScreeningResult.objects.count()
    assert rescreen(flagged, as_of=NEXT) == 1
    assert ScreeningResult.objects.count() == count  # nothing changed: no new row
    latest = ScreeningResult.objects.latest_for(flagged.pk)
    assert latest.pk == first.pk and (latest.as_of, latest.checked_on) == (DAY, NEXT)
    page = client_for(specialist).get(reverse("patients:detail", kwargs={"pk": flagged.pk})).content.decode()
    assert "as of 02 Nov 2026, unchanged since 01 Nov 2026" in page
    referral = Referral.objects.filter(patient=flagged).first()
    text = client_for(specialist).get(reverse("referrals:detail", kwargs={"pk": referral.pk})).content.decode()
    assert "as of 02 Nov 2026, unchanged since 01 Nov 2026" in text
    events = list(Referral.objects.filter(patient=flagged).values_list("events__kind", flat=True))
    assert events == [EventKind.OPENED] * len(events)  # no referral touched


def test_a_manual_rescreen_with_no_change_stores_nothing_and_says_so(flagged, staff, clock) -> None:
    count = ScreeningResult.objects.count()
    clock.shift(timedelta(days=1))
    response = client_for(staff).post(reverse("patients:rescreen", kwargs={"pk": flagged.pk}), follow=True)
    assert ScreeningResult.objects.count() == count
    assert "nothing has changed since 01 Nov 2026" in response.content.decode()
    assert ScreeningResult.objects.latest_for(flagged.pk).checked_on == NEXT


def test_a_mark_never_moves_back(flagged) -> None:
    rescreen(flagged, as_of=NEXT + timedelta(days=5))
    services.screen_and_apply(patient=flagged, trigger="manual", as_of=NEXT)
    assert ScreeningResult.objects.latest_for(flagged.pk).checked_on == NEXT + timedelta(days=5)


def test_a_data_change_always_stores_its_result(flagged) -> None:
    count = ScreeningResult.objects.count()
    services.screen_and_apply(patient=flagged, trigger="data", as_of=DAY)
    assert ScreeningResult.objects.count() == count + 1


def change_outcome(patient: Patient) -> None:
    Patient.objects.filter(pk=patient.pk).update(birth_date=date(1940, 1, 1))  # outside every age range


def change_caution(patient: Patient) -> None:
    Condition.objects.create(patient=patient, code="active_infection", status="present", date=DAY)


def change_missing(patient: Patient) -> None:
    Patient.objects.filter(pk=patient.pk).update(weight_kg=None)  # doses per kg cannot be judged


def change_criterion(patient: Patient) -> None:
    Observation.objects.create(patient=patient, code="lvef", date=DAY, value=30)


@pytest.mark.parametrize("change", [change_outcome, change_caution, change_missing, change_criterion])
def test_any_change_writes_a_row(flagged, change) -> None:
    before = ScreeningResult.objects.latest_for(flagged.pk)
    change(flagged)
    rescreen(flagged, as_of=NEXT)
    after = ScreeningResult.objects.latest_for(flagged.pk)
    assert after.pk != before.pk and after.previous_id == before.pk and after.trigger == "scheduled"
    assert after.as_of == after.checked_on == NEXT


def trace_as_of(patient: Patient, day: date) -> dict:
    result = engine.screen(load_facts(patient), parsed_rules(RuleSet.objects.published()), day)
    return build_trace(result, case_id=patient.identifier)


def test_the_signature_ignores_the_date_and_what_follows_from_it(flagged) -> None:
    a, b = trace_as_of(flagged, DAY), trace_as_of(flagged, NEXT)
    assert a != b  # the as-of date and the words derived from it differ
    assert signature(a) == signature(b)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(outcome="not_flagged"),
        lambda p: p["criteria"][0].update(result="not_met"),
        lambda p: p["criteria"][0].update(refs=["observations/999"]),
        lambda p: p["cautions"][0].update(status="present"),
        lambda p: p["checklist"].append({"line": "x", "criterion": "c", "type": "t", "refs": [], "needs": []}),
        lambda p: p.update(lapses_on="2027-01-01"),
        lambda p: p["criteria"][0].update(explanation="something else entirely"),
    ],
    ids=["outcome", "criterion", "criterion refs", "caution", "missing", "lapse date", "words"],
)
def test_the_signature_sees_every_change_that_matters(flagged, mutate) -> None:
    trace = trace_as_of(flagged, DAY)
    changed = copy.deepcopy(trace)
    mutate(changed["pathways"]["hsct"])
    assert signature(changed) != signature(trace)


# --- 2. lean stored results --------------------------------------------------------------------


def test_facts_are_stored_once_per_content_and_the_trace_compressed(flagged, older_draft_rules) -> None:
    first = ScreeningResult.objects.latest_for(flagged.pk)
    second = services.screen_and_apply(patient=flagged, trigger="rules", rule_set=older_draft_rules, as_of=DAY)
    assert second.pk != first.pk and second.facts_blob_id == first.facts_blob_id  # the same facts, one blob
    assert ScreeningBlob.objects.filter(pk=first.facts_blob_id).count() == 1
    stored = ScreeningResult.objects.get(pk=second.pk)
    assert len(stored.trace_z) * 3 < len(str(stored.trace))  # compressed
    assert (
        stored.facts == first.facts
        and stored.facts["birth_date"]
        and stored.facts_blob_id == content_hash(stored.facts)
    )
    assert read_result(stored).as_of == DAY  # reproducible: the full trace reads back


@pytest.fixture
def older_draft_rules(rules_admin) -> RuleSet:
    from screening import rulesets

    published = RuleSet.objects.published()
    return rulesets.create_draft(actor=rules_admin, source=published, version="lean-1", reason="a second version")


def test_a_row_stored_as_plain_json_still_reads_and_the_migration_moves_it(flagged) -> None:
    row = ScreeningResult.objects.latest_for(flagged.pk)
    trace, facts = row.trace, row.facts
    ScreeningResult.objects.filter(pk=row.pk).update(
        legacy_trace=trace, legacy_facts=facts, trace_z=None, facts_blob=None, signature=""
    )
    old = ScreeningResult.objects.get(pk=row.pk)
    assert old.trace == trace and old.facts == facts and read_result(old).as_of == DAY
    assert old.sameness == signature(trace) and old.facts_hash == content_hash(facts)
    assert rescreen(flagged, as_of=NEXT) == 1 and ScreeningResult.objects.latest_for(flagged.pk).pk == row.pk
    from django.apps import apps

    migration = importlib.import_module("screening.migrations.0011_lean_results_checked_on")
    migration.move_to_lean(apps, None)
    moved = ScreeningResult.objects.get(pk=row.pk)
    assert (moved.legacy_trace, moved.legacy_facts) == (None, None)
    assert unpack(moved.trace_z) == trace and moved.facts == facts and moved.signature == signature(trace)
    migration.back_to_json(apps, None)
    assert ScreeningResult.objects.get(pk=row.pk).legacy_trace == trace


# --- 3. set-wise cohort re-screen --------------------------------------------------------------


def chunk_queries(ids: list[int], **kwargs) -> int:
    rule_set = RuleSet.objects.published()
    with CaptureQueriesContext(connection) as queries:
        services.screen_and_apply_chunk(ids, trigger="scheduled", rule_set=rule_set, **kwargs)
    return len(queries)


def test_a_chunk_is_screened_in_a_fixed_number_of_queries(site_a, cases_day) -> None:
    from tests.shipped import case_paths

    for path in case_paths():
        import_case(site_a, path.stem)
    ids = cohort.patient_ids()
    assert len(ids) >= 8
    few = chunk_queries(ids[:2], as_of=DAY)  # first screenings: stored, referrals opened where flagged
    chunk_queries(ids[2:], as_of=DAY)
    assert ScreeningResult.objects.count() == len(ids)
    # nothing changed: the same small number of queries for 2 patients as for all
    assert chunk_queries(ids[:2], as_of=NEXT) == chunk_queries(ids, as_of=NEXT + timedelta(days=1)) <= 12
    assert ScreeningResult.objects.count() == len(ids) and few > 0


def test_the_chunk_applies_changes_to_the_referrals_like_one_patient_at_a_time(flagged) -> None:
    change_outcome(flagged)
    rescreen(flagged, as_of=NEXT)
    result = ScreeningResult.objects.latest_for(flagged.pk)
    assert result.changed and result.change_cause == "new data"
    for referral in Referral.objects.filter(patient=flagged):
        assert referral.flag_withdrawn and referral.latest_result_id == result.pk
        withdrawn = referral.events.get(kind=EventKind.FLAG_WITHDRAWN)
        assert withdrawn.actor is None and withdrawn.detail["result"] == result.pk
    Patient.objects.filter(pk=flagged.pk).update(birth_date=date(1990, 1, 1))
    flagged.refresh_from_db()
    rescreen(flagged, as_of=NEXT + timedelta(days=1))
    for referral in Referral.objects.filter(patient=flagged):
        assert referral.events.filter(kind=EventKind.FLAG_RESTORED).count() == 1


def test_the_rescreen_command_sends_one_task_per_range_and_each_patient_is_screened_once(site_a, cases_day) -> None:
    for name in ("refractory-nephritis", "older-patient", "mild-disease"):
        import_case(site_a, name)
    assert cohort.ranges([1, 2, 3, 4, 5], 2) == [(1, 3), (4, 5)] and cohort.ranges([7], 4) == [(7, 7)]
    call_command("rescreen", "--ranges", "2", stdout=(out := StringIO()))  # the tests' backend runs them at once
    assert "2 range task(s)" in out.getvalue()
    counts = list(ScreeningResult.objects.values_list("patient_id", flat=True))
    assert sorted(counts) == cohort.patient_ids()  # every patient once
    call_command("rescreen", "--ranges", "3", stdout=StringIO())  # sent again the same day: nothing twice
    assert ScreeningResult.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's bulk insert and bytea")
def test_on_postgresql_the_chunk_stores_and_marks_in_bulk(flagged) -> None:
    change_caution(flagged)
    rescreen(flagged, as_of=NEXT)
    stored = ScreeningResult.objects.latest_for(flagged.pk)
    assert stored.as_of == NEXT and isinstance(stored.trace, dict) and stored.facts["birth_date"]
    rescreen(flagged, as_of=NEXT + timedelta(days=3))
    again = ScreeningResult.objects.latest_for(flagged.pk)
    assert again.pk == stored.pk and again.checked_on == NEXT + timedelta(days=3)


# --- 4. stable until: a patient whose facts did not change is not evaluated before their next turning day


@pytest.fixture
def evaluations(monkeypatch) -> list[int]:
    """The patients the cohort re-screen evaluated (it calls the engine through ``screen_facts``)."""
    from screening import services as screening_services

    seen: list[int] = []
    real = screening_services.screen_facts

    def counting(patient, facts, rules, day):
        seen.append(patient.pk)
        return real(patient, facts, rules, day)

    monkeypatch.setattr(screening_services, "screen_facts", counting)
    return seen


def expected_stable_until(patient: Patient, day: date) -> date:
    return engine.stable_until(load_facts(patient), parsed_rules(RuleSet.objects.published()), day)


def test_a_stored_result_holds_the_first_day_its_facts_may_screen_differently(flagged) -> None:
    result = ScreeningResult.objects.latest_for(flagged.pk)
    assert result.stable_until == expected_stable_until(flagged, DAY) > DAY + timedelta(days=1)


def test_a_rescreen_before_stable_until_takes_the_result_without_evaluating(flagged, evaluations) -> None:
    first = ScreeningResult.objects.latest_for(flagged.pk)
    count = ScreeningResult.objects.count()
    assert rescreen(flagged, as_of=NEXT) == 1
    assert evaluations == []  # the facts are the stored ones and nothing turns before stable_until
    latest = ScreeningResult.objects.latest_for(flagged.pk)
    assert ScreeningResult.objects.count() == count
    assert (latest.pk, latest.checked_on, latest.stable_until) == (first.pk, NEXT, first.stable_until)


def test_a_rescreen_on_stable_until_evaluates_and_moves_it_on(flagged, evaluations) -> None:
    until = ScreeningResult.objects.latest_for(flagged.pk).stable_until
    rescreen(flagged, as_of=until)
    assert evaluations == [flagged.pk]
    latest = ScreeningResult.objects.latest_for(flagged.pk)
    if latest.as_of < until:  # found unchanged: the mark and the new turning day, worked out from that day
        assert latest.checked_on == until
    assert latest.stable_until == expected_stable_until(flagged, until) > until


def test_facts_changed_behind_the_app_are_evaluated_before_stable_until(flagged, evaluations) -> None:
    change_missing(flagged)  # a queryset update: no signal, no data-change screening
    rescreen(flagged, as_of=NEXT)
    assert evaluations == [flagged.pk]
    latest = ScreeningResult.objects.latest_for(flagged.pk)
    assert latest.as_of == NEXT and latest.change_cause in ("new data", "")


def test_a_result_with_no_stable_until_is_evaluated(flagged, evaluations) -> None:
    ScreeningResult.objects.filter(patient=flagged).update(stable_until=None)  # a row stored before the field
    rescreen(flagged, as_of=NEXT)
    assert evaluations == [flagged.pk]
    latest = ScreeningResult.objects.latest_for(flagged.pk)
    assert latest.checked_on == NEXT and latest.stable_until == expected_stable_until(flagged, NEXT)


def test_the_published_rules_replaced_are_evaluated(flagged, older_draft_rules, evaluations) -> None:
    from screening.services import screen_chunk

    screen_chunk([flagged], trigger="rules", rule_set=older_draft_rules, as_of=NEXT)
    assert evaluations == [flagged.pk]


@pytest.mark.parametrize(
    ("change", "stable"),
    [
        ({}, True),
        ({"trigger": "data"}, False),  # a change to the record always stores its result
        ({"rule_set_id": -1}, False),
        ({"stable_until": None}, False),
        ({"as_of": DAY - timedelta(days=1)}, False),  # before the day it last held
        ({"as_of": DAY + timedelta(days=10)}, False),  # on stable_until
        ({"facts_hash": "other"}, False),
    ],
)
def test_still_stable_needs_every_condition(flagged, change, stable) -> None:
    from screening.services import still_stable

    stored = ScreeningResult.objects.latest_for(flagged.pk)
    stored.stable_until = DAY + timedelta(days=10)
    args = {
        "rule_set_id": stored.rule_set_id,
        "facts_hash": stored.facts_hash,
        "as_of": DAY + timedelta(days=5),
        "trigger": "scheduled",
    }
    args.update(change)
    if "stable_until" in change:
        stored.stable_until = None
    rule_set = RuleSet(pk=args.pop("rule_set_id"))
    assert still_stable(stored, rule_set=rule_set, **{k: v for k, v in args.items() if k != "stable_until"}) is stable


def test_the_database_refuses_a_stable_until_not_after_the_as_of_date(flagged) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ScreeningResult.objects.filter(patient=flagged).update(stable_until=DAY)
