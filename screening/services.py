"""Screening services: evaluate a patient with a rule set and store the result.

``screen_patient`` stores one result with who and what caused it and the
result before it; it knows nothing of referrals. The one caller that applies a
result to the referral queue is ``clinic.services.screen_and_apply`` (it calls
this inside its own transaction), for data changes, manual re-screens and the
cohort re-screen after a publish.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from patients.models import Patient
from screening import engine
from screening.contract import build_trace  # the stored result's shape: screening/contract.py
from screening.facts import facts_to_json, load_facts
from screening.models import RuleSet, ScreeningResult

log = logging.getLogger(__name__)


class ScreeningError(Exception):
    """Screening refused for a reason a user can act on."""


_PARSED: dict[tuple[int, str], engine.RuleSet] = {}


def parsed_rules(rule_set: RuleSet) -> engine.RuleSet:
    """The engine's rule set; published and retired versions never change, so they are cached."""
    if rule_set.status == "draft":
        return engine.parse_rule_set(rule_set.content)
    key = (rule_set.pk, rule_set.version)
    if key not in _PARSED:
        if len(_PARSED) > 32:
            _PARSED.clear()
        _PARSED[key] = engine.parse_rule_set(rule_set.content)
    return _PARSED[key]


def _cause(
    previous: ScreeningResult | None, rule_set: RuleSet, facts: dict[str, Any], outcomes: dict[str, str]
) -> tuple[bool, str]:
    if previous is None:
        return True, "first screening"
    if previous.outcomes == outcomes:
        return False, ""
    if previous.rule_set_id != rule_set.pk:
        return True, "new rules"
    if previous.facts != facts:
        return True, "new data"
    return True, "time"


@transaction.atomic
def screen_patient(
    *,
    patient: Patient,
    trigger: str,
    actor: User | None = None,
    rule_set: RuleSet | None = None,
    as_of: date | None = None,
    never_older: bool = False,
) -> ScreeningResult | None:
    """Evaluate one patient and store the result (rule set version, as-of, facts, outcomes, trace,
    trigger and actor, and the result before it as ``previous``).

    ``never_older``: screen as of the patient's latest result's date when that is later than
    ``as_of`` (a queued cohort job must not undo a fresher screening made while it waited).
    """
    # One screening of a patient at a time (a data save and a cohort job may race): the newest
    # stored result must compare itself with the one really before it.
    list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk"))
    rule_set = rule_set or RuleSet.objects.published()
    as_of = as_of or timezone.localdate()
    previous = ScreeningResult.objects.latest_for(patient.pk)
    if never_older and previous is not None and previous.as_of > as_of:
        as_of = previous.as_of
    facts = load_facts(patient)
    try:
        result = engine.screen(facts, parsed_rules(rule_set), as_of)
    except engine.EngineError as err:
        log.warning("screening of patient %s refused: %s", patient.pk, err)
        return None
    facts_json = facts_to_json(facts)
    outcomes = {p.id: p.outcome.value for p in result.pathways}
    changed, cause = _cause(previous, rule_set, facts_json, outcomes)
    stored = ScreeningResult.objects.create(
        patient=patient,
        rule_set=rule_set,
        as_of=as_of,
        trigger=trigger,
        actor=actor,
        previous=previous,
        facts=facts_json,
        outcomes=outcomes,
        trace=build_trace(result, case_id=patient.identifier),
        changed=changed,
        change_cause=cause,
    )
    return stored


def latest_result_for(patient: Patient) -> ScreeningResult | None:
    return ScreeningResult.objects.latest_for(patient.pk)


def published_rules() -> engine.RuleSet:
    """The published rule set as the engine reads it (one query; parsed once per version)."""
    return parsed_rules(RuleSet.objects.published())


def adequacy_by_course(summary: Any, rules: engine.RuleSet | None = None) -> dict[int, str]:
    """Course pk → whether it was an adequate trial by the published catalogue's thresholds (``rules``:
    the published rule set, when the caller has it already)."""
    from screening.engine.adequacy import course_adequacy

    rules = rules if rules is not None else published_rules()
    facts = engine.PatientFacts(
        weight_kg=summary.patient.weight_kg,
        treatments=tuple(
            engine.TreatmentCourse(
                drug=t.drug,
                start=t.start,
                end=t.end,
                dose=t.dose,
                dose_unit=t.dose_unit,
                stop_reason=t.stop_reason,
                ref=str(t.pk),
            )
            for t in summary.treatments
        ),
    )
    verdicts = course_adequacy(facts, rules, summary.today)
    return {
        t.pk: verdicts[str(t.pk)][1] if str(t.pk) in verdicts else "drug not in the catalogue"
        for t in summary.treatments
    }
