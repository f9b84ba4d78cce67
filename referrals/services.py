"""Writes to referrals: open on a flag, move through the workflow, assign, note, withdraw.

Every write runs inside ``transaction.atomic()``, first claims the referral by
bumping its version with ``UPDATE … WHERE version = <the version the user
saw>`` (``accounts.locking.claim``: a concurrent change, or a missing version,
makes it fail instead of being overwritten), then saves the referral with its
audit-trail row and appends one ``ReferralEvent`` in the same transaction.
Writes with no user's view to check (screening results, notes, which
overwrite nothing) bump the version unchecked. Refusals raise ``ReferralError``.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.locking import Conflict, bump, claim
from accounts.models import User
from clinical import plausibility
from referrals.models import (
    DECIDED_STATES,
    EventKind,
    NotReferredReason,
    Referral,
    ReferralEvent,
    ReferralState,
)
from referrals.workflow import ReferralError, can_act, check_transition
from screening.contract import OUTCOME_LABEL, Outcome, PathwayView, read_outcomes, read_result
from screening.models import ScreeningResult

log = logging.getLogger(__name__)
S = ReferralState
# Criterion types every flag shares: not worth a place among the reasons at a glance.
GENERIC_TYPES = {"sle_diagnosis", "age_between"}

__all__ = [
    "ReferralError",
    "add_note",
    "apply_screening_result",
    "assign_referral",
    "open_referral",
    "release_due_deferrals",
    "transition_referral",
]


# --- helpers -----------------------------------------------------------------------------------


def _events_since(referral_id: int, version: int) -> list[ReferralEvent]:
    return list(ReferralEvent.objects.filter(referral_id=referral_id, version__gt=version).order_by("version"))


def _claim(referral_id: int, seen_version: int | None, *, check: bool = True) -> Referral:
    """Bump the version if it is still the one the user saw; else raise the conflict with what changed.

    ``check=False``: a write with no user's view to check (the system's, or a note): bumped whatever it is.
    """
    now = timezone.now()
    if not check:
        bump(Referral, pk=referral_id, updated_at=now)
    else:
        try:
            claim(Referral, pk=referral_id, seen=seen_version, events=_events_since, updated_at=now)
        except Conflict as err:
            raise ReferralError("version", err.message, err.changes, missing=err.missing) from err
    return Referral.objects.select_related("patient", "assigned_to").get(pk=referral_id)


def _save(referral: Referral, actor: User | None, reason: str) -> None:
    referral._history_user = actor  # type: ignore[attr-defined]
    referral._change_reason = reason  # type: ignore[attr-defined]
    referral.save()


def _event(
    referral: Referral,
    *,
    kind: str,
    actor: User | None,
    reason: str,
    from_state: str = "",
    to_state: str = "",
    detail: dict[str, Any] | None = None,
) -> ReferralEvent:
    return ReferralEvent.objects.create(
        referral=referral,
        version=referral.version,
        kind=kind,
        actor=actor,
        reason=reason,
        from_state=from_state,
        to_state=to_state,
        detail=detail or {},
    )


def _short(text: str, limit: int = 110) -> str:
    """An explanation's first part; a longer one cut at the last word boundary (never mid-word) with "…"."""
    text = text.split(";")[0].strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,(–-") + "…"


def glance(pathway: PathwayView) -> dict[str, Any]:
    """Reasons and cautions at a glance for the queue, from one pathway of a stored result."""
    reasons = [
        _short(node.first_met_leaf().explanation) for node in pathway.met_criteria if node.type not in GENERIC_TYPES
    ][:3]
    shown = sorted(pathway.shown_cautions, key=lambda c: (not c.present, not c.is_contraindication))
    return {
        "reasons": reasons,
        "cautions": [{"id": c.id, "label": c.label, "severity": c.severity, "status": c.status.value} for c in shown],
        "has_contraindication": any(c.is_contraindication and c.present for c in pathway.cautions),
        "lapses_on": pathway.lapses_on,
        "lapse_reason": pathway.lapse_reason or "",
    }


# --- opening and screening ---------------------------------------------------------------------


def open_referral(*, result: ScreeningResult, pathway: str) -> Referral | None:
    """Open a referral for a pathway the result flags; None when one is already open (database-enforced)."""
    view = read_result(result).pathway(pathway)
    if view is None:
        raise KeyError(pathway)
    shown = glance(view)
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                patient_id=result.patient_id,
                pathway=pathway,
                pathway_label=view.label,
                raised_on=result,
                latest_result=result,
                flagged_at=result.computed_at,
                **shown,
            )
            _event(
                referral,
                kind=EventKind.OPENED,
                actor=None,
                to_state=S.NEW,
                reason=f"Flagged for {pathway.upper()} by rules {result.rule_set.version} as of {result.as_of.isoformat()}",
                detail={"result": result.pk},
            )
    except IntegrityError:
        return None
    return referral


