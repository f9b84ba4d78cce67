"""Screening services: evaluate a patient with a rule set and store the result.

``screen_patient`` stores one result with who and what caused it and the
result before it; it knows nothing of referrals. The one caller that applies a
result to the referral queue is ``clinic.services.screen_and_apply`` (it calls
this inside its own transaction), for data changes, manual re-screens and the
cohort re-screen after a publish.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from accounts.audit import names_of
from accounts.models import User
from patients.models import Patient
from screening import engine
from screening.contract import build_trace, content_hash, signature  # the stored result's shape
from screening.facts import facts_for, facts_to_json, load_facts
from screening.models import RuleSet, ScreeningResult, Trigger, store_blobs

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
    previous: ScreeningResult | None, rule_set: RuleSet, facts_hash: str, outcomes: dict[str, str]
) -> tuple[bool, str]:
    if previous is None:
        return True, "first screening"
    if previous.outcomes == outcomes:
        return False, ""
    if previous.rule_set_id != rule_set.pk:
        return True, "new rules"
    if previous.facts_hash != facts_hash:
        return True, "new data"
    return True, "time"


# A re-screen that finds nothing changed stores no row: it marks the latest one still valid (checked_on).
# A change to the record always stores its result (the data trail), even when the facts come out the same.
RECHECKED_TRIGGERS = frozenset({Trigger.RULES, Trigger.SCHEDULED, Trigger.MANUAL})


def unchanged(
    previous: ScreeningResult | None, *, rule_set: RuleSet, facts_hash: str, signature: str, as_of: date, trigger: str
) -> bool:
    """Whether a new screening is the previous result again (docs/results.md, "Unchanged results"): same
    rule set, same facts, same signature, not as of an earlier date, by a re-screen (not a data change)."""
    return (
        previous is not None
        and trigger in RECHECKED_TRIGGERS
        and previous.rule_set_id == rule_set.pk
        and previous.facts_hash == facts_hash
        and as_of >= previous.as_of
        and previous.sameness == signature
    )


def still_stable(previous: ScreeningResult, *, rule_set: RuleSet, facts_hash: str, as_of: date, trigger: str) -> bool:
    """Whether a re-screen may take the previous result as it is without evaluating (docs/results.md,
    "Stable until"): same rule set and facts, and ``as_of`` from the day it was last found to hold up to
    the first day the same facts may screen differently."""
    return (
        trigger in RECHECKED_TRIGGERS
        and previous.rule_set_id == rule_set.pk
        and previous.stable_until is not None
        and previous.checked_on <= as_of < previous.stable_until
        and previous.facts_hash == facts_hash
    )


def recheck(results: list[ScreeningResult], as_of: date) -> int:
    """Mark stored results still valid as of ``as_of`` (never moves a mark back); one query."""
    for result in results:
        result.checked_on = max(result.checked_on, as_of)
        result.rechecked = True  # type: ignore[attr-defined]
    pks = [r.pk for r in results]
    return ScreeningResult.objects.filter(pk__in=pks, checked_on__lt=as_of).update(checked_on=as_of) if pks else 0


def recheck_evaluated(results: list[tuple[ScreeningResult, date]], as_of: date) -> None:
    """Mark stored results found unchanged by evaluating them as of ``as_of``, each with the first day
    the same facts may screen differently from then (its ``stable_until``); one query."""
    for result, until in results:
        result.checked_on = max(result.checked_on, as_of)
        result.stable_until = until
        result.rechecked = True  # type: ignore[attr-defined]
    if results:
        ScreeningResult.objects.bulk_update([r for r, _ in results], ["checked_on", "stable_until"])


def _new_result(
    *,
    patient: Patient,
    rule_set: RuleSet,
    as_of: date,
    trigger: str,
    actor: User | None,
    previous: ScreeningResult | None,
    facts_json: dict[str, Any],
    facts_hash: str,
    result: engine.ScreeningResult,
    trace: dict[str, Any],
    signature: str,
    stable_until: date,
) -> ScreeningResult:
    outcomes = {p.id: p.outcome.value for p in result.pathways}
    changed, cause = _cause(previous, rule_set, facts_hash, outcomes)
    stored = ScreeningResult(
        patient=patient,
        rule_set=rule_set,
        as_of=as_of,
        checked_on=as_of,
        stable_until=stable_until,
        trigger=trigger,
        actor=actor,
        previous=previous,
        outcomes=outcomes,
        changed=changed,
        change_cause=cause,
    )
    # the facts' hash and the trace's signature are known already: not computed again on the way in
    stored.set_facts(facts_json, facts_hash)
    stored.set_trace(trace, signature)
    if previous is not None and previous.facts_blob_id == facts_hash:
        stored.mark_blob_stored()  # the facts are the previous result's: their blob exists
    stored.rechecked = False  # type: ignore[attr-defined]
    return stored


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

    A re-screen (rules, scheduled, manual) that finds the latest result unchanged stores no row: it
    returns that result, marked still valid as of the new date (``checked_on``) and with
    ``rechecked`` set (nothing to apply to the referrals).
    ``never_older``: screen as of the patient's latest result's date when that is later than
    ``as_of`` (a queued cohort job must not undo a fresher screening made while it waited).
    """
    # One screening of a patient at a time (a data save and a cohort job may race): the newest
    # stored result must compare itself with the one really before it.
    list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk"))
    rule_set = rule_set or RuleSet.objects.published()
    as_of = as_of or timezone.localdate()
    previous = ScreeningResult.objects.latest_for(patient.pk)
    if never_older and previous is not None and previous.checked_on > as_of:
        as_of = previous.checked_on
    facts = load_facts(patient)
    try:
        result = engine.screen(facts, parsed_rules(rule_set), as_of)
    except engine.EngineError as err:
        log.warning("screening of patient %s refused: %s", patient.pk, err)
        return None
    facts_json = facts_to_json(facts)
    facts_hash = content_hash(facts_json)
    trace = build_trace(result, case_id=patient.identifier)
    sig = signature(trace)
    until = engine.stable_until(facts, parsed_rules(rule_set), as_of)
    if previous is not None and unchanged(
        previous, rule_set=rule_set, facts_hash=facts_hash, signature=sig, as_of=as_of, trigger=trigger
    ):
        recheck_evaluated([(previous, until)], as_of)
        return previous
    stored = _new_result(
        patient=patient,
        rule_set=rule_set,
        as_of=as_of,
        trigger=trigger,
        actor=actor,
        previous=previous,
        facts_json=facts_json,
        facts_hash=facts_hash,
        result=result,
        trace=trace,
        signature=sig,
        stable_until=until,
    )
    stored.save()
    return stored


