"""A rule set the app cannot store or evaluate for every patient is never published (issue 10).

The case from the issue: a rule set whose pathway id is 36 characters long (the referral column holds 32)
passed the tests, sign-off and publish, then every flagged patient's re-screen failed. It is refused at
import; a copy forced into the database (stored before today's checks) is refused at sign-off, impact
preview and publish, its pages explain instead of failing, and "screen again" never answers 500.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.urls import reverse

from screening import rulesets
from screening.errors import RuleSetRefused
from screening.models import Job, JobKind, JobStatus, RuleSet, RuleSetEvent, ScreeningResult
from tests.bad_input import rename_pathway, snapshot, upload
from tests.conftest import client_for
from tests.screening.conftest import AS_OF
from tests.shipped import RULES_PATH

LONG = "h" * 36
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def parsed_rules_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    """Published rules are parsed once and cached by (pk, version): content forced here must not outlive the test."""
    from screening import services

    monkeypatch.setattr(services, "_PARSED", {})


def long_pathway_content(version: str) -> dict[str, Any]:
    content = rename_pathway(json.loads(RULES_PATH.read_text(encoding="utf-8")), "hsct", LONG)
    content["version"] = version
    return content


def force(rule_set: RuleSet, content: dict[str, Any], **row: Any) -> RuleSet:
    """Store content the way a version stored before today's checks holds it (no validation on the way)."""
    RuleSet.objects.filter(pk=rule_set.pk).update(content=content, **row)
    rule_set.refresh_from_db()
    return rule_set


def test_the_file_is_refused_at_import_naming_the_pathway(rules_admin, tmp_path) -> None:
    text = json.dumps(long_pathway_content("2026.7"))
    response = client_for(rules_admin).post(
        reverse("screening:ruleset_import"), {"file": upload("long.json", text), "note": "from the issue"}
    )
    assert response.status_code == 200
    [message] = response.context["form"].errors["file"]
    assert message.startswith(f"Rule-set file: {LONG}: id: must be at most 32 characters (this one has 36)")
    assert not RuleSet.objects.filter(version="2026.7").exists()
    path = tmp_path / "long.json"
    path.write_text(text)
    with pytest.raises(CommandError) as err:
        call_command("import_rules", str(path), stdout=io.StringIO())
    assert f"{LONG}: id: must be at most 32 characters" in str(err.value) and err.value.returncode == 2


def test_a_draft_holding_it_cannot_be_signed_off_previewed_or_published(draft, rules_admin, admin_2) -> None:
    force(draft, long_pathway_content(draft.version))
    clients = {admin_2: client_for(admin_2), rules_admin: client_for(rules_admin)}  # signing in writes its own rows
    before = snapshot()
    for role, name, data in [
        (admin_2, "sign_off", None),
        (admin_2, "sign_off", {"note": "looks fine"}),
        (rules_admin, "impact_start", {}),
        (admin_2, "publish", None),
        (admin_2, "publish", {"change_note": "longer id"}),
    ]:
        client = clients[role]
        address = reverse(f"screening:{name}", kwargs={"pk": draft.pk})
        response = client.post(address, data) if data is not None else client.get(address)
        assert response.status_code == 302 and response["Location"] == reverse(
            "screening:ruleset_detail", kwargs={"pk": draft.pk}
        ), (name, response.status_code)
        page = client.get(response["Location"]).content.decode()
        assert f"version {draft.version} cannot be released: {LONG}: id: must be at most 32 characters" in page, name
    assert snapshot() == before
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.reviewed_by is None


def test_publish_refuses_it_even_signed_off_and_previewed(draft, rules_admin, admin_2) -> None:
    """Forced past every earlier step (signed off, a finished preview), the service still refuses it."""
    force(draft, long_pathway_content(draft.version))
    RuleSet.objects.filter(pk=draft.pk).update(reviewed_by=admin_2)
    draft.refresh_from_db()
    Job.objects.create(kind=JobKind.IMPACT, rule_set=draft, revision=draft.revision, as_of=AS_OF, status=JobStatus.DONE)
    events, published = RuleSetEvent.objects.count(), RuleSet.objects.published().version
    with pytest.raises(RuleSetRefused) as err:
        rulesets.publish_rule_set(rule_set=draft, actor=rules_admin, change_note="longer id")
    assert f"{LONG}: id: must be at most 32 characters" in err.value.message
    assert "Export it, correct the file and import it as a new draft" in err.value.message
    assert RuleSet.objects.published().version == published and RuleSetEvent.objects.count() == events
    assert not Job.objects.filter(kind=JobKind.RESCREEN).exists()


