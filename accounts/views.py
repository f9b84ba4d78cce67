"""Home: send each role to where its work is."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import Role


def home(request: HttpRequest) -> HttpResponse:
    if request.user.role == Role.RULES_ADMIN:  # type: ignore[union-attr]
        return redirect("screening:rules")
    if request.user.role == Role.PRIVACY_OFFICER:  # type: ignore[union-attr]
        return redirect("privacy:patients")
    return redirect("patients:list")
