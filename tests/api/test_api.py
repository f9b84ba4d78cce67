"""The API acts like the pages: same checks, audit naming the integration, locking, access log, re-screening."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from api.models import ApiToken, create_token, hash_secret
from clinical import vocab
from patients.models import AccessKind, Observation, PatientAccess
from referrals.models import ReferralEvent
from tests.api.helpers import ApiClient, api_client
from tests.clock import TODAY
from tests.conftest import client_for
from tests.patients.factories import ObservationFactory
from tests.referrals.factories import make_referral

pytestmark = pytest.mark.django_db
DAY = (TODAY - timedelta(days=2)).isoformat()


def test_a_token_is_stored_hashed_and_shown_once(specialist) -> None:
    token, secret = create_token(name="lab-feed", user=specialist)
    assert secret.startswith("cand_") and secret not in token.secret_hash
    assert token.secret_hash == hash_secret(secret) and token.prefix == secret[:11]
    assert ApiToken.objects.get().last_used_at is None
    assert ApiClient(secret).get("/patients").status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_revocation_takes_effect_at_once(specialist) -> None:
    token, secret = create_token(name="lab-feed", user=specialist)
    client = ApiClient(secret)
    assert client.get("/patients").status_code == 200
    token.revoke()
    response = client.get("/patients")
    assert response.status_code == 401 and response.json()["errors"] == []


def test_a_deactivated_owner_or_a_wrong_token_is_refused(specialist) -> None:
    _token, secret = create_token(name="lab-feed", user=specialist)
    assert ApiClient(secret + "x").get("/patients").status_code == 401
    assert ApiClient(None).get("/patients").status_code == 401
    specialist.is_active = False
    specialist.save()
    assert ApiClient(secret).get("/patients").status_code == 401


def test_a_signed_in_session_is_not_an_api_token(specialist) -> None:
    assert client_for(specialist).get("/api/v1/patients").status_code == 401


def test_the_command_creates_lists_and_revokes(specialist) -> None:
    out, err = StringIO(), StringIO()
    call_command("api_token", "create", "--name", "ehr", "--user", specialist.username, stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert ApiClient(secret).get("/patients").status_code == 200
    listing = StringIO()
    call_command("api_token", "list", stdout=listing)
    assert "ehr\tspec_a" in listing.getvalue() and secret not in listing.getvalue()
    call_command("api_token", "revoke", "ehr", stdout=StringIO())
    assert ApiClient(secret).get("/patients").status_code == 401
    with pytest.raises(CommandError, match="--user"):
        call_command("api_token", "create", "--name", "x", "--user", "nobody", stdout=StringIO())
    with pytest.raises(CommandError, match="--name"):
        call_command("api_token", "create", "--name", "ehr", "--user", specialist.username, stdout=StringIO())


def test_admin_shows_the_secret_once_and_revokes(specialist) -> None:
    from accounts.models import User

    admin_client = client_for(User.objects.create_superuser("root", "root@example.org", "pw-for-tests-only"))
    response = admin_client.post("/admin/api/apitoken/add/", {"name": "ehr", "user": specialist.pk}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    secret = next(word for m in shown for word in m.split() if word.startswith("cand_"))
    token = ApiToken.objects.get(name="ehr")
    assert token.created_by is not None and token.secret_hash == hash_secret(secret)
    admin_client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    assert ApiClient(secret).get("/patients").status_code == 401


def test_a_write_is_audited_in_the_integrations_name_and_rescreens(
    specialist, patient, django_capture_on_commit_callbacks
) -> None:
    client = api_client(specialist, name="lab-feed")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/patients/{patient.pk}/observations", {"code": "creatinine", "date": DAY, "value": 88.4, "unit": "µmol/L"}
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["value"] == 1.0 and body["unit"] == "mg/dL"  # converted like the form
    history = Observation.history.get()
    assert history.history_user == specialist
    assert history.history_user_name == "spec_a (via lab-feed)"
    assert history.history_change_reason == "recorded"
    screening = client.get(f"/patients/{patient.pk}/screening").json()
    assert screening["trigger"] == "data"
    access = PatientAccess.objects.filter(what=AccessKind.API).first()
    assert access.user_name == "spec_a (via lab-feed)" and access.path.startswith("/api/v1/")


def test_the_integration_is_named_only_during_its_request(specialist, patient) -> None:
    from accounts.audit import names_of

    api_client(specialist, name="lab-feed").get(f"/patients/{patient.pk}")
    assert names_of(specialist) == ("spec_a", "spec_a")


def test_reads_are_in_the_access_log(staff, patient) -> None:
    client = api_client(staff)
    assert client.get(f"/patients/{patient.pk}").status_code == 200
    assert client.get(f"/patients/{patient.pk}/observations").status_code == 200
    assert PatientAccess.objects.filter(patient=patient, what=AccessKind.API, user=staff).count() == 2
    assert client.get("/patients").status_code == 200  # a list opens no record
    assert PatientAccess.objects.filter(patient=patient).count() == 2


def test_a_stale_version_is_a_conflict_that_says_what_changed(specialist, patient) -> None:
    record = ObservationFactory(patient=patient, code="egfr", value=80)
    client = api_client(specialist)
    path = f"/patients/{patient.pk}/observations/{record.pk}"
    body = {"code": "egfr", "date": record.date.isoformat(), "value": 70, "reason": "typo"}
    first = client.put(path, {**body, "version": record.version})
    assert first.status_code == 200 and first.json()["version"] == record.version + 1
    stale = client.put(path, {**body, "value": 60, "version": record.version})
    assert stale.status_code == 409
    conflict = stale.json()
    assert conflict["errors"][0]["field"] == "version" and conflict["version_now"] == record.version + 1
    assert conflict["changes"][0]["who"] == "spec_a (via test-spec_a)"
    assert Observation.objects.get().value == 70


def test_a_change_needs_a_version_and_a_reason(specialist, patient) -> None:
    record = ObservationFactory(patient=patient, code="egfr", value=80)
    client = api_client(specialist)
    path = f"/patients/{patient.pk}/observations/{record.pk}"
    body = {"code": "egfr", "date": record.date.isoformat(), "value": 70}
    no_version = client.put(path, body)
    assert no_version.status_code == 422 and no_version.json()["errors"][0]["field"] == "version"
    no_reason = client.put(path, {**body, "version": record.version})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    gone = client.delete(path, version=record.version, reason=" ")
    assert gone.status_code == 422 and gone.json()["errors"][0]["field"] == "reason"
    assert client.delete(path, version=record.version, reason="entered twice").status_code == 204
    assert not Observation.objects.exists()


def test_bad_input_names_the_field_and_writes_nothing(specialist, patient) -> None:
    client = api_client(specialist)
    answers = dict.fromkeys(vocab.SLEDAI_ITEMS, "absent")
    cases = [
        ("observations", {"code": "egfr", "date": DAY, "value": 900}, "value"),
        ("observations", {"code": "egfr", "date": "2999-01-01", "value": 60}, "date"),
        ("observations", {"code": "egfr", "date": DAY, "value": 60, "unit": "mg/dL"}, "unit"),
        ("observations", {"code": "egfr", "date": DAY, "value": 60, "add_egfr": True}, "add_egfr"),
        (
            "manifestations",
            {"code": "neuropsychiatric", "date": DAY, "active": True, "biopsy_class": "IV"},
            "biopsy_class",
        ),
        ("treatments", {"drug": "hydroxychloroquine", "start": DAY, "end": "2000-01-01"}, "end"),
        ("treatments", {"drug": "no_such_drug", "start": DAY}, "drug"),
        ("assessments", {"date": DAY, "sledai": {**answers, "fever": "maybe"}}, "sledai.fever"),
        ("damage", {"date": DAY, "items": dict.fromkeys(vocab.SDI_ITEMS, 0) | {"cataract": 2}}, "items.cataract"),
        ("conditions", {"code": "hiv", "status": "absent", "date": DAY, "colour": "red"}, "colour"),
    ]
    for kind, body, field in cases:
        response = client.post(f"/patients/{patient.pk}/{kind}", body)
        assert response.status_code == 422, (kind, body, response.content)
        assert field in {e["field"] for e in response.json()["errors"]}, (kind, response.json())
    assert not Observation.objects.exists()
    nul = client.post(
        f"/patients/{patient.pk}/conditions", {"code": "hiv", "status": "absent", "date": DAY, "reason": "a\x00b"}
    )
    assert nul.status_code == 400 and nul.json()["errors"][0]["field"] == "reason"


def test_referral_workflow(staff, specialist, patient) -> None:
    referral = make_referral(patient)
    client = api_client(staff, name="queue-bot")
    path = f"/referrals/{referral.pk}"
    assert client.get("/referrals").json()["count"] == 1
    moved = client.post(f"{path}/transition", {"to_state": "in_review", "version": referral.version})
    assert moved.status_code == 200 and moved.json()["state"] == "in_review"
    version = moved.json()["version"]
    refused = client.post(f"{path}/transition", {"to_state": "referred", "version": version})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "centre"
    stale = client.post(f"{path}/assign", {"version": version - 1, "assignee": staff.pk})
    assert stale.status_code == 409 and stale.json()["changes"]
    assigned = client.post(f"{path}/assign", {"version": version, "assignee": specialist.pk})
    assert assigned.status_code == 200 and assigned.json()["assigned_to"] == specialist.username
    noted = client.post(f"{path}/notes", {"text": "Called the centre."})
    assert noted.status_code == 201 and noted.json()["events"][-1]["reason"] == "Called the centre."
    event = ReferralEvent.objects.filter(kind="note").get()
    assert event.actor == staff and event.actor_name == "staff_a (via queue-bot)"
    decided = client.post(
        f"{path}/transition",
        {
            "to_state": "referred",
            "version": noted.json()["version"],
            "centre": "Centre A",
            "referred_on": TODAY.isoformat(),
        },
    )
    assert decided.status_code == 200 and decided.json()["state"] == "referred"
    assert client.get("/referrals").json()["count"] == 0
    assert client.get("/referrals", state="all").json()["count"] == 1


def test_the_description_and_its_page_load_nothing_from_elsewhere(client) -> None:
    schema = client.get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.") and "/api/v1/patients" in schema["paths"]
    page = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn" not in page.lower() and "https://" not in page
