"""Navigation entries by role, computed once per request without queries."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from accounts.models import Role
from accounts.security import owes_second_factor

# (label, url name, roles that see it); entries whose URL does not exist yet are left out.
NAV = (
    ("Patients", "patients:list", {Role.SPECIALIST, Role.STAFF}),
    ("Referral queue", "referrals:queue", {Role.SPECIALIST, Role.STAFF}),
    ("Dashboard", "referrals:dashboard", {Role.SPECIALIST, Role.STAFF, Role.RULES_ADMIN}),
    ("Import case files", "patients:import", {Role.SPECIALIST}),
    ("Manage rules", "screening:admin_home", {Role.RULES_ADMIN}),
    ("Screening rules", "screening:rules", {Role.SPECIALIST, Role.STAFF, Role.RULES_ADMIN}),
    ("Access log", "privacy:patients", {Role.PRIVACY_OFFICER}),
)


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    if owes_second_factor(request):
        # until the second factor is given only the two-factor pages open: no links to the others
        return {"nav_items": [], "two_factor_pending": True}
    links = []
    for label, name, roles in NAV:
        if user.role in roles:
            try:
                links.append((label, reverse(name)))
            except NoReverseMatch:
                continue
    # the current entry is the longest URL the path starts with (/rules/manage/ is not /rules/)
    matches = [url for _, url in links if request.path.startswith(url)]
    current = max(matches, key=len, default=None)
    return {"nav_items": [(label, url, url == current) for label, url in links]}
