#!/usr/bin/env bash
# Install and run Candidacy on SQLite with demo data, plus the background
# worker, on http://127.0.0.1:${PORT:-8000}/. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export DEBUG=${DEBUG:-true}
PORT=${PORT:-8000}
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py seed_demo
.venv/bin/python manage.py release_deferred
.venv/bin/python manage.py db_worker >worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT
echo
echo "Candidacy is running: log in at http://127.0.0.1:$PORT/login/"
echo "  demo logins: specialist, staff, rulesadmin, rulesadmin2, privacy — password candidacy-demo"
echo "  background worker log: worker.log"
echo
.venv/bin/python manage.py runserver "127.0.0.1:$PORT"
