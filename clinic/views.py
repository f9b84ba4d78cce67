"""The specialist's screens: patient list, patient page, record forms, history, case files.

Every view that shows one patient's record logs the opening (``patients.access_log``), once per request,
after the patient (and record) was found for the user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db import IntegrityError
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import readers, specialists
from accounts.locking import keep_input
from clinic import patient_pages
from clinic.services import screen_and_apply
from clinical import scoring, vocab
from clinical.casefile import CaseFileError, dump_case
from patients import forms, services
from patients.access import get_patient, get_record
from patients.access_log import log_access
from patients.casefiles import export_case, import_cases, validate_all
from patients.history import patient_history
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
from patients.summary import build_summary
from referrals import summary
from referrals.models import Referral
from screening.catalogue import drug_catalogue, drug_units
from screening.chart_fragments import sledai_html, timeline_html
from screening.charts import sledai_course, sledai_thresholds, treatment_timeline
from screening.display import outcome_badges, record_hints
from screening.models import ScreeningResult, Trigger
from screening.pathway_fragments import render_pathways
from screening.services import adequacy_by_course, latest_result_for, published_rules

PAGE_SIZES = (25, 50, 100)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordKind:
    model: Any
    form: Any
    label: str
    template: str = "patients/record_form.html"


KINDS: dict[str, RecordKind] = {
    "assessments": RecordKind(
        Assessment, forms.AssessmentForm, "disease-activity assessment", "patients/assessment_form.html"
    ),
    "damage": RecordKind(DamageIndex, forms.DamageForm, "damage index (SLICC/ACR)", "patients/damage_form.html"),
    "manifestations": RecordKind(Manifestation, forms.ManifestationForm, "organ manifestation"),
    "observations": RecordKind(Observation, forms.ObservationForm, "lab or function test"),
    "treatments": RecordKind(TreatmentCourse, forms.TreatmentForm, "treatment course"),
    "conditions": RecordKind(Condition, forms.ConditionForm, "work-up status"),
}


def _kind(kind: str) -> RecordKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise Http404("No such kind of record") from None


@readers
def patient_list(request: HttpRequest) -> HttpResponse:
    """Patients of the user's sites, most recently active first, a page at a time after a cursor
    (``clinic.patient_pages``): any page reads one indexed range, however deep."""
    sites = summary.sites_with_summaries(request.user.sites.all())  # type: ignore[union-attr]
    latest = Assessment.objects.filter(patient=OuterRef("pk")).order_by("-date")
    patients = (
        Patient.objects.visible_to(request.user)
        .select_related("site")
        .annotate(  # per row of the page only (the page is cut before these are read), each by an index
            latest_sledai_low=Subquery(latest.values("sledai_low")[:1]),
            latest_sledai_high=Subquery(latest.values("sledai_high")[:1]),
            latest_assessment=Subquery(latest.values("date")[:1]),
            latest_outcomes=Subquery(
                ScreeningResult.objects.filter(patient=OuterRef("pk")).order_by("-pk").values("outcomes")[:1]
            ),
        )
    )
    q = request.GET.get("q", "").strip()
    if q:
        patients = patients.filter(identifier__icontains=q)
    site_code = request.GET.get("site", "")
    if site_code:
        patients = patients.filter(site__code=site_code)
    try:
        per_page = int(request.GET.get("per_page", 25))
    except ValueError:
        per_page = 25
    per_page = per_page if per_page in PAGE_SIZES else 25
    page = patient_pages.page(
        patients, per_page, after=request.GET.get("after", ""), before=request.GET.get("before", "")
    )
    for p in page.rows:
        p.outcome_badges = outcome_badges(p.latest_outcomes)  # (SQLite hands the subquery's JSON back as text)
    # the total: counted when searching (the search reads the identifiers anyway), else the sites' summaries
    if q:
        total, total_as_of = patients.count(), None
    else:
        merged = summary.merged([s for s in sites if not site_code or s.code == site_code])
        total, total_as_of = merged.patients, merged.computed_at
    keep = {"q": q, "site": site_code, "per_page": per_page}
    return render(
        request,
        "patients/patient_list.html",
        {
            "page": page,
            "total": total,
            "total_as_of": total_as_of,
            "next_query": urlencode({**keep, "after": page.next_cursor}) if page.next_cursor else "",
            "prev_query": urlencode({**keep, "before": page.prev_cursor}) if page.prev_cursor else "",
            "first_query": urlencode(keep) if page.prev_cursor else "",
            "q": q,
            "site_code": site_code,
            "sites": sites,
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
            "can_edit": request.user.is_specialist,  # type: ignore[union-attr]
        },
    )


@specialists
def patient_create(request: HttpRequest) -> HttpResponse:
    sites = request.user.sites.all()  # type: ignore[union-attr]
    form = forms.PatientForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        patient = services.save_patient(actor=request.user, patient=form.save(commit=False), reason="patient created")
        messages.success(request, f"Patient {patient.identifier} created.")
        return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "title": "New patient"})


@specialists
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient(request, pk)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.DETAILS_FORM)
    sites = request.user.sites.all()  # type: ignore[union-attr]
    form = forms.PatientForm(request.POST or None, instance=patient, sites=sites)
    reason_form = forms.ReasonForm(request.POST or None, prefix="why")
    conflict = None
    if request.method == "POST" and form.is_valid() and reason_form.is_valid():
        try:
            services.save_patient(
                actor=request.user,
                patient=form.save(commit=False),
                seen_version=form.cleaned_data["version"],
                reason=reason_form.cleaned_data["reason"],
            )
        except services.Conflict as err:
            conflict = keep_input(form, err)
        except services.RecordError as err:
            reason_form.add_error("reason", err.message)
        else:
            messages.success(request, "Patient details saved.")
            return redirect("patients:detail", pk=patient.pk)
    return render(
        request,
        "patients/patient_form.html",
        {
            "form": form,
            "reason_form": reason_form,
            "patient": patient,
            "title": f"Edit {patient.identifier}",
            "conflict": conflict,
        },
        status=409 if conflict else 200,
    )


@specialists
def classification_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient(request, pk)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.DIAGNOSIS_FORM)
    eular = scoring.eular_acr(patient.ana_titre, patient.eular_criteria)  # as saved: before the form fills it in
    form = forms.ClassificationForm(request.POST or None, instance=patient)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.save_patient(
                actor=request.user,
                patient=form.save(commit=False),
                seen_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
            )
        except services.Conflict as err:
            conflict = keep_input(form, err)
        except services.RecordError as err:
            form.add_error("reason", err.message)
        else:
            messages.success(request, "Diagnosis basis saved.")
            return redirect("patients:detail", pk=patient.pk)
    weights = {code: [c.weight, c.domain, c.clinical] for code, c in vocab.EULAR_CRITERIA.items()}
    return render(
        request,
        "patients/classification_form.html",
        {
            "form": form,
            "patient": patient,
            "eular": eular,
            "weights": weights,
            "conflict": conflict,
        },
        status=409 if conflict else 200,
    )


CHANGE_ROW_FIELDS = (
    "id",
    "patient_id",
    "computed_at",
    "outcomes",
    "change_cause",
    "actor_id",
    "actor_name",
    "actor_username",
    "rule_set__version",
)


def link_records(summary: Any) -> None:
    """Give each record of the page's tables its ``edit_url`` and ``delete_url``. One ``reverse`` per kind and
    action, the record's id put in the probe's place: ``{% url %}`` reversed twice per row, about 40 µs each,
    which was 4 ms of a page with fifty records."""
    for kind in KINDS:
        records = getattr(summary, kind)
        if not records:  # no probe to reverse for a table that is empty
            continue
        edit, delete = _record_url(summary.patient.pk, kind, "edit"), _record_url(summary.patient.pk, kind, "delete")
        for record in records:
            record.edit_url, record.delete_url = edit(record.pk), delete(record.pk)


def _record_url(patient_pk: int, kind: str, action: str) -> Callable[[int], str]:
    """The URL of ``action`` on one record of ``kind``, by its id: reversed once with id 0, whose path segment
    (the last "/0/", right before the action's) is replaced by the record's."""
    head, tail = reverse(f"patients:record_{action}", kwargs={"pk": patient_pk, "kind": kind, "rid": 0}).rsplit(
        "/0/", 1
    )
    return lambda rid: f"{head}/{rid}/{tail}"


@readers
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient(request, pk)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.PATIENT_PAGE)
    summary = build_summary(patient, timezone.localdate())
    result = latest_result_for(patient)
    rules = published_rules()
    adequacy = adequacy_by_course(summary, rules)
    for course in summary.treatments:
        course.adequacy = adequacy[course.pk]
    can_edit = request.user.is_specialist  # type: ignore[union-attr]
    if can_edit:
        link_records(summary)
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "s": summary,
            "screening": result,
            "screening_age": (summary.today - result.checked_on).days if result else None,
            "pathways": render_pathways(patient, result, can_edit=can_edit) if result else "",
            "sledai_chart": sledai_html(sledai_course(summary, sledai_thresholds(rules))),
            "timeline_chart": timeline_html(treatment_timeline(summary), summary),
            "referrals": list(Referral.objects.filter(patient=patient).order_by("-opened_at")[:10]),
            "screening_changes": list(
                ScreeningResult.objects.filter(patient=patient, changed=True)
                .select_related("rule_set")
                # the columns the table of changes shows: not the rule set's content, facts or trace, which
                # would be read (and the rules' JSON parsed) ten times over
                .only(*CHANGE_ROW_FIELDS)
                .order_by("-pk")[:10]
            ),
            "can_edit": can_edit,
            "kinds": KINDS,
            "hints": record_hints(summary),
        },
    )


@readers
@require_POST
def patient_rescreen(request: HttpRequest, pk: int) -> HttpResponse:
    """Screen the patient again as of today (changes no clinical data; the result is stored like any other)."""
    patient = get_patient(request, pk)
    try:
        stored = screen_and_apply(patient=patient, trigger=Trigger.MANUAL, actor=request.user)
    except Exception:  # whatever fails, nothing was stored (one transaction): say so, never a server error
        log.exception("screening patient %s again failed", patient.pk)
        messages.error(
            request,
            "This patient could not be screened again: the published rules could not be applied to their "
            "record. Nothing was changed; the result below is the previous one. Tell the rules administrators.",
        )
    else:
        if stored is None:
            messages.error(request, "This patient cannot be screened: the birth date is after today.")
        elif getattr(stored, "rechecked", False):
            since = stored.as_of.strftime("%d %b %Y")
            messages.success(request, f"Screened again as of today: nothing has changed since {since}.")
        else:
            messages.success(request, "Screened again as of today.")
    return redirect(reverse("patients:detail", kwargs={"pk": patient.pk}) + "#screening")


@readers
def patient_history_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient(request, pk)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.HISTORY)
    return render(request, "patients/patient_history.html", {"patient": patient, "entries": patient_history(patient)})


def _form_kwargs(kind: str, patient: Patient) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"patient": patient}
    if kind == "treatments":
        kwargs["drugs"] = drug_catalogue()
    return kwargs


@specialists
def record_add(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    return _record_form(request, pk, kind, None)


@specialists
def record_edit(request: HttpRequest, pk: int, kind: str, rid: int) -> HttpResponse:
    return _record_form(request, pk, kind, rid)


def _record_form(request: HttpRequest, pk: int, kind: str, rid: int | None) -> HttpResponse:
    patient = get_patient(request, pk)
    spec = _kind(kind)
    instance = get_record(spec.model, patient, rid) if rid else None
    log_access(request=request, patient_id=patient.pk, what=AccessKind.RECORD_FORM)
    form = spec.form(request.POST or None, instance=instance, **_form_kwargs(kind, patient))
    conflict = None
    marked_rest = 0
    if request.method == "POST" and forms.MARK_REST in request.POST and isinstance(form, forms.AnswerEachForm):
        # "Mark the rest absent" without JavaScript: the same form again, the unanswered items answered, unsaved
        marked_rest = len(form.unanswered())
        form = spec.form(initial=form.with_rest_answered(), instance=instance, **_form_kwargs(kind, patient))
    elif request.method == "POST" and form.is_valid():
        record = form.save(commit=False)
        reason = form.cleaned_data.get("reason", "")
        seen = form.cleaned_data["version"]
        try:
            if kind == "observations":
                services.record_observation(
                    actor=request.user,
                    observation=record,
                    seen_version=seen,
                    add_egfr=form.cleaned_data.get("add_egfr", False),
                    reason=reason,
                )
            else:
                services.save_record(actor=request.user, record=record, seen_version=seen, reason=reason)
        except services.Conflict as err:
            conflict = keep_input(form, err)
        except services.RecordError as err:
            form.add_error(err.field if err.field in form.fields else None, err.message)
        except IntegrityError:
            form.add_error(None, "This record clashes with one saved a moment ago; reload the patient page and check.")
        else:
            messages.success(request, f"{spec.label.capitalize()} saved.")
            return redirect(reverse("patients:detail", kwargs={"pk": patient.pk}) + f"#{kind}")
    return render(
        request,
        spec.template,
        {
            "form": form,
            "patient": patient,
            "kind": kind,
            "spec": spec,
            "record": instance,
            "title": f"{'Edit' if instance else 'Add'} {spec.label}",
            "sledai_weights": {c: i.weight for c, i in vocab.SLEDAI_ITEMS.items()},
            "conflict": conflict,
            "marked_rest": marked_rest,
            "mark_rest": forms.MARK_REST,
        },
        status=409 if conflict else 200,
    )


@specialists
def record_delete(request: HttpRequest, pk: int, kind: str, rid: int) -> HttpResponse:
    patient = get_patient(request, pk)
    spec = _kind(kind)
    record = get_record(spec.model, patient, rid)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.DELETE_FORM)
    form = forms.DeleteForm(request.POST or None, initial={"version": record.version})
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.delete_record(
                actor=request.user,
                record=record,
                seen_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
            )
        except services.Conflict as err:
            conflict = keep_input(form, err)
        except services.RecordError as err:
            form.add_error("reason", err.message)
        else:
            messages.success(request, f"{spec.label.capitalize()} deleted. It remains in the patient's history.")
            return redirect("patients:detail", pk=patient.pk)
    return render(
        request,
        "patients/record_delete.html",
        {"form": form, "patient": patient, "record": record, "spec": spec, "conflict": conflict},
        status=409 if conflict else 200,
    )


@specialists
@require_POST
def sledai_preview(request: HttpRequest) -> JsonResponse:
    """Live SLEDAI-2K bounds for the assessment form, computed by the same scoring module."""
    states = {c: request.POST.get(forms.sledai_field_name(c)) for c in vocab.SLEDAI_ITEMS}
    present = [c for c, state in states.items() if state == "present"]
    not_assessed = [c for c, state in states.items() if state == "not_assessed"]
    unanswered = [c for c, state in states.items() if state not in ("present", "absent", "not_assessed")]
    # an unanswered descriptor may be present or absent: the score's range counts it like a not-assessed one
    low, high = scoring.sledai_bounds(present, not_assessed + unanswered)
    clow, chigh = scoring.sledai_bounds(present, not_assessed + unanswered, clinical_only=True)
    return JsonResponse(
        {
            "low": low,
            "high": high,
            "clinical_low": clow,
            "clinical_high": chigh,
            "not_assessed": len(not_assessed),
            "unanswered": len(unanswered),
            "band": scoring.sledai_activity_band(low),
        }
    )


@specialists
def case_import(request: HttpRequest) -> HttpResponse:
    sites = request.user.sites.all()  # type: ignore[union-attr]
    form = forms.CaseUploadForm(request.POST or None, request.FILES or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        named = [(upload.name, upload.read()) for upload in form.cleaned_data["files"]]
        try:
            cases = validate_all(named, drugs=drug_units(), today=timezone.localdate())
            outcome = import_cases(actor=request.user, site=form.cleaned_data["site"], cases=cases)
        except CaseFileError as err:
            form.add_error("files", f"Nothing was imported. {err}")
        else:
            messages.success(
                request,
                f"Imported {len(cases)} case file(s): {outcome.created} new patient(s), {outcome.updated} updated.",
            )
            return redirect("patients:list")
    return render(request, "patients/case_import.html", {"form": form})


@readers
def case_export(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient(request, pk)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.CASE_EXPORT)
    response = HttpResponse(dump_case(export_case(patient)), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{patient.identifier}.json"'
    return response
