"""Access-table rows for screening URLs (joined into tests/test_access.py).

Each row: (url name, method, kwargs spec, expected status per role in the order
anonymous, specialist, specialist of another site, staff, rules admin). A spec
is "" (no kwargs), "patient", or a callable (request, patient) -> kwargs.

Rules administration (/rules/manage/…) is for rules admins only: staff and
specialists get 403, anonymous users the login page.
"""

from __future__ import annotations

import copy
from typing import Any

LOGIN = "login"
ADMIN_ONLY = (LOGIN, 403, 403, 403, 200)
ADMIN_ACTS = (LOGIN, 403, 403, 403, 302)  # a POST action: done, then redirected


def _draft(request: Any) -> Any:
    from screening import rulesets
    from screening.models import RuleSet

    admin = request.getfixturevalue("rules_admin")
    return rulesets.create_draft(actor=admin, source=RuleSet.objects.published(), version="2026.3", reason="access")


def draft(request: Any, patient: Any) -> dict[str, Any]:
    return {"pk": _draft(request).pk}


def published(request: Any, patient: Any) -> dict[str, Any]:
    from screening.models import RuleSet

    return {"pk": RuleSet.objects.published().pk}


def retired(request: Any, patient: Any) -> dict[str, Any]:
    from django.utils import timezone

    from screening.models import RuleSet

    content = copy.deepcopy(RuleSet.objects.published().content)
    content["version"] = "2025.9"
    old = RuleSet.objects.create(
        name=content["name"], version="2025.9", status="retired", content=content, published_at=timezone.now()
    )
    return {"pk": old.pk}


def node(node_id: str) -> Any:
    def spec(request: Any, patient: Any) -> dict[str, Any]:
        return {"pk": _draft(request).pk, "node_id": node_id}

    spec.__name__ = f"node_{node_id}"
    return spec


def switched_off(request: Any, patient: Any) -> dict[str, Any]:
    from screening import rulesets

    rule_set = _draft(request)
    rulesets.switch_node(
        rule_set=rule_set, actor=rule_set.created_by, node_id="msc.antimalarial", on=False, reason="access"
    )
    return {"pk": rule_set.pk, "node_id": "msc.antimalarial"}


def caution(request: Any, patient: Any) -> dict[str, Any]:
    return {"pk": _draft(request).pk, "caution_id": "pregnancy"}


def drug(request: Any, patient: Any) -> dict[str, Any]:
    return {"pk": _draft(request).pk, "drug": "azathioprine"}


def job(request: Any, patient: Any) -> dict[str, Any]:
    from datetime import date

    from screening.models import Job

    rule_set = _draft(request)
    return {"pk": Job.objects.create(kind="impact", rule_set=rule_set, revision=0, as_of=date(2026, 11, 1)).pk}


def test_case(request: Any, patient: Any) -> dict[str, Any]:
    from screening.models import RuleCase

    return {"pk": RuleCase.objects.get(name="older-patient").pk}


ACCESS_ROWS: list[tuple[str, str, Any, tuple[Any, ...]]] = [
    ("screening:admin_home", "GET", "", ADMIN_ONLY),
    ("screening:ruleset_import", "GET", "", ADMIN_ONLY),
    ("screening:compare", "GET", "", ADMIN_ONLY),
    ("screening:ruleset_detail", "GET", published, ADMIN_ONLY),
    ("screening:draft_create", "GET", published, ADMIN_ONLY),
    ("screening:ruleset_export", "GET", published, ADMIN_ONLY),
    ("screening:ruleset_tests", "GET", draft, ADMIN_ONLY),
    ("screening:impact_start", "POST", draft, ADMIN_ACTS),
    ("screening:sign_off", "GET", draft, ADMIN_ONLY),
    ("screening:publish", "GET", draft, ADMIN_ONLY),
    ("screening:rollback", "GET", retired, ADMIN_ONLY),
    ("screening:node_edit", "GET", node("hsct.age"), ADMIN_ONLY),
    ("screening:node_add", "GET", node("hsct.severe_activity"), ADMIN_ONLY),
    ("screening:group_op", "GET", node("hsct.refractory"), ADMIN_ONLY),
    ("screening:node_off", "GET", node("hsct.age"), ADMIN_ONLY),
    ("screening:node_on", "GET", switched_off, ADMIN_ONLY),
    ("screening:caution_edit", "GET", caution, ADMIN_ONLY),
    ("screening:drug_edit", "GET", drug, ADMIN_ONLY),
    ("screening:job_detail", "GET", job, ADMIN_ONLY),
    ("screening:testcase_list", "GET", "", ADMIN_ONLY),
    ("screening:testcase_add", "GET", "", ADMIN_ONLY),
    ("screening:testcase_detail", "GET", test_case, ADMIN_ONLY),
    ("screening:testcase_expect", "GET", test_case, ADMIN_ONLY),
]
