"""The referral workflow: which state may follow which, and who may move it. The one place.

new → in_review → referred | not_referred | deferred | needs_data;
deferred → in_review (its review date came, or someone resumes it early);
needs_data → in_review (the data was entered, or someone resumes it).
A decision (referred, not referred) is final: a new flag opens a new referral.
Nothing moves to ``referred`` except by a person.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Role
from referrals.models import ReferralEvent, ReferralState

S = ReferralState

TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.NEW: (S.IN_REVIEW,),
    S.IN_REVIEW: (S.REFERRED, S.NOT_REFERRED, S.DEFERRED, S.NEEDS_DATA),
    S.DEFERRED: (S.IN_REVIEW,),
    S.NEEDS_DATA: (S.IN_REVIEW,),
    S.REFERRED: (),
    S.NOT_REFERRED: (),
}

# Who works the queue: clinic staff and specialists of the patient's site (site checked by the view).
ACTING_ROLES = frozenset({Role.SPECIALIST, Role.STAFF})
# Transitions the system makes by itself (actor None): data entered, review date reached.
SYSTEM_TRANSITIONS = frozenset({(S.NEEDS_DATA, S.IN_REVIEW), (S.DEFERRED, S.IN_REVIEW)})

ACTION_LABELS: dict[str, str] = {
    S.IN_REVIEW: "Start review",
    S.REFERRED: "Record referral sent",
    S.NOT_REFERRED: "Record not referred",
    S.DEFERRED: "Defer",
    S.NEEDS_DATA: "Return for data",
}


class ReferralError(Exception):
    """A referral write refused for a reason a user can act on; ``field`` names the input.

    A conflict (someone else changed the referral since the user loaded it, or
    the version the user saw is missing: ``missing``) has field ``version`` and
    carries the events the user has not seen in ``changes``.
    """

    def __init__(
        self, field: str, message: str, changes: list[ReferralEvent] | None = None, *, missing: bool = False
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.changes = changes or []
        self.missing = missing

    @property
    def is_conflict(self) -> bool:
        return self.field == "version"


def can_act(user: Any) -> bool:
    """Whether the user's role works the queue (no query)."""
    return user is not None and getattr(user, "role", None) in ACTING_ROLES


def allowed_targets(state: str, user: Any) -> tuple[str, ...]:
    """The states this user may move a referral in ``state`` to (for the page's actions)."""
    return TRANSITIONS.get(state, ()) if can_act(user) else ()


def check_transition(*, source: str, target: str, actor: Any) -> None:
    """Refuse a transition the workflow does not allow, or an actor who may not make it."""
    if target not in ReferralState.values:
        raise ReferralError("to_state", "Choose a valid next state.")
    if target not in TRANSITIONS.get(source, ()):
        raise ReferralError(
            "to_state",
            f"A referral that is {ReferralState(source).label.lower()} cannot become {ReferralState(target).label.lower()}.",
        )
    if actor is None:
        if (source, target) not in SYSTEM_TRANSITIONS:
            raise ReferralError("to_state", "Only a person can make this change.")
    elif not can_act(actor):
        raise ReferralError("to_state", "Your role cannot act on referrals.")
