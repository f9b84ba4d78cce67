"""The clinical record: a patient and the dated records of their history.

Shapes follow the case-file format (docs/case-files.md); vocabularies come from clinical.vocab.
Derived values (SLEDAI-2K bounds, SDI score) are computed by services with
clinical.scoring and stored so lists and charts need no recomputation; check
constraints keep impossible values out whatever writes them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.append_only import AppendOnlyModel
from accounts.audit import NAME_LENGTH, audit_history
from accounts.dates import show_date
from accounts.locking import VersionedModel
from accounts.models import Role, Site
from clinical import limits, vocab


def _choices(mapping: dict[str, str] | tuple[str, ...]) -> list[tuple[str, str]]:
    if isinstance(mapping, dict):
        return list(mapping.items())
    return [(code, code.replace("_", " ").capitalize()) for code in mapping]


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"


class PatientQuerySet(models.QuerySet["Patient"]):
    def visible_to(self, user: settings.AUTH_USER_MODEL) -> PatientQuerySet:  # type: ignore[valid-type]
        """Patients of the user's sites only (one subquery, no extra round trip)."""
        return self.filter(site__in=user.sites.all())  # type: ignore[attr-defined]


class Patient(VersionedModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    identifier = models.CharField(
        max_length=limits.PATIENT_IDENTIFIER,
        help_text="The clinic's identifier for this patient (letters, digits, . _ -), unique within the site.",
    )
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=6, choices=Sex.choices, null=True, blank=True)
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Current weight, 20–300 kg; used for per-kg doses.",
    )
    sle_attested = models.BooleanField(
        "SLE diagnosis attested by a specialist",
        default=False,
    )
    ana_titre = models.PositiveIntegerField(
        "highest ANA titre (reciprocal)",
        null=True,
        blank=True,
        help_text="640 for 1:640; 0 for negative; empty if never recorded.",
    )
    # None = criteria not assessed; [] = assessed, none present (they screen differently).
    eular_criteria = models.JSONField("2019 EULAR/ACR criteria present", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity = models.DateTimeField(auto_now_add=True, db_index=True)
    history = audit_history(excluded_fields=["last_activity"])
    value_labels = {"eular_criteria": {code: c.label for code, c in vocab.EULAR_CRITERIA.items()}}

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["-last_activity", "pk"]
        # The patient list reads a site's patients newest activity first; without this index the
        # database computes the row annotations for every patient before sorting.
        indexes = [models.Index(fields=["site", "-last_activity", "id"], name="patient_site_activity")]
        constraints = [
            models.UniqueConstraint(fields=["site", "identifier"], name="patient_identifier_unique_per_site"),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gte=20, weight_kg__lte=300),
                name="patient_weight_range",
            ),
            models.CheckConstraint(condition=Q(sex__isnull=True) | Q(sex__in=Sex.values), name="patient_sex_valid"),
            models.CheckConstraint(
                condition=Q(birth_date__isnull=True) | Q(birth_date__gte=limits.EARLIEST_DATE.isoformat()),
                name="patient_birth_after_1900",
            ),
            models.CheckConstraint(condition=~Q(identifier=""), name="patient_identifier_not_empty"),
        ]

    def __str__(self) -> str:
        return self.identifier


