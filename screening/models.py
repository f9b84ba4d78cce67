"""Rule sets as versioned data, and stored screening results."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.append_only import AppendOnly, AppendOnlyModel  # noqa: F401  (AppendOnly is part of this module's API)
from accounts.audit import NamedActor, audit_history
from clinical import limits
from screening import contract


class RuleSetStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class RuleSetQuerySet(models.QuerySet["RuleSet"]):
    def published(self) -> RuleSet:
        return self.get(status=RuleSetStatus.PUBLISHED)


class RuleSet(models.Model):
    """One version of the screening rules, stored as a rule-set file (sle-screening-rules/1)."""

    name = models.CharField(max_length=limits.RULE_SET_NAME)
    version = models.CharField(max_length=limits.RULE_SET_VERSION, unique=True)
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
    based_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version this one was drafted from or rolled back to.",
    )
    disabled_nodes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Switched-off nodes kept aside: {node id: {parent, index, node}} (the file has no 'enabled' flag).",
    )
    revision = models.PositiveIntegerField(default=0, help_text="Raised by every edit of the draft's content.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The second rules admin who signed the draft off (cleared by any later edit).",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    history = audit_history()

    objects = RuleSetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="published"), name="ruleset_one_published"),
            models.CheckConstraint(condition=Q(status__in=RuleSetStatus.values), name="ruleset_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every write of a new content validates it (parameters per criterion type, the limits the app
        # can store), whatever path it comes by. A status change of a row stored before today's limits
        # (retiring it, say) writes no new content and is not refused for it.
        if self.pk is None or getattr(self, "_stored", None) is None or self._written() != self._stored:
            self.clean()
        super().save(*args, **kwargs)
        self._stored = self._written()

    def clean(self) -> None:
        """The content must be a valid, storable rule-set file whose name and version match the row."""
        from django.core.exceptions import ValidationError

        from screening.engine import RuleSetError, check_storable, parse_rule_set

        try:
            parsed = parse_rule_set(self.content)
            check_storable(parsed)
        except RuleSetError as err:
            raise ValidationError({"content": str(err)}) from err
        if (parsed.name, parsed.version) != (self.name, self.version):
            raise ValidationError({"content": "name and version must match the rule set's own"})

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> RuleSet:
        row = super().from_db(db, field_names, values)
        row._stored = row._written()  # what the database holds, to tell a new content from a status change
        return row

    def _written(self) -> tuple[Any, ...] | None:
        deferred = self.get_deferred_fields()
        if deferred & {"name", "version", "content"}:
            return None
        return (self.name, self.version, self.content)

    @property
    def drugs(self) -> dict[str, dict[str, Any]]:
        return {d["drug"]: d for d in self.content.get("drugs", [])}

    @property
    def is_draft(self) -> bool:
        return self.status == RuleSetStatus.DRAFT

    @property
    def was_published(self) -> bool:
        return self.published_at is not None


class EventKind(models.TextChoices):
    CREATED = "created", "draft created"
    SHIPPED = "shipped", "shipped update delivered with Candidacy"
    IMPORTED = "imported", "imported from a rule-set file"
    EDITED = "edited", "parameters edited"
    ADDED = "added", "criterion added"
    SWITCHED_OFF = "switched_off", "criterion switched off"
    SWITCHED_ON = "switched_on", "criterion switched on"
    EXPECTATION = "expectation", "test case expectation updated"
    PREVIEWED = "previewed", "impact preview run"
    SIGNED_OFF = "signed_off", "signed off by a second rules admin"
    PUBLISHED = "published", "published"
    RETIRED = "retired", "retired"
    ROLLED_BACK = "rolled_back", "rolled back to an earlier version"


# Events by which a rules admin shaped a draft: whoever did one of these cannot sign it off.
AUTHORING_EVENTS = (
    EventKind.CREATED,
    EventKind.IMPORTED,
    EventKind.EDITED,
    EventKind.ADDED,
    EventKind.SWITCHED_OFF,
    EventKind.SWITCHED_ON,
    EventKind.EXPECTATION,
)


class RuleSetEvent(NamedActor, AppendOnlyModel):
    """One step in a rule set's life, append-only: who (named as they were), when, what changed and why."""

    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    summary = models.TextField(help_text="What changed, one line per change.")
    reason = models.TextField(blank=True, help_text="Why, in the actor's words.")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="rulesetevent_kind_valid")]

    def __str__(self) -> str:
        return f"{self.rule_set_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class RuleCase(models.Model):
    """A test case: a case file (sle-screening-case/1) and the outcome expected per pathway."""

    name = models.CharField(max_length=limits.TEST_CASE_NAME, unique=True, help_text="The case file's case_id.")
    case = models.JSONField(help_text="The case file as uploaded; it has a fixed as_of date.")
    expected = models.JSONField(help_text="pathway id → flagged / not_flagged / insufficient_data")
    note = models.TextField(blank=True, help_text="What the case is for.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = audit_history()

    class Meta:
        ordering = ["name"]
        verbose_name = "test case"

    def __str__(self) -> str:
        return self.name


class JobKind(models.TextChoices):
    IMPACT = "impact", "impact preview"
    RESCREEN = "rescreen", "re-screening after publishing"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "finished"
    FAILED = "failed", "failed"


class Job(models.Model):
    """Background work over the whole cohort, with its progress (updated every few dozen patients)."""

    kind = models.CharField(max_length=10, choices=JobKind.choices)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="jobs")
    revision = models.PositiveIntegerField(help_text="The rule set's revision when the job was asked for.")
    as_of = models.DateField()
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="Why the job failed, or why its last attempt stopped.")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="The worker's last sign of life: written with every chunk of progress."
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker has started the job.")

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=JobKind.values), name="job_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="job_status_valid"),
            models.CheckConstraint(condition=Q(done__lte=F("total")), name="job_done_within_total"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.rule_set_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def last_sign_of_life(self) -> datetime:
        """When the job last showed progress (or was started, re-queued or asked for)."""
        return self.heartbeat_at or self.started_at or self.created_at

    @property
    def max_attempts(self) -> int:
        return int(settings.JOB_MAX_ATTEMPTS)

    @property
    def is_quiet(self) -> bool:
        """No sign of life for longer than JOB_STALE_MINUTES."""
        return self.last_sign_of_life < timezone.now() - timedelta(minutes=settings.JOB_STALE_MINUTES)

    @property
    def state(self) -> str:
        """What is true of the job now: queued, retrying (queued again after an attempt stopped),
        running, stalled (running, but no progress for JOB_STALE_MINUTES), done or failed."""
        if self.status == JobStatus.QUEUED:
            return "retrying" if self.attempts else "queued"
        if self.status == JobStatus.RUNNING:
            return "stalled" if self.is_quiet else "running"
        return str(self.status)

    @property
    def state_display(self) -> str:
        return {"done": "finished"}.get(self.state, self.state)

    @property
    def next_attempt(self) -> int:
        return self.attempts + 1


class JobPart(models.Model):
    """One worker's share of a job split across processes (``JOB_PARTS``): a contiguous range of patient
    ids, with its own status, attempts, heartbeat, progress and result.

    The parent job's ``done`` and ``total`` are the sums of its parts' (kept so by the part's writes,
    under the parent's row lock); the parent is done when every part is done, failed as soon as one
    fails, and its result is the parts' results merged (``screening.jobs.MERGERS``)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveSmallIntegerField(help_text="1 to the number of parts, in patient-id order.")
    first_pk = models.BigIntegerField(
        null=True, blank=True, help_text="Lowest patient id of the range (none: from the first)."
    )
    last_pk = models.BigIntegerField(
        null=True, blank=True, help_text="Highest patient id of the range (none: to the last)."
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="job_part_number_unique"),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="job_part_status_valid"),
            models.CheckConstraint(condition=Q(done__lte=F("total")), name="job_part_done_within_total"),
        ]

    def __str__(self) -> str:
        return f"part {self.number} of job {self.job_id} ({self.status})"

    # what a runner reads of the work it is given: the parent's
    @property
    def kind(self) -> str:
        return self.job.kind

    @property
    def rule_set(self) -> RuleSet:
        return self.job.rule_set

    @property
    def revision(self) -> int:
        return self.job.revision

    @property
    def as_of(self) -> Any:
        return self.job.as_of

    @property
    def created_by(self) -> Any:
        return self.job.created_by

    @property
    def last_sign_of_life(self) -> datetime:
        return self.heartbeat_at or self.started_at or self.created_at

    @property
    def patients(self) -> str:
        """The range in words, for messages: "patients 1 to 5000", "patients from 5001"."""
        if self.first_pk is None and self.last_pk is None:
            return "every patient"
        if self.last_pk is None:
            return f"patients from id {self.first_pk}"
        if self.first_pk is None:
            return f"patients up to id {self.last_pk}"
        return f"patients with ids {self.first_pk} to {self.last_pk}"


class Trigger(models.TextChoices):
    DATA = "data", "new or changed data"
    RULES = "rules", "new rules published"
    MANUAL = "manual", "re-screened on request"
    SCHEDULED = "scheduled", "scheduled re-screen (the calendar moved on)"


class ScreeningResultQuerySet(models.QuerySet["ScreeningResult"]):
    def latest_for(self, patient_id: int) -> ScreeningResult | None:
        return self.filter(patient_id=patient_id).select_related("rule_set").order_by("-pk").first()

    def latest_of(self, patient_ids: list[int]) -> ScreeningResultQuerySet:
        """The latest result of each of these patients (one query, by the (patient, -id) index)."""
        newest = (
            ScreeningResult.objects.filter(patient_id__in=patient_ids)
            .values("patient_id")
            .annotate(newest=models.Max("id"))
            .values("newest")
        )
        return self.filter(pk__in=models.Subquery(newest))


class ScreeningBlob(models.Model):
    """Facts of screening results, stored once per distinct content: the SHA-256 of their canonical JSON
    and the zlib-compressed JSON (``screening.contract.pack``). Results point here; never updated."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    data = models.BinaryField()

    def __str__(self) -> str:
        return self.sha256[:12]


def store_blobs(blobs: dict[str, Any]) -> None:
    """Make sure a blob exists for each (hash → JSON value); one query, whatever exists already."""
    if blobs:
        ScreeningBlob.objects.bulk_create(
            [ScreeningBlob(sha256=sha, data=contract.pack(data)) for sha, data in blobs.items()],
            ignore_conflicts=True,
        )


class ScreeningResult(NamedActor):
    """One evaluation: the rule set version, as-of date, facts used, outcomes and full trace; who caused it
    (``actor``, named as they were then).

    Lean storage (docs/results.md): the trace compressed in ``trace_z``, the facts in a shared
    ``ScreeningBlob``; ``facts`` and ``trace`` read either that or the plain JSON of a row stored
    before (``legacy_*``). ``checked_on``: the latest date a re-screen found this result unchanged
    (``signature``, same rules and facts): the result holds as of that date; ``as_of`` is the date
    it was computed as of, which its explanations are worded for. ``stable_until``: the first day the
    same facts may screen differently (``screening.engine.stability``), worked out from ``checked_on``.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="screening_results")
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="results")
    as_of = models.DateField()
    checked_on = models.DateField(
        help_text="The latest as-of date a re-screen found this result unchanged (as_of when never re-checked)."
    )
    stable_until = models.DateField(
        null=True,
        blank=True,
        help_text="The first day on which screening the same facts may give another result (none: not worked "
        "out); a re-screen before it finds the facts unchanged and marks the result checked without evaluating.",
    )
    computed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who caused this screening: saved the data, asked for it, or published the rules (none: scheduled).",
    )
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The patient's result before this one (none: the first screening).",
    )
    facts_blob = models.ForeignKey(
        ScreeningBlob, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_column="facts_sha256"
    )
    trace_z = models.BinaryField(null=True, blank=True, help_text="The trace, zlib-compressed canonical JSON.")
    signature = models.CharField(
        max_length=64, blank=True, help_text="What must be equal for a re-screen to count as unchanged."
    )
    legacy_facts = models.JSONField(null=True, blank=True, help_text="Facts of a row stored as plain JSON.")
    legacy_trace = models.JSONField(null=True, blank=True, help_text="Trace of a row stored as plain JSON.")
    outcomes = models.JSONField(help_text="pathway id → flagged / not_flagged / insufficient_data")
    changed = models.BooleanField(default=False, help_text="Outcome of some pathway differs from the previous result.")
    change_cause = models.CharField(max_length=20, blank=True, help_text="first screening, new data, new rules or time")

    objects = ScreeningResultQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["patient", "-id"], name="result_patient_latest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(stable_until__isnull=True) | Q(stable_until__gt=F("as_of")),
                name="result_stable_after_as_of",
            )
        ]

    def __str__(self) -> str:
        return f"screening of {self.patient_id} on {self.as_of} ({self.rule_set_id})"

    # facts and trace: set as JSON (also as keyword arguments), stored lean -----------------------

    @property
    def facts(self) -> Any:
        if self.legacy_facts is not None:
            return self.legacy_facts
        if "_facts" not in self.__dict__:
            blob = self.facts_blob
            self.__dict__["_facts"] = contract.unpack(blob.data) if blob is not None else None
        return self.__dict__["_facts"]

    @facts.setter
    def facts(self, value: Any) -> None:
        self.set_facts(value, contract.content_hash(value))

    def set_facts(self, value: Any, content_hash: str) -> None:
        """The facts, with their hash (``contract.content_hash(value)``) when the caller has it already."""
        self.legacy_facts = None
        self.facts_blob_id = content_hash
        self.__dict__["_facts"] = value
        self.__dict__["_blob_pending"] = True

    @property
    def facts_hash(self) -> str | None:
        """The facts' content hash (computed for a row stored as plain JSON)."""
        if self.legacy_facts is not None:
            return contract.content_hash(self.legacy_facts)
        return self.facts_blob_id

    @property
    def trace(self) -> Any:
        if self.legacy_trace is not None:
            return self.legacy_trace
        if "_trace" not in self.__dict__:
            self.__dict__["_trace"] = contract.unpack(self.trace_z)
        return self.__dict__["_trace"]

    @trace.setter
    def trace(self, value: Any) -> None:
        self.set_trace(value, contract.signature(value))

    def set_trace(self, value: Any, signature: str) -> None:
        """The trace, with its signature (``contract.signature(value)``) when the caller has it already."""
        self.legacy_trace = None
        self.trace_z = contract.pack(value)
        self.signature = signature
        self.__dict__["_trace"] = value

    @property
    def sameness(self) -> str:
        """The signature (computed for a row stored before signatures were)."""
        if self.signature:
            return self.signature
        stored = self.legacy_trace if self.legacy_trace is not None else contract.unpack(self.trace_z)
        return contract.signature(stored or {})

    def blob_to_store(self) -> dict[str, Any]:
        """The facts blob this unsaved row needs written first (empty when it is known to exist)."""
        if self.__dict__.pop("_blob_pending", False) and self.facts_blob_id is not None:
            return {self.facts_blob_id: self.__dict__["_facts"]}
        return {}

    def mark_blob_stored(self) -> None:
        self.__dict__.pop("_blob_pending", None)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.checked_on is None:
            self.checked_on = self.as_of
        store_blobs(self.blob_to_store())
        super().save(*args, **kwargs)

    @property
    def unchanged_since(self) -> Any:
        """The as-of date the result was computed for, when a later re-screen found it unchanged; else None."""
        return self.as_of if self.checked_on and self.checked_on > self.as_of else None

    @property
    def outcome_summary(self) -> str:
        return contract.outcome_summary(self.outcomes)
