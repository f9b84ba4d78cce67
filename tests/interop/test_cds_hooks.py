"""CDS Hooks: discovery, a patient-view call answered from a recorded request (the public case
refractory-nephritis as a record system would prefetch it), feedback, and refused requests."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from interop.models import CdsCard, CdsClient, CdsFeedback
from patients.models import Patient
from tests.conftest import client_for

RECORDED = Path(__file__).parent / "data" / "patient-view-refractory-nephritis.json"
ISSUER = "https://ehr.example.org"
SERVICE = "http://testserver/cds-services/candidacy-screening"
FORBIDDEN = re.compile(r"eligib|approved|candidate\b|qualif", re.IGNORECASE)


def _key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = _key()
OTHER_KEY = _key()


def _jwks(key: Any, kid: str = "k1") -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": kid, "alg": "RS384", "use": "sig"}]}


def _token(key: Any = KEY, *, aud: str = SERVICE, iss: str = ISSUER, jti: str | None = None, **extra: Any) -> str:
    now = int(time.time())
    claims = {"iss": iss, "sub": "client-1", "aud": aud, "exp": now + 300, "iat": now, "jti": jti or str(uuid.uuid4())}
    return jwt.encode({**claims, **extra}, key, algorithm="RS384", headers={"kid": "k1", "jku": f"{ISSUER}/jwks"})


@pytest.fixture
def cds_client(db, site_a) -> CdsClient:
    client = CdsClient.objects.create(name="Hospital EHR", issuer=ISSUER, jwks=_jwks(KEY))
    client.sites.add(site_a)
    return client


def _call(body: Any, token: str | None, url: str = SERVICE) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().post(
        url.removeprefix("http://testserver"), json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.django_db
def test_discovery_lists_the_patient_view_service_with_its_prefetch() -> None:
    response = Client().get(reverse("cds:discovery"))
    assert response.status_code == 200
    (service,) = response.json()["services"]
    assert service["hook"] == "patient-view" and service["id"] == "candidacy-screening"
    assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert {"conditions", "observations", "medicationStatements", "medicationRequests", "procedures"} <= set(
        service["prefetch"]
    )


@pytest.mark.django_db
def test_patient_view_answers_the_recorded_request_with_the_screening_cards(cases_day, cds_client, site_a) -> None:
    known = Patient.objects.create(site=site_a, identifier="refractory-nephritis")
    before = Patient.objects.count()
    response = _call(json.loads(RECORDED.read_text()), _token())
    assert response.status_code == 200, response.content
    cards = response.json()["cards"]
    assert [c["summary"] for c in cards] == [
        "HSCT: flagged for an evaluation referral",
        "MSC: flagged for an evaluation referral",
    ]
    for card in cards:
        assert card["indicator"] == "info"  # no contraindication present in this case
        assert "Default rules version 2026" in card["source"]["label"]
        assert card["links"] == [
            {
                "label": "Open the patient in Candidacy",
                "url": f"http://testserver/patients/{known.pk}/",
                "type": "absolute",
            }
        ]
        assert not FORBIDDEN.search(json.dumps(card))
        assert "people decide" in card["detail"]
    assert "Recent biologic" in cards[1]["detail"]  # the caution present is carried
    # nothing of the record is stored: no patient, only the cards' rule version and pathway
    assert Patient.objects.count() == before
    assert set(CdsCard.objects.values_list("pathway", flat=True)) == {"hsct", "msc"}


@pytest.mark.django_db
def test_a_patient_of_a_site_the_client_may_not_see_gets_no_link(cases_day, cds_client, site_b) -> None:
    Patient.objects.create(site=site_b, identifier="refractory-nephritis")
    cards = _call(json.loads(RECORDED.read_text()), _token()).json()["cards"]
    assert cards and all("links" not in c for c in cards)


@pytest.mark.django_db
def test_data_missing_is_a_card_with_the_missing_data(cases_day, cds_client) -> None:
    body = json.loads(RECORDED.read_text())
    body["prefetch"]["observations"]["entry"] = []  # no labs, no assessments
    cards = _call(body, _token()).json()["cards"]
    assert cards and all(c["summary"].endswith("data missing to screen for an evaluation referral") for c in cards)
    assert all("**Data missing**" in c["detail"] for c in cards)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    [
        None,  # unsigned: no token
        "not-a-jwt",
        "foreign",  # signed by a key the client did not register
        "unknown-issuer",
        "wrong-audience",
        "expired",
        "alg-none",
    ],
)
def test_unsigned_or_foreign_signed_requests_are_refused(cds_client, token) -> None:
    tokens = {
        "foreign": lambda: _token(OTHER_KEY),
        "unknown-issuer": lambda: _token(iss="https://intruder.example"),
        "wrong-audience": lambda: _token(aud="https://elsewhere.example/cds-services/candidacy-screening"),
        "expired": lambda: _token(exp=int(time.time()) - 60),
        "alg-none": lambda: jwt.encode(
            {"iss": ISSUER, "aud": SERVICE, "exp": int(time.time()) + 60, "iat": 1, "jti": "x"}, None, algorithm="none"
        ),
    }
    value = tokens[token]() if token in tokens else token
    response = _call(json.loads(RECORDED.read_text()), value)
    assert response.status_code == 401, response.content
    assert not CdsCard.objects.exists()


@pytest.mark.django_db
def test_a_token_is_accepted_once(cases_day, cds_client) -> None:
    token = _token(jti="once")
    assert _call(json.loads(RECORDED.read_text()), token).status_code == 200
    assert _call(json.loads(RECORDED.read_text()), token).status_code == 401


@pytest.mark.django_db
def test_feedback_is_stored_and_counted_per_rule_version_on_the_dashboard(cases_day, cds_client, site_a, staff) -> None:
    Patient.objects.create(site=site_a, identifier="refractory-nephritis")
    cards = _call(json.loads(RECORDED.read_text()), _token()).json()["cards"]
    url = SERVICE + "/feedback"
    body = {
        "feedback": [
            {"card": cards[0]["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-01T10:00:00Z"},
            {
                "card": cards[1]["uuid"],
                "outcome": "overridden",
                "overrideReasons": [{"reason": {"code": "x", "display": "Already under evaluation"}}],
                "outcomeTimestamp": "2026-11-01T10:01:00Z",
            },
        ]
    }
    assert _call(body, _token(aud=url), url).status_code == 200
    assert sorted(CdsFeedback.objects.values_list("outcome", "reason")) == [
        ("accepted", ""),
        ("overridden", "Already under evaluation"),
    ]
    page = client_for(staff).get(reverse("referrals:dashboard")).content.decode()
    assert "Cards accepted (CDS Hooks)" in page and "Cards overridden (CDS Hooks)" in page
    bad = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-11-01T10:00:00Z"}]}
    assert _call(bad, _token(aud=url), url).status_code == 400
    assert _call(body, None, url).status_code == 401