@dataclass
class ChunkScreening:
    """What screening a chunk of patients did: the results stored (not yet applied to the referrals),
    the results found unchanged (marked still valid), and the patients skipped, refused or failed."""

    stored: list[ScreeningResult] = field(default_factory=list)
    rechecked: list[ScreeningResult] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def screened(self) -> int:
        return len(self.stored) + len(self.rechecked)


def screen_chunk(
    patients: list[Patient],
    *,
    trigger: str,
    rule_set: RuleSet,
    as_of: date,
    actor: User | None = None,
    never_older: bool = False,
    skip_done: bool = False,
) -> ChunkScreening:
    """Screen a chunk of patients set-wise (the caller holds the transaction and the patients' locks):
    their facts in six queries, their latest results in one, the pure engine over each, then the
    changed results stored in two (facts blobs, results) and the unchanged ones marked in one per date.
    A patient whose facts are those of their latest result, re-screened before that result's
    ``stable_until``, is not evaluated: the result is marked checked as it is.

    ``skip_done``: leave a patient whose latest result is of this rule set and holds as of ``as_of``
    or later (a resumed job's earlier attempt, or a change to the record meanwhile).
    A patient whose record the engine cannot read is logged and counted as failed, not fatal.
    """
    out = ChunkScreening()
    ids = [p.pk for p in patients]
    latest = {r.patient_id: r for r in ScreeningResult.objects.latest_of(ids).defer("trace_z", "legacy_trace")}
    facts = facts_for(patients)
    rules = parsed_rules(rule_set)
    names = names_of(actor) if actor is not None else ("", "")
    rechecks: dict[date, list[ScreeningResult]] = defaultdict(list)
    evaluated: dict[date, list[tuple[ScreeningResult, date]]] = defaultdict(list)
    for patient in patients:
        previous = latest.get(patient.pk)
        if skip_done and previous is not None and previous.rule_set_id == rule_set.pk and previous.checked_on >= as_of:
            out.already.append(patient.pk)
            continue
        day = previous.checked_on if never_older and previous is not None and previous.checked_on > as_of else as_of
        try:
            known = facts[patient.pk]
            facts_json = facts_to_json(known)
            facts_hash = content_hash(facts_json)
            if previous is not None and still_stable(
                previous, rule_set=rule_set, facts_hash=facts_hash, as_of=day, trigger=trigger
            ):
                rechecks[day].append(previous)  # the same facts before their next turning day: not evaluated
                out.rechecked.append(previous)
                continue
            result = screen_facts(patient, known, rules, day)
            if result is None:
                out.refused.append(patient.pk)
                continue
            trace = build_trace(result, case_id=patient.identifier)
            sig = signature(trace)
            until = engine.stable_until(known, rules, day)
            if previous is not None and unchanged(
                previous,
                rule_set=rule_set,
                facts_hash=facts_hash,
                signature=sig,
                as_of=day,
                trigger=trigger,
            ):
                evaluated[day].append((previous, until))
                out.rechecked.append(previous)
                continue
            stored = _new_result(
                patient=patient,
                rule_set=rule_set,
                as_of=day,
                trigger=trigger,
                actor=actor,
                previous=previous,
                facts_json=facts_json,
                facts_hash=facts_hash,
                result=result,
                trace=trace,
                signature=sig,
                stable_until=until,
            )
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # one patient's bad record must not stop the others
            log.exception("screening patient %s failed", patient.pk)
            out.failed.append(patient.pk)
            continue
        stored.actor_name, stored.actor_username = names
        out.stored.append(stored)
    blobs: dict[str, Any] = {}
    for stored in out.stored:
        blobs.update(stored.blob_to_store())
    store_blobs(blobs)
    if out.stored:
        ScreeningResult.objects.bulk_create(out.stored)
    for day, results in rechecks.items():
        recheck(results, day)
    for day, pairs in evaluated.items():
        recheck_evaluated(pairs, day)
    return out


def screen_facts(
    patient: Patient, facts: engine.PatientFacts, rules: engine.RuleSet, as_of: date
) -> engine.ScreeningResult | None:
    """The engine's result for one patient's facts (None, logged, when it refuses the patient)."""
    try:
        return engine.screen(facts, rules, as_of)
    except engine.EngineError as err:
        log.warning("screening of patient %s refused: %s", patient.pk, err)
        return None


def latest_result_for(patient: Patient) -> ScreeningResult | None:
    """The patient's latest result for the patient page, which shows its rule set's name and version only:
    not the rule set's content, about 12 KB of JSON read and parsed (0.6 ms) at each view."""
    return ScreeningResult.objects.defer("rule_set__content").latest_for(patient.pk)


def published_rules() -> engine.RuleSet:
    """The published rule set as the engine reads it: one query for its id and version, its content (about
    12 KB of JSON) read and parsed only the first time this process sees that version."""
    return parsed_rules(RuleSet.objects.defer("content").published())


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
