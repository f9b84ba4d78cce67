"""Every API list answers in the same number of queries for 1 row and for 50."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from referrals.models import ReferralState as S
from tests.api.helpers import api_client
from tests.patients.factories import (
    AssessmentFactory,
    ConditionFactory,
    DamageFactory,
    ManifestationFactory,
    ObservationFactory,
    PatientFactory,
    TreatmentFactory,
)
from tests.referrals.factories import make_referral, stored_result

pytestmark = pytest.mark.django_db

FACTORIES = {
    "assessments": AssessmentFactory,
    "damage": DamageFactory,
    "manifestations": ManifestationFactory,
    "observations": ObservationFactory,
    "treatments": TreatmentFactory,
    "conditions": ConditionFactory,
}


def count(client, path: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, limit=50) if not path.endswith(tuple(FACTORIES)) else client.get(path)
        assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["items"] if isinstance(body, dict) else body) == rows
    return len(ctx.captured_queries)


def test_patient_list(specialist, site_a) -> None:
    client = api_client(specialist)
    stored_result(PatientFactory(site=site_a), {"hsct": "flagged"})
    one = count(client, "/patients", 1)
    for _ in range(49):
        stored_result(PatientFactory(site=site_a), {"hsct": "not_flagged"})
    # token, its last use, the page, the count
    assert one == count(client, "/patients", 50) <= 5


def test_referral_list(staff, site_a) -> None:
    client = api_client(staff)
    make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW)
    one = count(client, "/referrals", 1)
    for i in range(49):
        referral = make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW if i % 2 else S.NEW)
        if i % 3 == 0 and i % 2:
            from referrals.services import assign_referral

            assign_referral(referral=referral, actor=staff, seen_version=referral.version, assignee=staff)
    assert one == count(client, "/referrals", 50) <= 5


def test_screening_results(specialist, patient) -> None:
    client = api_client(specialist)
    stored_result(patient, {"hsct": "flagged"})
    path = f"/patients/{patient.pk}/screening-results"
    one = count(client, path, 1)
    for i in range(49):
        stored_result(patient, {"hsct": "flagged" if i % 2 else "not_flagged"})
    # + the patient, its access-log row
    assert one == count(client, path, 50) <= 7


@pytest.mark.parametrize("kind", list(FACTORIES))
def test_record_lists(specialist, patient, kind) -> None:
    client = api_client(specialist)
    FACTORIES[kind](patient=patient)
    path = f"/patients/{patient.pk}/{kind}"
    one = count(client, path, 1)
    for _ in range(49):
        FACTORIES[kind](patient=patient)
    assert one == count(client, path, 50) <= 5
