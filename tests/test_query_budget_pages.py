"""Query budgets of the pages not covered beside their apps: the readable rules and the dashboard."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referrals.models import ReferralState as S
from tests.conftest import client_for
from tests.patients.factories import PatientFactory
from tests.referrals.factories import make_referral, move
from tests.screening.test_rules_admin_query_budget import drafts


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_rules_page_is_constant(spec_client, rules_admin) -> None:
    url = reverse("screening:rules")
    one = count(spec_client, url)
    drafts(rules_admin, 50)
    # session, user, the published rule set (its publisher joined)
    assert one == count(spec_client, url) <= 4


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["staff", "rules_admin"])
def test_dashboard_is_constant(request, site_a, staff, role) -> None:
    client = client_for(request.getfixturevalue(role))
    url = reverse("referrals:dashboard")
    first = make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW)
    move(first, staff, S.REFERRED, centre="Centre A")
    one = count(client, url)
    for i in range(49):
        referral = make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW if i % 2 else S.NEW)
        if i % 3 == 0 and i % 2:
            move(referral, staff, S.REFERRED, centre="Centre B")
    assert one == count(client, url)
