"""Rules administration services: drafts, audited edits, four eyes, publishing, re-screening, rollback."""

from __future__ import annotations

import pytest

from accounts.models import User
from patients.models import Patient
from screening import rulesets, testcases
from screening.errors import RuleSetRefused
from screening.models import (
    AppendOnly,
    EventKind,
    Job,
    JobKind,
    JobStatus,
    RuleCase,
    RuleSet,
    RuleSetEvent,
    ScreeningResult,
)
from tests.screening.conftest import AGE_65, AS_OF
from tests.shipped import case_paths


def kinds(rule_set: RuleSet) -> list[str]:
    return list(rule_set.events.order_by("pk").values_list("kind", flat=True))


def prepare(draft: RuleSet, author: User, reviewer: User, capture) -> RuleSet:
    """Make the age-65 draft publishable: expectation updated, impact previewed, signed off."""
    testcases.update_expectation(
        test_case=RuleCase.objects.get(name="older-patient"),
        actor=author,
        expected={"hsct": "flagged"},
        reason="65 is the new upper limit",
        rule_set=draft,
    )
    with capture(execute=True):
        rulesets.start_impact_preview(rule_set=draft, actor=author, as_of=AS_OF)
    rulesets.sign_off_rule_set(rule_set=draft, actor=reviewer, note="checked the preview")
    draft.refresh_from_db()
    return draft


@pytest.mark.django_db
def test_a_draft_copies_any_version_and_records_who_and_why(draft, rules_admin) -> None:
    published = RuleSet.objects.published()
    assert draft.status == "draft" and draft.based_on == published and draft.created_by == rules_admin
    assert draft.content == {**published.content, "version": "2026.3"}
    [event] = draft.events.all()
    assert (event.kind, event.actor, event.reason) == (EventKind.CREATED, rules_admin, "review of the age limits")
    assert event.summary == "draft 2026.3 created from 2026.2"
    assert draft.history.get().history_user == rules_admin
    with pytest.raises(RuleSetRefused) as err:
        rulesets.create_draft(actor=rules_admin, source=draft, version="2026.2", reason="again")
    assert err.value.field == "version" and "already exists" in err.value.message
    assert rulesets.suggest_version(published) == "2026.4"


@pytest.mark.django_db
def test_an_edit_is_validated_then_audited_with_the_difference(draft, rules_admin) -> None:
    event = rulesets.set_criterion_params(
        rule_set=draft, actor=rules_admin, node_id="hsct.age", params=AGE_65, source="S30", reason="LIST protocol"
    )
    draft.refresh_from_db()
    assert draft.content["pathways"][0]["inclusion"]["all"][1]["params"] == AGE_65 and draft.revision == 1
    assert (event.kind, event.actor, event.reason) == (EventKind.EDITED, rules_admin, "LIST protocol")
    assert event.summary == "hsct.age: 18–60 → 18–65 (max_years 60 → 65)"
    assert event.data["changes"][0]["old"] == "18–60"
    latest = draft.history.first()
    assert latest.history_user == rules_admin
    assert latest.history_change_reason == "hsct.age: 18–60 → 18–65 (max_years 60 → 65) — LIST protocol"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params,field,needle",
    [
        ({"min_years": 18, "max_years": 200}, "max_years", "hsct.age: params.max_years: must be an integer ≤ 150"),
        ({"min_years": 70, "max_years": 65}, "max_years", "hsct.age: params.max_years: must be an integer ≥ min_years"),
        ({"min_years": 18}, "max_years", "hsct.age: params.max_years: missing"),
        ({"min_years": "18", "max_years": 65}, "min_years", "hsct.age: params.min_years: must be an integer"),
    ],
)
def test_a_bad_parameter_is_refused_naming_node_and_parameter(draft, rules_admin, params, field, needle) -> None:
    with pytest.raises(RuleSetRefused) as err:
        rulesets.set_criterion_params(
            rule_set=draft, actor=rules_admin, node_id="hsct.age", params=params, source="S30", reason="x"
        )
    assert err.value.field == field and needle in err.value.message
    draft.refresh_from_db()
    assert draft.revision == 0 and kinds(draft) == [EventKind.CREATED]


