"""rescreen [--now]: re-screen every patient with the published rules (queued for the worker by default)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from clinic.tasks import rescreen_all_patients
from screening.models import Trigger


class Command(BaseCommand):
    help = "Re-screen every patient with the published rule set."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--now", action="store_true", help="run here instead of queueing for db_worker")

    def handle(self, *args: Any, now: bool = False, **options: Any) -> None:
        if now:
            count = rescreen_all_patients.call(trigger=Trigger.SCHEDULED)
            self.stdout.write(f"re-screened {count} patient(s)")
        else:
            result = rescreen_all_patients.enqueue(trigger=Trigger.SCHEDULED)
            self.stdout.write(f"queued re-screening as task {result.id}")
