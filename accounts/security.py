"""Session limits, the two-factor gate, no-store responses and the client address for the lockout.

* ``SessionLimitsMiddleware`` signs a user out after ``SESSION_IDLE_TIMEOUT`` without a
  request, and ``SESSION_ABSOLUTE_TIMEOUT`` after signing in whatever they do; the
  login page then says why.
* ``TwoFactorMiddleware`` lets a signed-in user who still owes a second factor reach
  only the two-factor pages and "Log out" (``accounts.twofactor``).
* ``no_store`` marks every page Django answers ``Cache-Control: no-store`` (patient
  data must not stay in a browser's or a proxy's cache); static files are answered
  before it by whitenoise.
* ``client_ip`` is the address django-axes counts failed logins by.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from accounts import twofactor

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"
# Last activity is written to the session at most once a minute, so that not every page view
# saves the session: the idle limit holds to the minute.
LAST_SEEN_GRANULARITY = 60

Handler = Callable[[HttpRequest], HttpResponse]


def _now() -> int:
    return int(timezone.now().timestamp())


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@receiver(user_logged_in)
def start_session(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Stamp a new sign-in; note whether it still owes a second factor (so no page asks the database)."""
    if request is None or not hasattr(request, "session"):
        return
    now = _now()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN] = now
    if twofactor.authenticator(user) is not None:
        request.session[twofactor.PENDING_KEY] = True


class SessionLimitsMiddleware:
    """Sign out after the idle limit, or the absolute limit since signing in; the login page says which."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        session, now = request.session, _now()
        idle = settings.SESSION_IDLE_TIMEOUT.total_seconds()
        absolute = settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds()
        started, seen = session.get(SIGNED_IN_AT), session.get(LAST_SEEN)
        if started is None or now - started >= absolute:
            why = f"You were signed out: a session lasts at most {duration(absolute)}. Please log in again."
        elif seen is None or now - seen >= idle:
            why = f"You were signed out after {duration(idle)} without activity. Please log in again."
        else:
            if now - seen >= LAST_SEEN_GRANULARITY:
                session[LAST_SEEN] = now
            return
        logout(request)
        messages.info(request, why)


def two_factor_exempt(view: Any) -> Any:
    """Mark a view a signed-in user may reach before giving the second factor (set-up, verify, log out)."""
    view.two_factor_exempt = True
    return view


def owes_second_factor(request: HttpRequest) -> bool:
    """Whether the signed-in user must still give a second factor in this session (no query).

    Users for whom it is required until they do; others who set it up when this session
    signed in (noted by ``start_session``).
    """
    user = request.user
    if not user.is_authenticated:
        return False
    verified = getattr(user, "is_verified", None)  # installed by django-otp's middleware; absent: not verified
    if verified is not None and verified():
        return False
    return bool(request.session.get(twofactor.PENDING_KEY) or twofactor.required(user))


class TwoFactorMiddleware:
    """Until a session has given its second factor, send its user to verify it (or to set it up)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        if getattr(view, "two_factor_exempt", False) or not owes_second_factor(request):
            return None
        user = request.user
        name = "accounts:two_factor_verify" if twofactor.authenticator(user) else "accounts:two_factor_setup"  # type: ignore[arg-type]
        url = reverse(name)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return redirect(url)


def no_store(get_response: Handler) -> Handler:
    """Every page Django answers: not to be kept in any cache (``Cache-Control: no-store``)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        add_never_cache_headers(response)
        return response

    return middleware


def client_ip(request: HttpRequest) -> str:
    """The address failed logins are counted by.

    Behind the one reverse proxy of ``BEHIND_PROXY``, the last address of X-Forwarded-For
    (the one that proxy saw and appended); otherwise the connection's own address, because
    a client can write any X-Forwarded-For it likes.
    """
    if settings.BEHIND_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return str(request.META.get("REMOTE_ADDR", ""))
