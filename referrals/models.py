"""Referrals raised on screening flags, and their append-only event trail.

A referral is opened by the screening receiver when a patient becomes flagged
for a pathway; people move it through the states of ``referrals.workflow``.
Every change is a ``ReferralEvent`` (who, when, from, to, why) written in the
same transaction, and bumps ``Referral.version`` so that two people acting on
one referral at once cannot overwrite each other (optimistic locking).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.append_only import AppendOnlyModel
from accounts.audit import NamedActor, audit_history
from accounts.locking import VersionedModel
from clinical import limits


class ReferralState(models.TextChoices):
    NEW = "new", "New"
    IN_REVIEW = "in_review", "In review"
    REFERRED = "referred", "Referred"
    NOT_REFERRED = "not_referred", "Not referred"
    DEFERRED = "deferred", "Deferred"
    NEEDS_DATA = "needs_data", "Needs data"


# Open: still needs people to act (a deferred or needs-data referral comes back by itself).
OPEN_STATES = (ReferralState.NEW, ReferralState.IN_REVIEW, ReferralState.DEFERRED, ReferralState.NEEDS_DATA)
DECIDED_STATES = (ReferralState.REFERRED, ReferralState.NOT_REFERRED)


class NotReferredReason(models.TextChoices):
    CLINICAL_JUDGEMENT = "clinical_judgement", "Clinical judgement"
    PATIENT_DECLINED = "patient_declined", "Patient declined"
    CONTRAINDICATION = "contraindication", "Contraindication"
    ELSEWHERE = "under_evaluation_elsewhere", "Already under evaluation elsewhere"
    DATA_ERROR = "data_error", "Data error"
    OTHER = "other", "Other"


class EventKind(models.TextChoices):
    OPENED = "opened", "Opened on a flag"
    TRANSITION = "transition", "State changed"
    ASSIGNED = "assigned", "Assignment changed"
    NOTE = "note", "Note"
    FLAG_WITHDRAWN = "flag_withdrawn", "Flag withdrawn"
    FLAG_RESTORED = "flag_restored", "Flagged again"


class ReferralQuerySet(models.QuerySet["Referral"]):
    def open(self) -> ReferralQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def visible_to(self, user: Any) -> ReferralQuerySet:
        """Referrals of patients of the user's sites (one subquery, no extra round trip)."""
        return self.filter(patient__site__in=user.sites.all())


