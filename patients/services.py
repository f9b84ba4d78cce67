"""Writes to the clinical record.

Every write runs inside ``transaction.atomic()``, records the acting user and
the reason in the audit trail (django-simple-history) in the same transaction,
touches the patient's last activity and, once the transaction commits, sends
``record_changed`` with the acting user (the clinic app re-screens the patient).
A change to an existing row (edit, delete, import over a patient) needs a
reason, refused here when blank whatever the form did (``RecordError`` on
``reason``, nothing written); a new row without one is kept as "recorded".
A change to an existing row (patient or record, edit or delete) first claims it
at the version the user saw (``accounts.locking.claim``): if someone else
changed it since, or no version was given, ``Conflict`` is raised and nothing
is written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from accounts.locking import Conflict, claim
from accounts.models import Site, User
from clinical import scoring
from patients.models import (
    RECORD_MODELS,
    Assessment,
    Condition,
    DamageIndex,
    Manifestation,
    Observation,
    Patient,
    TreatmentCourse,
)
from patients.signals import record_changed

__all__ = [
    "NEW_RECORD_REASON",
    "Conflict",
    "RecordError",
    "compute_derived",
    "delete_record",
    "egfr_from_creatinine",
    "record_observation",
    "replace_patient_record",
    "save_patient",
    "save_record",
]


class RecordError(Exception):
    """A write refused for a reason a user can act on; ``field`` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


NEW_RECORD_REASON = "recorded"


def _reason(row: Any, reason: str) -> str:
    """The reason the history keeps: required for a change to an existing row; "recorded" for a new one."""
    reason = (reason or "").strip()
    if reason:
        return reason
    if row.pk is None:
        return NEW_RECORD_REASON
    raise RecordError("reason", "Say why: a change to the clinical record needs a reason, kept in its history.")


def _after_change(patient_id: int, actor: User | None) -> None:
    Patient.objects.filter(pk=patient_id).update(last_activity=timezone.now())
    record_changed.send(sender=Patient, patient_id=patient_id, actor=actor)


def _on_commit_rescreen(patient_id: int, actor: User | None) -> None:
    # robust: a failure to re-screen is logged and must not turn a saved change into an error page;
    # the panel shows when its result was computed.
    transaction.on_commit(lambda: _after_change(patient_id, actor), robust=True)


def compute_derived(record: models.Model) -> None:
    """Fill the stored derived values (SLEDAI-2K bounds, SDI score) of a record."""
    if isinstance(record, Assessment):
        present, not_assessed = record.sledai_present, record.sledai_not_assessed
        record.sledai_low, record.sledai_high = scoring.sledai_bounds(present, not_assessed)
        record.csledai_low, record.csledai_high = scoring.sledai_bounds(present, not_assessed, clinical_only=True)
    elif isinstance(record, DamageIndex):
        record.score = scoring.sdi_score(record.items)


def _audited(instance: models.Model, actor: User | None, reason: str) -> None:
    instance._history_user = actor  # type: ignore[attr-defined]
    instance._change_reason = reason  # type: ignore[attr-defined]


def _claim(row: Any, seen_version: int | None) -> None:
    """Claim an existing row at the version the user saw (a new row has nothing to claim)."""
    if row.pk is not None:
        row.version = claim(type(row), pk=row.pk, seen=seen_version)


@transaction.atomic
def save_patient(*, actor: User | None, patient: Patient, seen_version: int | None = None, reason: str = "") -> Patient:
    """Create or update a patient's own fields (demographics, diagnosis basis).

    An update needs ``seen_version``, the patient's version when the form was opened, and a reason.
    """
    reason = _reason(patient, reason)
    _claim(patient, seen_version)
    _audited(patient, actor, reason)
    patient.save()
    _on_commit_rescreen(patient.pk, actor)
    return patient


@transaction.atomic
def save_record(*, actor: User | None, record: Any, seen_version: int | None = None, reason: str = "") -> Any:
    """Create or update one dated record of a patient's history.

    An update needs ``seen_version``, the record's version when the form was opened, and a reason.
    """
    reason = _reason(record, reason)
    _claim(record, seen_version)
    compute_derived(record)
    _audited(record, actor, reason)
    record.save()
    patient_id = record.patient_id
    _on_commit_rescreen(patient_id, actor)
    return record


@transaction.atomic
def delete_record(*, actor: User | None, record: Any, seen_version: int | None, reason: str) -> None:
    """Delete a record seen at ``seen_version``; the audit trail keeps what it held, who deleted it and why
    (``reason``, required)."""
    reason = _reason(record, reason)
    _claim(record, seen_version)
    patient_id = record.patient_id
    _audited(record, actor, reason)
    record.delete()
    _on_commit_rescreen(patient_id, actor)


