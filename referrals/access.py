"""Finding a referral for the current user (404 outside their sites)."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from referrals.models import Referral


def get_referral(request: HttpRequest, pk: int) -> Referral:
    """The referral if its patient belongs to one of the user's sites, else 404."""
    return get_object_or_404(
        Referral.objects.visible_to(request.user).select_related("patient__site", "assigned_to", "raised_on__rule_set"),
        pk=pk,
    )
