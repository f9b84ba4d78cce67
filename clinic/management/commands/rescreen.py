"""rescreen [--now] [--ranges N]: re-screen every patient with the published rules (queued for the worker by
default; ``--ranges N`` sends N tasks, each owning a range of patients, for N workers in parallel)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from clinic.tasks import rescreen_all_patients, send_rescreen_ranges
from screening.models import Trigger


class Command(BaseCommand):
    help = "Re-screen every patient with the published rule set."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--now", action="store_true", help="run here instead of queueing for db_worker")
        parser.add_argument(
            "--ranges",
            type=int,
            default=None,
            help="queue one task per range of patients, this many (default RESCREEN_RANGES), for parallel workers",
        )

    def handle(self, *args: Any, now: bool = False, ranges: int | None = None, **options: Any) -> None:
        parts = ranges if ranges is not None else settings.RESCREEN_RANGES
        if now:
            count = rescreen_all_patients.call(trigger=Trigger.SCHEDULED)
            self.stdout.write(f"re-screened {count} patient(s)")
        elif parts > 1:
            shares = send_rescreen_ranges(parts, trigger=Trigger.SCHEDULED)
            self.stdout.write(
                f"queued re-screening as {len(shares)} range task(s): "
                + ", ".join(f"{first}–{last}" for first, last in shares)
            )
        else:
            result = rescreen_all_patients.enqueue(trigger=Trigger.SCHEDULED)
            self.stdout.write(f"queued re-screening as task {result.id}")
