"""Patients, their records and their screening results: the same forms, services and access as the pages.

Reads and writes of one patient are logged in the access log (``AccessKind.API``), after the
patient was found for the user. Writes go through ``patients.forms`` (the page's checks) and
``patients.services`` (audit, optimistic locking, re-screening once the change commits).
"""

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from api import schemas as s
from api.auth import READERS, SPECIALIST_AUTH, SPECIALISTS, need
from api.errors import ApiError, ConflictOut, ErrorOut, conflict, form_invalid, invalid
from clinic.services import screen_and_apply
from clinical import vocab
from patients import forms, services
from patients.access import get_patient, get_record
from patients.access_log import log_access
from patients.models import (
    AccessKind,
    Assessment,
    Condition,
    DamageIndex,
    Manifestation,
    Observation,
    Patient,
    TreatmentCourse,
)
from screening.catalogue import drug_catalogue
from screening.contract import read_outcomes, read_result
from screening.models import ScreeningResult, Trigger

log = logging.getLogger(__name__)
router = Router(tags=["patients"])

READ = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ConflictOut, 422: ErrorOut}
PatientId = Path(..., ge=1, le=s.MAX_ID, description="The patient's id.")
RecordId = Path(..., ge=1, le=s.MAX_ID, description="The record's id.")
Limit = Query(50, ge=1, le=200)
Offset = Query(0, ge=0, le=s.MAX_ID)


