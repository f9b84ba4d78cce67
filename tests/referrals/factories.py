"""Referral test data: stored screening results (synthetic or from the shipped case files) and referrals."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Site, User
from patients.models import Patient
from referrals.models import Referral, ReferralState
from referrals.services import open_referral, transition_referral
from screening.models import RuleSet, ScreeningResult
from tests.shipped import CASES

S = ReferralState

CAUTIONS = [
    {
        "id": "cardiac_function",
        "severity": "contraindication",
        "status": "absent",
        "explanation": "Left ventricular ejection fraction 60 % on 2026-09-01, not < 35",
        "source": "S21",
    },
    {
        "id": "viral_infection",
        "severity": "contraindication",
        "status": "unknown",
        "explanation": "HIV infection not recorded within 365 days",
        "source": "S21, S40",
    },
    {
        "id": "organ_damage",
        "severity": "caution",
        "status": "present",
        "explanation": "SLICC/ACR damage index 2 on 2026-06-01",
        "source": "S7",
    },
]


def pathway_trace(pid: str, outcome: str = "flagged", cautions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    met = "met" if outcome == "flagged" else "not_met"
    return {
        "outcome": outcome,
        "label": f"{pid} evaluation",
        "sentence": f"{pid.upper()} outcome {outcome}",
        "why_not": [] if outcome == "flagged" else ["activity not high enough"],
        "checklist": [],
        "missing": [],
        "criteria": [
            {
                "id": f"{pid}.diagnosis",
                "result": "met",
                "explanation": "ANA 1:640; score 26",
                "type": "sle_diagnosis",
                "source": "S6",
                "refs": [],
            },
            {
                "id": f"{pid}.activity",
                "result": met,
                "explanation": "SLEDAI-2K 12 on 2026-10-15, needs ≥ 8; extra detail",
                "type": "sledai_at_least",
                "source": "S19",
                "refs": [],
            },
        ],
        "cautions": CAUTIONS if cautions is None else cautions,
    }


def today() -> date:
    """The pinned clock's day (tests/clock.py): factories' dates follow it."""
    return timezone.localdate()


def stored_result(
    patient: Patient,
    outcomes: dict[str, str] | None = None,
    *,
    trigger: str = "manual",
    change_cause: str = "first screening",
    cautions: list[dict[str, Any]] | None = None,
    rule_set: RuleSet | None = None,
) -> ScreeningResult:
    """A stored result with a small synthetic trace (no signal sent: tests open referrals themselves)."""
    outcomes = outcomes or {"hsct": "flagged"}
    rule_set = rule_set or RuleSet.objects.published()
    day = today()
    trace = {
        "case_id": patient.identifier,
        "as_of": day.isoformat(),
        "rule_set": {"name": rule_set.name, "version": rule_set.version},
        "pathways": {pid: pathway_trace(pid, outcome, cautions) for pid, outcome in outcomes.items()},
    }
    return ScreeningResult.objects.create(
        patient=patient,
        rule_set=rule_set,
        as_of=day,
        trigger=trigger,
        facts={},
        outcomes=outcomes,
        trace=trace,
        changed=True,
        change_cause=change_cause,
    )


def backdate(referral: Referral, days: int) -> Referral:
    """The referral as if it had been flagged and opened ``days`` ago (so a decision may be dated since)."""
    when = timezone.now() - timedelta(days=days)
    Referral.objects.filter(pk=referral.pk).update(flagged_at=when, opened_at=when)
    referral.refresh_from_db()
    return referral


def make_referral(
    patient: Patient,
    actor: User | None = None,
    *,
    pathway: str = "hsct",
    state: str = S.NEW,
    cautions: list[dict[str, Any]] | None = None,
) -> Referral:
    """An open referral for the patient, moved to ``state`` through the services by ``actor``."""
    referral = open_referral(result=stored_result(patient, {pathway: "flagged"}, cautions=cautions), pathway=pathway)
    assert referral is not None
    if state == S.NEW:
        return referral
    assert actor is not None
    referral = move(referral, actor, S.IN_REVIEW)
    if state != S.IN_REVIEW:
        referral = move(referral, actor, state)
    return referral


REVIEW_AFTER_DAYS = 30


def decision_fields(state: str) -> dict[str, Any]:
    """What each decision needs, dated from the pinned day."""
    return {
        S.NEW: {},
        S.IN_REVIEW: {},
        S.REFERRED: {"centre": "Regional centre", "referred_on": today()},
        S.NOT_REFERRED: {"not_referred_reason": "patient_declined", "reason": "Prefers current treatment"},
        S.DEFERRED: {"review_on": today() + timedelta(days=REVIEW_AFTER_DAYS), "reason": "Waiting for response"},
        S.NEEDS_DATA: {"data_needed": "Recent LVEF"},
    }[state]


def move(referral: Referral, actor: User | None, to_state: str, **overrides: Any) -> Referral:
    fields = {**decision_fields(to_state), **overrides}
    return transition_referral(
        referral=referral, actor=actor, seen_version=referral.version, to_state=to_state, today=today(), **fields
    )


def load_case(name: str) -> dict[str, Any]:
    from clinical.casefile import validate_case
    from screening.catalogue import drug_units

    return validate_case(json.loads((CASES / f"{name}.json").read_text(encoding="utf-8")), drugs=drug_units())


def import_case(site: Site, name: str) -> Patient:
    """A patient from a shipped case file (not screened yet)."""
    from patients.casefiles import import_cases

    outcome = import_cases(actor=None, site=site, cases=[load_case(name)])
    return outcome.patients[0]


def screen(
    patient: Patient, *, trigger: str = "manual", as_of: date | None = None, rule_set: RuleSet | None = None
) -> ScreeningResult:
    """Screen for real, through the one service that also applies the result to the referrals."""
    from clinic.services import screen_and_apply

    result = screen_and_apply(patient=patient, trigger=trigger, as_of=as_of or today(), rule_set=rule_set)
    assert result is not None
    return result
