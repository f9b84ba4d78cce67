"""Impact preview: a draft against every current patient, figures per pathway and direction, in the background."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.models import Patient
from screening import cohort as chunked
from screening import engine, jobs, rulesets
from screening.facts import load_facts
from screening.impact import compare, direction
from screening.models import EventKind, Job, JobStatus, RuleSet, ScreeningResult
from tests.patients.factories import PatientFactory
from tests.screening.conftest import AS_OF
from tests.shipped import case_paths

SLEDAI_30 = {"min_score": 30, "max_age_days": 30, "clinical_only": False}


def preview(draft: RuleSet, actor, capture, as_of: date = AS_OF) -> Job:
    with capture(execute=True):
        job = rulesets.start_impact_preview(rule_set=draft, actor=actor, as_of=as_of)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize(
    "before,after,expected",
    [
        ("not_flagged", "flagged", "newly_flagged"),
        ("insufficient_data", "flagged", "newly_flagged"),
        ("flagged", "not_flagged", "no_longer_flagged"),
        ("flagged", "insufficient_data", "no_longer_flagged"),
        ("not_flagged", "insufficient_data", "to_insufficient"),
        ("insufficient_data", "not_flagged", "from_insufficient"),
        ("flagged", "flagged", None),
    ],
)
def test_direction_of_a_change(before, after, expected) -> None:
    assert direction(before, after) == expected


@pytest.mark.django_db
def test_preview_figures_on_a_constructed_cohort(
    older_draft, rules_admin, cohort, django_capture_on_commit_callbacks
) -> None:
    # HSCT up to 65, a severe-activity SLEDAI-2K of 30, and a damage index required: one patient each way
    rulesets.set_criterion_params(
        rule_set=older_draft,
        actor=rules_admin,
        node_id="hsct.severe_activity.sledai",
        params=SLEDAI_30,
        source="S19",
        reason="constructed",
    )
    rulesets.add_criterion(
        rule_set=older_draft,
        actor=rules_admin,
        group_id="hsct",
        node_id="hsct.damage",
        type_name="damage_index_at_least",
        params={"min_score": 0},
        source=None,
        reason="constructed",
    )
    older_draft.refresh_from_db()
    job = preview(older_draft, rules_admin, django_capture_on_commit_callbacks)
    size = len(case_paths()) + 1  # the shipped cases and older-no-damage
    assert (job.status, job.done, job.total, job.as_of) == (JobStatus.DONE, size, size, AS_OF)
    result = job.result
    assert (result["patients"], result["changed_patients"], result["skipped"]) == (size, 4, 0)
    assert result["counts"]["hsct"] == {
        "newly_flagged": 1,
        "no_longer_flagged": 1,
        "to_insufficient": 1,
        "from_insufficient": 1,
        "other": 0,
    }
    assert set(result["counts"]["msc"].values()) == {0}
    rows = {(r["identifier"], r["pathway"]): r for r in result["rows"]}
    assert {
        k: (r["before"], r["after"], r["direction"], [(c["id"], c["before"], c["after"]) for c in r["criteria"]])
        for k, r in rows.items()
    } == {
        ("older-patient", "hsct"): ("not_flagged", "flagged", "newly_flagged", [("hsct.age", "not_met", "met")]),
        ("older-no-damage", "hsct"): (
            "not_flagged",
            "insufficient_data",
            "to_insufficient",
            [("hsct.age", "not_met", "met"), ("hsct.damage", None, "unknown")],
        ),
        ("partial-activity-score", "hsct"): (
            "insufficient_data",
            "not_flagged",
            "from_insufficient",
            [("hsct.severe_activity.sledai", "unknown", "not_met")],
        ),
        ("steroid-dependent", "hsct"): (
            "flagged",
            "not_flagged",
            "no_longer_flagged",
            [("hsct.severe_activity.sledai", "met", "not_met")],
        ),
    }
    assert rows[("older-patient", "hsct")]["site"] == "Site A"
    assert older_draft.events.filter(kind=EventKind.PREVIEWED).count() == 1


@pytest.mark.django_db
def test_preview_of_the_age_change_names_the_newly_flagged_patient(
    older_draft, rules_admin, site_a, django_capture_on_commit_callbacks
) -> None:
    from tests.screening.conftest import import_named

    import_named(site_a, "older-patient", "refractory-nephritis", "mild-disease")
    job = preview(older_draft, rules_admin, django_capture_on_commit_callbacks)
    [row] = job.result["rows"]
    assert (row["identifier"], row["pathway"], row["direction"]) == ("older-patient", "hsct", "newly_flagged")
    assert job.result["counts"]["hsct"]["newly_flagged"] == 1


@pytest.mark.django_db
def test_a_group_op_change_is_traced_to_the_group(
    draft, rules_admin, site_a, django_capture_on_commit_callbacks
) -> None:
    from tests.screening.conftest import import_named

    import_named(site_a, "refractory-nephritis")
    rulesets.set_group_op(rule_set=draft, actor=rules_admin, group_id="msc", op="any", reason="x")
    rulesets.switch_node(rule_set=draft, actor=rules_admin, node_id="hsct.severe_activity.sledai", on=False, reason="x")
    draft.refresh_from_db()
    facts = load_facts(Patient.objects.get())
    old = engine.screen(facts, engine.parse_rule_set(RuleSet.objects.published().content), AS_OF)
    new = engine.screen(facts, engine.parse_rule_set(draft.content), AS_OF)
    assert compare(old, new) == []  # flagged either way: nothing to report


@pytest.mark.django_db
def test_the_cohort_is_read_a_chunk_at_a_time_with_the_same_facts(cohort) -> None:
    from screening.facts import facts_for

    patients = list(Patient.objects.order_by("pk"))
    with CaptureQueriesContext(connection) as ctx:
        bulk = facts_for(patients)
    assert len(ctx.captured_queries) == 6  # one per record table, whatever the number of patients
    for patient in patients:
        assert bulk[patient.pk] == load_facts(patient)


@pytest.mark.django_db
def test_progress_is_written_per_chunk_and_the_query_count_does_not_grow_per_patient(
    older_draft, rules_admin, site_a, monkeypatch, settings, django_capture_on_commit_callbacks
) -> None:
    settings.JOB_PARTS = 1  # run whole (a split job's queries: tests/screening/test_job_parts.py)
    monkeypatch.setattr(chunked, "CHUNK", 5)
    for _ in range(10):
        PatientFactory(site=site_a)
    job = Job.objects.create(kind="impact", rule_set=older_draft, revision=older_draft.revision, as_of=AS_OF)
    seen = []
    real = jobs.progress
    monkeypatch.setattr(jobs, "progress", lambda job, done: (seen.append(done), real(job, done)))
    with CaptureQueriesContext(connection) as ctx:
        assert jobs.run_job(job.pk) == JobStatus.DONE
    assert seen == [5, 10]
    # claim, load, published rules, patient ids, start, per chunk (patients + 6 tables + stored outcomes +
    # progress) × 2, finish
    assert len(ctx.captured_queries) == 5 + 2 * 9 + 1
    assert jobs.run_job(job.pk) == "not queued"  # a finished job is never run twice


@pytest.mark.django_db
def test_a_preview_of_an_outdated_revision_fails_and_patients_born_later_are_skipped(
    older_draft, rules_admin, site_a, django_capture_on_commit_callbacks
) -> None:
    PatientFactory(site=site_a, birth_date=date(2027, 1, 1))
    job = preview(older_draft, rules_admin, django_capture_on_commit_callbacks)
    assert job.result["skipped"] == 1
    stale = Job.objects.create(kind="impact", rule_set=older_draft, revision=0, as_of=AS_OF)
    jobs.run_job(stale.pk)
    stale.refresh_from_db()
    assert stale.status == JobStatus.FAILED and "changed after the preview" in stale.error


@pytest.mark.django_db
def test_the_published_version_has_nothing_to_preview(rules_admin) -> None:
    with pytest.raises(rulesets.RuleSetRefused, match="nothing to compare"):
        rulesets.start_impact_preview(rule_set=RuleSet.objects.published(), actor=rules_admin)


@pytest.mark.django_db
def test_a_failing_job_is_marked_failed_with_the_error(older_draft, monkeypatch) -> None:
    job = Job.objects.create(kind="impact", rule_set=older_draft, revision=older_draft.revision, as_of=AS_OF)
    monkeypatch.setattr(chunked, "patient_ids", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error.startswith("ZeroDivisionError")


@pytest.mark.django_db
def test_a_rescreen_of_a_version_no_longer_published_stops(older_draft, site_a, monkeypatch) -> None:
    from clinic import services as clinic_services

    for _ in range(3):
        PatientFactory(site=site_a)
    monkeypatch.setattr(clinic_services, "RESCREEN_CHUNK", 2)
    published = RuleSet.objects.published()
    job = Job.objects.create(kind="rescreen", rule_set=published, revision=0, as_of=AS_OF)
    real = jobs.progress

    def publish_meanwhile(job, done):  # another version goes live after the first chunk
        real(job, done)
        RuleSet.objects.filter(pk=published.pk).update(status="retired")
        RuleSet.objects.filter(pk=older_draft.pk).update(status="published")

    monkeypatch.setattr(jobs, "progress", publish_meanwhile)
    jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.done == 2
    assert job.result == {"screened": 2, "changed": 2, "failed": [], "superseded_by": "2026.3"}


@pytest.mark.django_db
def test_stored_results_of_the_day_spare_the_published_evaluation_and_change_nothing(
    older_draft, rules_admin, site_a, cases_day, monkeypatch, settings, django_capture_on_commit_callbacks
) -> None:
    """A patient whose stored result holds the published rules' outcomes for the same facts on the preview's
    day is not evaluated with the published rules again unless the draft's outcome differs; a stored result
    whose facts no longer match the record is not used. The preview is the same either way."""
    from tests.referrals.factories import screen
    from tests.screening.conftest import import_named

    settings.JOB_PARTS = 1
    names = [p.stem for p in case_paths()]
    import_named(site_a, *names)
    assert cases_day == AS_OF
    for patient in Patient.objects.all():  # screened and stored with the published rules as of that day
        screen(patient, as_of=AS_OF)
    assert set(ScreeningResult.objects.values_list("as_of", flat=True)) == {AS_OF}
    # one record changed behind the screening's back: its stored result no longer holds for its facts
    stale = Patient.objects.get(identifier="mild-disease")
    Patient.objects.filter(pk=stale.pk).update(weight_kg=(stale.weight_kg or 60) + 1)

    calls: list[int] = []
    real = engine.screen
    monkeypatch.setattr(engine, "screen", lambda *a, **kw: (calls.append(1), real(*a, **kw))[1])
    spared = preview(older_draft, rules_admin, django_capture_on_commit_callbacks)
    evaluations = len(calls)
    calls.clear()
    monkeypatch.setattr(jobs, "stored_outcomes", lambda *a: {})
    full = preview(older_draft, rules_admin, django_capture_on_commit_callbacks)

    assert spared.status == full.status == JobStatus.DONE
    assert spared.result == full.result
    assert [(r["identifier"], r["direction"]) for r in spared.result["rows"]] == [("older-patient", "newly_flagged")]
    assert len(calls) == 2 * len(names)
    # the draft once per patient; the published rules only for older-patient (its outcome differs) and
    # mild-disease (its stored facts are not its record's any more)
    assert evaluations == len(names) + 2


@pytest.mark.django_db
def test_a_stored_result_spares_the_preview_until_its_facts_may_screen_differently(site_a, cases_day) -> None:
    """Screened the day before the preview's and stable past it: its outcomes hold on that day too."""
    from datetime import timedelta

    from tests.referrals.factories import screen
    from tests.screening.conftest import import_named

    import_named(site_a, "refractory-nephritis")
    patient = Patient.objects.get()
    published = RuleSet.objects.published()
    screen(patient, as_of=AS_OF)
    result = ScreeningResult.objects.latest_for(patient.pk)
    assert result.stable_until is not None and result.stable_until > AS_OF + timedelta(days=1)
    assert jobs.stored_outcomes([patient.pk], published, AS_OF + timedelta(days=1)) == {
        patient.pk: (result.facts_blob_id, result.outcomes)
    }
    assert jobs.stored_outcomes([patient.pk], published, result.stable_until) == {}  # it may differ from then
    ScreeningResult.objects.filter(pk=result.pk).update(stable_until=None)  # not worked out: that day only
    assert jobs.stored_outcomes([patient.pk], published, AS_OF + timedelta(days=1)) == {}
    assert patient.pk in jobs.stored_outcomes([patient.pk], published, AS_OF)
