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
# the only worker is not running yet: every job left running was cut off, so pick it up again
.venv/bin/python manage.py resume_jobs --stale-after 0
# --no-reload: a code reload would cut a running job off, and the trap below could not stop the reloaded child
.venv/bin/python manage.py db_worker --no-reload >worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT
echo
echo "Candidacy is running: log in at http://127.0.0.1:$PORT/login/"
echo "  demo logins: specialist, staff, rulesadmin, rulesadmin2, privacy — password candidacy-demo"
echo "  (rules admins set up two-factor sign-in with an authenticator app at their first login)"
echo "  background worker log: worker.log"
echo
.venv/bin/python manage.py runserver "127.0.0.1:$PORT"