def _withdraw_cause(result: ScreeningResult) -> str:
    if result.change_cause in ("new data", "new rules", "time"):
        return result.change_cause
    return {"rules": "new rules", "data": "new data"}.get(result.trigger, "re-screened")


@transaction.atomic
def apply_screening_result(*, result: ScreeningResult) -> None:
    """What a stored screening result means for the patient's referrals (``clinic.services.screen_and_apply``
    calls it in the transaction that stored the result; its events are by the result's actor).

    Opens a referral when a pathway becomes flagged (or is flagged with no
    referral ever raised); marks an open referral "flag withdrawn" when the
    flag goes away and clears the mark when it comes back; moves a referral
    that needs data back to review when new data was entered. Never decides.
    """
    previous, actor = result.previous, result.actor
    outcomes = read_outcomes(result.outcomes)
    before = read_outcomes(previous.outcomes) if previous is not None else {}
    views = {view.id: view for view in read_result(result).pathways}
    open_by_pathway = {r.pathway: r for r in Referral.objects.open().filter(patient_id=result.patient_id)}
    for pathway in sorted(set(outcomes) | set(open_by_pathway)):
        flagged = outcomes.get(pathway) is Outcome.FLAGGED
        referral = open_by_pathway.get(pathway)
        if referral is None:
            was_flagged = before.get(pathway) is Outcome.FLAGGED
            if flagged and (
                not was_flagged or not Referral.objects.filter(patient_id=result.patient_id, pathway=pathway).exists()
            ):
                open_referral(result=result, pathway=pathway)
            continue
        if flagged and referral.flag_withdrawn:
            referral = _claim(referral.pk, None, check=False)
            referral.flag_withdrawn, referral.withdrawn_reason, referral.withdrawn_at = False, "", None
            _save(referral, actor, "flagged again")
            _event(
                referral,
                kind=EventKind.FLAG_RESTORED,
                actor=actor,
                reason=f"Flagged again ({_withdraw_cause(result)}), rules {result.rule_set.version}",
                detail={"result": result.pk},
            )
        elif not flagged and not referral.flag_withdrawn:
            cause = _withdraw_cause(result)
            now = outcomes.get(pathway)
            outcome = now.value if now is not None else "no longer screened"
            words = OUTCOME_LABEL[now] if now is not None else outcome
            referral = _claim(referral.pk, None, check=False)
            referral.flag_withdrawn, referral.withdrawn_reason, referral.withdrawn_at = True, cause, timezone.now()
            _save(referral, actor, f"flag withdrawn ({cause})")
            _event(
                referral,
                kind=EventKind.FLAG_WITHDRAWN,
                actor=actor,
                reason=f"Flag withdrawn ({cause}): now {words}, rules {result.rule_set.version}",
                detail={"result": result.pk, "outcome": outcome, "cause": cause},
            )
        if referral.state == S.NEEDS_DATA and result.trigger == "data":
            by = f" by {actor.get_username()}" if actor is not None else ""
            referral = _transition(  # a consequence of the data, not a person's decision: made by the system
                referral=referral,
                actor=None,
                seen_version=None,
                to_state=S.IN_REVIEW,
                reason=f"New data entered{by}; back to review",
                today=result.as_of,
            )
        if pathway in views:
            shown = glance(views[pathway])
            if not flagged:
                shown.pop("reasons")  # keep why it was flagged
            Referral.objects.filter(pk=referral.pk).update(latest_result=result, **shown)


