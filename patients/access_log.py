"""Who opened which patient's record: the access log.

Every page that shows a patient's record (the patient page, its forms, its
history, the case-file export, the referral page and printout) calls
``log_access`` once per request, after finding the patient (so a refused or
unknown patient is not logged). The row is one INSERT, with the user's name,
username and role as they were, and is never changed or deleted
(``accounts.append_only``). Privacy officers read it per patient.
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest

from accounts.audit import names_of
from patients.models import PatientAccess

__all__ = ["log_access"]


def log_access(*, request: HttpRequest, patient_id: int, what: str) -> PatientAccess:
    """Record that the request's user opened ``what`` of the patient (one INSERT, no transaction needed).

    The IP address is the connection's (``REMOTE_ADDR``): behind a proxy, the proxy's.
    """
    user = request.user
    name, username = names_of(user)
    return PatientAccess.objects.create(
        patient_id=patient_id,
        user=user,
        user_name=name,
        username=username,
        role=user.role,  # type: ignore[union-attr]
        what=what,
        path=request.get_full_path()[:300],
        method=(request.method or "")[:8],
        ip=_ip(request.META.get("REMOTE_ADDR")),
    )


def _ip(value: str | None) -> str | None:
    """The address if it is one (a unix socket gives none)."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None
