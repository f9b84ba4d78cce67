"""Rule sets as versioned data, and stored screening results."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class RuleSetStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class RuleSetQuerySet(models.QuerySet["RuleSet"]):
    def published(self) -> RuleSet:
        return self.get(status=RuleSetStatus.PUBLISHED)


class RuleSet(models.Model):
    """One version of the screening rules, stored as a rule-set file (sle-screening-rules/1)."""

    name = models.CharField(max_length=200)
    version = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=10, choices=RuleSetStatus.choices, default=RuleSetStatus.DRAFT)
    content = models.JSONField(help_text="The rule set in the rule-set file format.")
    change_note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    objects = RuleSetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="published"), name="ruleset_one_published"
            ),
            models.CheckConstraint(condition=Q(status__in=RuleSetStatus.values), name="ruleset_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def drugs(self) -> dict[str, dict[str, Any]]:
        return {d["drug"]: d for d in self.content.get("drugs", [])}
