"""Two rules admins publishing at the same moment (PostgreSQL row locks between two connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from screening import rulesets
from screening.models import Job, RuleSet
from tests.screening.conftest import AS_OF


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks between two connections: PostgreSQL only (CI runs the suite on it)",
)
@pytest.mark.django_db(transaction=True)
def test_two_publishes_at_once_are_serialised(rules_admin, admin_2) -> None:
    from tests.conftest import ensure_published_rules

    original = ensure_published_rules()
    drafts = []
    for version in ("p1", "p2"):
        draft = rulesets.create_draft(actor=rules_admin, source=original, version=version, reason="race")
        Job.objects.create(
            kind="impact",
            rule_set=draft,
            revision=draft.revision,
            as_of=AS_OF,
            status="done",
            result={"changed_patients": 0},
        )
        rulesets.sign_off_rule_set(rule_set=draft, actor=admin_2)
        drafts.append(draft)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def publish(draft: RuleSet) -> None:
        try:
            barrier.wait(timeout=10)
            rulesets.publish_rule_set(
                rule_set=RuleSet.objects.get(pk=draft.pk), actor=admin_2, change_note="race", as_of=AS_OF
            )
            outcomes[draft.version] = "published"
        except Exception as err:  # noqa: BLE001 - the test reports whatever went wrong
            outcomes[draft.version] = f"{type(err).__name__}: {err}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes == {"p1": "published", "p2": "published"}, outcomes
    statuses = dict(RuleSet.objects.values_list("version", "status"))
    assert sorted([statuses["p1"], statuses["p2"]]) == ["published", "retired"]
    assert statuses[original.version] == "retired"
    assert RuleSet.objects.filter(status="published").count() == 1
