"""Navigation entries by role, computed once per request without queries."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from accounts.models import Role

# (label, url name, roles that see it); entries whose URL does not exist yet are left out.
NAV = (
    ("Patients", "patients:list", {Role.SPECIALIST, Role.STAFF}),
    ("Referral queue", "referrals:queue", {Role.SPECIALIST, Role.STAFF}),
    ("Dashboard", "referrals:dashboard", {Role.SPECIALIST, Role.STAFF, Role.RULES_ADMIN}),
    ("Import case files", "patients:import", {Role.SPECIALIST}),
    ("Manage rules", "screening:admin_home", {Role.RULES_ADMIN}),
    ("Screening rules", "screening:rules", {Role.SPECIALIST, Role.STAFF, Role.RULES_ADMIN}),
)


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name, roles in NAV:
        if user.role in roles:
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            items.append((label, url, request.path.startswith(url)))
    return {"nav_items": items}
