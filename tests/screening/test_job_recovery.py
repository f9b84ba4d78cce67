"""A worker that dies in the middle of a job: the job is resumed, its status tells the truth, and the cohort
ends screened with the published rules, each patient once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse

from clinic import services as clinic_services
from patients.models import Patient
from screening import jobs, tasks
from screening.models import Job, JobStatus, RuleSet, ScreeningResult
from tests.conftest import client_for
from tests.screening.conftest import AS_OF

pytestmark = pytest.mark.django_db

STALE = timedelta(minutes=11)  # JOB_STALE_MINUTES is 10 by default


class Killed(BaseException):
    """The worker process dies (SIGKILL, out of memory): nothing in the job gets to handle it."""


@pytest.fixture
def released(cases_day, cohort, older_draft, rules_admin, settings, monkeypatch) -> Job:
    """Every patient screened with the published rules; then older_draft published, its re-screen queued."""
    settings.JOB_STALE_MINUTES = 10
    settings.JOB_MAX_ATTEMPTS = 3
    settings.JOB_PARTS = 1  # a job run whole (a split job's parts: tests/screening/test_job_parts.py)
    monkeypatch.setattr(clinic_services, "RESCREEN_CHUNK", 3)
    published = RuleSet.objects.published()
    clinic_services.rescreen_patients(list(Patient.objects.values_list("pk", flat=True)), trigger="scheduled")
    RuleSet.objects.filter(pk=published.pk).update(status="retired")
    RuleSet.objects.filter(pk=older_draft.pk).update(status="published")
    return Job.objects.create(
        kind="rescreen", rule_set=older_draft, revision=older_draft.revision, as_of=AS_OF, created_by=rules_admin
    )


def kill_worker_after_chunk_with(monkeypatch, patient_number: int) -> None:
    """The worker dies right after the chunk with the cohort's ``patient_number``-th patient (1-based)
    committed, before its progress was written."""
    real = clinic_services.screen_and_apply_chunk
    seen: list[int] = []

    def dying(chunk, **kwargs):
        seen.extend(chunk)
        done = real(chunk, **kwargs)
        if len(seen) >= patient_number:
            raise Killed
        return done

    monkeypatch.setattr(clinic_services, "screen_and_apply_chunk", dying)


def job_page(rules_admin, job: Job) -> str:
    response = client_for(rules_admin).get(reverse("screening:job_detail", kwargs={"pk": job.pk}))
    assert response.status_code == 200
    return response.content.decode()


def results_of(rule_set: RuleSet) -> Counter[int]:
    return Counter(ScreeningResult.objects.filter(rule_set=rule_set).values_list("patient_id", flat=True))


def test_a_job_whose_worker_was_killed_is_resumed_and_finishes_each_patient_once(
    released, rules_admin, clock, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    job, rule_set = released, released.rule_set
    patients = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    n = len(patients)  # the shipped cases and one more (tests/screening/conftest.py cohort)
    assert n >= 8
    kill_worker_after_chunk_with(monkeypatch, 5)  # chunks of 3: the first recorded, the second stored, then dead
    with pytest.raises(Killed):
        jobs.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.attempts) == (JobStatus.RUNNING, 3, n, 1)
    assert set(results_of(rule_set)) == set(patients[:6])  # the second chunk was stored after the last progress write
    assert job.state == "running"

    clock.shift(STALE)  # no heartbeat since
    job.refresh_from_db()
    assert job.state == "stalled"
    text = job_page(rules_admin, job)
    assert 'data-state="stalled"' in text and f"3 of {n} patients" in text
    assert "the worker running this job stopped" in text and "attempt 2 of 3" in text
    assert "go on where it stopped" in text

    monkeypatch.undo()  # the next worker is healthy
    monkeypatch.setattr(clinic_services, "RESCREEN_CHUNK", 3)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("resume_jobs", stdout=(out := StringIO()))
    assert (
        f"job {job.pk} (re-screening after publishing of version {rule_set.version}, 3 of {n} done): queued again"
        in out.getvalue()
    )
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.attempts) == (JobStatus.DONE, n, n, 2)
    assert job.error.startswith("attempt 1 stopped: no progress since ")
    # 3 in attempt 1, then the rest; the second chunk, stored by attempt 1 after its last progress write, is not redone
    assert job.result == {"screened": n - 3, "changed": job.result["changed"], "failed": [], "already": 3}
    assert results_of(rule_set) == Counter({pk: 1 for pk in patients})  # every patient, exactly once
    for pk in patients:  # every patient ends screened with the published rules
        assert ScreeningResult.objects.latest_for(pk).rule_set_id == RuleSet.objects.published().pk == rule_set.pk
    text = job_page(rules_admin, job)
    assert 'data-state="done"' in text and "attempt 2 of 3" in text and "Earlier: attempt 1 stopped" in text
    assert "3 already had a result of this version" in text


def test_a_job_that_stalls_on_its_last_attempt_fails_with_the_reason(released, rules_admin, clock) -> None:
    job = released
    Job.objects.filter(pk=job.pk).update(status="running", attempts=3, total=10, done=6, heartbeat_at=jobs_now())
    clock.shift(STALE)
    job.refresh_from_db()
    assert "That was its last attempt" in job_page(rules_admin, job)
    call_command("resume_jobs", stdout=(out := StringIO()))
    assert "failed: it has had all its attempts" in out.getvalue()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert job.error.startswith("attempt 3 stopped: no progress since ")
    assert "started 3 times, the most allowed" in job.error
    assert "keep their earlier screening until the daily re-screen" in job.error
    text = job_page(rules_admin, job)
    assert 'data-state="failed"' in text and "started 3 times, the most allowed" in text
    assert "job-progress.js" not in text  # a failed job's page stops refreshing


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(released, clock) -> None:
    job = released
    Job.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=jobs_now())
    clock.shift(timedelta(minutes=9))
    call_command("resume_jobs", stdout=(out := StringIO()))
    assert out.getvalue().strip() == "no stalled jobs"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.state) == (JobStatus.RUNNING, 1, "running")


def test_stale_after_zero_resumes_every_running_job_at_the_only_workers_start(
    released, clock, django_capture_on_commit_callbacks
) -> None:
    job = released
    Job.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=jobs_now())
    clock.shift(timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=True) as sent:
        call_command("resume_jobs", "--stale-after", "0", stdout=(out := StringIO()))
    assert out.getvalue().count(f"job {job.pk} ") == 1 and len(sent) == 1  # queued again and sent once
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)


def test_a_queued_job_no_worker_took_is_sent_again_unless_another_job_is_running(
    released, older_draft, clock, django_capture_on_commit_callbacks
) -> None:
    job = released  # queued, its task lost (say the enqueue failed after the publish committed)
    busy = Job.objects.create(kind="impact", rule_set=older_draft, revision=1, as_of=AS_OF, status="running")
    clock.shift(STALE)
    Job.objects.filter(pk=busy.pk).update(heartbeat_at=jobs_now())  # a live worker is busy with another job
    call_command("resume_jobs", stdout=(out := StringIO()))
    assert out.getvalue().strip() == "no stalled jobs"
    Job.objects.filter(pk=busy.pk).update(status="done")
    job.refresh_from_db()
    assert job.state == "queued" and job.is_quiet
    with django_capture_on_commit_callbacks(execute=True):
        call_command("resume_jobs", stdout=(out := StringIO()))
    assert "sent to the worker again" in out.getvalue()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.done) == (JobStatus.DONE, 1, Patient.objects.count())


def test_a_database_error_queues_the_job_again_and_it_goes_on(
    released, rules_admin, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    job, rule_set = released, released.rule_set
    real = clinic_services.screen_and_apply_chunk
    calls: list[int] = []

    def connection_lost_once(chunk, **kwargs):
        calls.extend(chunk)
        if len(calls) == 9:  # the third chunk of 3
            raise OperationalError("server closed the connection unexpectedly")
        return real(chunk, **kwargs)

    monkeypatch.setattr(clinic_services, "screen_and_apply_chunk", connection_lost_once)
    states: list[str] = []
    monkeypatch.setattr(tasks, "send", _recording(tasks.send, job, states))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(OperationalError):
        tasks.run_job.call(job.pk)
    assert states == ["retrying"]  # queued again before the next attempt ran
    job.refresh_from_db()
    assert (job.status, job.attempts, job.done) == (JobStatus.DONE, 2, Patient.objects.count())
    assert job.error == "attempt 1 stopped on a database error (server closed the connection unexpectedly)"
    assert job.result["failed"] == []  # the patient the error hit is screened by the next attempt, not failed
    assert results_of(rule_set) == Counter({pk: 1 for pk in Patient.objects.values_list("pk", flat=True)})


def test_a_stalled_impact_preview_starts_again_from_the_first_patient(
    cohort, older_draft, rules_admin, clock, monkeypatch, settings, django_capture_on_commit_callbacks
) -> None:
    from screening import cohort as chunked

    settings.JOB_PARTS = 1  # run whole
    monkeypatch.setattr(chunked, "CHUNK", 4)
    job = Job.objects.create(kind="impact", rule_set=older_draft, revision=older_draft.revision, as_of=AS_OF)
    real = jobs.progress

    def die_after_first_chunk(job, done):
        real(job, done)
        raise Killed

    monkeypatch.setattr(jobs, "progress", die_after_first_chunk)
    with pytest.raises(Killed):
        jobs.run_job(job.pk)
    monkeypatch.setattr(jobs, "progress", real)
    clock.shift(STALE)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("resume_jobs", stdout=StringIO())
    job.refresh_from_db()
    n = Patient.objects.count()
    assert (job.status, job.attempts, job.done, job.total) == (JobStatus.DONE, 2, n, n)
    assert job.result["patients"] == n and job.result["changed_patients"] >= 1


def test_an_attempt_judged_stalled_stops_when_it_wakes_up_after_the_job_was_taken_over(released, monkeypatch) -> None:
    job, rule_set = released, released.rule_set
    real = clinic_services.screen_and_apply_chunk
    calls: list[int] = []

    def slow_then_overtaken(chunk, **kwargs):
        calls.extend(chunk)
        # meanwhile: found stalled, queued again and started by another worker
        Job.objects.filter(pk=job.pk).update(attempts=2)
        return real(chunk, **kwargs)

    monkeypatch.setattr(clinic_services, "screen_and_apply_chunk", slow_then_overtaken)
    assert jobs.run_job(job.pk) == "taken over"
    assert len(calls) == 3  # it finished the chunk it was on, then stopped at the progress write
    job.refresh_from_db()
    assert (job.status, job.attempts, job.done) == (JobStatus.RUNNING, 2, 0)  # left to the attempt that runs it
    assert sum(results_of(rule_set).values()) == 3


def test_job_states_on_the_page(released, rules_admin, clock) -> None:
    job = released
    assert (job.state, job.state_display) == ("queued", "queued")
    Job.objects.filter(pk=job.pk).update(
        status="queued", attempts=1, error="attempt 1 stopped: no progress since 01 Nov 2026 12:00"
    )
    job.refresh_from_db()
    text = job_page(rules_admin, job)
    assert 'data-state="retrying"' in text and "Status: <strong>retrying</strong>" in text
    assert "Attempt 1 stopped: no progress since 01 Nov 2026 12:00. Attempt 2 of 3 is queued" in text
    Job.objects.filter(pk=job.pk).update(status="running", attempts=2, heartbeat_at=jobs_now(), total=10, done=4)
    job.refresh_from_db()
    text = job_page(rules_admin, job)
    assert "Status: <strong>running</strong> — 4 of 10 patients · attempt 2 of 3" in text
    assert "progress-bar-animated" in text
    clock.shift(STALE)
    text = job_page(rules_admin, job)
    assert "Status: <strong>stalled</strong>" in text and "progress-bar-animated" not in text
    Job.objects.filter(pk=job.pk).update(status="queued", attempts=0)
    text = job_page(rules_admin, job)
    assert "No worker has taken this job since" in text and "the background worker may not be running" in text


def jobs_now():
    from django.utils import timezone

    return timezone.now()


def _recording(send, job: Job, states: list[str]):
    def record(job_id: int, **kwargs) -> None:
        states.append(Job.objects.get(pk=job.pk).state)
        send(job_id, **kwargs)

    return record


def test_a_job_sent_again_after_a_database_error_waits_where_the_backend_can_defer(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.JOB_STALE_MINUTES = 10
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send(41)
        tasks.send(42, delay=True)
    now, sent = jobs_now(), tasks.run_job.get_backend().results
    assert [(r.args, r.task.run_after) for r in sent[:1]] == [([41], None)]
    assert sent[1].args == [42] and timedelta(minutes=9) < sent[1].task.run_after - now <= timedelta(minutes=10)
