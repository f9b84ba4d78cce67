"""PostgreSQL time limits: a lock held by another connection gives a clear answer within the lock time limit,
not a request or worker hanging on it, and the connection goes on working."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections
from django.urls import reverse

from config import errors
from patients.models import Patient
from tests.conftest import client_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="PostgreSQL's statement_timeout and lock_timeout (CI runs the suite on PostgreSQL)",
    ),
]


@pytest.fixture
def limits() -> Iterator[dict[str, str]]:
    """Reconnect with other time limits, written the way the settings write them; restore them after."""
    options = connection.settings_dict["OPTIONS"]
    configured = options["options"]

    def reconnect(statement_ms: int, lock_ms: int) -> None:
        connection.close()
        options["options"] = f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"

    yield reconnect  # type: ignore[misc]
    connection.close()
    options["options"] = configured


@pytest.mark.django_db
def test_the_configured_limits_reach_the_server() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('statement_timeout', 'lock_timeout') ORDER BY name"
        )
        server = dict(cursor.fetchall())
    configured = {"statement_timeout": settings.DB_STATEMENT_TIMEOUT, "lock_timeout": settings.DB_LOCK_TIMEOUT}
    assert server == {name: str(int(seconds * 1000)) for name, seconds in configured.items()}  # milliseconds
    assert server["statement_timeout"] != "0" and server["lock_timeout"] != "0"  # on by default


@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_another_connection_gives_a_409_within_the_lock_limit(limits, site_a, specialist) -> None:
    from tests.conftest import ensure_published_rules

    ensure_published_rules()
    patient = Patient.objects.create(site=site_a, identifier="LOCKED-1", birth_date=date(1990, 1, 1), sex="female")
    limits(30_000, 300)
    other = connections.create_connection("default")
    other.ensure_connection()
    holder = other.connection
    holder.autocommit = False
    try:
        with holder.cursor() as cursor:  # another transaction holds the patient's row lock and does not let go
            cursor.execute("SELECT id FROM patients_patient WHERE id = %s FOR UPDATE", [patient.pk])
        client = client_for(specialist)
        address = reverse("patients:edit", kwargs={"pk": patient.pk})
        form = {
            "identifier": patient.identifier,
            "birth_date": patient.birth_date.isoformat(),
            "sex": patient.sex,
            "weight_kg": "70",
            "why-reason": "weighed",
            "version": patient.version,
        }
        started = time.monotonic()
        response = client.post(address, form)
        waited = time.monotonic() - started
        assert response.status_code == 409, response.content.decode()[:500]
        assert "Another change to the same information was being saved at the same moment" in response.content.decode()
        assert waited < 5  # the lock limit (0.3 s) answered, not the other transaction ending
        # the same connection goes on: nothing saved, and it reads and writes
        assert Patient.objects.get(pk=patient.pk).version == 1
        holder.rollback()  # the other transaction lets go
        assert client.post(address, form).status_code == 302
        assert Patient.objects.get(pk=patient.pk).version == 2
    finally:
        holder.rollback()
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_statement_over_the_limit_is_stopped_and_named_and_the_connection_goes_on(limits) -> None:
    limits(200, 5000)
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised, connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 3
    assert errors.database_problem(raised.value) == errors.SLOW
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
