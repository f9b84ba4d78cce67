"""Every API URL and method for every role (the rows: tests/api/access_rows.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import NoReverseMatch, reverse

from tests.api.access_rows import API_ROWS, ROLES
from tests.api.helpers import api_client

USERS = {
    "anonymous": None,
    "specialist": "specialist",
    "specialist_other_site": "specialist_b",
    "staff": "staff",
    "rules_admin": "rules_admin",
    "privacy_officer": "privacy_officer",
    "privacy_officer_other_site": "privacy_officer_b",
}


@pytest.mark.django_db
@pytest.mark.parametrize("role_index,role", list(enumerate(ROLES)))
@pytest.mark.parametrize("name,method,spec,expected", API_ROWS, ids=[f"{r[0]}-{r[1]}" for r in API_ROWS])
def test_api_access_table(request, name, method, spec, expected, role_index, role, patient) -> None:
    fixture = USERS[role]
    user = request.getfixturevalue(fixture) if fixture else None
    client = api_client(user)
    kwargs, payload = spec(request, patient)
    url = reverse(f"api:{name}", kwargs=kwargs)
    if method in ("GET", "DELETE"):
        response = client._call(method.lower(), url, **(payload or {}))
    else:
        response = client._call(method.lower(), url, payload or {})
    want = expected[role_index]
    body: Any = response.content[:300]
    assert response.status_code == want, f"{role} {method} {url}: {response.status_code}, expected {want}: {body}"
    if want >= 400 and name not in ("api-root",):
        assert response["Content-Type"].startswith("application/json")
    if role == "anonymous" and want == 401:
        assert response["WWW-Authenticate"] == "Bearer"


def test_every_operation_of_the_description_is_in_the_table() -> None:
    from api.api import api

    described = {
        (path.replace("{pk}", "1").replace("{rid}", "2"), method.upper())
        for path, methods in api.get_openapi_schema(path_params={})["paths"].items()
        for method in methods
    }
    listed = set()
    for name, method, _spec, _expected in API_ROWS:
        for kwargs in ({}, {"pk": 1}, {"pk": 1, "rid": 2}):
            try:
                listed.add((reverse(f"api:{name}", kwargs=kwargs), method))
            except NoReverseMatch:
                continue
    assert described <= listed, f"operations missing from tests/api/access_rows.py: {sorted(described - listed)}"
