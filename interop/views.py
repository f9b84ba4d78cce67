"""FHIR pages: a patient's record as a FHIR Bundle (download), and the FHIR Bundle import (upload, preview, confirm)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.access import readers, specialists
from clinical.casefile import CaseFileError
from interop.forms import BundleUploadForm
from interop.services import Prepared, dump_bundle, import_prepared, patient_bundle, prepare
from patients.access import get_patient
from patients.access_log import log_access
from patients.models import AccessKind
from screening.catalogue import drug_units


@readers
def bundle_export(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient(request, pk)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.FHIR_EXPORT)
    response = HttpResponse(dump_bundle(patient_bundle(patient)), content_type="application/fhir+json")
    response["Content-Disposition"] = f'attachment; filename="{patient.identifier}.fhir.json"'
    return response


@specialists
def bundle_import(request: HttpRequest) -> HttpResponse:
    sites = request.user.sites.all()  # type: ignore[union-attr]
    form = BundleUploadForm(request.POST or None, request.FILES or None, sites=sites)
    prepared: Prepared | None = None
    text = ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("file")
        confirming = upload is None
        text = form.cleaned_data["bundle"] if confirming else upload.read().decode("utf-8", errors="replace")
        site = form.cleaned_data["site"]
        try:
            prepared = prepare(text, site=site, drugs=drug_units(), today=timezone.localdate())
            if confirming:
                if form.cleaned_data["digest"] != prepared.digest:
                    raise CaseFileError("bundle", "changed since the preview; upload it again")
                if prepared.mapped.unmapped and not form.cleaned_data["accept_unmapped"]:
                    raise CaseFileError(
                        "bundle", "some entries cannot be imported: tick the box to import without them"
                    )
                patient, created = import_prepared(actor=request.user, site=site, prepared=prepared)
        except CaseFileError as err:
            form.add_error("file", f"Nothing was imported. {err}")
            prepared = None
        else:
            if confirming:
                messages.success(
                    request,
                    f"Imported {prepared.source}: patient {patient.identifier} {'created' if created else 'updated'}.",
                )
                return redirect("patients:detail", pk=patient.pk)
    return render(
        request,
        "interop/bundle_import.html",
        {"form": form, "prepared": prepared, "text": text, "site": form.cleaned_data.get("site") if prepared else None},
    )
