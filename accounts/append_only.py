"""Audit rows that are written once and never changed or deleted."""

from __future__ import annotations

from typing import Any

from django.db import models


class AppendOnly(ValueError):
    """An audit row cannot be changed or deleted."""


class AppendOnlyModel(models.Model):
    """Base of the event tables (referral events, rule-set events): insert only."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly(f"{self._meta.verbose_name} rows are append-only: never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnly(f"{self._meta.verbose_name} rows are append-only: never deleted")
