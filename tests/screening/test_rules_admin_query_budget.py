"""Query budgets of the rules administration pages: the same count with 1 row and with 50 (style.md rule 12)."""

from __future__ import annotations

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from screening import rulesets, testcases
from screening.models import Job, RuleCase, RuleSet
from tests.conftest import client_for
from tests.screening.conftest import AS_OF


def count(client, address: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(address)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def drafts(actor, n: int) -> None:
    published = RuleSet.objects.published()
    for i in range(n):
        rulesets.create_draft(actor=actor, source=published, version=f"x{RuleSet.objects.count()}.{i}", reason="b")


@pytest.mark.django_db
def test_home_is_constant(rules_admin) -> None:
    client = client_for(rules_admin)
    drafts(rules_admin, 1)
    one = count(client, reverse("screening:admin_home"))
    drafts(rules_admin, 49)
    # session, user, the second factor's device, rule sets with their creator, publisher and reviewer
    assert one == count(client, reverse("screening:admin_home")) == 4


@pytest.mark.django_db
def test_rule_set_page_is_constant(rules_admin, draft) -> None:
    client = client_for(rules_admin)
    address = reverse("screening:ruleset_detail", kwargs={"pk": draft.pk})
    one = count(client, address)
    for i in range(49):
        rulesets.set_drug_thresholds(
            rule_set=draft,
            actor=rules_admin,
            drug="tacrolimus",
            values={"min_days": 91 + i, "min_dose": None, "min_dose_per_kg": None},
            reason="b",
        )
        Job.objects.create(kind="impact", rule_set=draft, revision=i, as_of=AS_OF)
    # session, user, the second factor's device, rule set with its users and base version, events with actors, latest jobs
    assert one == count(client, address) == 6


@pytest.mark.django_db
def test_test_case_pages_are_constant(rules_admin) -> None:
    client = client_for(rules_admin)
    case = RuleCase.objects.get(name="older-patient")
    detail = reverse("screening:testcase_detail", kwargs={"pk": case.pk})
    one_list, one_detail = count(client, reverse("screening:testcase_list")), count(client, detail)
    for i in range(50):
        RuleCase.objects.create(name=f"copy-{i}", case=case.case, expected=case.expected)
        testcases.update_expectation(
            test_case=case, actor=rules_admin, reason="b", expected={"hsct": "flagged" if i % 2 == 0 else "not_flagged"}
        )
    # list: session, user, the second factor's device, cases with their creator;
    # detail: session, user, the second factor's device, case, history with users
    assert one_list == count(client, reverse("screening:testcase_list")) == 4
    assert one_detail == count(client, detail) == 5


@pytest.mark.django_db
def test_tests_page_is_constant(rules_admin, draft) -> None:
    client = client_for(rules_admin)
    address = reverse("screening:ruleset_tests", kwargs={"pk": draft.pk})
    one = count(client, address)
    case = RuleCase.objects.get(name="older-patient")
    for i in range(41):
        RuleCase.objects.create(name=f"copy-{i}", case=case.case, expected=case.expected)
    # session, user, the second factor's device, rule set, test cases
    assert one == count(client, address) == 5


@pytest.mark.django_db
def test_job_page_is_constant(rules_admin, draft) -> None:
    client = client_for(rules_admin)
    row = {
        "patient": 1,
        "identifier": "p",
        "site": "Site A",
        "pathway": "hsct",
        "before": "not_flagged",
        "after": "flagged",
        "direction": "newly_flagged",
        "criteria": [{"id": "hsct.age", "before": "not_met", "after": "met"}],
    }
    small = Job.objects.create(
        kind="impact",
        rule_set=draft,
        revision=0,
        as_of=AS_OF,
        status="done",
        result={"rows": [row], "counts": {"hsct": {"newly_flagged": 1}}},
    )
    big = Job.objects.create(
        kind="impact",
        rule_set=draft,
        revision=0,
        as_of=AS_OF,
        status="done",
        result={"rows": [copy.deepcopy(row) for _ in range(50)], "counts": {"hsct": {"newly_flagged": 50}}},
    )
    # session, user, the second factor's device, job with its rule set and creator, which listed patients are of
    # the admin's sites
    assert (
        count(client, reverse("screening:job_detail", kwargs={"pk": small.pk}))
        == count(client, reverse("screening:job_detail", kwargs={"pk": big.pk}))
        == 5
    )


@pytest.mark.django_db
def test_compare_is_constant(rules_admin, draft) -> None:
    client = client_for(rules_admin)
    address = reverse("screening:compare") + "?a=2026.2&b=2026.3"
    one = count(client, address)
    drafts(rules_admin, 49)
    # session, user, the second factor's device, version names, the two versions
    assert one == count(client, address) == 5
