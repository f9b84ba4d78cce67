"""Referrals listen to screening: every stored result may open, withdraw or resume a referral."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from screening.signals import result_stored


@receiver(result_stored, dispatch_uid="referrals.on_result_stored")
def on_result_stored(sender: Any, result: Any, previous: Any = None, **kwargs: Any) -> None:
    # Runs inside the storing transaction: the result and its referral changes commit together.
    from referrals.services import apply_screening_result

    apply_screening_result(result=result, previous=previous)
