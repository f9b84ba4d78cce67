"""Token authentication: ``Authorization: Bearer <token>``; the request then acts as the token's owner.

Every request looks the token up by its hash (a revoked token, or one whose owner was deactivated, is
refused at once: 401) and stamps ``last_used_at``. Roles are checked per operation (``need``): the same
role sets as the pages (``accounts.access``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer

from accounts.audit import start_acting_via, stop_acting_via
from accounts.models import Role
from api.models import ApiToken, hash_secret

READERS = frozenset({Role.SPECIALIST, Role.STAFF})  # read patients and referrals (accounts.access.readers)
SPECIALISTS = frozenset({Role.SPECIALIST})  # write clinical data (accounts.access.specialists)
REFERRAL_ACTORS = frozenset({Role.SPECIALIST, Role.STAFF})  # work referrals (referrals.workflow.ACTING_ROLES)
VIA_RESET = "_api_via_reset"


class TokenAuth(HttpBearer):
    """A valid token (else 401) whose owner's role is one of ``roles`` (else 403), checked before the request's
    parameters and body are read, as the pages check the role before the form."""

    openapi_description = "An API token (one per integration), made by an administrator; see docs/api.md."

    def __init__(self, roles: frozenset[str]) -> None:
        super().__init__()
        self.roles = roles

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        if not token or len(token) > 200:
            return None
        found = ApiToken.objects.active().select_related("user").filter(secret_hash=hash_secret(token)).first()
        if found is None:
            return None
        now = timezone.now()
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        found.last_used_at = now
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        # audit rows and access-log entries written for this request name the integration
        setattr(request, VIA_RESET, start_acting_via(found.name))
        need(request, self.roles)
        return found


def end_request(request: HttpRequest) -> None:
    """Forget the integration once the request is answered (the thread serves other requests next)."""
    reset = getattr(request, VIA_RESET, None)
    if reset is not None:
        stop_acting_via(reset)
        delattr(request, VIA_RESET)


def need(request: HttpRequest, roles: frozenset[str]) -> Any:
    """The acting user if their role is one of ``roles``; else 403 (before anything is looked up)."""
    user = request.user
    if getattr(user, "role", None) not in roles:
        raise HttpError(403, "Your role cannot do this.")
    return user


READ_AUTH = TokenAuth(READERS)
SPECIALIST_AUTH = TokenAuth(SPECIALISTS)
ACTOR_AUTH = TokenAuth(REFERRAL_ACTORS)