def _outcomes(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    return {pathway: outcome.value for pathway, outcome in read_outcomes(value).items()}


def _form_value(value: Any) -> Any:
    """A JSON value as a form field receives it from a browser."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return [str(getattr(v, "value", v)) for v in value]
    return str(getattr(value, "value", value))


def _patient_out(patient: Patient, outcomes: Any) -> dict[str, Any]:
    return {
        "id": patient.pk,
        "identifier": patient.identifier,
        "site": patient.site.code,
        "birth_date": patient.birth_date,
        "sex": patient.sex,
        "weight_kg": patient.weight_kg,
        "sle_attested": patient.sle_attested,
        "ana_titre": patient.ana_titre,
        "eular_criteria": patient.eular_criteria,
        "version": patient.version,
        "created_at": patient.created_at,
        "last_activity": patient.last_activity,
        "latest_outcomes": _outcomes(outcomes),
    }


def _found(request: HttpRequest, pk: int) -> Patient:
    patient = get_patient(request, pk)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.API)
    return patient


def _latest_outcomes(patient: Patient) -> Any:
    return ScreeningResult.objects.filter(patient=patient).order_by("-pk").values_list("outcomes", flat=True).first()


# --- patients -----------------------------------------------------------------------------------


@router.get("/patients", response={200: s.PatientPage, **READ}, url_name="patients", operation_id="list_patients")
def list_patients(
    request: HttpRequest,
    site: str | None = Query(None, max_length=32, description="Only this site's patients (its code)."),
    q: str | None = Query(None, max_length=64, description="Identifier contains."),
    limit: int = Limit,
    offset: int = Offset,
) -> Any:
    """Patients of your sites, most recently active first."""
    need(request, READERS)
    rows = (
        Patient.objects.visible_to(request.user)
        .select_related("site")
        .annotate(
            latest_outcomes=Subquery(
                ScreeningResult.objects.filter(patient=OuterRef("pk")).order_by("-pk").values("outcomes")[:1]
            )
        )
        .order_by("-last_activity", "pk")
    )
    if q:
        rows = rows.filter(identifier__icontains=q)
    if site:
        rows = rows.filter(site__code=site)
    items = [_patient_out(p, p.latest_outcomes) for p in rows[offset : offset + limit]]
    return {"count": rows.count(), "limit": limit, "offset": offset, "items": items}


@router.post(
    "/patients",
    response={201: s.PatientOut, **WRITE},
    url_name="patients",
    operation_id="create_patient",
    auth=SPECIALIST_AUTH,
)
def create_patient(request: HttpRequest, payload: s.PatientCreate) -> Any:
    """A new patient in one of your sites (specialists)."""
    user = need(request, SPECIALISTS)
    sites = user.sites.all()
    site = sites.filter(code=payload.site).first()
    if site is None:
        raise invalid("site", "Choose one of your sites (its code).")
    data = {k: _form_value(v) for k, v in payload.dict().items()} | {"site": str(site.pk)}
    form = forms.PatientForm(data, sites=sites)
    if not form.is_valid():
        raise form_invalid(form, general="identifier")
    try:
        patient = services.save_patient(actor=user, patient=form.save(commit=False), reason="patient created")
    except IntegrityError:
        raise invalid("identifier", "A patient with this identifier exists in this site.") from None
    log_access(request=request, patient_id=patient.pk, what=AccessKind.API)
    return Status(201, _patient_out(patient, None))


@router.get("/patients/{pk}", response={200: s.PatientOut, **READ}, url_name="patient", operation_id="get_patient")
def get_patient_detail(request: HttpRequest, pk: int = PatientId) -> Any:
    """A patient's details and diagnosis basis, with the outcomes of their latest screening."""
    need(request, READERS)
    patient = _found(request, pk)
    return _patient_out(patient, _latest_outcomes(patient))


@router.put(
    "/patients/{pk}",
    response={200: s.PatientOut, **WRITE},
    url_name="patient",
    operation_id="update_patient",
    auth=SPECIALIST_AUTH,
)
def update_patient(request: HttpRequest, payload: s.PatientUpdate, pk: int = PatientId) -> Any:
    """Change a patient's details (the whole set, as read), at the version read, with a reason."""
    user = need(request, SPECIALISTS)
    patient = _found(request, pk)
    data = {k: _form_value(v) for k, v in payload.dict().items()}
    form = forms.PatientForm(data, instance=patient, sites=user.sites.all())
    if not form.is_valid():
        raise form_invalid(form, general="identifier")
    try:
        services.save_patient(
            actor=user, patient=form.save(commit=False), seen_version=payload.version, reason=payload.reason
        )
    except services.Conflict as err:
        raise conflict(err) from err
    except services.RecordError as err:
        raise invalid(err.field, err.message) from err
    except IntegrityError:
        raise invalid("identifier", "A patient with this identifier exists in this site.") from None
    patient.refresh_from_db()
    return _patient_out(patient, _latest_outcomes(patient))


@router.put(
    "/patients/{pk}/diagnosis",
    response={200: s.PatientOut, **WRITE},
    url_name="diagnosis",
    operation_id="update_diagnosis",
    auth=SPECIALIST_AUTH,
)
def update_diagnosis(request: HttpRequest, payload: s.DiagnosisUpdate, pk: int = PatientId) -> Any:
    """Change the diagnosis basis: attestation, ANA titre, 2019 EULAR/ACR criteria."""
    user = need(request, SPECIALISTS)
    patient = _found(request, pk)
    data = {k: _form_value(v) for k, v in payload.dict().items()}
    form = forms.ClassificationForm(data, instance=patient)
    if not form.is_valid():
        raise form_invalid(form, general="criteria")
    try:
        services.save_patient(
            actor=user, patient=form.save(commit=False), seen_version=payload.version, reason=payload.reason
        )
    except services.Conflict as err:
        raise conflict(err) from err
    except services.RecordError as err:
        raise invalid(err.field, err.message) from err
    patient.refresh_from_db()
    return _patient_out(patient, _latest_outcomes(patient))


# --- screening -----------------------------------------------------------------------------------


def _screening_summary(result: ScreeningResult) -> dict[str, Any]:
    return {
        "id": result.pk,
        "computed_at": result.computed_at,
        "as_of": result.as_of,
        "rule_set_version": result.rule_set.version,
        "trigger": result.trigger,
        "actor": result.actor_name,
        "outcomes": _outcomes(result.outcomes) or {},
        "changed": result.changed,
        "change_cause": result.change_cause,
    }


def _screening_out(result: ScreeningResult) -> dict[str, Any]:
    view = read_result(result)
    pathways = [
        {
            "id": p.id,
            "label": p.label,
            "outcome": p.outcome.value,
            "outcome_label": p.outcome_label,
            "sentence": p.sentence,
            "reasons": [
                {"id": leaf.id, "explanation": leaf.explanation, "source": leaf.source}
                for c in p.met_criteria
                for leaf in c.met_leaves()
            ],
            "why_not": list(p.why_not),
            "missing": [{"line": m.line, "criterion": m.criterion} for m in p.missing],
            "cautions": [
                {
                    "id": c.id,
                    "label": c.label,
                    "severity": str(c.severity),
                    "status": c.status.value,
                    "explanation": c.explanation,
                    "source": c.source,
                }
                for c in p.cautions
            ],
            "next": list(p.next),
            "lapses_on": p.lapses_on,
            "lapse_reason": p.lapse_reason,
        }
        for p in view.pathways
    ]
    return {**_screening_summary(result), "pathways": pathways}


@router.get(
    "/patients/{pk}/screening",
    response={200: s.ScreeningOut, **READ},
    url_name="screening",
    operation_id="get_latest_screening",
)
def latest_screening(request: HttpRequest, pk: int = PatientId) -> Any:
    """The patient's latest stored screening result, per pathway: outcome, reasons, missing data, cautions.
    404 when the patient has not been screened."""
    need(request, READERS)
    patient = _found(request, pk)
    result = ScreeningResult.objects.latest_for(patient.pk)
    if result is None:
        raise ApiError(404, "This patient has not been screened yet.")
    return _screening_out(result)


@router.post(
    "/patients/{pk}/screening",
    response={200: s.ScreeningOut, 503: ErrorOut, **WRITE},
    url_name="screening",
    operation_id="rescreen_patient",
)
def rescreen(request: HttpRequest, pk: int = PatientId) -> Any:
    """Screen the patient again as of today with the published rules (no clinical data changes)."""
    user = need(request, READERS)
    patient = _found(request, pk)
    try:
        stored = screen_and_apply(patient=patient, trigger=Trigger.MANUAL, actor=user)
    except Exception:  # nothing was stored (one transaction)
        log.exception("screening patient %s again via the API failed", patient.pk)
        raise ApiError(503, "The published rules could not be applied to this record; nothing was changed.") from None
    if stored is None:
        raise invalid("birth_date", "This patient cannot be screened: the birth date is after today.")
    return _screening_out(stored)


@router.get(
    "/patients/{pk}/screening-results",
    response={200: s.ScreeningPage, **READ},
    url_name="screening_results",
    operation_id="list_screening_results",
)
def screening_results(request: HttpRequest, pk: int = PatientId, limit: int = Limit, offset: int = Offset) -> Any:
    """Every stored screening result of the patient, newest first (outcomes only)."""
    need(request, READERS)
    patient = _found(request, pk)
    rows = (
        ScreeningResult.objects.filter(patient=patient)
        .select_related("rule_set")
        .defer("legacy_facts", "legacy_trace", "trace_z")
    )
    items = [_screening_summary(r) for r in rows.order_by("-pk")[offset : offset + limit]]
    return {"count": rows.count(), "limit": limit, "offset": offset, "items": items}


@router.get(
    "/patients/{pk}/screening-results/{rid}",
    response={200: s.ScreeningOut, **READ},
    url_name="screening_result",
    operation_id="get_screening_result",
)
def screening_result(request: HttpRequest, pk: int = PatientId, rid: int = RecordId) -> Any:
    """One stored screening result in full."""
    need(request, READERS)
    patient = _found(request, pk)
    result = ScreeningResult.objects.filter(patient=patient, pk=rid).select_related("rule_set").first()
    if result is None:
        raise ApiError(404, "Not found.")
    return _screening_out(result)


# --- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of dated record: its model, form, API shapes, and how the API's fields map to the form's."""

    name: str
    model: Any
    form: Any
    schema_in: Any
    schema_out: Any
    label: str
    general: str  # the field an error of the whole form is about

    def form_data(self, payload: Any, patient: Patient) -> dict[str, Any]:
        data = payload.dict()
        if self.name == "assessments":
            flat = {k: _form_value(v) for k, v in data.items() if k not in ("sledai", "bilag")}
            flat.update({forms.sledai_field_name(c): v for c, v in data["sledai"].items()})
            flat.update({f"bilag_{k}": _form_value(v) for k, v in (data.get("bilag") or {}).items()})
            return flat
        if self.name == "damage":
            flat = {k: _form_value(v) for k, v in data.items() if k != "items"}
            flat.update({f"sdi_{c}": str(n) for c, n in data["items"].items()})
            return flat
        flat = {k: _form_value(v) for k, v in data.items()}
        if self.name == "observations" and not flat.get("unit") and payload.code is not None:
            flat["unit"] = vocab.OBSERVATIONS[_form_value(payload.code)].unit
        if self.name == "manifestations":
            flat["active"] = "True" if payload.active else "False"
        if self.name == "treatments" and not flat.get("dose_unit"):
            drug = drug_catalogue().get(payload.drug)
            if drug is not None:
                flat["dose_unit"] = drug["dose_unit"]
        return flat

    def rename(self) -> dict[str, str]:
        if self.name == "assessments":
            return {forms.sledai_field_name(c): f"sledai.{c}" for c in vocab.SLEDAI_ITEMS} | {
                f"bilag_{b}": f"bilag.{b}" for b in vocab.BILAG_SYSTEMS
            }
        if self.name == "damage":
            return {f"sdi_{c}": f"items.{c}" for c in vocab.SDI_ITEMS}
        return {}

    def make_form(self, data: Any, patient: Patient, instance: Any = None) -> Any:
        kwargs: dict[str, Any] = {"patient": patient, "instance": instance}
        if self.name == "treatments":
            kwargs["drugs"] = drug_catalogue()
        return self.form(data, **kwargs)


KINDS = [
    Kind("assessments", Assessment, forms.AssessmentForm, s.AssessmentIn, s.AssessmentOut, "assessment", "date"),
    Kind("damage", DamageIndex, forms.DamageForm, s.DamageIn, s.DamageOut, "damage index", "date"),
    Kind(
        "manifestations",
        Manifestation,
        forms.ManifestationForm,
        s.ManifestationIn,
        s.ManifestationOut,
        "manifestation",
        "date",
    ),
    Kind("observations", Observation, forms.ObservationForm, s.ObservationIn, s.ObservationOut, "lab or test", "date"),
    Kind(
        "treatments", TreatmentCourse, forms.TreatmentForm, s.TreatmentIn, s.TreatmentOut, "treatment course", "start"
    ),
    Kind("conditions", Condition, forms.ConditionForm, s.ConditionIn, s.ConditionOut, "work-up status", "date"),
]


def _save(kind: Kind, request: HttpRequest, patient: Patient, payload: Any, instance: Any) -> Any:
    user = need(request, SPECIALISTS)
    form = kind.make_form(kind.form_data(payload, patient), patient, instance)
    if not form.is_valid():
        raise form_invalid(form, kind.rename(), general=kind.general)
    record = form.save(commit=False)
    try:
        if kind.name == "observations":
            services.record_observation(
                actor=user,
                observation=record,
                seen_version=payload.version,
                add_egfr=form.cleaned_data.get("add_egfr", False),
                reason=payload.reason,
            )
        else:
            services.save_record(actor=user, record=record, seen_version=payload.version, reason=payload.reason)
    except services.Conflict as err:
        raise conflict(err) from err
    except services.RecordError as err:
        raise invalid(err.field, err.message) from err
    except IntegrityError:
        raise invalid(kind.general, "This record clashes with one saved a moment ago; read the list again.") from None
    record.refresh_from_db()
    return record


def _register(kind: Kind) -> None:
    base = f"/patients/{{pk}}/{kind.name}"
    one = f"{base}/{{rid}}"
    singular = kind.name.rstrip("s") if kind.name != "damage" else "damage_index"
    Out, In = kind.schema_out, kind.schema_in  # noqa: N806 (types)

    def list_records(request: HttpRequest, pk: int = PatientId) -> Any:
        need(request, READERS)
        patient = _found(request, pk)
        return list(kind.model.objects.filter(patient=patient))

    def get_one(request: HttpRequest, pk: int = PatientId, rid: int = RecordId) -> Any:
        need(request, READERS)
        patient = _found(request, pk)
        return get_record(kind.model, patient, rid)

    def create(request: HttpRequest, payload: In, pk: int = PatientId) -> Any:  # type: ignore[valid-type]
        need(request, SPECIALISTS)
        patient = _found(request, pk)
        if payload.version is not None:  # type: ignore[attr-defined]
            raise invalid("version", "A new record has no version; leave it out (PUT the record to change it).")
        return Status(201, _save(kind, request, patient, payload, None))

    def update(request: HttpRequest, payload: In, pk: int = PatientId, rid: int = RecordId) -> Any:  # type: ignore[valid-type]
        need(request, SPECIALISTS)
        patient = _found(request, pk)
        record = get_record(kind.model, patient, rid)
        if payload.version is None:  # type: ignore[attr-defined]
            raise invalid("version", "Give the version of the record you read.")
        return _save(kind, request, patient, payload, record)

    def delete(
        request: HttpRequest,
        pk: int = PatientId,
        rid: int = RecordId,
        version: int = Query(..., ge=1, le=s.MAX_ID, description="The version you read."),
        reason: str = Query(..., max_length=500, description="Why it is deleted (kept in the history)."),
    ) -> Any:
        user = need(request, SPECIALISTS)
        patient = _found(request, pk)
        record = get_record(kind.model, patient, rid)
        form = forms.DeleteForm({"version": str(version), "reason": reason})
        if not form.is_valid():
            raise form_invalid(form, general="reason")
        try:
            services.delete_record(actor=user, record=record, seen_version=version, reason=form.cleaned_data["reason"])
        except services.Conflict as err:
            raise conflict(err) from err
        except services.RecordError as err:
            raise invalid(err.field, err.message) from err
        return Status(204, None)

    list_records.__doc__ = f"The patient's {kind.name} (every {kind.label}), newest first."
    get_one.__doc__ = f"One {kind.label}."
    create.__doc__ = f"Record a new {kind.label} (specialists); checked like the page's form."
    update.__doc__ = f"Change a {kind.label} (the whole record, as read) at the version read, with a reason."
    delete.__doc__ = f"Delete a {kind.label} at the version read, with a reason; its history keeps it."
    router.get(base, response={200: list[Out], **READ}, url_name=f"{kind.name}", operation_id=f"list_{kind.name}")(
        list_records
    )
    router.post(
        base,
        response={201: Out, **WRITE},
        url_name=f"{kind.name}",
        operation_id=f"create_{singular}",
        auth=SPECIALIST_AUTH,
    )(create)
    router.get(one, response={200: Out, **READ}, url_name=f"{singular}", operation_id=f"get_{singular}")(get_one)
    router.put(
        one,
        response={200: Out, **WRITE},
        url_name=f"{singular}",
        operation_id=f"update_{singular}",
        auth=SPECIALIST_AUTH,
    )(update)
    router.delete(
        one,
        response={204: None, **WRITE},
        url_name=f"{singular}",
        operation_id=f"delete_{singular}",
        auth=SPECIALIST_AUTH,
    )(delete)


for _kind in KINDS:
    _register(_kind)
