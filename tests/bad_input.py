"""The bad-input corpus's harness: a small world to aim at, a row count of every table, one attempt.

``attempt`` sends one bad input as one user and checks the three promises of
issue 10: the answer is never a server error (the test client re-raises any
exception a view lets escape, and a streamed body is read to its end), nothing
is written (every table's row count, history tables included, is the same
before and after: an update of an audited row would add a history row), and the
refusal names the field (the bound form's errors, or the words on the page).
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

from django import forms
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, Site
from patients.models import Patient
from tests.clock import TODAY
from tests.conftest import client_for, make_user
from tests.shipped import RULES_PATH

ROLES = ("anonymous", "specialist", "specialist_other_site", "staff", "rules_admin")


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def ahead(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


class World:
    """What the corpus aims at, built on first use: sites, the cast, a patient with one record of each kind,
    a referral in review, a draft, a retired version, a test case and a job."""

    def __init__(self) -> None:
        self.site = Site.objects.create(code="site-a", name="Site A")
        self.other_site = Site.objects.create(code="site-b", name="Site B")
        self.users = {
            "specialist": make_user("spec_a", Role.SPECIALIST, self.site),
            "staff": make_user("staff_a", Role.STAFF, self.site),
            "rules_admin": make_user("admin_1", Role.RULES_ADMIN, self.site),
            "admin_2": make_user("admin_2", Role.RULES_ADMIN, self.site),
            "specialist_other_site": make_user("spec_b", Role.SPECIALIST, self.other_site),
        }
        self.patient = Patient.objects.create(
            site=self.site,
            identifier="P-001",
            birth_date=TODAY.replace(year=TODAY.year - 36, day=1),
            sex="female",
            weight_kg=64,
            ana_titre=640,
            eular_criteria=["joint_involvement", "anti_dsdna_or_anti_sm"],
        )

    def client(self, role: str) -> Client:
        return client_for(None if role == "anonymous" else self.users[role])

    @cached_property
    def records(self) -> dict[str, Any]:
        from tests.patients import factories

        on = TODAY - timedelta(days=40)
        return {
            "assessments": factories.AssessmentFactory(patient=self.patient, date=on),
            "damage": factories.DamageFactory(patient=self.patient, date=on),
            "manifestations": factories.ManifestationFactory(patient=self.patient, date=on),
            "observations": factories.ObservationFactory(patient=self.patient, date=on),
            "treatments": factories.TreatmentFactory(patient=self.patient, start=on),
            "conditions": factories.ConditionFactory(patient=self.patient, date=on),
        }

    @cached_property
    def referral(self) -> Any:
        from referrals.models import ReferralState
        from tests.referrals.factories import make_referral

        return make_referral(self.patient, self.users["staff"], state=ReferralState.IN_REVIEW)

    @cached_property
    def published(self) -> Any:
        from screening.models import RuleSet

        return RuleSet.objects.published()

    @cached_property
    def draft(self) -> Any:
        from screening import rulesets

        return rulesets.create_draft(
            actor=self.users["rules_admin"], source=self.published, version="2026.3", reason="bad input corpus"
        )

    @cached_property
    def retired(self) -> Any:
        from screening.models import RuleSet

        content = copy.deepcopy(self.published.content)
        content["version"] = "2025.9"
        return RuleSet.objects.create(
            name=content["name"], version="2025.9", status="retired", content=content, published_at=timezone.now()
        )

    @cached_property
    def test_case(self) -> Any:
        from screening.models import RuleCase

        return RuleCase.objects.get(name="older-patient")

    @cached_property
    def job(self) -> Any:
        from screening.models import Job

        return Job.objects.create(kind="impact", rule_set=self.draft, revision=self.draft.revision, as_of=TODAY)


# Logs of who read what are written by a refused request too (opening the form is an access): not data.
READ_LOGS = {"patients.PatientAccess"}
# derived caches a page view may refresh (recomputed from the records, never a record of their own)
READ_LOGS |= {"referrals.SiteSummary"}


def snapshot() -> dict[str, int]:
    """Rows of every table of the project (history tables included), sessions and read logs aside."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label not in ("sessions",) and model._meta.label not in READ_LOGS
    }


@dataclass(frozen=True)
class Bad:
    """One bad input: who sends it, where, what; and the field or words its refusal must name."""

    name: str
    role: str
    url: Callable[[World], str]
    post: Callable[[World], dict[str, Any]] | None = None  # None: a GET
    field: str | None = None
    says: str | None = None
    statuses: tuple[int, ...] = ()  # when given, the answer must be one of these


