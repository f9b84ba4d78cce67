"""The backup and restore drill of docs/operations.md, run for real: dump, restore into a new database,
check the migrations and compare the restored database with the original (same patients, same results)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from clinic import restore
from referrals.models import Referral
from screening.models import ScreeningResult
from tests.conftest import ensure_published_rules
from tests.referrals.factories import import_case, screen

ROOT = Path(settings.BASE_DIR)
CASES = ("refractory-nephritis", "steroid-dependent", "mild-disease", "older-patient")


def a_cohort(site) -> None:
    """Patients from the shipped cases, each screened twice (the second result points at the first), with
    the referrals their flags opened."""
    ensure_published_rules()
    for name in CASES:
        patient = import_case(site, name)
        screen(patient)
        screen(patient, trigger="data")  # a data change stores a row even when nothing changed


def verify(url: str) -> str:
    out = StringIO()
    call_command("verify_restore", url, stdout=out)
    return out.getvalue()


# --- the verification, on whatever database the suite runs -----------------------------------------


@pytest.mark.skipif(connection.vendor != "sqlite", reason="copies the database with SQLite's VACUUM INTO")
@pytest.mark.django_db(transaction=True)
def test_verify_restore_finds_a_copy_the_same_and_a_changed_row_different(site_a, cases_day, tmp_path) -> None:
    a_cohort(site_a)
    copy = tmp_path / "copy.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(copy)])
    out = verify(f"sqlite:///{copy}")
    assert "all " in out and " tables are the same" in out
    assert _row(out, "patients_patient") == ["patients_patient", "4", "4", "yes"]
    other = restore.open_database(f"sqlite:///{copy}")
    with other.cursor() as cursor:  # same number of rows, one value changed
        cursor.execute(
            "UPDATE screening_screeningresult SET outcomes = '{}' WHERE id = (SELECT MAX(id) FROM screening_screeningresult)"
        )
    other.close()
    with pytest.raises(CommandError, match=r"1 of \d+ tables differ: screening_screeningresult$"):
        verify(f"sqlite:///{copy}")


def test_the_compared_tables_are_the_apps_data() -> None:
    names = {t.name for t in restore.data_tables()}
    for table in (
        "patients_patient",
        "patients_historicalpatient",
        "patients_assessment",
        "screening_screeningresult",
        "screening_ruleset",
        "screening_historicalruleset",
        "screening_job",
        "referrals_referral",
        "referrals_referralevent",
        "accounts_user",
        "accounts_user_sites",
        "django_migrations",
    ):
        assert table in names, table
    assert "django_session" not in names


def test_a_database_of_another_kind_is_refused() -> None:
    other = "postgres://u@h/x" if connection.vendor == "sqlite" else "sqlite:///x.sqlite3"
    with pytest.raises(CommandError, match="not a database of the same kind"):
        verify(other)


# --- the drill on PostgreSQL --------------------------------------------------------------------------


def client_tool(name: str) -> str:
    """pg_dump / pg_restore: from the newest PostgreSQL installed, else from PATH."""
    installed = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    found = installed[-1] if installed else shutil.which(name)
    assert found, f"{name} is needed for the backup drill: install the PostgreSQL client tools"
    return found


def libpq_env(settings_dict: dict) -> dict[str, str]:
    env = dict(os.environ)
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    return env


def url_of(settings_dict: dict, name: str) -> str:
    user, password = settings_dict.get("USER") or "", settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port = settings_dict.get("HOST") or "localhost", settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{name}"


@pytest.fixture
def restored_name() -> Iterator[str]:
    """A new database's name; the database is dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restored"[:63]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump and pg_restore: PostgreSQL only (CI runs it)")
@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_drill(site_a, cases_day, restored_name) -> None:
    a_cohort(site_a)
    source = connection.settings_dict
    env = libpq_env(source)
    with tempfile.TemporaryDirectory() as work:
        dump = Path(work) / "candidacy.dump"
        # 1. the backup: custom format, compressed, restorable table by table
        subprocess.run([client_tool("pg_dump"), "-Fc", "-f", str(dump), source["NAME"]], env=env, check=True)
        # 2. a new, empty database, and the dump restored into it
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{restored_name}"')
        subprocess.run(
            [client_tool("pg_restore"), "--no-owner", "--exit-on-error", "-d", restored_name, str(dump)],
            env=env,
            check=True,
        )
    restored_url = url_of(source, restored_name)
    # 3. the app against the restored database: every migration applied, none missing
    check = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": restored_url, "DEBUG": "true"},
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    # 4. the restored database compared with the original, table by table
    out = verify(restored_url)
    assert " tables are the same" in out
    results, referrals = ScreeningResult.objects.count(), Referral.objects.count()
    assert results >= 2 * len(CASES) and referrals >= 1
    for table, rows in (("patients_patient", len(CASES)), ("screening_screeningresult", results)):
        assert _row(out, table) == [table, str(rows), str(rows), "yes"]
    assert _row(out, "referrals_referral") == ["referrals_referral", str(referrals), str(referrals), "yes"]
    # the same patients with the same results, read from the restored database itself
    other = restore.open_database(restored_url)
    try:
        query = (
            "SELECT p.identifier, r.id, r.rule_set_id, r.as_of, r.outcomes::text, r.previous_id FROM "
            "screening_screeningresult r JOIN patients_patient p ON p.id = r.patient_id ORDER BY r.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(query)
            original = cursor.fetchall()
        with other.cursor() as cursor:
            cursor.execute(query)
            assert cursor.fetchall() == original
            assert {row[0] for row in original} == set(CASES)
            # a difference is found: one result's outcomes changed in the restored copy
            cursor.execute("UPDATE screening_screeningresult SET outcomes = '{}' WHERE id = %s", [original[-1][1]])
    finally:
        other.close()
    with pytest.raises(CommandError, match="tables differ: screening_screeningresult$"):
        verify(restored_url)


def _row(out: str, table: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(table + " "))
