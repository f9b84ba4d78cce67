"""Screening pages: the rules in plain language."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from screening.describe import describe_rule_set, source_keys
from screening.models import RuleSet

SOURCES = Path(__file__).resolve().parent / "data" / "sources.json"


@lru_cache(maxsize=1)
def citations() -> dict[str, str]:
    return json.loads(SOURCES.read_text(encoding="utf-8"))


def rules(request: HttpRequest) -> HttpResponse:
    """A rule set rendered in plain language (the published one unless ?version= names another)."""
    version = request.GET.get("version")
    if version:
        # drafts are for rules admins only; other roles see published and retired versions
        qs = RuleSet.objects.all() if request.user.is_rules_admin else RuleSet.objects.exclude(status="draft")  # type: ignore[union-attr]
        rule_set = get_object_or_404(qs, version=version)
    else:
        rule_set = RuleSet.objects.published()
    content = rule_set.content
    keys = source_keys(content)
    return render(
        request,
        "screening/rules.html",
        {
            "rule_set": rule_set,
            "described": describe_rule_set(content),
            "sources": [(k, citations().get(k, "not in the source list")) for k in keys],
        },
    )
