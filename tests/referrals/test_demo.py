"""Demo referrals: something in several states, made through the services; safe to run twice."""

from __future__ import annotations

import pytest

from accounts.models import Role, Site
from clinic.demo import seed_demo_referrals
from clinical.casefile import validate_case
from patients.casefiles import import_cases
from patients.demo import demo_cases
from referrals.models import Referral, ReferralState
from screening.catalogue import drug_units
from tests.clock import TODAY
from tests.conftest import make_user

S = ReferralState


@pytest.mark.django_db
def test_seed_demo_referrals() -> None:
    site = Site.objects.create(code="demo", name="Demo")
    make_user("d_staff", Role.STAFF, site)
    make_user("d_spec", Role.SPECIALIST, site)
    import_cases(
        actor=None, site=site, cases=[validate_case(c, drugs=drug_units(), today=TODAY) for c in demo_cases(TODAY)]
    )
    assert seed_demo_referrals(site, today=TODAY) == 5
    states = set(Referral.objects.values_list("state", flat=True))
    assert {S.NEW, S.IN_REVIEW, S.DEFERRED, S.REFERRED, S.NOT_REFERRED, S.NEEDS_DATA} <= states
    assert seed_demo_referrals(site, today=TODAY) == 0
