"""schemathesis against the API's own OpenAPI description, in process (WSGI), as a specialist with a token.

Every operation gets ``EXAMPLES`` positive and ``EXAMPLES`` negative cases (derandomized: the same
cases every run), half of them aimed at the seeded patient, records and referral so that reads and
writes reach the services, not only the 404. Checks: no server error, the status code and content type
are documented, the body matches the documented schema, and every write refused as bad input (400,
422) names a field of the request in ``errors``. The figures are printed (``-s`` shows them).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import create_token
from tests.patients.factories import (
    AssessmentFactory,
    ConditionFactory,
    DamageFactory,
    ManifestationFactory,
    ObservationFactory,
    TreatmentFactory,
)
from tests.referrals.factories import import_case, make_referral, screen

EXAMPLES = 6  # per operation and generation mode
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _request_fields(case: Any) -> set[str]:
    """The names a refusal may point at: the documented body properties and parameters, the keys sent,
    and "body" itself (nested fields count by their first part)."""
    names = {"body", "request"}
    if isinstance(case.body, dict):
        names |= {str(key) for key in case.body}  # an unexpected key is named as sent
    names |= set((case.path_parameters or {}).keys()) | set((case.query or {}).keys())
    operation = case.operation
    for param in operation.definition.raw.get("parameters", []):
        names.add(param.get("name"))
    body = operation.definition.raw.get("requestBody", {})
    ref = body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    if ref:
        schema = operation.schema.raw_schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        names |= set(schema.get("properties", {}))
    return names


def names_the_field(ctx: Any, response: Any, case: Any) -> bool | None:
    """A write refused for bad input says which field is wrong."""
    if case.method.upper() not in WRITES or response.status_code not in (400, 422):
        return None
    errors = response.json().get("errors") or []
    assert errors, f"{case.method} {case.formatted_path} refused ({response.status_code}) without naming a field"
    allowed = _request_fields(case)
    for error in errors:
        root = str(error.get("field", "")).split(".")[0]
        assert root in allowed, f"refusal names {error.get('field')!r}, not a field of the request ({sorted(allowed)})"
    return True


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_app() -> Any:
    """The project's WSGI application, without closing the database connection after each request (it
    holds the test's transaction; Django's test client disconnects the same handlers)."""
    from django.core import signals
    from django.db import close_old_connections

    from config.wsgi import application

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_api_matches_its_description(specialist, site_a, staff, wsgi_app) -> None:
    # seeded: a shared case screened (a referral on its flag), and a patient with one record of every kind
    flagged = import_case(site_a, "refractory-nephritis")
    screen(flagged)
    referral = make_referral(flagged, staff, pathway="msc")
    other = AssessmentFactory().patient
    other.site = site_a
    other.save()
    records = {
        "assessments": AssessmentFactory(patient=other).pk,
        "damage": DamageFactory(patient=other).pk,
        "manifestations": ManifestationFactory(patient=other).pk,
        "observations": ObservationFactory(patient=other).pk,
        "treatments": TreatmentFactory(patient=other).pk,
        "conditions": ConditionFactory(patient=other).pk,
    }
    _token, secret = create_token(name="schemathesis", user=specialist)
    auth = {"Authorization": f"Bearer {secret}"}

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    figures = {"operations": len(operations), "cases": 0, "failures": []}

    def aim(case: Any) -> None:
        """Point the case's ids at seeded rows."""
        path = case.path_parameters or {}
        if "pk" in path:
            path["pk"] = referral.pk if "/referrals/" in case.operation.path else other.pk
        if "rid" in path:
            kind = case.operation.path.split("/")[4]
            path["rid"] = records.get(kind, flagged.screening_results.first().pk)
            if kind.startswith("screening"):
                path["pk"] = flagged.pk

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode), aimed=st.booleans())
            def run(case: Any, aimed: bool) -> None:
                if aimed:
                    aim(case)
                response = case.call(headers=auth)
                figures["cases"] += 1
                try:
                    case.validate_response(response, checks=CHECKS, additional_checks=[names_the_field], headers=auth)
                except (
                    Exception,
                    BaseExceptionGroup,
                ) as err:  # collected, so that every operation runs and the figures are whole
                    figures["failures"].append(f"{case.method} {case.formatted_path} ({mode.value}): {err}")  # noqa: B023 (run now)

            run()
    print(
        f"\nschemathesis: {figures['operations']} operations, {figures['cases']} cases, "
        f"{len(figures['failures'])} failures"
    )
    assert not figures["failures"], "\n\n".join(figures["failures"][:10])