class Referral(VersionedModel):
    """One patient's referral question for one pathway, from the flag to a recorded decision."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="referrals")
    pathway = models.CharField(max_length=limits.PATHWAY_ID)
    pathway_label = models.CharField(max_length=limits.PATHWAY_LABEL, blank=True)
    state = models.CharField(max_length=12, choices=ReferralState.choices, default=ReferralState.NEW)
    raised_on = models.ForeignKey(
        "screening.ScreeningResult",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The screening result that flagged the patient.",
    )
    latest_result = models.ForeignKey(
        "screening.ScreeningResult",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    flagged_at = models.DateTimeField(help_text="When the screening that raised it was computed.")
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_referrals",
    )
    centre = models.CharField("evaluating centre", max_length=limits.CENTRE, blank=True)
    referred_on = models.DateField(null=True, blank=True)
    not_referred_reason = models.CharField(max_length=32, blank=True, choices=NotReferredReason.choices)
    review_on = models.DateField("review again on", null=True, blank=True)
    data_needed = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    flag_withdrawn = models.BooleanField(default=False)
    withdrawn_reason = models.CharField(max_length=40, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # At a glance, from the latest screening result (so the queue reads no trace JSON).
    reasons = models.JSONField(default=list, blank=True)
    cautions = models.JSONField(default=list, blank=True)
    has_contraindication = models.BooleanField(default=False)
    lapses_on = models.DateField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The day the flag lapses if nothing new is recorded (from the latest result; none: not within a year).",
    )
    lapse_reason = models.TextField(blank=True, help_text="The criterion that lapses then, and why.")
    history = audit_history(excluded_fields=["latest_result", "reasons", "cautions", "has_contraindication"])

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["flagged_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "pathway"],
                condition=Q(state__in=OPEN_STATES),
                name="referral_one_open_per_patient_pathway",
            ),
            models.CheckConstraint(condition=Q(state__in=ReferralState.values), name="referral_state_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="referral_version_positive"),
            models.CheckConstraint(
                condition=~Q(state=ReferralState.REFERRED) | (Q(referred_on__isnull=False) & ~Q(centre="")),
                name="referral_referred_needs_centre_and_date",
            ),
            models.CheckConstraint(
                condition=~Q(state=ReferralState.NOT_REFERRED) | Q(not_referred_reason__in=NotReferredReason.values),
                name="referral_not_referred_needs_reason",
            ),
            models.CheckConstraint(
                condition=Q(not_referred_reason="") | Q(not_referred_reason__in=NotReferredReason.values),
                name="referral_not_referred_reason_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state=ReferralState.DEFERRED) | Q(review_on__isnull=False),
                name="referral_deferred_needs_date",
            ),
            models.CheckConstraint(
                condition=~Q(state=ReferralState.NEEDS_DATA) | ~Q(data_needed=""),
                name="referral_needs_data_says_what",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=DECIDED_STATES) | Q(decided_at__isnull=False),
                name="referral_decision_has_time",
            ),
            models.CheckConstraint(
                condition=Q(flag_withdrawn=False) | ~Q(withdrawn_reason=""),
                name="referral_withdrawn_has_reason",
            ),
        ]
        indexes = [
            # keyset pagination of the queue: one index per sort order
            models.Index(fields=["flagged_at", "id"], name="referral_by_flagged"),
            models.Index(fields=["updated_at", "id"], name="referral_by_updated"),
            models.Index(fields=["state", "flagged_at", "id"], name="referral_state_flagged"),
            models.Index(fields=["state", "review_on"], name="referral_state_review"),
        ]

    def __str__(self) -> str:
        return f"{self.pathway.upper()} referral of {self.patient_id} ({self.state})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("referrals:detail", kwargs={"pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def opened_on(self) -> Any:
        """The day the referral came to be (its flag's day, or the day it was opened if earlier): nothing
        recorded on it, such as the day it was sent, can be earlier."""
        return timezone.localdate(min(self.flagged_at, self.opened_at))

    def is_due(self, today: Any) -> bool:
        """A deferred referral whose review date has come is back in the queue."""
        return due_for_review(self.state, self.review_on, today)


class ReferralEvent(NamedActor, AppendOnlyModel):
    """One change to a referral: opened, state changed, assigned, note, flag withdrawn or restored.

    Append-only: saving an existing event or deleting one raises. ``actor_name`` keeps the actor's
    name as it was (``who`` shows it). ``version`` is
    the referral's version after the change, so "what changed since I looked"
    is the events with a higher version than the one the user saw.
    """

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    from_state = models.CharField(max_length=12, blank=True, choices=ReferralState.choices)
    to_state = models.CharField(max_length=12, blank=True, choices=ReferralState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when the system acted (screening, review date reached).",
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["referral", "version"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "version"], name="referral_event_one_per_version"),
            models.CheckConstraint(condition=~Q(reason=""), name="referral_event_has_reason"),
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="referral_event_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version} of referral {self.referral_id}"


class SiteSummary(models.Model):
    """A maintained summary of one site's referrals and patients, read by the dashboard, the queue's
    counts and the patient list instead of counting the whole history on every page (``referrals.summary``).

    Dropped when a referral of the site is saved (its patient count follows each patient added or removed), recomputed by the next page
    that needs it, and in any case once it is ``SUMMARY_MAX_AGE`` seconds old: bulk changes (the
    daily re-screen, deferrals coming due) show within that time. The pages say "as of" when they use it.
    """

    site = models.OneToOneField("accounts.Site", on_delete=models.CASCADE, primary_key=True, related_name="summary")
    computed_at = models.DateTimeField()
    patients = models.PositiveIntegerField(default=0, help_text="Kept up to date as patients are added and removed.")
    data = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"summary of site {self.site_id} at {self.computed_at}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "being written"
    DONE = "done", "ready"
    FAILED = "failed", "failed"


class QueueExport(models.Model):
    """A CSV export of the filtered queue, written by a background task (``referrals.tasks``) so that a large
    export holds no web worker. Only the user who asked can download it, with the sites they have when it
    is written; the file is kept gzip-compressed in the database (every app server can serve it) until
    ``expires_at``, then refused and deleted."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    query = models.TextField(blank=True, help_text="The queue's filters as a query string.")
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    filename = models.CharField(max_length=100, blank=True)
    content = models.BinaryField(null=True, blank=True, editable=False, help_text="The CSV, gzip-compressed.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["created_by", "-id"], name="export_by_user")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ExportStatus.values), name="export_status_valid"),
        ]

    def __str__(self) -> str:
        return f"queue export {self.pk} ({self.status})"

    def is_expired(self, now: Any = None) -> bool:
        return (now or timezone.now()) >= self.expires_at


def due_for_review(state: str, review_on: Any, today: Any) -> bool:
    """Whether a referral in ``state`` with ``review_on`` is a deferred one whose review date has come."""
    return state == ReferralState.DEFERRED and review_on is not None and review_on <= today
