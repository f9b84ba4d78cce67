"""Navigation entries by role, computed once per request without queries."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from accounts.models import Role


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items: list[tuple[str, str]] = []
    if user.role in (Role.SPECIALIST, Role.STAFF):
        items.append(("Patients", reverse("patients:list")))
    if user.role == Role.SPECIALIST:
        items.append(("Import case files", reverse("patients:import")))
    items.append(("Screening rules", reverse("screening:rules")))
    path = request.path
    return {"nav_items": [(label, url, path.startswith(url)) for label, url in items]}