# --- people's actions --------------------------------------------------------------------------


def _decision(
    target: str,
    *,
    source: str,
    reason: str,
    today: date,
    opened: date,
    centre: str,
    referred_on: date | None,
    not_referred_reason: str,
    review_on: date | None,
    data_needed: str,
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The fields a target state sets, the event's reason and its structured detail; refuses what is missing."""
    reason = reason.strip()
    if target == S.IN_REVIEW:
        default = "Review resumed" if source in (S.DEFERRED, S.NEEDS_DATA) else "Review started"
        return {"review_on": None, "data_needed": ""}, reason or default, {}
    if target == S.REFERRED:
        centre = centre.strip()
        if not centre:
            raise ReferralError("centre", "Name the evaluating centre the referral was sent to.")
        if referred_on is None:
            raise ReferralError("referred_on", "Give the date the referral was sent.")
        if problem := plausibility.referral_sent(referred_on, opened=opened, today=today):
            raise ReferralError("referred_on", f"The date the referral was sent {problem}.")
        text = f"Referred to {centre} on {referred_on.isoformat()}" + (f": {reason}" if reason else "")
        return (
            {"centre": centre, "referred_on": referred_on},
            text,
            {"centre": centre, "referred_on": referred_on.isoformat()},
        )
    if target == S.NOT_REFERRED:
        if not_referred_reason not in NotReferredReason.values:
            raise ReferralError("not_referred_reason", "Choose why the patient is not referred.")
        if not reason:
            raise ReferralError("reason", "Add a note explaining the decision.")
        label = NotReferredReason(not_referred_reason).label
        return (
            {"not_referred_reason": not_referred_reason},
            f"Not referred ({label}): {reason}",
            {"not_referred_reason": not_referred_reason},
        )
    if target == S.DEFERRED:
        if review_on is None:
            raise ReferralError("review_on", "Give the date to review it again.")
        if problem := plausibility.review_date(review_on, today=today):
            raise ReferralError("review_on", f"The review date {problem}.")
        if not reason:
            raise ReferralError("reason", "Say why the review is deferred.")
        return (
            {"review_on": review_on},
            f"Deferred until {review_on.isoformat()}: {reason}",
            {"review_on": review_on.isoformat()},
        )
    if target == S.NEEDS_DATA:
        data_needed = data_needed.strip()
        if not data_needed:
            raise ReferralError("data_needed", "Say what data is needed.")
        text = f"Returned for data: {data_needed}" + (f" ({reason})" if reason else "")
        return {"data_needed": data_needed}, text, {"data_needed": data_needed}
    raise ReferralError("to_state", "Choose a valid next state.")


def _transition(
    *,
    referral: Referral,
    actor: User | None,
    seen_version: int | None,
    to_state: str,
    reason: str,
    today: date,
    centre: str = "",
    referred_on: date | None = None,
    not_referred_reason: str = "",
    review_on: date | None = None,
    data_needed: str = "",
) -> Referral:
    # the system moving a referral by itself (data entered) has no version to check; a person always has
    current = _claim(referral.pk, seen_version, check=actor is not None or seen_version is not None)
    source = current.state
    check_transition(source=source, target=to_state, actor=actor)
    fields, text, detail = _decision(
        to_state,
        source=source,
        reason=reason,
        today=today,
        opened=current.opened_on,
        centre=centre,
        referred_on=referred_on,
        not_referred_reason=not_referred_reason,
        review_on=review_on,
        data_needed=data_needed,
    )
    for name, value in fields.items():
        setattr(current, name, value)
    current.state = to_state
    if to_state in DECIDED_STATES:
        current.decided_at, current.decided_by = timezone.now(), actor
    _save(current, actor, text)
    _event(
        current,
        kind=EventKind.TRANSITION,
        actor=actor,
        from_state=source,
        to_state=to_state,
        reason=text,
        detail=detail,
    )
    return current


@transaction.atomic
def transition_referral(
    *,
    referral: Referral,
    actor: User | None,
    seen_version: int | None,
    to_state: str,
    today: date,
    reason: str = "",
    centre: str = "",
    referred_on: date | None = None,
    not_referred_reason: str = "",
    review_on: date | None = None,
    data_needed: str = "",
) -> Referral:
    """Move a referral to its next state, checked against the workflow and the version the user saw."""
    return _transition(
        referral=referral,
        actor=actor,
        seen_version=seen_version,
        to_state=to_state,
        reason=reason,
        today=today,
        centre=centre,
        referred_on=referred_on,
        not_referred_reason=not_referred_reason,
        review_on=review_on,
        data_needed=data_needed,
    )


@transaction.atomic
def assign_referral(*, referral: Referral, actor: User, seen_version: int | None, assignee: User | None) -> Referral:
    """Give an open referral to a staff member or specialist of the patient's site (None: nobody)."""
    if not can_act(actor):
        raise ReferralError("assignee", "Your role cannot act on referrals.")
    if assignee is not None and (
        not can_act(assignee) or not assignee.sites.filter(pk=referral.patient.site_id).exists()
    ):
        raise ReferralError("assignee", "Assign it to a specialist or staff member of the patient's site.")
    current = _claim(referral.pk, seen_version)
    if not current.is_open:
        raise ReferralError("assignee", "A decided referral is not assigned any more.")
    if current.assigned_to_id == (assignee.pk if assignee else None):
        raise ReferralError("assignee", f"It is already assigned to {assignee or 'nobody'}.")
    before = current.assigned_to
    current.assigned_to = assignee
    text = f"Assigned to {assignee}" if assignee else f"Unassigned (was {before})"
    _save(current, actor, text)
    _event(
        current,
        kind=EventKind.ASSIGNED,
        actor=actor,
        reason=text,
        detail={"from": before.pk if before else None, "to": assignee.pk if assignee else None},
    )
    return current


@transaction.atomic
def add_note(*, referral: Referral, actor: User, text: str) -> ReferralEvent:
    """Append a note; notes are never edited or deleted, and never conflict (they overwrite nothing)."""
    if not can_act(actor):
        raise ReferralError("text", "Your role cannot act on referrals.")
    text = text.strip()
    if not text:
        raise ReferralError("text", "Write the note.")
    current = _claim(referral.pk, None, check=False)
    return _event(current, kind=EventKind.NOTE, actor=actor, reason=text)


def release_due_deferrals(*, today: date) -> int:
    """Move deferred referrals whose review date has come back to review; returns how many moved."""
    moved = 0
    due = Referral.objects.filter(state=S.DEFERRED, review_on__lte=today).order_by("review_on", "pk")
    for referral in due:
        review_on = referral.review_on
        try:
            with transaction.atomic():
                _transition(
                    referral=referral,
                    actor=None,
                    seen_version=referral.version,  # as read: a change since means nothing to release
                    to_state=S.IN_REVIEW,
                    today=today,
                    reason=f"Review date {review_on.isoformat() if review_on else ''} reached; back to review",
                )
        except ReferralError as err:  # changed meanwhile (someone resumed it): nothing to release
            log.info("deferred referral %s not released: %s", referral.pk, err)
            continue
        moved += 1
    return moved
