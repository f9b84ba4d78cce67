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

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every write validates the parameters per criterion type, whatever path it comes by.
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """The content must be a valid rule-set file whose name and version match the row."""
        from django.core.exceptions import ValidationError

        from screening.engine import RuleSetError, parse_rule_set

        try:
            parsed = parse_rule_set(self.content)
        except RuleSetError as err:
            raise ValidationError({"content": str(err)}) from err
        if (parsed.name, parsed.version) != (self.name, self.version):
            raise ValidationError({"content": "name and version must match the rule set's own"})

    @property
    def drugs(self) -> dict[str, dict[str, Any]]:
        return {d["drug"]: d for d in self.content.get("drugs", [])}


class Trigger(models.TextChoices):
    DATA = "data", "new or changed data"
    RULES = "rules", "new rules published"
    MANUAL = "manual", "re-screened on request"


class ScreeningResultQuerySet(models.QuerySet["ScreeningResult"]):
    def latest_for(self, patient_id: int) -> ScreeningResult | None:
        return self.filter(patient_id=patient_id).select_related("rule_set").order_by("-pk").first()


class ScreeningResult(models.Model):
    """One evaluation: the rule set version, as-of date, facts used, outcomes and full trace."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="screening_results")
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="results")
    as_of = models.DateField()
    computed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    facts = models.JSONField()
    outcomes = models.JSONField(help_text="pathway id → flagged / not_flagged / insufficient_data")
    trace = models.JSONField(help_text="The screening output object with per-pathway display extras.")
    changed = models.BooleanField(default=False, help_text="Outcome of some pathway differs from the previous result.")
    change_cause = models.CharField(max_length=20, blank=True, help_text="first screening, new data, new rules or time")

    objects = ScreeningResultQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["patient", "-id"], name="result_patient_latest")]

    def __str__(self) -> str:
        return f"screening of {self.patient_id} on {self.as_of} ({self.rule_set_id})"

    @property
    def outcome_summary(self) -> str:
        return "; ".join(f"{k.upper()} {v.replace('_', ' ')}" for k, v in self.outcomes.items())