def _forms(value: Any) -> list[forms.BaseForm]:
    if isinstance(value, forms.BaseForm):
        return [value]
    if isinstance(value, (list, tuple)):
        return [f for item in value for f in _forms(item)]
    if isinstance(value, dict):
        return [f for item in value.values() for f in _forms(item)]
    return []


def bound_forms(response: Any) -> list[forms.BaseForm]:
    found: list[forms.BaseForm] = []
    for context in response.context or []:
        for layer in getattr(context, "dicts", [context]):
            if isinstance(layer, dict):
                found += [f for f in _forms(layer) if f.is_bound]
    return found


def attempt(world: World, bad: Bad) -> Any:
    """Send one bad input; check never a server error, never written, and the field named."""
    client = world.client(bad.role)
    url = bad.url(world)
    data = bad.post(world) if bad.post is not None else None
    before = snapshot()
    response = client.post(url, data) if data is not None else client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code < 500, f"{bad.name}: {response.status_code}"
    if bad.statuses:
        assert response.status_code in bad.statuses, f"{bad.name}: {response.status_code} not in {bad.statuses}"
    assert snapshot() == before, f"{bad.name}: something was written"
    text = html.unescape(body.decode("utf-8", "replace"))
    if bad.field is not None:
        errors = {name for form in bound_forms(response) for name in form.errors}
        assert bad.field in errors, f"{bad.name}: no error on {bad.field!r} (errors on {sorted(errors)})"
    if bad.says is not None:
        if response.status_code == 302:
            text = html.unescape(client.get(response["Location"]).content.decode())
            assert snapshot() == before
        assert bad.says in text, f"{bad.name}: the page does not say {bad.says!r}"
    return response


# --- Files ------------------------------------------------------------------------------------


def upload(name: str, content: bytes | str) -> SimpleUploadedFile:
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, raw, content_type="application/json")


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def padded(text: str, size: int) -> str:
    """Valid JSON text made ``size`` bytes long with trailing spaces."""
    return text + " " * (size - len(text.encode("utf-8")))


def base_case() -> dict[str, Any]:
    """A valid case file dated from the pinned day (every corpus case changes one thing in it)."""
    return {
        "format": "sle-screening-case/1",
        "case_id": "BAD-1",
        "patient": {"birth_date": "1980-03-01", "sex": "female", "weight_kg": 60, "sle_attested": True},
        "classification": {"ana_titre": 640, "criteria": ["joint_involvement"]},
        "assessments": [{"date": day(10), "sledai2k": {"present": ["rash"]}, "pga": 1.0}],
        "damage": [{"date": day(100), "items": {"cataract": 1}}],
        "manifestations": [{"code": "lupus_nephritis", "date": day(200), "active": True, "biopsy_class": "IV"}],
        "observations": [{"code": "alt", "date": day(10), "value": 30, "uln": 35}],
        "treatments": [{"drug": "hydroxychloroquine", "start": day(400), "dose": 400, "dose_unit": "mg/day"}],
        "conditions": [{"code": "pregnancy", "status": "absent", "date": day(10)}],
    }


def base_rules() -> dict[str, Any]:
    """The shipped rules as a new version (every corpus file changes one thing in it)."""
    content = json.loads(RULES_PATH.read_text(encoding="utf-8"))
    content["version"] = "bad-base.1"
    return content


def node_of(content: dict[str, Any], node_id: str) -> dict[str, Any]:
    from screening import editing

    loc = editing.locate(content, node_id)
    assert loc is not None, node_id
    return loc.node


def rename_pathway(content: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The pathway ``old`` renamed ``new`` everywhere the file names it (its root, every caution's severity)."""
    for pathway in content["pathways"]:
        if pathway["id"] == old:
            pathway["id"] = pathway["inclusion"]["id"] = new
    for caution in content["cautions"]:
        caution["severity"] = {new if k == old else k: v for k, v in caution["severity"].items()}
    return content


def url(name: str, **kwargs: Any) -> Callable[[World], str]:
    """A URL whose kwargs may be callables of the world (``pk=lambda w: w.patient.pk``)."""

    def build(world: World) -> str:
        return reverse(name, kwargs={k: v(world) if callable(v) else v for k, v in kwargs.items()})

    return build
