"""Is a restored database the same as the one it was dumped from? (the backup drill, docs/operations.md)

For every table of the app's own data (patients and their records with the audit history, screening
results, referrals and their events, rule sets and their events, test cases, jobs, users and sites,
and the list of applied migrations): the number of rows and a SHA-256 of their contents, read in
primary-key order a page at a time, so two databases of the same kind compare without holding a table in
memory. The other database is opened with the same settings as the app's, only its address changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import dj_database_url
from django.apps import apps
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

# The apps whose tables hold the clinic's data (auth's own tables hold only permissions and groups,
# rebuilt by migrate; sessions and task results are working state, not records).
DATA_APPS = ("accounts", "patients", "screening", "referrals", "clinic")
MIGRATIONS_TABLE = "django_migrations"
PAGE = 2000


@dataclass(frozen=True)
class Table:
    name: str
    pk: str


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    sha256: str


def data_tables() -> list[Table]:
    """The tables compared, sorted by name: every concrete model of DATA_APPS (history and many-to-many
    tables included), and the applied migrations."""
    tables = {Table(MIGRATIONS_TABLE, "id")}
    for label in DATA_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            meta = model._meta
            if meta.managed and not meta.proxy:
                tables.add(Table(meta.db_table, meta.pk.column))
    return sorted(tables, key=lambda t: t.name)


def open_database(url: str) -> BaseDatabaseWrapper:
    """A connection to another database of the same kind as the app's (closed by the caller)."""
    parsed = dj_database_url.parse(url)
    if parsed["ENGINE"] != default_connection.settings_dict["ENGINE"]:
        raise ValueError(f"{url}: not a database of the same kind as the app's ({default_connection.vendor})")
    keys = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")
    settings_dict = {**default_connection.settings_dict, **{key: parsed.get(key, "") for key in keys}}
    backend: Any = load_backend(settings_dict["ENGINE"])
    return backend.DatabaseWrapper(settings_dict, alias="restored")  # type: ignore[no-any-return]


def fingerprint(connection: BaseDatabaseWrapper, table: Table) -> Fingerprint | None:
    """The table's row count and checksum; None when the database has no such table."""
    if table.name not in connection.introspection.table_names():
        return None
    quote = connection.ops.quote_name
    digest, rows, last = hashlib.sha256(), 0, None
    with connection.cursor() as cursor:
        while True:
            where = "" if last is None else f" WHERE {quote(table.pk)} > %s"
            cursor.execute(
                f"SELECT * FROM {quote(table.name)}{where} ORDER BY {quote(table.pk)} LIMIT {PAGE}",
                [] if last is None else [last],
            )
            columns = [column[0] for column in cursor.description]
            page = cursor.fetchall()
            for row in page:
                # bytea comes back as a memoryview, whose repr names its address: hash the bytes
                row = tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)
                digest.update(repr(row).encode())
                digest.update(b"\n")
            rows += len(page)
            if len(page) < PAGE:
                break
            last = page[-1][columns.index(table.pk)]
    return Fingerprint(rows, digest.hexdigest())


@dataclass(frozen=True)
class Comparison:
    table: str
    here: Fingerprint | None
    there: Fingerprint | None

    @property
    def same(self) -> bool:
        return self.here is not None and self.here == self.there


def compare(here: BaseDatabaseWrapper, there: BaseDatabaseWrapper) -> list[Comparison]:
    """Every data table of both databases, fingerprinted in each."""
    return [Comparison(t.name, fingerprint(here, t), fingerprint(there, t)) for t in data_tables()]
