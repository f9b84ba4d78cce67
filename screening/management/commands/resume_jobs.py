"""resume_jobs [--stale-after MINUTES]: queue again the background jobs a worker left unfinished."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from screening import tasks
from screening.models import JobPart

SAID = {
    "queued": "queued again",
    "failed": "failed: it has had all its attempts",
    "left": "left alone: it is no longer stalled",
    "sent": "sent to the worker again (it was queued and no worker took it)",
}


def minutes(value: str) -> float:
    try:
        number = float(value)
    except ValueError as err:
        raise CommandError(f"--stale-after: {value!r} is not a number of minutes") from err
    if number < 0:
        raise CommandError("--stale-after: give zero or more minutes")
    return number


class Command(BaseCommand):
    help = (
        "Queue again every running job with no progress for JOB_STALE_MINUTES (its worker stopped), "
        "or mark it failed once it has had JOB_MAX_ATTEMPTS starts; send queued jobs nobody took to the "
        "worker again. Run it every few minutes, and before starting the worker."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--stale-after",
            type=minutes,
            default=None,
            metavar="MINUTES",
            help="minutes without progress after which a running job is resumed (default: JOB_STALE_MINUTES); "
            "0 when no worker is running, e.g. just before starting the only one",
        )

    def handle(self, *args: Any, stale_after: float | None = None, **options: Any) -> None:
        older_than = None if stale_after is None else timedelta(minutes=stale_after)
        outcomes = tasks.resume_stalled(older_than=older_than)
        for job, outcome in outcomes:
            if isinstance(job, JobPart):
                parent = job.job
                self.stdout.write(
                    f"job {parent.pk} part {job.number} ({parent.get_kind_display()} of version "
                    f"{parent.rule_set.version}, {job.patients}, {job.done} of {job.total} done): {SAID[outcome]}"
                )
                continue
            self.stdout.write(
                f"job {job.pk} ({job.get_kind_display()} of version {job.rule_set.version}, "
                f"{job.done} of {job.total} done): {SAID[outcome]}"
            )
        if not outcomes:
            self.stdout.write("no stalled jobs")