class PatientRecord(VersionedModel):
    """Base for the dated records of a patient's history."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE)
    date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-date", "-pk"]


class Assessment(PatientRecord):
    """A visit's disease-activity assessment: SLEDAI-2K items, PGA, BILAG-2004."""

    window_days = models.PositiveSmallIntegerField(
        "SLEDAI-2K window", choices=[(10, "10 days"), (30, "30 days")], default=10
    )
    sledai_present = models.JSONField(default=list, blank=True)
    sledai_not_assessed = models.JSONField(default=list, blank=True)
    sledai_low = models.PositiveSmallIntegerField(editable=False, default=0)
    sledai_high = models.PositiveSmallIntegerField(editable=False, default=0)
    csledai_low = models.PositiveSmallIntegerField(editable=False, default=0)
    csledai_high = models.PositiveSmallIntegerField(editable=False, default=0)
    pga = models.DecimalField("PGA (0–3)", max_digits=2, decimal_places=1, null=True, blank=True)
    bilag = models.JSONField("BILAG-2004 grades", default=dict, blank=True)
    history = audit_history()
    value_labels = {
        "sledai_present": {code: i.label for code, i in vocab.SLEDAI_ITEMS.items()},
        "sledai_not_assessed": {code: i.label for code, i in vocab.SLEDAI_ITEMS.items()},
    }

    class Meta(PatientRecord.Meta):
        constraints = [
            models.UniqueConstraint(fields=["patient", "date"], name="assessment_one_per_date"),
            models.CheckConstraint(condition=Q(window_days__in=vocab.SLEDAI_WINDOWS), name="assessment_window_valid"),
            models.CheckConstraint(
                condition=Q(pga__isnull=True) | Q(pga__gte=0, pga__lte=3), name="assessment_pga_range"
            ),
            models.CheckConstraint(
                condition=Q(sledai_low__lte=models.F("sledai_high"), sledai_high__lte=105),
                name="assessment_sledai_bounds",
            ),
            models.CheckConstraint(
                condition=Q(csledai_low__lte=models.F("csledai_high"), csledai_high__lte=101),
                name="assessment_csledai_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"SLEDAI-2K assessment {show_date(self.date)}"

    @property
    def sledai_display(self) -> str:
        if self.sledai_low == self.sledai_high:
            return str(self.sledai_low)
        return f"{self.sledai_low}–{self.sledai_high}"

    @property
    def present_labels(self) -> list[str]:
        """The descriptors recorded present, in words ("Urinary casts")."""
        return [vocab.sledai_label(code) for code in self.sledai_present]

    @property
    def not_assessed_labels(self) -> list[str]:
        return [vocab.sledai_label(code) for code in self.sledai_not_assessed]


class DamageIndex(PatientRecord):
    """SLICC/ACR damage index on a date."""

    items = models.JSONField(default=dict, blank=True)
    score = models.PositiveSmallIntegerField(editable=False, default=0)
    history = audit_history()
    value_labels = {"items": {code: i.label for code, i in vocab.SDI_ITEMS.items()}}

    class Meta(PatientRecord.Meta):
        verbose_name_plural = "damage indices"
        constraints = [
            models.UniqueConstraint(fields=["patient", "date"], name="damage_one_per_date"),
            models.CheckConstraint(condition=Q(score__lte=limits.SDI_MAX), name="damage_score_range"),
        ]

    def __str__(self) -> str:
        return f"SLICC/ACR damage index {show_date(self.date)}"


class Manifestation(PatientRecord):
    """Organ involvement; for lupus nephritis, a biopsy class makes it a biopsy."""

    code = models.CharField(max_length=limits.RECORD_CODE, choices=_choices(vocab.MANIFESTATION_CODES))
    active = models.BooleanField(default=True)
    biopsy_class = models.CharField(
        "ISN/RPS biopsy class",
        max_length=5,
        null=True,
        blank=True,
        choices=[(c, f"Class {c}") for c in vocab.LN_CLASSES],
    )
    history = audit_history()

    class Meta(PatientRecord.Meta):
        constraints = [
            models.UniqueConstraint(fields=["patient", "code", "date"], name="manifestation_one_per_code_date"),
            models.CheckConstraint(
                condition=Q(code__in=list(vocab.MANIFESTATION_CODES)), name="manifestation_code_valid"
            ),
            models.CheckConstraint(
                condition=Q(biopsy_class__isnull=True) | Q(code="lupus_nephritis", biopsy_class__in=vocab.LN_CLASSES),
                name="manifestation_biopsy_class_ln_only",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} {show_date(self.date)}"


class Observation(PatientRecord):
    """A lab or function test, stored in the canonical unit of its code."""

    code = models.CharField(
        max_length=limits.RECORD_CODE, choices=[(c, o.label) for c, o in vocab.OBSERVATIONS.items()]
    )
    value = models.DecimalField(max_digits=12, decimal_places=4)
    uln = models.DecimalField("upper limit of normal", max_digits=12, decimal_places=4, null=True, blank=True)
    history = audit_history()

    class Meta(PatientRecord.Meta):
        constraints = [
            models.UniqueConstraint(fields=["patient", "code", "date"], name="observation_one_per_code_date"),
            models.CheckConstraint(condition=Q(code__in=list(vocab.OBSERVATIONS)), name="observation_code_valid"),
            models.CheckConstraint(condition=Q(value__gte=0), name="observation_value_not_negative"),
            models.CheckConstraint(condition=Q(uln__isnull=True) | Q(uln__gt=0), name="observation_uln_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} {self.value} {self.unit} on {show_date(self.date)}"

    @property
    def unit(self) -> str:
        return vocab.OBSERVATIONS[self.code].unit

    @property
    def loinc(self) -> str | None:
        return vocab.OBSERVATIONS[self.code].loinc


class TreatmentCourse(VersionedModel):
    """A course of one drug of the catalogue: start, end (none = ongoing), dose, why it stopped."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE)
    drug = models.CharField(max_length=limits.DRUG_CODE)
    start = models.DateField()
    end = models.DateField(null=True, blank=True, help_text="Leave empty while the course is ongoing.")
    dose = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    dose_unit = models.CharField(max_length=limits.DOSE_UNIT)
    stop_reason = models.CharField(max_length=24, null=True, blank=True, choices=_choices(vocab.STOP_REASONS))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = audit_history()

    class Meta:
        ordering = ["-start", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="course_end_not_before_start"
            ),
            models.CheckConstraint(
                condition=Q(end__isnull=False) | Q(stop_reason__isnull=True), name="course_stop_reason_needs_end"
            ),
            models.CheckConstraint(condition=Q(dose__isnull=True) | Q(dose__gte=0), name="course_dose_not_negative"),
            models.CheckConstraint(
                condition=Q(stop_reason__isnull=True) | Q(stop_reason__in=list(vocab.STOP_REASONS)),
                name="course_stop_reason_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug.replace('_', ' ')} from {show_date(self.start)}"

    @property
    def date(self):  # type: ignore[no-untyped-def]
        return self.start

    @property
    def drug_label(self) -> str:
        """The drug in words: "mycophenolate mofetil", not its code."""
        return vocab.drug_label(self.drug)


class Condition(PatientRecord):
    """A safety work-up status (present/absent) observed on a date."""

    code = models.CharField(max_length=limits.RECORD_CODE, choices=_choices(vocab.CONDITION_CODES))
    status = models.CharField(max_length=7, choices=[("present", "Present"), ("absent", "Absent")])
    history = audit_history()

    class Meta(PatientRecord.Meta):
        constraints = [
            models.UniqueConstraint(fields=["patient", "code", "date"], name="condition_one_per_code_date"),
            models.CheckConstraint(condition=Q(code__in=list(vocab.CONDITION_CODES)), name="condition_code_valid"),
            models.CheckConstraint(condition=Q(status__in=vocab.CONDITION_STATUSES), name="condition_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} {self.status} on {show_date(self.date)}"


RECORD_MODELS: tuple[type[models.Model], ...] = (
    Assessment,
    DamageIndex,
    Manifestation,
    Observation,
    TreatmentCourse,
    Condition,
)


class AccessKind(models.TextChoices):
    """What of a patient's record someone opened (one row per request to a page that shows it)."""

    PATIENT_PAGE = "patient_page", "patient page"
    DETAILS_FORM = "details_form", "details form"
    DIAGNOSIS_FORM = "diagnosis_form", "diagnosis basis form"
    RECORD_FORM = "record_form", "record form"
    DELETE_FORM = "delete_form", "record deletion form"
    HISTORY = "history", "history"
    CASE_EXPORT = "case_export", "case file export"
    FHIR_EXPORT = "fhir_export", "FHIR export"
    REFERRAL_PAGE = "referral_page", "referral page"
    REFERRAL_PRINTOUT = "referral_printout", "referral printout"
    ACCESS_LOG = "access_log", "access log"
    ACCESS_LOG_EXPORT = "access_log_export", "access log export"
    API = "api", "API"


class PatientAccess(AppendOnlyModel):
    """One opening of a patient's record: who (named as they were), which patient, what, when, from where.

    Append-only: written by the pages that show a patient (``patients.access_log.log_access``), read by
    privacy officers per patient.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    user_name = models.CharField(max_length=NAME_LENGTH, help_text="The user's name when they opened the record.")
    username = models.CharField(max_length=150)
    role = models.CharField(max_length=20, help_text="The user's role when they opened the record.")
    what = models.CharField(max_length=20, choices=AccessKind.choices)
    path = models.CharField(max_length=300, help_text="The address opened.")
    method = models.CharField(max_length=8)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "patient record access"
        verbose_name_plural = "patient record accesses"
        indexes = [models.Index(fields=["patient", "-at", "-id"], name="access_patient_latest")]
        constraints = [
            models.CheckConstraint(condition=Q(what__in=AccessKind.values), name="access_what_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.username} opened {self.get_what_display()} of {self.patient_id} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def role_label(self) -> str:
        return str(dict(Role.choices).get(self.role, self.role))
