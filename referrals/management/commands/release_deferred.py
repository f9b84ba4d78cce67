"""release_deferred: deferred referrals whose review date has come go back to review (run daily)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from referrals.services import release_due_deferrals


class Command(BaseCommand):
    help = "Move deferred referrals whose review date is today or earlier back to review."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="The date to release for (YYYY-MM-DD); default: today in TIME_ZONE.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            today = date.fromisoformat(options["today"]) if options["today"] else timezone.localdate()
        except ValueError as err:
            raise CommandError(f"--today: {err}") from err
        moved = release_due_deferrals(today=today)
        self.stdout.write(
            f"{moved} deferred referral{'s' if moved != 1 else ''} back to review (as of {today.isoformat()})"
        )