@pytest.mark.django_db
def test_edits_need_a_reason_a_change_and_a_draft(draft, rules_admin) -> None:
    same = draft.content["pathways"][0]["inclusion"]["all"][1]["params"]
    with pytest.raises(RuleSetRefused, match="nothing changed"):
        rulesets.set_criterion_params(
            rule_set=draft, actor=rules_admin, node_id="hsct.age", params=same, source="S30", reason="x"
        )
    with pytest.raises(RuleSetRefused, match="say why"):
        rulesets.set_criterion_params(
            rule_set=draft, actor=rules_admin, node_id="hsct.age", params=AGE_65, source="S30", reason="  "
        )
    with pytest.raises(RuleSetRefused, match="only a draft can be changed"):
        rulesets.set_criterion_params(
            rule_set=RuleSet.objects.published(),
            actor=rules_admin,
            node_id="hsct.age",
            params=AGE_65,
            source="S30",
            reason="x",
        )


@pytest.mark.django_db
def test_switching_adding_group_op_severity_and_drug_edits_are_each_audited(draft, rules_admin) -> None:
    rulesets.switch_node(rule_set=draft, actor=rules_admin, node_id="msc.antimalarial", on=False, reason="trial")
    draft.refresh_from_db()
    assert (
        "msc.antimalarial" in draft.disabled_nodes
        and draft.content["pathways"][1]["inclusion"]["all"][-1]["id"] == "msc.immunosuppression"
    )
    rulesets.add_criterion(
        rule_set=draft,
        actor=rules_admin,
        group_id="msc",
        node_id="msc.damage",
        type_name="damage_index_at_least",
        params={"min_score": 1},
        source="S40",
        reason="trial",
    )
    rulesets.switch_node(rule_set=draft, actor=rules_admin, node_id="msc.antimalarial", on=True, reason="back")
    rulesets.set_group_op(rule_set=draft, actor=rules_admin, group_id="hsct.refractory", op="all", reason="stricter")
    rulesets.set_caution_severity(
        rule_set=draft,
        actor=rules_admin,
        caution_id="organ_damage",
        severity={"hsct": "contraindication", "msc": "caution"},
        reason="S30",
    )
    rulesets.set_drug_thresholds(
        rule_set=draft,
        actor=rules_admin,
        drug="methotrexate",
        values={"min_days": 120, "min_dose": 20, "min_dose_per_kg": None},
        reason="local",
    )
    draft.refresh_from_db()
    assert draft.revision == 6 and draft.disabled_nodes == {}
    summaries = list(draft.events.order_by("pk").values_list("kind", "summary"))[1:]
    assert summaries == [
        (EventKind.SWITCHED_OFF, summaries[0][1]),
        (EventKind.ADDED, "msc.damage: added to msc: damage_index_at_least: latest SLICC/ACR damage index at least 1"),
        (EventKind.SWITCHED_ON, summaries[2][1]),
        (EventKind.EDITED, "hsct.refractory: any → all"),
        (
            EventKind.EDITED,
            "organ_damage: severity for hsct caution → contraindication\n"
            "organ_damage: severity for msc not applicable → caution",
        ),
        (EventKind.EDITED, "drug methotrexate: min_days 90 → 120\ndrug methotrexate: min_dose 15 → 20"),
    ]
    assert summaries[0][1].startswith("msc.antimalarial: switched off (was drug_tried:")
    assert summaries[2][1].startswith("msc.antimalarial: switched on in msc:")
    with pytest.raises(RuleSetRefused) as err:
        rulesets.switch_node(rule_set=draft, actor=rules_admin, node_id="msc", on=False, reason="x")
    assert "root of the pathway msc" in err.value.message


