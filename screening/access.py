"""Finding rules-administration objects (rules are not per site: every rules admin sees them all)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from screening.models import Job, RuleCase, RuleSet, RuleSetStatus


def get_rule_set(pk: int, *, draft: bool = False) -> RuleSet:
    """A rule set by pk; with ``draft``, only a draft (a published or retired version is never edited)."""
    rule_set = get_object_or_404(
        RuleSet.objects.select_related("created_by", "published_by", "reviewed_by", "based_on"), pk=pk
    )
    if draft and rule_set.status != RuleSetStatus.DRAFT:
        raise Http404("Only a draft can be changed")
    return rule_set


def get_job(pk: int) -> Job:
    return get_object_or_404(Job.objects.select_related("rule_set", "created_by"), pk=pk)


def get_test_case(pk: int) -> RuleCase:
    return get_object_or_404(RuleCase.objects.select_related("created_by"), pk=pk)
