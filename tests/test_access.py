"""The access table: every URL, every role (style.md rule 11).

anonymous → login redirect; another site's record → 404; wrong role → 403.
A second test fails when a URL pattern of the project is missing here.

Privacy officers (of the patient's site and of another) are asked every URL too;
they see nothing clinical, so every URL answers them 403 unless PRIVACY_OFFICER
says otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import client_for
from tests.patients.factories import (
    AssessmentFactory,
    ConditionFactory,
    DamageFactory,
    ManifestationFactory,
    ObservationFactory,
    TreatmentFactory,
)

ROLES = ("anonymous", "specialist", "specialist_other_site", "staff", "rules_admin")
RECORD_FACTORIES = {
    "assessments": AssessmentFactory,
    "damage": DamageFactory,
    "manifestations": ManifestationFactory,
    "observations": ObservationFactory,
    "treatments": TreatmentFactory,
    "conditions": ConditionFactory,
}

# Privacy officers: (of the patient's site, of another site) for the URLs that do not answer them 403.
PRIVACY_ROLES = ("privacy_officer", "privacy_officer_other_site")
PRIVACY_OFFICER: dict[str, tuple[Any, Any]] = {
    "home": (302, 302),
    "login": (302, 302),
    "logout": (302, 302),
    "admin:index": (302, 302),
    "screening:rules": (200, 200),
    "privacy:patients": (200, 200),
    "privacy:patient_log": (200, 404),
    "privacy:patient_log_export": (200, 404),
    # their own security pages, like every signed-in user without an authenticator app
    "accounts:security": (200, 200),
    "accounts:password_change": (200, 200),
    "accounts:password_change_done": (200, 200),
    "accounts:two_factor_setup": (200, 200),
    "accounts:two_factor_verify": (302, 302),
    "accounts:recovery_codes": (302, 302),
    "accounts:two_factor_remove": (200, 200),
    # the CDS Hooks endpoints answer record systems by their signed JWT, whoever is signed in
    "cds:discovery": (200, 200),
    "cds:service": (401, 401),
    "cds:feedback": (401, 401),
}

LOGIN = "login"
# Expected status per role, in ROLES order. "login" = redirect to the login page.
PATIENT_READ = (LOGIN, 200, 404, 200, 403)
PATIENT_WRITE = (LOGIN, 200, 404, 403, 403)

TABLE: list[tuple[str, str, str, tuple[Any, ...]]] = [
    # url name, method, kwargs kind, expected per role
    ("home", "GET", "", (LOGIN, 302, 302, 302, 302)),
    ("login", "GET", "", (200, 302, 302, 302, 302)),
    ("logout", "POST", "", (302, 302, 302, 302, 302)),
    ("admin:index", "GET", "", (302, 302, 302, 302, 302)),
    ("patients:list", "GET", "", (LOGIN, 200, 200, 200, 403)),
    ("patients:create", "GET", "", (LOGIN, 200, 200, 403, 403)),
    ("patients:import", "GET", "", (LOGIN, 200, 200, 403, 403)),
    ("patients:sledai_preview", "POST", "", (LOGIN, 200, 200, 403, 403)),
    ("patients:detail", "GET", "patient", PATIENT_READ),
    ("patients:history", "GET", "patient", PATIENT_READ),
    ("patients:export", "GET", "patient", PATIENT_READ),
    ("patients:edit", "GET", "patient", PATIENT_WRITE),
    ("patients:rescreen", "POST", "patient", (LOGIN, 302, 404, 302, 403)),
    ("patients:classification", "GET", "patient", PATIENT_WRITE),
    ("screening:rules", "GET", "", (LOGIN, 200, 200, 200, 200)),
    ("privacy:patients", "GET", "", (LOGIN, 403, 403, 403, 403)),
    ("privacy:patient_log", "GET", "patient", (LOGIN, 403, 403, 403, 403)),
    ("privacy:patient_log_export", "GET", "patient", (LOGIN, 403, 403, 403, 403)),
]
for kind in RECORD_FACTORIES:
    TABLE += [
        ("patients:record_add", "GET", f"add:{kind}", PATIENT_WRITE),
        ("patients:record_edit", "GET", f"record:{kind}", PATIENT_WRITE),
        ("patients:record_delete", "GET", f"record:{kind}", PATIENT_WRITE),
    ]

# Rows of other apps live beside their tests (tests/<app>/access_rows.py, list ACCESS_ROWS with
# the same shape, the kwargs spec being a callable (request, patient) -> kwargs) and join here.
for _module in (
    "tests.screening.access_rows",
    "tests.referrals.access_rows",
    "tests.accounts.access_rows",
    "tests.interop.access_rows",
):
    try:
        TABLE += __import__(_module, fromlist=["ACCESS_ROWS"]).ACCESS_ROWS
    except ModuleNotFoundError:
        pass

# Django admin's own pages (guarded by is_staff, not by Candidacy roles): only its index is listed.
IGNORED_NAMESPACES = {"admin"}


def _kwargs(spec: Any, patient: Any, request: Any) -> dict[str, Any]:
    if callable(spec):
        return spec(request, patient)
    if not spec:
        return {}
    if spec == "patient":
        return {"pk": patient.pk}
    what, kind = spec.split(":")
    if what == "add":
        return {"pk": patient.pk, "kind": kind}
    record = RECORD_FACTORIES[kind](patient=patient)
    return {"pk": patient.pk, "kind": kind, "rid": record.pk}


@pytest.mark.parametrize("role_index,role", list(enumerate(ROLES + PRIVACY_ROLES)))
@pytest.mark.parametrize(
    "name,method,spec,expected", TABLE, ids=[f"{t[0]}-{getattr(t[2], '__name__', t[2])}" for t in TABLE]
)
def test_access_table(request, name, method, spec, expected, role_index, role, patient) -> None:
    from django.urls import reverse

    users = {
        "anonymous": None,
        "specialist": request.getfixturevalue("specialist"),
        "specialist_other_site": request.getfixturevalue("specialist_b"),
        "staff": request.getfixturevalue("staff"),
        "rules_admin": request.getfixturevalue("rules_admin"),
        "privacy_officer": request.getfixturevalue("privacy_officer"),
        "privacy_officer_other_site": request.getfixturevalue("privacy_officer_b"),
    }
    url = reverse(name, kwargs=_kwargs(spec, patient, request))
    client = client_for(users[role])
    response = client.post(url) if method == "POST" else client.get(url)
    if role in PRIVACY_ROLES:
        want = PRIVACY_OFFICER.get(name, (403, 403))[PRIVACY_ROLES.index(role)]
    else:
        want = expected[role_index]
    if want == LOGIN:
        assert response.status_code == 302 and response["Location"].startswith("/login/"), response.status_code
    else:
        assert response.status_code == want, f"{role} {method} {url}: {response.status_code}, expected {want}"


def _all_names(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            if ns in IGNORED_NAMESPACES:
                continue
            names |= _all_names(entry, f"{prefix}{ns}:" if ns else prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(prefix + entry.name)
    return names


def test_every_url_is_in_the_access_table() -> None:
    from tests.api.access_rows import API_ROWS  # the API's own table (token clients): tests/api/test_access_api.py

    listed = {row[0] for row in TABLE} | {f"api:{row[0]}" for row in API_ROWS}
    missing = _all_names() - listed
    assert not missing, f"URLs missing from the access table: {sorted(missing)}"


def test_the_privacy_officers_exceptions_are_urls_of_the_table() -> None:
    assert set(PRIVACY_OFFICER) <= {row[0] for row in TABLE}


def test_every_record_kind_is_in_the_access_table() -> None:
    from clinic.views import KINDS

    assert set(KINDS) == set(RECORD_FACTORIES)
