#!/usr/bin/env bash
# Install everything, then run the whole suite (browser tests included) on
# SQLite and on PostgreSQL, and once more on SQLite with the clock moved years
# ahead (CANDIDACY_TEST_TODAY, twice: CANDIDACY_FUTURE_DAYS), so a test that ages into a failure fails on the
# day it is written. Every pass runs even when an earlier one failed; the
# command fails if any did. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test || exit 1
export DJANGO_ALLOW_ASYNC_UNSAFE=true
PG_URL=${PG_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/candidacy}
# the days of the clock-shift passes, years ahead: the end of February and the end of a year
FUTURE_DAYS=${CANDIDACY_FUTURE_DAYS:-2029-02-28 2031-12-31}

failed=()
step() {  # step NAME COMMAND...: run it, remember a failure, go on
  local name=$1
  shift
  echo "== $name"
  "$@" || failed+=("$name")
}

checks() {  # every check runs; the step fails if any did (set -e does not hold inside `step … ||`)
  local bad=0
  DEBUG=true .venv/bin/python manage.py check || bad=1
  DEBUG=true .venv/bin/python manage.py makemigrations --check --dry-run >/dev/null || bad=1
  .venv/bin/python -m clinical.casefile --check-schema || bad=1
  .venv/bin/python -m clinical.docs --check || bad=1
  .venv/bin/python -m screening.engine.catalogue_doc --check || bad=1
  .venv/bin/ruff check . || bad=1
  .venv/bin/ruff format --check . || bad=1
  .venv/bin/lint-imports --no-cache || bad=1
  # the pure core is typed strictly: the engine, the result contract and the whole clinical package
  .venv/bin/mypy --strict --python-version 3.11 screening/engine clinical screening/contract.py || bad=1
  return $bad
}

step "checks" checks
step "test suite on SQLite" env DATABASE_URL="sqlite:///$(pwd)/test-db.sqlite3" \
  .venv/bin/python -m pytest -rs "$@"
step "test suite on PostgreSQL" env DATABASE_URL="$PG_URL" \
  .venv/bin/python -m pytest -rs "$@"
for day in $FUTURE_DAYS; do
  step "test suite on SQLite with the clock at $day" env DATABASE_URL="sqlite:///$(pwd)/test-db.sqlite3" \
    CANDIDACY_TEST_TODAY="$day" .venv/bin/python -m pytest -rs "$@"
done

if [ ${#failed[@]} -gt 0 ]; then
  printf '== FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "== all passes green"
