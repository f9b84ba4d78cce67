"""verify_restore DATABASE_URL: compare a restored database with the app's, table by table."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from clinic import restore


class Command(BaseCommand):
    help = (
        "Compare the database at DATABASE_URL (e.g. one restored from a backup) with the app's own: rows and "
        "a checksum of every table of patients, records, history, screening results, referrals, rule sets, "
        "users and applied migrations. Fails when any table differs."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("database_url", help="the restored database, e.g. postgres://USER@HOST:5432/NAME")

    def handle(self, *args: Any, database_url: str, **options: Any) -> None:
        try:
            other = restore.open_database(database_url)
        except ValueError as err:
            raise CommandError(str(err)) from err
        try:
            comparisons = restore.compare(connection, other)
        finally:
            other.close()
        width = max(len(c.table) for c in comparisons)
        self.stdout.write(f"{'table':<{width}}  {'rows here':>10}  {'rows there':>10}  same")
        for c in comparisons:
            here = "missing" if c.here is None else c.here.rows
            there = "missing" if c.there is None else c.there.rows
            same = "yes" if c.same else "NO"
            self.stdout.write(f"{c.table:<{width}}  {here:>10}  {there:>10}  {same}")
        differ = [c.table for c in comparisons if not c.same]
        if differ:
            raise CommandError(f"{len(differ)} of {len(comparisons)} tables differ: {', '.join(differ)}")
        total = sum(c.here.rows for c in comparisons if c.here)
        self.stdout.write(self.style.SUCCESS(f"all {len(comparisons)} tables are the same ({total} rows)"))
