"""Playwright against Debian's Chromium (playwright cannot download its own browser here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "page" in item.funcargs:
        ARTIFACTS.mkdir(exist_ok=True)
        item.funcargs["page"].screenshot(path=str(ARTIFACTS / f"{item.name}.png"), full_page=True)


def login(page, live_server, username: str, password: str, otp_key: str | None = None) -> None:
    """Log in through the login page; with ``otp_key`` (an authenticator app's key), give its code too."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if otp_key is not None:
        page.wait_for_url("**/account/two-factor/verify/**")
        page.get_by_label("Code").fill(totp_code(otp_key))
        page.get_by_role("button", name="Verify").click()


def totp_code(key_hex: str) -> str:
    """The code an authenticator app holding ``key_hex`` shows now."""
    from binascii import unhexlify

    from django_otp.oath import TOTP

    return f"{TOTP(unhexlify(key_hex)).token():06d}"


def with_authenticator(username: str) -> str:
    """Give a user an authenticator app, as the set-up page does; return its key for ``login``."""
    from django_otp.plugins.otp_totp.models import default_key

    from accounts import twofactor
    from accounts.models import User

    key = default_key()
    twofactor.enable_two_factor(user=User.objects.get(username=username), key=key)
    return key


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Every browser test fails if a page it opened broke the Content-Security-Policy (console errors)."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    yield refused
    assert not refused, refused


@pytest.fixture(autouse=True)
def published_rules(transactional_db):
    """Put the default rule set back before each browser test (flushes remove it)."""
    from tests.conftest import ensure_published_rules

    ensure_published_rules()
