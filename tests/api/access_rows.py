"""The API's access table (joined into tests/test_access.py's check that every URL is listed).

Each row: (url name in the ``api`` namespace, method, spec, expected status per role in ROLES order).
The spec, ``(request, patient) -> (path kwargs, body or query)``, sends a valid request, so that a
refusal is the access rule's and a success is a success: another site's patient or referral is 404,
a role that may not is 403 (checked before the body is read), no token 401.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from clinical import vocab
from tests.clock import TODAY

ROLES = (
    "anonymous",
    "specialist",
    "specialist_other_site",
    "staff",
    "rules_admin",
    "privacy_officer",
    "privacy_officer_other_site",
)
DAY = (TODAY - timedelta(days=3)).isoformat()

LIST = (401, 200, 200, 200, 403, 403, 403)
READ = (401, 200, 404, 200, 403, 403, 403)
PUBLIC = (200, 200, 200, 200, 200, 200, 200)


def write(ok: int) -> tuple[int, ...]:
    return (401, ok, 404, 403, 403, 403, 403)


def act(ok: int) -> tuple[int, ...]:
    return (401, ok, 404, ok, 403, 403, 403)


BODIES: dict[str, dict[str, Any]] = {
    "assessments": {"date": DAY, "sledai": dict.fromkeys(vocab.SLEDAI_ITEMS, "absent")},
    "damage": {"date": DAY, "items": dict.fromkeys(vocab.SDI_ITEMS, 0)},
    "manifestations": {"code": "neuropsychiatric", "date": DAY, "active": True},
    "observations": {"code": "egfr", "date": DAY, "value": 75},
    "treatments": {"drug": "hydroxychloroquine", "start": DAY, "dose": 400},
    "conditions": {"code": "hiv", "status": "absent", "date": DAY},
}
SINGULAR = {
    "assessments": "assessment",
    "damage": "damage_index",
    "manifestations": "manifestation",
    "observations": "observation",
    "treatments": "treatment",
    "conditions": "condition",
}


def _record(kind: str, patient: Any) -> Any:
    from tests.test_access import RECORD_FACTORIES

    return RECORD_FACTORIES[kind](patient=patient)


def none(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    return {}, None


def of_patient(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    return {"pk": patient.pk}, None


def new_patient(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    return {}, {"site": patient.site.code, "identifier": "NEW-1"}


def patient_update(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    return {"pk": patient.pk}, {"identifier": patient.identifier, "version": patient.version, "reason": "check"}


def diagnosis(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    return {"pk": patient.pk}, {
        "sle_attested": True,
        "criteria_assessed": False,
        "version": patient.version,
        "reason": "attested",
    }


def screened(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    from tests.referrals.factories import screen

    return {"pk": patient.pk, "rid": screen(patient).pk}, None


def screened_patient(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    from tests.referrals.factories import screen

    screen(patient)
    return {"pk": patient.pk}, None


def add(kind: str) -> Any:
    return lambda request, patient: ({"pk": patient.pk}, BODIES[kind])


def one(kind: str) -> Any:
    return lambda request, patient: ({"pk": patient.pk, "rid": _record(kind, patient).pk}, None)


def change(kind: str) -> Any:
    def spec(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
        record = _record(kind, patient)
        return {"pk": patient.pk, "rid": record.pk}, {**BODIES[kind], "version": record.version, "reason": "fix"}

    return spec


def remove(kind: str) -> Any:
    def spec(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
        record = _record(kind, patient)
        return {"pk": patient.pk, "rid": record.pk}, {"version": record.version, "reason": "entered twice"}

    return spec


def referral(request: Any, patient: Any) -> Any:
    from tests.referrals.factories import make_referral

    return make_referral(patient)


def of_referral(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    return {"pk": referral(request, patient).pk}, None


def transition(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    r = referral(request, patient)
    return {"pk": r.pk}, {"to_state": "in_review", "version": r.version}


def assign(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    r = referral(request, patient)
    return {"pk": r.pk}, {"version": r.version, "assignee": request.getfixturevalue("staff").pk}


def note(request: Any, patient: Any) -> tuple[dict[str, Any], Any]:
    return {"pk": referral(request, patient).pk}, {"text": "Called the patient."}


API_ROWS: list[tuple[str, str, Any, tuple[int, ...]]] = [
    ("openapi-json", "GET", none, PUBLIC),
    ("openapi-view", "GET", none, PUBLIC),
    ("api-root", "GET", none, (404,) * 7),
    ("patients", "GET", none, LIST),
    ("patients", "POST", new_patient, (401, 201, 422, 403, 403, 403, 403)),
    ("patient", "GET", of_patient, READ),
    ("patient", "PUT", patient_update, write(200)),
    ("diagnosis", "PUT", diagnosis, write(200)),
    ("screening", "GET", screened_patient, READ),
    ("screening", "POST", of_patient, act(200)),
    ("screening_results", "GET", of_patient, READ),
    ("screening_result", "GET", screened, READ),
    ("referrals", "GET", none, LIST),
    ("referral", "GET", of_referral, READ),
    ("referral_transition", "POST", transition, act(200)),
    ("referral_assign", "POST", assign, act(200)),
    ("referral_notes", "POST", note, act(201)),
]
for _kind in BODIES:
    API_ROWS += [
        (_kind, "GET", of_patient, READ),
        (_kind, "POST", add(_kind), write(201)),
        (SINGULAR[_kind], "GET", one(_kind), READ),
        (SINGULAR[_kind], "PUT", change(_kind), write(200)),
        (SINGULAR[_kind], "DELETE", remove(_kind), write(204)),
    ]