def test_its_pages_explain_instead_of_failing(draft, rules_admin) -> None:
    version = draft.version
    bad = long_pathway_content(version)
    bad["version"] = f"{version}\nx"  # and a version no file name can hold
    force(draft, bad, version=bad["version"])
    client = client_for(rules_admin)
    for name in ("ruleset_detail", "ruleset_tests", "ruleset_export", "sign_off", "publish"):
        response = client.get(reverse(f"screening:{name}", kwargs={"pk": draft.pk}))
        assert response.status_code in (200, 302), name
    export = client.get(reverse("screening:ruleset_export", kwargs={"pk": draft.pk}))
    assert export["Content-Disposition"] == f'attachment; filename="rules-{version}_x.json"'
    broken = copy.deepcopy(bad)
    broken["pathways"][0]["inclusion"]["all"][0]["params"]["ana_min_titre"] = -1  # no longer even parses
    force(draft, broken)
    response = client.get(reverse("screening:ruleset_tests", kwargs={"pk": draft.pk}))
    assert response.status_code == 302
    assert "cannot be run" in client.get(response["Location"]).content.decode()
    from screening.models import RuleCase

    expect = reverse("screening:testcase_expect", kwargs={"pk": RuleCase.objects.first().pk})
    assert client.get(expect + f"?draft={draft.pk}").status_code == 404


def test_a_stored_version_can_still_be_retired_by_publishing_a_good_one(
    older_draft, rules_admin, admin_2, django_capture_on_commit_callbacks
) -> None:
    """Saving a row without new content (retiring it) does not re-validate what it holds."""
    from screening import testcases
    from screening.models import RuleCase

    published = RuleSet.objects.published()
    content = copy.deepcopy(published.content)
    content["pathways"][0]["label"] = "a\nlabel stored before labels were checked"
    force(published, content)
    testcases.update_expectation(
        test_case=RuleCase.objects.get(name="older-patient"),
        actor=rules_admin,
        expected={"hsct": "flagged"},
        reason="65",
        rule_set=older_draft,
    )
    with django_capture_on_commit_callbacks(execute=True):
        rulesets.start_impact_preview(rule_set=older_draft, actor=rules_admin, as_of=AS_OF)
    rulesets.sign_off_rule_set(rule_set=older_draft, actor=admin_2)
    with django_capture_on_commit_callbacks(execute=True):
        rulesets.publish_rule_set(rule_set=older_draft, actor=rules_admin, change_note="65")
    published.refresh_from_db()
    assert published.status == "retired" and RuleSet.objects.published().pk == older_draft.pk
    published.content = {**published.content, "name": "N" * 201}
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):  # new content is still checked, whatever writes it
        published.save()


def test_a_failed_impact_preview_blocks_publishing_and_says_why(draft, rules_admin, admin_2) -> None:
    rulesets.sign_off_rule_set(rule_set=draft, actor=admin_2)
    draft.refresh_from_db()
    Job.objects.create(
        kind=JobKind.IMPACT,
        rule_set=draft,
        revision=draft.revision,
        as_of=AS_OF,
        status=JobStatus.FAILED,
        error="OverflowError: date value out of range",
    )
    with pytest.raises(RuleSetRefused) as err:
        rulesets.publish_rule_set(rule_set=draft, actor=rules_admin, change_note="x")
    assert "the impact preview of this revision failed (OverflowError: date value out of range)" in err.value.message


def test_screen_again_never_answers_500(specialist, patient, monkeypatch) -> None:
    from clinic import views

    def fail(**kwargs: Any) -> None:
        raise DatabaseError("value too long for type character varying(32)")

    monkeypatch.setattr(views, "screen_and_apply", fail)
    client = client_for(specialist)
    response = client.post(reverse("patients:rescreen", kwargs={"pk": patient.pk}))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "could not be screened again" in page and "Nothing was changed" in page
    assert not ScreeningResult.objects.exists()


def test_screen_again_with_a_published_version_stored_before_the_checks(specialist, site_a, cases_day) -> None:
    """The issue's case end to end: the published rules hold a 36-character pathway id; re-screening a
    patient it flags needs a referral with that id. PostgreSQL refuses the value: the page explains and
    nothing is stored. (SQLite does not enforce column lengths: there the screening simply succeeds.)"""
    from tests.referrals.factories import import_case

    published = RuleSet.objects.published()
    force(published, long_pathway_content(published.version))
    patient = import_case(site_a, "refractory-nephritis")
    before = ScreeningResult.objects.count()
    client = client_for(specialist)
    response = client.post(reverse("patients:rescreen", kwargs={"pk": patient.pk}))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    if connection.vendor == "postgresql":
        assert "could not be screened again" in page and ScreeningResult.objects.count() == before
    else:
        assert "Screened again as of today" in page
