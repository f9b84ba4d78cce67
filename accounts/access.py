"""Access rules: one decorator per role set, one helper per object type.

Another site's object is a 404 (its existence is not revealed); your site but
not your role is a 403; anonymous users are sent to the login page by
LoginRequiredMiddleware before any of this runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.models import Role

View = Callable[..., HttpResponse]


def role_required(*roles: str) -> Callable[[View], View]:
    """Refuse (403) users whose role is not one of ``roles``."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.role not in roles:  # type: ignore[union-attr]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


readers = role_required(Role.SPECIALIST, Role.STAFF)
specialists = role_required(Role.SPECIALIST)
rules_admins = role_required(Role.RULES_ADMIN)
privacy_officers = role_required(Role.PRIVACY_OFFICER)
