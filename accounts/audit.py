"""Who acted, named as they were when they acted.

Every audit row keeps, besides the link to the user, the user's display name
and username *at the time of acting*: renaming or deactivating a user later
does not rewrite the past. Two abstract bases fill them on insert:

- ``NamedHistory``, the base of every django-simple-history model
  (``audit_history()`` builds ``HistoricalRecords`` with it):
  ``history_user_name`` and ``history_username`` beside ``history_user``;
- ``NamedActor``, the base of the event and result tables that have an
  ``actor`` foreign key: ``actor_name`` and ``actor_username`` beside it.

Both are filled from the user object the row is created with, so they cost no
query. Pages show the stored name, never the user's current one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords

# first_name and last_name are 150 characters each, joined by a space
NAME_LENGTH = 301
SYSTEM = "Candidacy (automatic)"


# The integration a request acts through (an API token's name), named beside the user in every audit row.
_acting_via: ContextVar[str] = ContextVar("candidacy_acting_via", default="")


def start_acting_via(integration: str) -> Token[str]:
    """From now on in this context, the acting user is named "Their Name (via <integration>)" in audit rows
    and the access log; ``stop_acting_via`` with the returned token ends it."""
    return _acting_via.set(integration)


def stop_acting_via(token: Token[str]) -> None:
    _acting_via.reset(token)


@contextmanager
def acting_via(integration: str) -> Iterator[None]:
    token = start_acting_via(integration)
    try:
        yield
    finally:
        stop_acting_via(token)


def names_of(user: Any) -> tuple[str, str]:
    """(display name, username) of a user, or two blanks for none (the system acted); inside ``acting_via``,
    the name says which integration acted for the user."""
    if user is None:
        return "", ""
    name = user.get_full_name() or user.get_username()
    via = _acting_via.get()
    if via:
        name = f"{name} (via {via})"[:NAME_LENGTH]
    return name, user.get_username()


class NamedHistory(models.Model):
    """Base of the history models: the acting user's name and username as they were."""

    history_user_name = models.CharField(
        max_length=NAME_LENGTH, blank=True, help_text="The acting user's name when they acted (blank: the system)."
    )
    history_username = models.CharField(max_length=150, blank=True)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and not self.history_user_name and self.history_user_id is not None:  # type: ignore[attr-defined]
            self.history_user_name, self.history_username = names_of(self.history_user)  # type: ignore[attr-defined]
        super().save(*args, **kwargs)

    def actor_display(self, system: str = SYSTEM) -> str:
        """Who made this version, as they were named then."""
        if self.history_user_id is None:  # type: ignore[attr-defined]
            return system
        return self.history_user_name or self.history_username or f"user #{self.history_user_id}"  # type: ignore[attr-defined]


def audit_history(**kwargs: Any) -> HistoricalRecords:
    """``HistoricalRecords`` whose rows keep the acting user's name (``NamedHistory``)."""
    return HistoricalRecords(bases=[NamedHistory], **kwargs)


class NamedActor(models.Model):
    """Base of rows with an ``actor`` foreign key: the actor's name and username as they were."""

    actor_name = models.CharField(
        max_length=NAME_LENGTH, blank=True, help_text="The actor's name when they acted (blank: the system)."
    )
    actor_username = models.CharField(max_length=150, blank=True)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and not self.actor_name and self.actor_id is not None:  # type: ignore[attr-defined]
            self.actor_name, self.actor_username = names_of(self.actor)  # type: ignore[attr-defined]
        super().save(*args, **kwargs)

    @property
    def who(self) -> str:
        """Who acted, as they were named then; the system when nobody did."""
        if self.actor_id is None:  # type: ignore[attr-defined]
            return SYSTEM
        return self.actor_name or self.actor_username or f"user #{self.actor_id}"  # type: ignore[attr-defined]
