"""Background work of the referral queue (Tasks API): releasing deferrals (daily), writing CSV exports."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from referrals import exports
from referrals.services import release_due_deferrals


@task()
def release_deferred_referrals() -> int:
    """Move deferred referrals whose review date has come back to review; returns how many."""
    return release_due_deferrals(today=timezone.localdate())


@task()
def write_queue_export(export_id: int) -> str:
    """Write one CSV export of the queue that a user asked for (``referrals.exports``); returns its status."""
    return exports.write(export_id)


def send_export(export_id: int) -> None:
    """Send the export to the worker once the current transaction commits."""
    transaction.on_commit(lambda: write_queue_export.enqueue(export_id))
