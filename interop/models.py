"""CDS Hooks clients (record systems allowed to call the service), the cards issued and the feedback on them.

Nothing of a patient's record is stored by the CDS Hooks service: a card row keeps which rule set version and
pathway it showed and for which client, so that the client's feedback can be counted per rule version.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


def _check_jwks(value: Any) -> None:
    import jwt

    try:
        keys = jwt.PyJWKSet.from_dict(value if isinstance(value, dict) else json.loads(value))
    except (jwt.PyJWKSetError, jwt.InvalidKeyError, ValueError, TypeError) as err:
        raise ValidationError(f"not a JSON Web Key Set with a usable public key ({err})") from err
    if any(getattr(k.key, "private_numbers", None) for k in keys.keys):
        raise ValidationError("holds a private key: store only the client's public keys")


class CdsClient(models.Model):
    """A record system allowed to call the CDS Hooks service: JWTs with this issuer are checked against its keys."""

    name = models.CharField(max_length=200, help_text="The record system, as people call it.")
    issuer = models.CharField(max_length=500, unique=True, help_text="The 'iss' of the client's JWTs (a URL).")
    jwks = models.JSONField(
        validators=[_check_jwks],
        help_text="The client's public JSON Web Key Set, pasted here (the hospital intranet has no internet to fetch it).",
    )
    sites = models.ManyToManyField(
        "accounts.Site", blank=True, help_text="Patients of these sites may be matched and linked in the cards."
    )
    active = models.BooleanField(default=True, help_text="Untick to refuse every request of this client.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "CDS Hooks client"

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer})"


class CdsTokenUse(models.Model):
    """A JWT id seen from a client, kept until the token expires: a token is accepted once."""

    client = models.ForeignKey(CdsClient, on_delete=models.CASCADE)
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "jti"], name="cds_jti_once")]

    def __str__(self) -> str:
        return self.jti


class CdsCard(models.Model):
    """A card the service answered with (no patient data: the rule set version and the pathway)."""

    uuid = models.UUIDField(unique=True)
    client = models.ForeignKey(CdsClient, on_delete=models.CASCADE)
    service = models.CharField(max_length=64)
    rule_set_version = models.CharField(max_length=40)
    pathway = models.CharField(max_length=32)
    outcome = models.CharField(max_length=20)
    site = models.ForeignKey("accounts.Site", null=True, blank=True, on_delete=models.SET_NULL)
    issued_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.pathway} {self.outcome} ({self.rule_set_version})"


class FeedbackOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    OVERRIDDEN = "overridden", "Overridden"


class CdsFeedback(models.Model):
    """What the clinician in the record system did with a card (CDS Hooks feedback)."""

    card = models.ForeignKey(CdsCard, on_delete=models.CASCADE, related_name="feedback")
    outcome = models.CharField(max_length=12, choices=FeedbackOutcome.choices)
    reason = models.CharField(max_length=500, blank=True, help_text="The override reason, as the client sent it.")
    outcome_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "CDS Hooks feedback"
        verbose_name_plural = "CDS Hooks feedback"

    def __str__(self) -> str:
        return f"{self.outcome}: {self.card}"
