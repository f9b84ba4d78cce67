"""Home, and the user's own security pages: password, two-factor set-up and verification, recovery codes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticDevice

from accounts import twofactor
from accounts.forms import ConfirmPasswordForm, SetupCodeForm, VerifyForm
from accounts.models import Role
from accounts.security import two_factor_exempt


def home(request: HttpRequest) -> HttpResponse:
    if request.user.role == Role.RULES_ADMIN:  # type: ignore[union-attr]
        return redirect("screening:rules")
    if request.user.role == Role.PRIVACY_OFFICER:  # type: ignore[union-attr]
        return redirect("privacy:patients")
    return redirect("patients:list")


def _next(request: HttpRequest) -> str:
    """Where to go once the second factor is given: the page first asked for, if it is one of ours."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return url if ok else reverse("home")


def security(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "app": twofactor.authenticator(user),  # type: ignore[arg-type]
        "codes_left": twofactor.recovery_codes_left(user),  # type: ignore[arg-type]
        "required": twofactor.required(user),
    }
    return render(request, "accounts/security.html", context)


@two_factor_exempt
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    has_app = twofactor.authenticator(user) is not None  # type: ignore[arg-type]
    if has_app and not user.is_verified():  # type: ignore[union-attr]
        # replacing the app takes the second factor first, or a stolen password would be enough
        return redirect(f"{reverse('accounts:two_factor_verify')}?next={reverse('accounts:two_factor_setup')}")
    form = SetupCodeForm(request.POST or None)
    if form.is_valid():
        if twofactor.setup_code_matches(request, form.cleaned_data["code"]):
            key = request.session[twofactor.SETUP_KEY]
            device, codes = twofactor.enable_two_factor(user=user, key=key)  # type: ignore[arg-type]
            twofactor.mark_verified(request, device)
            # shown once, in this response only: nothing keeps them to show again
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next(request)})
        form.add_error("code", "That code does not match. Check the app shows Candidacy's entry and try the new code.")
    context = {
        "form": form,
        "enrolment": twofactor.enrolment(request),
        "replacing": has_app,
        "required": twofactor.required(user),
        "next": _next(request),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@two_factor_exempt
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_verified():  # type: ignore[union-attr]
        return redirect(_next(request))
    if twofactor.authenticator(user) is None:  # type: ignore[arg-type]
        request.session.pop(twofactor.PENDING_KEY, None)
        return redirect("accounts:two_factor_setup" if twofactor.required(user) else _next(request))
    form = VerifyForm(request.POST or None)
    if form.is_valid():
        device = twofactor.verify(user, form.cleaned_data["code"])  # type: ignore[arg-type]
        if device is not None:
            twofactor.mark_verified(request, device)
            if isinstance(device, StaticDevice):
                left = twofactor.recovery_codes_left(user)  # type: ignore[arg-type]
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. Make new ones on your Security page if you are running low.",
                )
            return redirect(_next(request))
        until = twofactor.throttled_until(user)  # type: ignore[arg-type]
        form.add_error(
            "code",
            "That code was not accepted."
            + (f" Too many wrong codes: wait until {until:%H:%M:%S} before trying again." if until else ""),
        )
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": _next(request)})


@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user = request.user
    if twofactor.authenticator(user) is None:  # type: ignore[arg-type]
        messages.info(request, "Set up an authenticator app first: recovery codes come with it.")
        return redirect("accounts:security")
    codes = twofactor.create_recovery_codes(user=user)  # type: ignore[arg-type]
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("accounts:security")})


def two_factor_remove(request: HttpRequest) -> HttpResponse:
    user = request.user
    if twofactor.required(user):
        raise PermissionDenied("Two-factor sign-in is required for your account.")
    form = ConfirmPasswordForm(request.POST or None, request=request)
    if form.is_valid():
        twofactor.remove_two_factor(user=user, actor=user, reason="turned off by the user")  # type: ignore[arg-type]
        messages.success(request, "Two-factor sign-in is off.")
        return redirect("accounts:security")
    return render(request, "accounts/two_factor_remove.html", {"form": form})


password_change = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change.html", success_url=reverse_lazy("accounts:password_change_done")
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html")
