"""Re-screening the cohort, as ratios to loading its facts (issue 13): ``bench_rescreen(n)``.

Measures, on a throwaway database (SQLite, or $BENCH_DATABASE_URL), with ``n`` synthetic patients:

- loading the facts of the whole cohort a chunk at a time (the floor any re-screen pays);
- the first re-screen (every result stored), per patient, as a ratio to loading the facts;
- the next day's re-screen with nothing changed, same ratio, and how many rows it wrote;
- an impact preview of a copy of the published rules, same ratio;
- on PostgreSQL, the size of the results and blob tables.

``scripts/bench.py`` may call ``bench_rescreen(n)`` and put its rows in its table; run alone:
``BENCH_DATABASE_URL=postgres://…/candidacy_bench .venv/bin/python scripts/bench_rescreen.py 2000``.
``BENCH_ROOT`` points at another checkout to measure its code with this script (the "before" figures:
the older code has no ``as_of`` on ``rescreen_patients``, so its second run is the same day).
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parents[1])
TODAY = date(2026, 11, 1)


def _setup() -> None:
    if "django" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    sys.path.insert(0, str(ROOT))
    db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    os.environ.setdefault("DATABASE_URL", os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{db}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    import django

    django.setup()


def _table_sizes() -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
            "WHERE relname IN ('screening_screeningresult', 'screening_screeningblob')"
        )
        return ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in sorted(cursor.fetchall()))


def bench_rescreen(n: int = 2000, *, seed: int = 7) -> list[tuple[str, float, str]]:
    """(what, ratio, note) rows: each time as a ratio to loading the cohort's facts in the same run."""
    _setup()
    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import Role, Site, User
    from clinic import services
    from clinical.casefile import validate_case
    from patients.casefiles import import_cases
    from patients.demo import synthetic_cases
    from screening import cohort
    from screening.catalogue import drug_units
    from screening.facts import facts_for
    from screening.models import Job, RuleSet, ScreeningResult
    from screening.rulesets import create_draft, start_impact_preview

    call_command("migrate", verbosity=0)
    site = Site.objects.create(code=f"rs{seed}", name="Re-screen bench")
    cases = [validate_case(c, drugs=drug_units(), today=TODAY) for c in synthetic_cases(TODAY, n, seed=seed)]
    for i, case in enumerate(cases):
        case["case_id"] = f"RS-{seed}-{i:06d}"
    for start in range(0, len(cases), 500):
        import_cases(actor=None, site=site, cases=cases[start : start + 500])
    ids = cohort.patient_ids()

    def load_all() -> None:
        for chunk in cohort.chunks(ids, 200):
            facts_for(cohort.patients_in(chunk))

    load_all()  # warm
    started = time.perf_counter()
    load_all()
    t_load = time.perf_counter() - started

    takes_date = "as_of" in inspect.signature(services.rescreen_patients).parameters

    def rescreen(day: date) -> float:
        started = time.perf_counter()
        if takes_date:
            services.rescreen_patients(ids, trigger="scheduled", as_of=day)
        else:
            services.rescreen_patients(ids, trigger="scheduled")
        return time.perf_counter() - started

    t_first = rescreen(TODAY)
    rows_before = ScreeningResult.objects.count()
    size_first = _table_sizes()
    t_again = rescreen(TODAY + timedelta(days=1))
    written = ScreeningResult.objects.count() - rows_before
    size_again = _table_sizes()

    admin = User.objects.create_user(f"bench_rs{seed}", password="x", role=Role.RULES_ADMIN)
    draft = create_draft(actor=admin, source=RuleSet.objects.published(), version=f"bench-rs{seed}", reason="bench")
    started = time.perf_counter()
    with transaction.atomic():
        job = start_impact_preview(rule_set=draft, actor=admin, as_of=TODAY)
    t_impact = time.perf_counter() - started
    assert Job.objects.get(pk=job.pk).status == "done"

    per = 1000 / len(ids)
    return [
        ("Load the cohort's facts (the baseline)", 1.0, f"{len(ids)} patients, {t_load * per:.2f} ms a patient"),
        ("First re-screen, every result stored", t_first / t_load, f"{t_first * per:.2f} ms a patient; {size_first}"),
        (
            "Next day's re-screen, nothing changed",
            t_again / t_load,
            f"{t_again * per:.2f} ms a patient; {written} rows written; {size_again}",
        ),
        ("Impact preview (not stored)", t_impact / t_load, f"{t_impact * per:.2f} ms a patient"),
    ]


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 2000
    rows: list[Any] = bench_rescreen(n)
    from django.db import connection

    print(f"| {connection.vendor}, {n} patients | × loading the facts | note |\n|---|---|---|")
    for what, ratio, note in rows:
        print(f"| {what} | {ratio:.1f}× | {note} |")


if __name__ == "__main__":
    main(sys.argv)
