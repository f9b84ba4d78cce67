"""Two-factor sign-in: an authenticator app (TOTP) with single-use recovery codes, on django-otp.

Required for rules admins and for anyone who can open Django's admin (``required``),
available to everyone. After the password, a user with an authenticator app gives a
code from it, or one recovery code, before anything else opens
(``accounts.security.TwoFactorMiddleware``); a user for whom it is required and who
has none is sent to set one up first.

A user's second factor is one confirmed ``TOTPDevice`` and one ``StaticDevice``
holding the unused recovery codes. The secret of a new authenticator app is kept in
the session until the user confirms it with a code, so a page view writes no device.
Every change is written to Django's admin log for the user (its "History").
"""

from __future__ import annotations

import re
from base64 import b32encode
from binascii import unhexlify
from dataclasses import dataclass
from typing import Any

import django_otp
import segno
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.http import HttpRequest
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from accounts.models import Role, User

__all__ = [
    "PENDING_KEY",
    "RECOVERY_CODE_COUNT",
    "Enrolment",
    "authenticator",
    "create_recovery_codes",
    "enable_two_factor",
    "enrolment",
    "mark_verified",
    "recovery_codes_left",
    "remove_two_factor",
    "required",
    "setup_code_matches",
    "throttled_until",
    "verify",
]

RECOVERY_CODE_COUNT = 10
APP_NAME = "Authenticator app"
CODES_NAME = "Recovery codes"
# Session keys: the secret being set up, and "this session still owes a second factor".
SETUP_KEY = "two_factor_setup_key"
PENDING_KEY = "two_factor_pending"


def required(user: Any) -> bool:
    """Rules admins and whoever can open Django's admin must sign in with a second factor (no query)."""
    return bool(user.is_superuser or user.is_staff or getattr(user, "role", None) == Role.RULES_ADMIN)


def authenticator(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@dataclass(frozen=True)
class Enrolment:
    """What a user needs to add Candidacy to an authenticator app: the secret three ways."""

    key: str  # hex, as TOTPDevice stores it
    secret: str  # base32, grouped by four for typing
    uri: str  # otpauth:// URI (what the QR code holds)
    qr_svg: str  # the QR code, drawn here as inline SVG: nothing is fetched from elsewhere


def enrolment(request: HttpRequest) -> Enrolment:
    """The secret being set up in this session (a new one on first call)."""
    key = request.session.get(SETUP_KEY)
    if not key:
        key = request.session[SETUP_KEY] = default_key()
    uri = TOTPDevice(user=request.user, key=key).config_url  # never saved: it only builds the URI
    qr = segno.make(uri, error="m")
    plain = b32encode(unhexlify(key)).decode("ascii").rstrip("=")
    return Enrolment(
        key=key,
        secret=" ".join(plain[i : i + 4] for i in range(0, len(plain), 4)),
        uri=uri,
        qr_svg=qr.svg_inline(scale=4, title="QR code for your authenticator app", svgclass="qr-code", light="#fff"),
    )


def _digits(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "")


def setup_code_matches(request: HttpRequest, code: str) -> bool:
    """Whether ``code`` is the current code of the secret being set up in this session."""
    key = request.session.get(SETUP_KEY)
    token = _digits(code)
    if not key or not token.isdigit():
        return False
    return bool(TOTP(unhexlify(key)).verify(int(token), tolerance=1))


def _log(*, actor: User | None, user: User, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=(actor or user).pk, queryset=[user], action_flag=CHANGE, change_message=message, single_object=True
    )


def _new_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, defaults={"name": CODES_NAME, "confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def enable_two_factor(*, user: User, key: str) -> tuple[TOTPDevice, list[str]]:
    """Turn two-factor sign-in on with the confirmed secret ``key``; return the device and new recovery codes.

    Replaces any authenticator app and recovery codes the user had: the old ones stop working.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, key=key, name=APP_NAME, confirmed=True)
        codes = _new_codes(user)
        _log(actor=user, user=user, message="Two-factor sign-in set up (authenticator app and recovery codes).")
    return device, codes


def create_recovery_codes(*, user: User) -> list[str]:
    """Replace the user's recovery codes by a new set (the old ones stop working); return them to show once."""
    with transaction.atomic():
        codes = _new_codes(user)
        _log(actor=user, user=user, message="New recovery codes made; the old ones no longer work.")
    return codes


def remove_two_factor(*, user: User, actor: User, reason: str) -> None:
    """Remove the user's authenticator app and recovery codes (a lost phone, or the user's own choice).

    A user for whom two-factor sign-in is required sets up a new app at their next sign-in.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        _log(actor=actor, user=user, message=f"Two-factor sign-in removed: {reason}")


def verify(user: User, code: str) -> TOTPDevice | StaticDevice | None:
    """The device that accepts ``code`` (a current app code, or an unused recovery code, which is then used up).

    django-otp throttles each device after a wrong code (1 s, 2 s, 4 s, … before the next try).
    """
    token = _digits(code)
    if not token:
        return None
    if token.isdigit() and len(token) == 6:  # an app code; recovery codes are eight letters and digits
        app = authenticator(user)
        return django_otp.verify_token(user, app.persistent_id, token) if app is not None else None
    for device in StaticDevice.objects.filter(user=user, confirmed=True):
        found = django_otp.verify_token(user, device.persistent_id, token.lower())
        if found is not None:
            return found
    return None


def mark_verified(request: HttpRequest, device: Any) -> None:
    """The session has given its second factor: a new session key, the device remembered by django-otp."""
    request.session.cycle_key()
    request.session.pop(PENDING_KEY, None)
    request.session.pop(SETUP_KEY, None)
    django_otp.login(request, device)


def throttled_until(user: User) -> Any:
    """When the next code may be tried, if the user's devices are throttled after wrong codes."""
    later = None
    for device in [authenticator(user), *StaticDevice.objects.filter(user=user, confirmed=True)]:
        if device is None:
            continue
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            later = max(later, data["locked_until"]) if later else data["locked_until"]
    return later
