"""Screening pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from screening.models import RuleSet


def rules(request: HttpRequest) -> HttpResponse:
    """The published rule set, readable by every signed-in user."""
    rule_set = RuleSet.objects.published()
    return render(request, "screening/rules.html", {"rule_set": rule_set})
