#!/usr/bin/env bash
# Install everything, then run the whole suite (browser tests included) on
# SQLite and on PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
export DJANGO_ALLOW_ASYNC_UNSAFE=true
PG_URL=${PG_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/candidacy}

echo "== checks"
DEBUG=true .venv/bin/python manage.py check
DEBUG=true .venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
.venv/bin/python -m patients.casefile --check-schema
.venv/bin/ruff check .
# the pure core is typed strictly: the engine, the scoring tables and the vocabularies
.venv/bin/mypy --strict --python-version 3.11 screening/engine patients/scoring.py patients/vocab.py

echo "== test suite on SQLite"
DATABASE_URL=sqlite:///$(pwd)/test-db.sqlite3 .venv/bin/python -m pytest "$@"

echo "== test suite on PostgreSQL"
DATABASE_URL=$PG_URL .venv/bin/python -m pytest "$@"
