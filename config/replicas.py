"""Reading some pages from a PostgreSQL read replica (off unless ``DATABASE_REPLICA_URL`` is set).

With a replica configured, settings add the ``replica`` database alias, this router and the middleware.
The pages named in ``REPLICA_PAGES`` (by default the dashboard: aggregates that are already up to a
minute old, ``referrals.summary``) read the clinical and referral tables from the replica; everything
else, every write, and sessions and users on every page, stay on the primary, so people always see
their own changes on the pages they act on (the queue, patient and referral pages), however far the
replica lags. docs/scaling.md says which pages may move to the replica and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
# the apps whose tables a replica page reads there (sessions, users and sites stay on the primary)
REPLICA_APPS = frozenset({"patients", "referrals", "screening"})
_reading: ContextVar[bool] = ContextVar("candidacy_replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Within this block, reads of the clinical and referral tables go to the replica (if one is set)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    """Reads to the replica inside ``replica_reads``; writes, migrations and everything else to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _reading.get() and REPLICA in settings.DATABASES and model._meta.app_label in REPLICA_APPS:
            return REPLICA
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None  # the primary ("default")

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None


class ReplicaPagesMiddleware:
    """Serve the views named in ``REPLICA_PAGES`` (URL names) inside ``replica_reads``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            token = getattr(request, "_replica_token", None)
            if token is not None:
                _reading.reset(token)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        match = request.resolver_match
        if match is not None and match.view_name in settings.REPLICA_PAGES:
            request._replica_token = _reading.set(True)  # type: ignore[attr-defined]
