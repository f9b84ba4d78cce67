"""Candidacy settings, read from the environment.

DATABASE_URL (default: SQLite file db.sqlite3 in the project folder),
SECRET_KEY, DEBUG, ALLOWED_HOSTS, TIME_ZONE, TASKS_BACKEND ("db" or
"immediate").
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
_DEV_KEY = "dev-only-insecure-key-change-me-candidacy"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_KEY if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "patients",
    "screening",
    "referrals",
    "clinic",
    "api",
    "ninja",  # its Swagger UI files are served from our static files (no CDN)
    "interop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
            "builtins": ["accounts.templatetags.clinic_dates"],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A PostgreSQL read replica for the pages that may lag (config/replicas.py, docs/scaling.md): off unless set.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
REPLICA_PAGES = tuple(
    name for name in os.environ.get("REPLICA_PAGES", "referrals:dashboard").split(",") if name.strip()
)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60, conn_health_checks=True)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["config.replicas.ReplicaRouter"]
    MIDDLEWARE.append("config.replicas.ReplicaPagesMiddleware")
# Caches: "default" is each process's memory (Django's default). "fragments" keeps rendered pieces of pages
# (the queue's rows: referrals.queue_rows; the patient page's pathway panels and charts:
# screening.pathway_fragments, screening.chart_fragments) under keys made of their content, so an entry is
# never out of date and per-process memory is safe; FRAGMENT_CACHE_ENTRIES bounds it (a queue row about
# 1.5 KB, a chart about 3 KB, a patient's pathway panels about 18 KB).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "fragments",
        "TIMEOUT": 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("FRAGMENT_CACHE_ENTRIES", "20000"))},
    },
}
# The maintained per-site summaries (referrals.summary) are recomputed once this many seconds old.
SUMMARY_MAX_AGE = float(os.environ.get("SUMMARY_MAX_AGE", "60"))
# A CSV export of the queue is kept this many hours for the user who asked for it (referrals.exports).
EXPORT_KEEP_HOURS = float(os.environ.get("EXPORT_KEEP_HOURS", "24"))
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# Dates: one format on every page, in every form and in the reasons (docs/operations.md, "Dates").
# Shown as CLINIC_DATE_FORMAT (Django's date-filter letters: "d M Y" is 01 Nov 2026, unambiguous in any
# country); typed the same way, or as 01/11/2026 (day first) or ISO 2026-11-01. config/formats/ hands
# these to Django for the clinic's language, so {{ value|date }} and the forms' DateFields follow them;
# templates use the filters of accounts/templatetags/clinic_dates.py (built in to every template).
CLINIC_DATE_FORMAT = "d M Y"
CLINIC_TIME_FORMAT = "H:i"
CLINIC_MONTH_FORMAT = "M Y"
CLINIC_DATE_INPUT_FORMATS = ["%d %b %Y", "%d %B %Y", "%d/%m/%Y", "%d-%b-%Y", "%Y-%m-%d"]
CLINIC_DATE_HINT = "Day month year, e.g. 01 Nov 2026"
FORMAT_MODULE_PATH = ["config.formats"]
DATE_FORMAT = SHORT_DATE_FORMAT = CLINIC_DATE_FORMAT
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = f"{CLINIC_DATE_FORMAT} {CLINIC_TIME_FORMAT}"
YEAR_MONTH_FORMAT = CLINIC_MONTH_FORMAT
DATE_INPUT_FORMATS = CLINIC_DATE_INPUT_FORMATS

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Background work (re-screening, impact previews) goes through the Tasks API.
# "db" stores tasks for the db_worker process; "immediate" runs them inline (tests).
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if os.environ.get("TASKS_BACKEND", "db") == "immediate"
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Input limits (clinical/limits.py holds the app's own, per file and per field; docs/operations.md, "Limits").
# A form's fields, files aside, at most 2.5 MB; a case file within its limit stays in memory; Django answers
# 400 beyond twice the case files one import takes (the import form explains the limit below that).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 100
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Security: production defaults; DEBUG relaxes what needs HTTPS.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading commits the whole domain to HTTPS in browsers for months, hard to undo: the
    # operator opts in. Without it, the deploy check's reminder (W021) is the one warning silenced.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Trust X-Forwarded-Proto (and the client address in X-Forwarded-For) only behind a proxy that sets
# them: anywhere else a client could send them and pass for HTTPS or for another address.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ---- Sign-in fit for health data (issue 10): lockout, two-factor, session limits, CSP, no-store ----
INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
]


def _middleware_after(anchor: str, *names: str) -> None:
    at = MIDDLEWARE.index(anchor) + 1
    MIDDLEWARE[at:at] = names


# CSP and no-store wrap every page Django answers (static files are answered before them, by whitenoise).
_middleware_after(
    "whitenoise.middleware.WhiteNoiseMiddleware", "csp.middleware.CSPMiddleware", "accounts.security.no_store"
)
_middleware_after("django.contrib.auth.middleware.AuthenticationMiddleware", "django_otp.middleware.OTPMiddleware")
# After messages (a sign-out says why on the login page); the two-factor gate acts in process_view,
# after LoginRequiredMiddleware's.
_middleware_after(
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.security.SessionLimitsMiddleware",
    "accounts.security.TwoFactorMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as django-axes requires

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username + address before the password check
    "django.contrib.auth.backends.ModelBackend",
]

# Lockout (django-axes): LOGIN_FAILURE_LIMIT wrong passwords in a row for one username from one
# address lock that pair out for LOGIN_COOLOFF_MINUTES; an admin can unlock sooner (Django admin:
# the user list's "Unlock sign-in" action, or Axes › Access attempts).
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# While locked out no password is checked, so trying again gains an attacker nothing: it does not restart the wait.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "accounts.security.client_ip"
AXES_VERBOSE = False

# Two-factor (django-otp): TOTP with single-use recovery codes; required for rules admins and for
# anyone who can open Django's admin (accounts.twofactor.required), available to everyone.
OTP_TOTP_ISSUER = os.environ.get("OTP_ISSUER", "Candidacy")

# Sessions: signed out after SESSION_IDLE_TIMEOUT minutes without a request and, in any case,
# SESSION_ABSOLUTE_TIMEOUT hours after signing in (accounts.security.SessionLimitsMiddleware).
SESSION_IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("SESSION_IDLE_TIMEOUT", "15")))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=int(os.environ.get("SESSION_ABSOLUTE_TIMEOUT", "8")))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Content-Security-Policy (django-csp 4): nothing inline, nothing from another host. Bootstrap's
# CSS draws its icons from data: URIs (img-src); Bootstrap sets styles through the
# CSSOM, which style-src does not govern.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# ---- end of sign-in block ----

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- Faults: database time limits, background-job recovery, database error pages ---------------
# PostgreSQL ends a statement that runs longer than DB_STATEMENT_TIMEOUT seconds, and a wait for a
# row lock longer than DB_LOCK_TIMEOUT seconds, with an error the app answers with a plain page
# (config.errors) instead of a worker or request hanging on. 0 switches a limit off. The worker
# may be started with longer limits (docs/operations.md).
DB_STATEMENT_TIMEOUT = float(os.environ.get("DB_STATEMENT_TIMEOUT", "30"))
DB_LOCK_TIMEOUT = float(os.environ.get("DB_LOCK_TIMEOUT", "5"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _limits = f"-c statement_timeout={int(DB_STATEMENT_TIMEOUT * 1000)} -c lock_timeout={int(DB_LOCK_TIMEOUT * 1000)}"
    _options["options"] = f"{_limits} {_options.get('options', '')}".strip()  # options in DATABASE_URL come last, win
# A running job with no progress for JOB_STALE_MINUTES is stalled: `manage.py resume_jobs` queues it
# again, at most JOB_MAX_ATTEMPTS starts in all, then marks it failed with the reason.
JOB_STALE_MINUTES = float(os.environ.get("JOB_STALE_MINUTES", "10"))
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))
# The daily re-screen (`manage.py rescreen`) is sent as this many range tasks, one per range of patients,
# so that as many `db_worker` processes screen in parallel (docs/operations.md, "Re-screening").
RESCREEN_RANGES = int(os.environ.get("RESCREEN_RANGES", "1"))
# An impact preview, and the re-screen after a publish, are split into this many parts (contiguous ranges of
# patients), each its own task, so that as many `db_worker` processes share the job (1: one task does it all).
JOB_PARTS = int(os.environ.get("JOB_PARTS", "2"))
# A database that cannot be reached, or a lock or statement time limit, answers with the app's own page
# (inserted before django-axes' middleware, which must stay last).
MIDDLEWARE.insert(MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "config.errors.DatabaseErrorMiddleware")
