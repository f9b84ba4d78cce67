"""Access-table rows for the FHIR and CDS Hooks URLs (joined into tests/test_access.py).

The CDS Hooks endpoints answer record systems, not people: discovery is open to all, and the
service and its feedback refuse every request without the client's signed JWT (401), signed in or not.
"""

from __future__ import annotations

from typing import Any

LOGIN = "login"


def service(request: Any, patient: Any) -> dict[str, Any]:
    return {"service_id": "candidacy-screening"}


ACCESS_ROWS: list[tuple[str, str, Any, tuple[Any, ...]]] = [
    ("interop:import", "GET", "", (LOGIN, 200, 200, 403, 403)),
    ("interop:patient_bundle", "GET", "patient", (LOGIN, 200, 404, 200, 403)),
    ("cds:discovery", "GET", "", (200, 200, 200, 200, 200)),
    ("cds:service", "POST", service, (401, 401, 401, 401, 401)),
    ("cds:feedback", "POST", service, (401, 401, 401, 401, 401)),
]
