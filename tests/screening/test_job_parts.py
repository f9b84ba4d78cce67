"""A job split into parts (JOB_PARTS): each part a contiguous range of patients run as its own task, the
job's progress the sum of its parts', its result merged from theirs, resumed part by part."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse

from clinic import services as clinic_services
from patients.models import Patient
from screening import cohort as chunked
from screening import jobs, rulesets
from screening.models import Job, JobPart, JobStatus, RuleSet, ScreeningResult
from tests.conftest import client_for
from tests.screening.conftest import AS_OF

STALE = timedelta(minutes=11)  # JOB_STALE_MINUTES is 10 by default


class Killed(BaseException):
    """The worker process dies: nothing in the job gets to handle it."""


def preview(draft: RuleSet, actor, capture) -> Job:
    with capture(execute=True):
        job = rulesets.start_impact_preview(rule_set=draft, actor=actor, as_of=AS_OF)
    job.refresh_from_db()
    return job


def impact_section(rules_admin, job: Job) -> str:
    text = client_for(rules_admin).get(reverse("screening:job_detail", kwargs={"pk": job.pk})).content.decode()
    found = re.search(r'<section aria-labelledby="h-impact".*?</section>', text, re.S)
    assert found, text
    return found.group(0)


def parts_of(job: Job) -> list[JobPart]:
    return list(JobPart.objects.filter(job=job).order_by("number"))


@pytest.mark.django_db
def test_a_preview_in_parts_is_the_serial_preview_shown_the_same_way(
    older_draft, rules_admin, cohort, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.setattr(chunked, "CHUNK", 2)
    settings.JOB_PARTS = 1
    serial = preview(older_draft, rules_admin, django_capture_on_commit_callbacks)
    assert not parts_of(serial)
    settings.JOB_PARTS = 3
    split = preview(older_draft, rules_admin, django_capture_on_commit_callbacks)
    parts = parts_of(split)
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    n = len(ids)
    assert [p.number for p in parts] == [1, 2, 3] and all(p.status == JobStatus.DONE for p in parts)
    # contiguous ranges, the ends open, about equal shares, together the whole cohort
    assert parts[0].first_pk is None and parts[-1].last_pk is None
    shares = chunked.ranges(ids, 3)
    assert [(p.first_pk, p.last_pk) for p in parts] == [
        (None, shares[0][1]),
        shares[1],
        (shares[2][0], None),
    ]
    assert sum(p.total for p in parts) == n and max(p.total for p in parts) - min(p.total for p in parts) <= 1
    assert all(p.done == p.total and p.attempts == 1 for p in parts)
    assert (split.status, split.done, split.total, split.attempts) == (JobStatus.DONE, n, n, 1)
    assert split.result == serial.result and split.result["changed_patients"] >= 1
    assert impact_section(rules_admin, split) == impact_section(rules_admin, serial)


@pytest.mark.django_db
def test_the_jobs_progress_is_the_sum_of_its_parts(
    older_draft, rules_admin, cohort, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.setattr(chunked, "CHUNK", 2)
    settings.JOB_PARTS = 2
    seen: list[tuple[int, int, int, int]] = []
    real = jobs.progress

    def checked(work, done):
        real(work, done)
        job = Job.objects.get(pk=work.job_id)
        parts = JobPart.objects.filter(job=job)
        seen.append((job.done, sum(p.done for p in parts), job.total, sum(p.total for p in parts)))

    monkeypatch.setattr(jobs, "progress", checked)
    job = preview(older_draft, rules_admin, django_capture_on_commit_callbacks)
    n = Patient.objects.count()
    assert job.status == JobStatus.DONE and len(seen) == sum((p.total + 1) // 2 for p in parts_of(job))
    assert all(done == parts_done and total == parts_total == n for done, parts_done, total, parts_total in seen)
    assert [s[0] for s in seen] == sorted(s[0] for s in seen) and seen[-1][0] == n


@pytest.mark.django_db
def test_a_failed_part_fails_the_job_with_its_error_and_stops_the_others(
    older_draft, rules_admin, cohort, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    settings.JOB_PARTS = 3
    last = Patient.objects.order_by("pk").values_list("pk", flat=True)[4]  # in the second part
    real = chunked.patients_in

    def broken(ids):
        if last in ids:
            raise ZeroDivisionError("division by zero")
        return real(ids)

    monkeypatch.setattr(chunked, "patients_in", broken)
    job = preview(older_draft, rules_admin, django_capture_on_commit_callbacks)
    first, second, third = parts_of(job)
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert job.error == f"part 2 of 3 ({second.patients}): ZeroDivisionError: division by zero"
    assert (first.status, second.status, third.status) == (JobStatus.DONE, JobStatus.FAILED, JobStatus.FAILED)
    assert third.error == "stopped: part 2 failed" and third.attempts == 0  # never started
    assert rulesets.latest_preview(older_draft) is None
    text = client_for(rules_admin).get(reverse("screening:job_detail", kwargs={"pk": job.pk})).content.decode()
    assert 'data-state="failed"' in text and "part 2 of 3 (patients with ids" in text


@pytest.mark.django_db
def test_a_preview_of_an_outdated_revision_fails_before_it_is_split(older_draft, settings) -> None:
    settings.JOB_PARTS = 2
    stale = Job.objects.create(kind="impact", rule_set=older_draft, revision=0, as_of=AS_OF)
    jobs.run_job(stale.pk)
    stale.refresh_from_db()
    assert stale.status == JobStatus.FAILED and stale.error.startswith("the draft changed after the preview")
    assert not parts_of(stale)


@pytest.mark.django_db
def test_resume_sends_again_only_the_parts_not_done(
    older_draft, rules_admin, cohort, settings, clock, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    settings.JOB_PARTS, settings.JOB_STALE_MINUTES, settings.JOB_MAX_ATTEMPTS = 3, 10, 3
    monkeypatch.setattr(chunked, "CHUNK", 2)
    settings_parts_1 = preview_serial(older_draft, rules_admin, settings, django_capture_on_commit_callbacks)
    settings.JOB_PARTS = 3
    job = Job.objects.create(kind="impact", rule_set=older_draft, revision=older_draft.revision, as_of=AS_OF)
    real = jobs.progress

    def die_in_the_second_part(work, done):
        real(work, done)
        if work.number == 2:
            raise Killed

    monkeypatch.setattr(jobs, "progress", die_in_the_second_part)
    with pytest.raises(Killed):
        jobs.run_job(job.pk)  # parts run here one after the other: the first finishes, the second dies
    monkeypatch.setattr(jobs, "progress", real)
    first, second, third = parts_of(job)
    assert (first.status, second.status, third.status) == (JobStatus.DONE, JobStatus.RUNNING, JobStatus.QUEUED)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.done == first.total + 2

    clock.shift(STALE)
    assert jobs.stalled_jobs() == []  # the split job is resumed through its parts
    ran: list[int] = []
    real_part = jobs.run_part
    monkeypatch.setattr(jobs, "run_part", lambda pk: (ran.append(pk), real_part(pk))[1])
    with django_capture_on_commit_callbacks(execute=True):
        call_command("resume_jobs", stdout=(out := StringIO()))
    assert ran == [second.pk, third.pk]  # never the finished first part
    text = out.getvalue()
    assert f"job {job.pk} part 2 (impact preview of version {older_draft.version}, {second.patients}, 2 of " in text
    assert "queued again" in text and f"job {job.pk} part 3 " in text and "sent to the worker again" in text
    first, second, third = parts_of(job)
    assert [p.attempts for p in (first, second, third)] == [1, 2, 1]
    job.refresh_from_db()
    n = Patient.objects.count()
    assert (job.status, job.done, job.total, job.attempts) == (JobStatus.DONE, n, n, 1)
    assert job.result == settings_parts_1.result  # the resumed part started its range again: same preview
    assert job.error.startswith("part 2 of 3: attempt 1 stopped: no progress since ")


def preview_serial(draft, actor, settings, capture) -> Job:
    settings.JOB_PARTS = 1
    return preview(draft, actor, capture)


@pytest.fixture
def released(cases_day, cohort, older_draft, rules_admin, settings, monkeypatch) -> Job:
    """Every patient screened with the published rules; then older_draft published, its re-screen queued."""
    settings.JOB_STALE_MINUTES, settings.JOB_MAX_ATTEMPTS, settings.JOB_PARTS = 10, 3, 2
    monkeypatch.setattr(clinic_services, "RESCREEN_CHUNK", 3)
    published = RuleSet.objects.published()
    clinic_services.rescreen_patients(list(Patient.objects.values_list("pk", flat=True)), trigger="scheduled")
    RuleSet.objects.filter(pk=published.pk).update(status="retired")
    RuleSet.objects.filter(pk=older_draft.pk).update(status="published")
    return Job.objects.create(
        kind="rescreen", rule_set=older_draft, revision=older_draft.revision, as_of=AS_OF, created_by=rules_admin
    )


def results_of(rule_set: RuleSet) -> Counter[int]:
    return Counter(ScreeningResult.objects.filter(rule_set=rule_set).values_list("patient_id", flat=True))


@pytest.mark.django_db
def test_the_rescreen_after_a_publish_in_parts_screens_each_patient_once(released, rules_admin) -> None:
    job, rule_set = released, released.rule_set
    assert jobs.run_job(job.pk) == "split into 2 parts"
    job.refresh_from_db()
    n = Patient.objects.count()
    parts = parts_of(job)
    assert (job.status, job.done, job.total) == (JobStatus.DONE, n, n) and len(parts) == 2
    assert results_of(rule_set) == Counter({pk: 1 for pk in Patient.objects.values_list("pk", flat=True)})
    assert job.result["screened"] == sum(p.result["screened"] for p in parts) == n
    assert job.result["changed"] == sum(p.result["changed"] for p in parts) >= 1
    assert job.result["failed"] == [] and "superseded_by" not in job.result
    text = client_for(rules_admin).get(reverse("screening:job_detail", kwargs={"pk": job.pk})).content.decode()
    assert f"{n} patients re-screened; {job.result['changed']} changed outcome." in text


@pytest.mark.django_db
def test_a_rescreen_part_killed_midway_goes_on_where_it_stopped(
    released, clock, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    job, rule_set = released, released.rule_set
    real = clinic_services.screen_and_apply_chunk
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    second_start = chunked.ranges(ids, 2)[1][0]
    second_chunk_of_part_2 = ids[ids.index(second_start) + 3]  # chunks of 3

    def dying(chunk, **kwargs):
        done = real(chunk, **kwargs)
        if chunk[0] == second_chunk_of_part_2:  # committed, its progress not yet written
            raise Killed
        return done

    monkeypatch.setattr(clinic_services, "screen_and_apply_chunk", dying)
    with pytest.raises(Killed):
        jobs.run_job(job.pk)
    monkeypatch.setattr(clinic_services, "screen_and_apply_chunk", real)
    first, second = parts_of(job)
    assert (first.status, second.status, second.done) == (JobStatus.DONE, JobStatus.RUNNING, 3)
    clock.shift(STALE)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("resume_jobs", stdout=StringIO())
    job.refresh_from_db()
    n = len(ids)
    assert (job.status, job.done, job.total) == (JobStatus.DONE, n, n)
    assert results_of(rule_set) == Counter({pk: 1 for pk in ids})  # every patient, exactly once
    # the second part's chunk stored after its last progress write is not redone
    redone = len(ids[ids.index(second_chunk_of_part_2) :][:3])
    assert job.result["screened"] == n - redone and job.result["already"] == redone
    assert [p.attempts for p in parts_of(job)] == [1, 2]


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks between two connections: PostgreSQL only (CI runs the suite on it)",
)
@pytest.mark.django_db(transaction=True)
def test_two_parts_finishing_at_once_on_postgresql_end_the_job(monkeypatch) -> None:
    """Each part, once it has marked itself done, checks whether every part is; without the job's row
    lock, two parts finishing at once would each see the other unfinished and the job would never end."""
    from tests.conftest import ensure_published_rules

    rule_set = ensure_published_rules()
    job = Job.objects.create(
        kind="rescreen", rule_set=rule_set, revision=rule_set.revision, as_of=AS_OF, status="running", attempts=1
    )
    parts = [JobPart.objects.create(job=job, number=n, status="running", attempts=1, total=100) for n in (1, 2)]
    Job.objects.filter(pk=job.pk).update(total=200)
    real = jobs._complete

    def slow(job_id):  # both check, then hold their transaction open a moment
        real(job_id)
        time.sleep(0.3)

    monkeypatch.setattr(jobs, "_complete", slow)
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def work(part: JobPart) -> None:
        try:
            barrier.wait(timeout=10)
            for done in range(1, 101):  # progress writes from both at once: none lost
                part.result = {"screened": done, "changed": part.number, "failed": []}
                jobs.progress(part, done)
            barrier.wait(timeout=10)
            jobs.finish(part, {"screened": 100, "changed": part.number, "failed": [f"p{part.number}"]})
        except Exception as err:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(f"{type(err).__name__}: {err}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(JobPart.objects.get(pk=p.pk),)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == (JobStatus.DONE, 200, 200)
    assert job.result == {"screened": 200, "changed": 3, "failed": ["p1", "p2"]}


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks between two connections: PostgreSQL only (CI runs the suite on it)",
)
@pytest.mark.django_db(transaction=True)
def test_a_part_failing_while_another_writes_progress_on_postgresql_does_not_deadlock(monkeypatch) -> None:
    """A failing part stops its siblings (writes their rows) while they write progress (which moves the
    job's row): both take the job's row before a part's, so neither waits on the other in a cycle."""
    from tests.conftest import ensure_published_rules

    rule_set = ensure_published_rules()
    job = Job.objects.create(
        kind="rescreen", rule_set=rule_set, revision=rule_set.revision, as_of=AS_OF, status="running", attempts=1
    )
    for n in (1, 2):
        JobPart.objects.create(job=job, number=n, status="running", attempts=1, total=1000)
    Job.objects.filter(pk=job.pk).update(total=2000)
    real_count = jobs._count
    monkeypatch.setattr(jobs, "_count", lambda part: (time.sleep(0.3), real_count(part))[1])
    outcome: dict[int, str] = {}
    started = threading.Event()

    def writer(part: JobPart) -> None:
        try:
            for done in range(1, 1001):
                jobs.progress(part, done)
                started.set()
            outcome[1] = "finished"
        except jobs.TakenOver:
            outcome[1] = "stopped"
        except Exception as err:  # noqa: BLE001 - the test reports whatever went wrong
            outcome[1] = f"{type(err).__name__}: {err}"
        finally:
            started.set()
            connections.close_all()

    def failer(part: JobPart) -> None:
        try:
            started.wait(timeout=10)
            jobs.finish(part, {}, JobStatus.FAILED, "ValueError: bad record")
            outcome[2] = "failed"
        except Exception as err:  # noqa: BLE001
            outcome[2] = f"{type(err).__name__}: {err}"
        finally:
            connections.close_all()

    one, two = (JobPart.objects.get(job=job, number=n) for n in (1, 2))
    threads = [threading.Thread(target=writer, args=(one,)), threading.Thread(target=failer, args=(two,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcome == {1: "stopped", 2: "failed"}, outcome
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error.startswith("part 2 of 2 (every patient): ValueError")
    assert job.done == JobPart.objects.get(pk=one.pk).done  # the stopped part's progress, every write counted
