"""Background work of the referral queue (Tasks API), for a scheduler to enqueue daily."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from referrals.services import release_due_deferrals


@task()
def release_deferred_referrals() -> int:
    """Move deferred referrals whose review date has come back to review; returns how many."""
    return release_due_deferrals(today=timezone.localdate())
