"""Production settings pass Django's deployment checks, warnings included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_check_deploy_passes_with_production_settings() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DEBUG", "DJANGO_SETTINGS_MODULE", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        SECRET_KEY="x" * 30 + "production-like-secret-key-0123456789",
        DEBUG="false",
        DJANGO_SETTINGS_MODULE="config.settings",
        ALLOWED_HOSTS="candidacy.example.org",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_settings_refuse_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    env.update(DEBUG="false", DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_no_template_loads_anything_from_another_host() -> None:
    import re

    pattern = re.compile(r'(src|href)="(https?:)?//')
    offenders = [p for p in (ROOT / "templates").rglob("*.html") if pattern.search(p.read_text())]
    assert not offenders


def _production(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "DJANGO_SETTINGS_MODULE",
            "SECURE_SSL_REDIRECT",
            "SECURE_COOKIES",
            "SECURE_HSTS_PRELOAD",
            "BEHIND_PROXY",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(
        SECRET_KEY="x" * 30 + "production-like-secret-key-0123456789",
        DEBUG="false",
        DJANGO_SETTINGS_MODULE="config.settings",
        ALLOWED_HOSTS="candidacy.example.org",
        **extra,
    )
    return env


def _settings(*names: str, **extra: str) -> list[str]:
    code = "import django; django.setup(); from django.conf import settings; " + "; ".join(
        f"print(repr(getattr(settings, {name!r}, None)))" for name in names
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_production(**extra), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_hsts_preload_and_the_proxy_header_only_when_configured() -> None:
    names = ("SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "SILENCED_SYSTEM_CHECKS")
    assert _settings(*names) == ["False", "None", "['security.W021']"]
    assert _settings(*names, SECURE_HSTS_PRELOAD="true", BEHIND_PROXY="true") == [
        "True",
        "('HTTP_X_FORWARDED_PROTO', 'https')",
        "[]",
    ]


def test_check_deploy_passes_with_preload_and_proxy_configured() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production(SECURE_HSTS_PRELOAD="true", BEHIND_PROXY="true"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 silenced" in result.stdout
