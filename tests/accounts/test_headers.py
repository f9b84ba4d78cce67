"""Response headers for health data: no-store on every page and download; a Content-Security-Policy with nothing inline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.referrals.factories import make_referral

ROOT = Path(__file__).resolve().parents[2]


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
def test_patient_pages_and_downloads_are_not_stored(spec_client, patient, staff, specialist) -> None:
    make_referral(patient)
    for url in [
        reverse("patients:list"),
        reverse("patients:detail", kwargs={"pk": patient.pk}),
        reverse("patients:export", kwargs={"pk": patient.pk}),  # the case file
        reverse("referrals:export"),  # the queue's exports
        reverse("referrals:queue"),
    ]:
        response = spec_client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url
    from referrals.exports import request_export, write
    from referrals.queue import QueueFilters

    job = request_export(user=specialist, filters=QueueFilters())
    write(job.pk)
    download = spec_client.get(reverse("referrals:export_download", kwargs={"pk": job.pk}))
    assert download["Content-Type"].startswith("text/csv") and "no-store" in download["Cache-Control"]


@pytest.mark.django_db
def test_the_login_page_and_redirects_are_not_stored_either(client) -> None:
    assert "no-store" in client.get(reverse("login"))["Cache-Control"]
    assert "no-store" in client.get(reverse("patients:list"))["Cache-Control"]


@pytest.mark.django_db
def test_the_policy_allows_no_inline_script_or_style_and_nothing_from_elsewhere(spec_client, patient) -> None:
    response = spec_client.get(reverse("patients:detail", kwargs={"pk": patient.pk}))
    csp = directives(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_the_printout_carries_the_policy_and_nothing_inline(staff, patient) -> None:
    referral = make_referral(patient)
    response = client_for(staff).get(reverse("referrals:print", kwargs={"pk": referral.pk}))
    assert response.status_code == 200 and directives(response)["script-src"] == ["'self'"]
    assert 'onclick="' not in response.content.decode() and "<style" not in response.content.decode()


def test_no_template_holds_inline_script_style_or_handlers() -> None:
    """What the policy would block: <script> without src, <style>, style="…" and on…="…" attributes."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
    patterns = {
        "inline script": inline_script,
        "style element": re.compile(r"<style\b", re.I),
        "style attribute": re.compile(r"\sstyle=\"", re.I),
        "event handler attribute": re.compile(r"\son[a-z]+=\"", re.I),
    }
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in (ROOT / "templates").rglob("*.html")
        for what, pattern in patterns.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert not found, found
