"""Finding a patient or a record for the current user (404 outside their sites)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from patients.models import Patient


def get_patient(request: HttpRequest, pk: int) -> Patient:
    """The patient if it belongs to one of the user's sites, else 404."""
    return get_object_or_404(Patient.objects.visible_to(request.user).select_related("site"), pk=pk)


def get_record(model: Any, patient: Patient, pk: int) -> Any:
    """A record of this patient, else 404 (never another patient's record)."""
    record = get_object_or_404(model, pk=pk, patient=patient)
    record.patient = patient
    return record