@pytest.mark.django_db
def test_four_eyes_the_author_and_editors_cannot_sign_off(older_draft, rules_admin, admin_2, site_a) -> None:
    from tests.conftest import make_user

    with pytest.raises(RuleSetRefused, match="a second rules admin must sign it off"):
        rulesets.sign_off_rule_set(rule_set=older_draft, actor=rules_admin)
    rulesets.set_drug_thresholds(
        rule_set=older_draft,
        actor=admin_2,
        drug="tacrolimus",
        values={"min_days": 100, "min_dose": None, "min_dose_per_kg": None},
        reason="x",
    )
    with pytest.raises(RuleSetRefused, match="you created or edited this draft"):
        rulesets.sign_off_rule_set(rule_set=older_draft, actor=admin_2)
    admin_3 = make_user("admin_3", "rules_admin", site_a)
    event = rulesets.sign_off_rule_set(rule_set=older_draft, actor=admin_3, note="looked at it")
    older_draft.refresh_from_db()
    assert older_draft.reviewed_by == admin_3 and event.kind == EventKind.SIGNED_OFF and event.reason == "looked at it"
    # any later edit withdraws the sign-off
    later = rulesets.set_drug_thresholds(
        rule_set=older_draft,
        actor=rules_admin,
        drug="tacrolimus",
        values={"min_days": 110, "min_dose": None, "min_dose_per_kg": None},
        reason="typo",
    )
    older_draft.refresh_from_db()
    assert older_draft.reviewed_by is None and later.data["sign_off_withdrawn"] == "admin_3"