@transaction.atomic
def record_observation(
    *,
    actor: User | None,
    observation: Observation,
    seen_version: int | None = None,
    add_egfr: bool = False,
    reason: str = "",
) -> Observation:
    """Save a lab; for a creatinine, optionally also the CKD-EPI 2021 eGFR of that day."""
    save_record(actor=actor, record=observation, seen_version=seen_version, reason=reason)
    if add_egfr and observation.code == "creatinine":
        egfr = egfr_from_creatinine(observation.patient, observation.value, observation.date)
        if egfr is None:
            raise RecordError("add_egfr", "eGFR needs the patient's birth date and sex")
        # the user asked for the computed value to replace that day's eGFR: lock it, then claim what was read
        existing = (
            Observation.objects.select_for_update()
            .filter(patient=observation.patient, code="egfr", date=observation.date)
            .first()
        )
        target = existing or Observation(patient=observation.patient, code="egfr", date=observation.date)
        target.value = egfr
        target.uln = None
        save_record(
            actor=actor,
            record=target,
            seen_version=existing.version if existing else None,
            reason=reason or "computed from creatinine (CKD-EPI 2021)",
        )
    return observation


def egfr_from_creatinine(patient: Patient, creatinine: Decimal, on: date) -> Decimal | None:
    """CKD-EPI 2021 eGFR from a creatinine on a date, when age and sex are known."""
    if patient.birth_date is None or patient.sex is None or creatinine <= 0:
        return None
    age = scoring.age_on(patient.birth_date, on)
    value = scoring.ckd_epi_2021(float(creatinine), age, patient.sex)
    return Decimal(str(round(value, 1)))


@transaction.atomic
def replace_patient_record(
    *, actor: User | None, site: Site, case: dict[str, Any], reason: str
) -> tuple[Patient, bool]:
    """Create or update a patient from a validated case file, replacing their records (``reason`` required)."""
    if not (reason or "").strip():
        raise RecordError("reason", "An import needs a reason, kept in the patient's history.")
    reason = reason.strip()
    data = case["patient"]
    patient = Patient.objects.select_for_update().filter(site=site, identifier=case["case_id"]).first()
    created = patient is None
    if patient is None:
        patient = Patient(site=site, identifier=case["case_id"])
    else:
        _claim(patient, patient.version)  # locked above: the import replaces whatever it holds
    patient.birth_date = _date(data.get("birth_date"))
    patient.sex = data.get("sex")
    patient.weight_kg = _dec(data.get("weight_kg"))
    patient.sle_attested = bool(data.get("sle_attested", False))
    classification = case.get("classification")
    patient.ana_titre = classification.get("ana_titre") if classification else None
    patient.eular_criteria = classification.get("criteria") if classification else None
    _audited(patient, actor, reason)
    patient.save()
    if not created:
        for model in RECORD_MODELS:
            # locked, so that an edit racing the import waits, then finds its row gone (a conflict)
            for old in model.objects.select_for_update().filter(patient=patient):  # type: ignore[attr-defined]
                old.version += 1  # its deletion is a change after any version someone opened
                _audited(old, actor, reason)
                old.delete()
    records: list[models.Model] = []
    for a in case.get("assessments", []):
        sledai = a["sledai2k"]
        records.append(
            Assessment(
                patient=patient,
                date=_date(a["date"]),
                window_days=a.get("window_days", 10),
                sledai_present=list(sledai.get("present", [])),
                sledai_not_assessed=list(sledai.get("not_assessed", [])),
                pga=_dec(a.get("pga")),
                bilag=a.get("bilag") or {},
            )
        )
    for d in case.get("damage", []):
        records.append(DamageIndex(patient=patient, date=_date(d["date"]), items=d.get("items", {})))
    for m in case.get("manifestations", []):
        records.append(
            Manifestation(
                patient=patient,
                code=m["code"],
                date=_date(m["date"]),
                active=m["active"],
                biopsy_class=m.get("biopsy_class"),
            )
        )
    for o in case.get("observations", []):
        records.append(
            Observation(
                patient=patient,
                code=o["code"],
                date=_date(o["date"]),
                value=_dec(o["value"]),
                uln=_dec(o.get("uln")),
            )
        )
    for t in case.get("treatments", []):
        records.append(
            TreatmentCourse(
                patient=patient,
                drug=t["drug"],
                start=_date(t["start"]),
                end=_date(t.get("end")),
                dose=_dec(t.get("dose")),
                dose_unit=t["dose_unit"],
                stop_reason=t.get("stop_reason"),
            )
        )
    for c in case.get("conditions", []):
        records.append(Condition(patient=patient, code=c["code"], status=c["status"], date=_date(c["date"])))
    for record in records:
        compute_derived(record)
        _audited(record, actor, reason)
        record.save()
    patient_id = patient.pk
    _on_commit_rescreen(patient_id, actor)
    return patient, created


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
