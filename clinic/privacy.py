"""The privacy officer's screens: who opened which patient's record, per patient, and its CSV export.

Privacy officers see the patients of their sites by identifier only (no clinical
data) and, per patient, the access log (``patients.access_log``). Looking at a
patient's log, and exporting it, is itself logged. The CSV is safe to open in a
spreadsheet (cells that would run as formulas are quoted, as in the queue export).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator

from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.access import privacy_officers
from patients.access import get_patient
from patients.access_log import log_access
from patients.models import AccessKind, Patient, PatientAccess
from referrals.export import neutralise

PATIENTS_PER_PAGE = 50
ACCESSES_PER_PAGE = 100
HEADER = ("when", "name", "username", "role", "what", "address", "method", "IP address")


@privacy_officers
def patient_list(request: HttpRequest) -> HttpResponse:
    """The patients of the officer's sites, by identifier, with how often and when their record was last opened."""
    patients = (
        Patient.objects.visible_to(request.user)
        .select_related("site")
        .annotate(access_count=Count("accesses"), last_access=Max("accesses__at"))
        .order_by("identifier", "pk")
    )
    q = request.GET.get("q", "").strip()
    if q:
        patients = patients.filter(identifier__icontains=q)
    page = Paginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "privacy/patient_list.html", {"page": page, "q": q})


@privacy_officers
def patient_log(request: HttpRequest, pk: int) -> HttpResponse:
    """One patient's access log, newest first."""
    patient = get_patient(request, pk)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.ACCESS_LOG)
    accesses = PatientAccess.objects.filter(patient=patient).order_by("-at", "-pk")
    page = Paginator(accesses, ACCESSES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "privacy/patient_log.html", {"patient": patient, "page": page})


@privacy_officers
def patient_log_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """One patient's whole access log as CSV, newest first."""
    patient = get_patient(request, pk)
    log_access(request=request, patient_id=patient.pk, what=AccessKind.ACCESS_LOG_EXPORT)
    accesses = PatientAccess.objects.filter(patient=patient).order_by("-at", "-pk").iterator(chunk_size=2000)
    response = StreamingHttpResponse(csv_lines(accesses), content_type="text/csv; charset=utf-8")
    name = re.sub(r"[^A-Za-z0-9._-]", "_", patient.identifier)
    response["Content-Disposition"] = f'attachment; filename="access-log-{name}-{timezone.localdate().isoformat()}.csv"'
    return response


def row_for(access: PatientAccess) -> list[str]:
    cells = [
        timezone.localtime(access.at).isoformat(timespec="seconds"),
        access.user_name,
        access.username,
        access.role_label,
        access.get_what_display(),
        access.path,
        access.method,
        access.ip or "",
    ]
    return [neutralise(c) for c in cells]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(accesses: Iterable[PatientAccess]) -> Iterator[str]:
    """The CSV text, one line at a time (for a streaming response)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for access in accesses:
        yield writer.writerow(row_for(access))