@pytest.mark.django_db
def test_publishing_is_blocked_by_a_failing_test_case_until_the_expectation_is_updated(
    older_draft, rules_admin, admin_2, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        rulesets.start_impact_preview(rule_set=older_draft, actor=rules_admin, as_of=AS_OF)
    rulesets.sign_off_rule_set(rule_set=older_draft, actor=admin_2)
    runs = testcases.run_test_cases(older_draft.content)
    [bad] = testcases.failing(runs)
    assert bad.case.name == "older-patient" and len(runs) == len(case_paths())
    assert [(c.pathway, c.expected, c.actual) for c in bad.checks if not c.passed] == [
        ("hsct", "not_flagged", "flagged")
    ]
    assert bad.result is not None and bad.result.pathway("hsct").criteria[1].id == "hsct.age"
    with pytest.raises(RuleSetRefused, match="1 test case\\(s\\) fail: older-patient"):
        rulesets.publish_rule_set(rule_set=older_draft, actor=admin_2, change_note="HSCT up to 65")
    older_draft.refresh_from_db()
    assert older_draft.status == "draft" and RuleSet.objects.published().version == "2026.2"

    with pytest.raises(RuleSetRefused, match="say why"):
        testcases.update_expectation(
            test_case=bad.case, actor=rules_admin, expected={"hsct": "flagged"}, reason="", rule_set=older_draft
        )
    testcases.update_expectation(
        test_case=bad.case,
        actor=rules_admin,
        expected={"hsct": "flagged"},
        reason="63-year-olds are now flagged",
        rule_set=older_draft,
    )
    case = RuleCase.objects.get(name="older-patient")
    assert case.expected == {"hsct": "flagged", "msc": "flagged"}
    assert case.history.first().history_change_reason == (
        "test case older-patient: expected hsct not flagged → flagged — 63-year-olds are now flagged"
    )
    event = older_draft.events.get(kind=EventKind.EXPECTATION)
    assert event.actor == rules_admin and event.reason == "63-year-olds are now flagged"
    assert event.data["sign_off_withdrawn"] == "admin_2"  # what the draft is tested against changed
    assert testcases.failing(testcases.run_test_cases(older_draft.content)) == []


@pytest.mark.django_db
def test_publishing_needs_a_sign_off_a_fresh_preview_and_a_change_note(
    older_draft, rules_admin, admin_2, django_capture_on_commit_callbacks
) -> None:
    testcases.update_expectation(
        test_case=RuleCase.objects.get(name="older-patient"),
        actor=rules_admin,
        expected={"hsct": "flagged"},
        reason="new limit",
        rule_set=older_draft,
    )
    with pytest.raises(RuleSetRefused, match="must sign this draft off"):
        rulesets.publish_rule_set(rule_set=older_draft, actor=rules_admin, change_note="x")
    rulesets.sign_off_rule_set(rule_set=older_draft, actor=admin_2)
    with pytest.raises(RuleSetRefused, match="run the impact preview"):
        rulesets.publish_rule_set(rule_set=older_draft, actor=rules_admin, change_note="x")
    with pytest.raises(RuleSetRefused) as err:
        rulesets.publish_rule_set(rule_set=older_draft, actor=rules_admin, change_note=" ")
    assert err.value.field == "change_note"
    # a preview of an earlier revision does not count
    Job.objects.create(kind=JobKind.IMPACT, rule_set=older_draft, revision=0, as_of=AS_OF, status=JobStatus.DONE)
    with pytest.raises(RuleSetRefused, match="run the impact preview"):
        rulesets.publish_rule_set(rule_set=older_draft, actor=rules_admin, change_note="x")


@pytest.mark.django_db
def test_publish_retires_the_previous_version_and_rescreens_everyone(
    older_draft, rules_admin, admin_2, cohort, django_capture_on_commit_callbacks
) -> None:
    prepare(older_draft, rules_admin, admin_2, django_capture_on_commit_callbacks)
    previous = RuleSet.objects.published()
    with django_capture_on_commit_callbacks(execute=True):
        job = rulesets.publish_rule_set(
            rule_set=older_draft, actor=rules_admin, change_note="HSCT up to 65", as_of=AS_OF
        )
    stored = list(ScreeningResult.objects.filter(trigger="rules"))
    older_draft.refresh_from_db()
    previous.refresh_from_db()
    assert (older_draft.status, previous.status) == ("published", "retired")
    assert older_draft.published_by == rules_admin and older_draft.change_note == "HSCT up to 65"
    job.refresh_from_db()
    cohort_size = len(case_paths()) + 1  # the shipped cases and older-no-damage
    assert (job.kind, job.status, job.done, job.total) == (JobKind.RESCREEN, JobStatus.DONE, cohort_size, cohort_size)
    assert job.result == {"screened": cohort_size, "changed": cohort_size, "failed": []}  # each one's first screening
    assert len(stored) == cohort_size and {r.rule_set_id for r in stored} == {older_draft.pk}
    assert {r.actor for r in stored} == {rules_admin}  # attributed to who published
    older = ScreeningResult.objects.latest_for(Patient.objects.get(identifier="older-patient").pk)
    assert older.outcomes["hsct"] == "flagged" and older.trigger == "rules" and older.as_of == AS_OF
    assert kinds(previous)[-1] == EventKind.RETIRED
    published = older_draft.events.get(kind=EventKind.PUBLISHED)
    assert published.reason == "HSCT up to 65" and published.data["replaced"] == "2026.2"
    assert published.data["reviewed_by"] == "admin_2"


@pytest.mark.django_db
def test_rollback_publishes_an_earlier_version_again_as_a_new_version(
    older_draft, rules_admin, admin_2, cohort, django_capture_on_commit_callbacks
) -> None:
    prepare(older_draft, rules_admin, admin_2, django_capture_on_commit_callbacks)
    original = RuleSet.objects.published()
    with django_capture_on_commit_callbacks(execute=True):
        rulesets.publish_rule_set(rule_set=older_draft, actor=rules_admin, change_note="65", as_of=AS_OF)
    with pytest.raises(RuleSetRefused, match="only a retired version"):
        rulesets.roll_back_to(source=older_draft, actor=admin_2, version="2026.4", reason="x")
    original.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        new, job = rulesets.roll_back_to(
            source=original, actor=admin_2, version="2026.4", reason="too many referrals", as_of=AS_OF
        )
    older_draft.refresh_from_db()
    assert new.status == "published" and older_draft.status == "retired"
    assert new.content == {**original.content, "version": "2026.4"} and new.based_on == original
    assert new.change_note == "Rollback to version 2026.2: too many referrals"
    event = new.events.get()
    assert (event.kind, event.actor, event.reason) == (EventKind.ROLLED_BACK, admin_2, "too many referrals")
    assert event.summary == "version 2026.2 published again as 2026.4, replacing 2026.3"
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.result["changed"] == 2  # both 63-year-olds back to not flagged
    older = ScreeningResult.objects.latest_for(Patient.objects.get(identifier="older-patient").pk)
    assert older.outcomes["hsct"] == "not_flagged" and older.rule_set == new and older.change_cause == "new rules"


@pytest.mark.django_db
def test_the_audit_trail_has_an_entry_for_each_step(
    older_draft, rules_admin, admin_2, django_capture_on_commit_callbacks
) -> None:
    prepare(older_draft, rules_admin, admin_2, django_capture_on_commit_callbacks)
    original = RuleSet.objects.published()
    with django_capture_on_commit_callbacks(execute=True):
        rulesets.publish_rule_set(rule_set=older_draft, actor=rules_admin, change_note="65", as_of=AS_OF)
        original.refresh_from_db()
        new, _ = rulesets.roll_back_to(source=original, actor=admin_2, version="2026.4", reason="undo", as_of=AS_OF)
    assert kinds(older_draft) == [
        EventKind.CREATED,
        EventKind.EDITED,
        EventKind.EXPECTATION,
        EventKind.PREVIEWED,
        EventKind.SIGNED_OFF,
        EventKind.PUBLISHED,
        EventKind.RETIRED,
    ]
    assert kinds(original) == [EventKind.RETIRED]
    assert kinds(new) == [EventKind.ROLLED_BACK]
    actors = dict(older_draft.events.values_list("kind", "actor__username"))
    assert actors[EventKind.SIGNED_OFF] == "admin_2" and actors[EventKind.EDITED] == "admin_1"
    assert older_draft.history.count() >= 5  # the model's own history, with users and reasons


@pytest.mark.django_db
def test_audit_events_are_append_only(draft) -> None:
    event = draft.events.get()
    event.summary = "rewritten"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    assert RuleSetEvent.objects.get(pk=event.pk).summary == "draft 2026.3 created from 2026.2"


@pytest.mark.django_db
def test_test_cases_are_seeded_from_the_shipped_cases() -> None:
    import json

    from tests.shipped import EXPECTED_PATH

    expected = json.loads(EXPECTED_PATH.read_text())
    seeded = {c.name: c.expected for c in RuleCase.objects.all()}
    assert seeded == {name: {p: v["outcome"] for p, v in e.items()} for name, e in expected.items()}
    assert testcases.failing(testcases.run_test_cases(RuleSet.objects.published().content)) == []


@pytest.mark.django_db
def test_a_test_case_needs_a_fixed_as_of_and_a_new_case_id(rules_admin) -> None:
    from tests.screening.conftest import case_file

    case = case_file("older-patient")
    with pytest.raises(RuleSetRefused, match="already exists"):
        testcases.add_test_case(actor=rules_admin, case=case, expected={"hsct": "flagged"}, note="x")
    case["case_id"] = "older-2"
    added = testcases.add_test_case(actor=rules_admin, case=case, expected={"hsct": "not_flagged"}, note="age")
    assert added.history.get().history_user == rules_admin
    del case["as_of"]
    case["case_id"] = "older-3"
    with pytest.raises(RuleSetRefused, match="fixed as-of date"):
        testcases.add_test_case(actor=rules_admin, case=case, expected={"hsct": "flagged"}, note="x")
    case["as_of"], case["patient"]["sex"] = "2026-11-01", "unknown-sex"
    with pytest.raises(RuleSetRefused, match="patient.sex"):
        testcases.add_test_case(actor=rules_admin, case=case, expected={"hsct": "flagged"}, note="x")


@pytest.mark.django_db
def test_a_draft_whose_catalogue_breaks_a_case_file_fails_that_case(draft, rules_admin) -> None:
    drugs = [{**d, "dose_unit": "mg/week"} if d["drug"] == "belimumab" else d for d in draft.content["drugs"]]
    content = {**draft.content, "drugs": drugs}
    runs = {r.case.name: r for r in testcases.run_test_cases(content)}
    assert not runs["older-patient"].passed and "drug catalogue" in runs["older-patient"].error


@pytest.mark.django_db
def test_a_queued_rescreen_never_undoes_a_fresher_screening_and_survives_a_bad_patient(site_a, monkeypatch) -> None:
    from datetime import date

    from clinic import services as clinic_services
    from patients.models import Patient
    from screening import services as screening_services
    from screening.models import Job, ScreeningResult
    from screening.services import screen_patient

    fresh = Patient.objects.create(site=site_a, identifier="FRESH", birth_date=date(1990, 1, 1))
    broken = Patient.objects.create(site=site_a, identifier="BROKEN", birth_date=date(1990, 1, 1))
    screen_patient(patient=fresh, trigger="data", as_of=date(2026, 11, 20))  # screened after the job was queued
    published = RuleSet.objects.published()
    job = Job.objects.create(
        kind="rescreen", rule_set=published, revision=published.revision, as_of=date(2026, 11, 1), status="running"
    )
    real = screening_services.screen_facts

    def flaky(patient, *args):
        if patient.pk == broken.pk:
            raise ValueError("a bad stored value")
        return real(patient, *args)

    monkeypatch.setattr(screening_services, "screen_facts", flaky)
    clinic_services.run_rescreen_job(job)
    job.refresh_from_db()
    assert job.status == "done" and job.result["failed"] == [broken.pk] and job.result["screened"] == 1
    assert ScreeningResult.objects.latest_for(fresh.pk).as_of == date(2026, 11, 20)


@pytest.mark.django_db
def test_an_expectation_change_from_anywhere_withdraws_every_draft_sign_off(rules_admin, site_a) -> None:
    from accounts.models import Role
    from screening import testcases
    from screening.models import EventKind, RuleCase
    from tests.conftest import make_user

    reviewer = make_user("admin_9", Role.RULES_ADMIN, site_a)
    published = RuleSet.objects.published()
    first = rulesets.create_draft(actor=rules_admin, source=published, version="d1", reason="one")
    second = rulesets.create_draft(actor=rules_admin, source=published, version="d2", reason="two")
    for draft in (first, second):
        rulesets.sign_off_rule_set(rule_set=draft, actor=reviewer)
    # changed from the test case's own page, not from either draft's
    testcases.update_expectation(
        test_case=RuleCase.objects.get(name="older-patient"),
        actor=rules_admin,
        expected={"hsct": "flagged"},
        reason="new evidence",
    )
    for draft in (first, second):
        draft.refresh_from_db()
        assert draft.reviewed_by is None
        assert draft.events.filter(kind=EventKind.EXPECTATION, reason="new evidence").exists()


@pytest.mark.django_db
def test_release_checks_compare_with_what_is_published_now(
    rules_admin, site_a, django_capture_on_commit_callbacks
) -> None:
    from accounts.models import Role
    from screening.admin_views import _release_checks
    from tests.conftest import make_user

    reviewer = make_user("admin_8", Role.RULES_ADMIN, site_a)
    published = RuleSet.objects.published()
    stale = rulesets.create_draft(actor=rules_admin, source=published, version="s1", reason="later")
    newer = rulesets.create_draft(actor=rules_admin, source=published, version="s2", reason="first out")
    node = newer.content["pathways"][0]["inclusion"]["all"][1]
    rulesets.set_criterion_params(
        rule_set=newer,
        actor=rules_admin,
        node_id="hsct.age",
        params={**node["params"], "max_years": 65},
        source=node.get("source"),
        reason="x",
    )
    newer.refresh_from_db()
    RuleSet.objects.filter(pk=published.pk).update(status="retired")
    RuleSet.objects.filter(pk=newer.pk).update(status="published")
    checks = _release_checks(RuleSet.objects.get(pk=stale.pk), reviewer)
    assert checks["base"].version == "s2" and checks["stale_base"].version == published.version
    assert any("hsct.age" in str(change) for change in checks["changes"])  # publishing s1 would undo s2's change
