"""API tokens: one per integration, acting as its owner (their role and sites).

The secret is shown once, when the token is made (Django admin or ``manage.py api_token create``);
only its SHA-256 is stored, so a copy of the database gives no working token. Revoking sets
``revoked_at``: the next request with that token is refused (every request looks the token up).
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

PREFIX = "cand_"


def hash_secret(secret: str) -> str:
    """The stored form of a token (a high-entropy random string: one SHA-256 suffices, no salt needed)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    name = models.CharField(
        max_length=100,
        unique=True,
        help_text="The integration using it (e.g. “lab-feed”); audit entries name it beside the owner.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_tokens",
        verbose_name="owner",
        help_text="The API acts as this user: their role and sites decide what the token may read and write.",
    )
    prefix = models.CharField(
        max_length=16, editable=False, help_text="The token's first characters, to tell it apart."
    )
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="api_token_name_not_empty")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def new_secret(self) -> str:
        """Give the token a fresh secret and return it (to show once; only its hash is kept)."""
        secret = PREFIX + secrets.token_urlsafe(32)
        self.prefix = secret[: len(PREFIX) + 6]
        self.secret_hash = hash_secret(secret)
        return secret

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=self.revoked_at)


def create_token(*, name: str, user: object, created_by: object | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` named after its integration, and its secret (shown once, never stored)."""
    token = ApiToken(name=name.strip(), user=user, created_by=created_by)  # type: ignore[misc]
    secret = token.new_secret()
    token.full_clean()
    token.save()
    return token, secret
