"""The cohort benchmark on PostgreSQL: 10,000 or 100,000 synthetic patients, every figure a ratio to a
baseline measured in the same run (``scripts/bench.py --scale N``; docs/benchmarks.md).

Loading: ``TEMPLATES`` synthetic patients are imported the ordinary way (validated, screened, their
referrals opened), then copied in the database with ``INSERT … SELECT … generate_series`` (ids shifted,
identifiers suffixed) until the cohort has N patients: minutes, not hours, at 100,000. A share of the
referrals is then decided, so the dashboard has times to decision.

Pages are timed over HTTP against gunicorn (3 workers) at a fixed rate (20 requests a second), p95,
each against the bare home page measured the same way in the same run. ``EXPLAIN ANALYZE`` of each
page's queries goes to docs/benchmarks.md, with any sequential scan over a large table called out.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the synthetic records are dated up to the day the cohort is made, as a working clinic's are
TODAY = date.today()
TEMPLATES = 500


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PORT = int(os.environ.get("BENCH_PORT", "0")) or _free_port()  # never a server someone else started
RATE = 20  # requests a second
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
LARGE_TABLES = (
    "patients_patient",
    "patients_assessment",
    "patients_observation",
    "patients_treatmentcourse",
    "screening_screeningresult",
    "referrals_referral",
)


def _count_evaluations() -> list[int]:
    """A counter of the patients this process's re-screens evaluate (the others are taken as stable)."""
    from screening import services

    counter = [0]
    real = services.screen_facts

    def counting(*args: Any) -> Any:
        counter[0] += 1
        return real(*args)

    services.screen_facts = counting  # type: ignore[assignment]
    return counter


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- the cohort ---------------------------------------------------------------------------------
def load_cohort(site: Any, n: int) -> float:
    """N patients of ``site``: TEMPLATES imported, the rest copied in SQL. Returns the seconds it took."""
    from django.apps import apps
    from django.db import connection

    from clinical.casefile import validate_case
    from patients.casefiles import import_cases
    from patients.demo import synthetic_cases
    from screening.catalogue import drug_units

    start = time.perf_counter()
    templates = min(TEMPLATES, n)
    cases = [validate_case(c, drugs=drug_units(), today=TODAY) for c in synthetic_cases(TODAY, templates, seed=7)]
    import_cases(actor=None, site=site, cases=cases)
    copies = -(-n // templates) - 1  # rounds up
    if copies <= 0:
        return time.perf_counter() - start
    patient = apps.get_model("patients", "Patient")
    owned = [
        m
        for m in apps.get_models()
        if not m._meta.auto_created
        and not m.__name__.startswith("Historical")
        and any(f.is_relation and f.many_to_one and f.related_model is patient for f in m._meta.concrete_fields)
        and m._meta.label not in ("patients.PatientAccess",)
    ]
    tops: dict[Any, int] = {}
    with connection.cursor() as cur:
        for m in [patient, *owned]:
            cur.execute(f"SELECT coalesce(max(id), 0) FROM {m._meta.db_table}")
            tops[m] = cur.fetchone()[0]
        order = [patient] + sorted(owned, key=lambda m: m._meta.label != "screening.ScreeningResult")
        for m in order:
            cols, exprs = [], []
            for f in m._meta.concrete_fields:
                cols.append(f'"{f.column}"')
                if f.primary_key:
                    exprs.append(f"t.id + k * {tops[m]}")
                elif f.is_relation and f.related_model in tops:
                    exprs.append(
                        f'CASE WHEN t."{f.column}" IS NULL THEN NULL ELSE t."{f.column}" + k * {tops[f.related_model]} END'
                    )
                elif m is patient and f.name == "identifier":
                    exprs.append("t.identifier || '-' || k")
                else:
                    exprs.append(f't."{f.column}"')
            extra = f" AND t.patient_id <= {tops[patient]}" if m is not patient else ""
            limit = f" AND (t.id + k * {tops[m]}) <= {n}" if m is patient else ""
            keep = f" AND t.patient_id + k * {tops[patient]} <= {n}" if m is not patient else ""
            cur.execute(
                f"INSERT INTO {m._meta.db_table} ({', '.join(cols)}) SELECT {', '.join(exprs)} "
                f"FROM {m._meta.db_table} t CROSS JOIN generate_series(1, {copies}) AS k "
                f"WHERE t.id <= {tops[m]}{extra}{limit}{keep}"
            )
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{m._meta.db_table}', 'id'), "
                f"(SELECT max(id) FROM {m._meta.db_table}))"
            )
        cur.execute("ANALYZE")
    return time.perf_counter() - start


def decide_some(share: float = 0.3) -> int:
    """Decide a share of the open referrals (referred / not referred), days after their flag."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE referrals_referral SET state = CASE WHEN id %% 2 = 0 THEN 'referred' ELSE 'not_referred' END, "
            "centre = CASE WHEN id %% 2 = 0 THEN 'Centre' ELSE '' END, referred_on = CASE WHEN id %% 2 = 0 "
            "THEN flagged_at::date + (id %% 30)::int ELSE NULL END, not_referred_reason = CASE WHEN id %% 2 = 0 THEN '' "
            "ELSE 'clinical_judgement' END, decided_at = flagged_at + ((id %% 40) || ' days')::interval "
            "WHERE id %% 100 < %s AND state IN ('new', 'in_review')",
            [int(share * 100)],
        )
        decided = cur.rowcount
        cur.execute("ANALYZE referrals_referral")
    return decided


def _table_bytes(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size(%s)", [table])
        return int(cur.fetchone()[0])


# --- HTTP load ------------------------------------------------------------------------------------
def start_gunicorn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            "3",
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn stopped (port {PORT} taken?)")
        try:
            http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/login/")
            return proc
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def p95_at_rate(
    path: str | list[str], cookie: str, *, rate: int = RATE, seconds: float = SECONDS
) -> tuple[float, float, int]:
    """Send GET ``path`` (or each of a list in turn) at ``rate`` a second for ``seconds`` (each from its own
    thread, on time whatever the answers); returns the p95 and median in seconds and how many answers were
    not 200/302."""
    paths = [path] if isinstance(path, str) else path
    samples: list[float] = []
    bad = [0]
    lock = threading.Lock()

    def one(path: str) -> None:
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
            response = conn.getresponse()
            response.read()
            ok = response.status in (200, 302)
        except OSError:
            ok = False
        with lock:
            samples.append(time.perf_counter() - start)
            bad[0] += not ok

    threads = []
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=one, args=(paths[i % len(paths)],))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    samples.sort()
    return samples[int(len(samples) * 0.95) - 1], statistics.median(samples), bad[0]


# --- EXPLAIN ----------------------------------------------------------------------------------------
def explain(client: Any, url: str) -> tuple[list[str], list[str]]:
    """EXPLAIN ANALYZE of every SELECT the page runs on a large table; returns (plans, seq scans)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    plans, scans = [], []
    for q in ctx.captured_queries:
        sql = q["sql"]
        if not sql.startswith("SELECT") or not any(t in sql for t in LARGE_TABLES):
            continue
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING ON) " + sql)
            plan = "\n".join(r[0] for r in cur.fetchall())
        plans.append(f"-- {sql[:300]}{'…' if len(sql) > 300 else ''}\n{plan}")
        scans += [f"{url}: {m}" for m in re.findall(r"Seq Scan on (\w+)", plan) if m in LARGE_TABLES]
    return plans, scans


def run(n: int) -> str:
    """Measure everything at N patients; returns the markdown section."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Role, Site, User
    from patients.models import Patient
    from referrals.models import QueueExport, Referral
    from screening import cohort
    from screening.facts import facts_for
    from screening.models import Job, RuleSet, ScreeningResult
    from screening.rulesets import create_draft, start_impact_preview

    assert connection.vendor == "postgresql", "the scale benchmark needs PostgreSQL (BENCH_DATABASE_URL)"
    call_command("migrate", verbosity=0)
    site, fresh = Site.objects.get_or_create(code=f"bench{n}", defaults={"name": f"Bench {n}"})
    user, _ = User.objects.get_or_create(username=f"bench{n}", defaults={"role": Role.STAFF})
    user.sites.add(site)
    # a database left by an earlier run of this size is used again (its load time is not measured again)
    load_seconds = load_cohort(site, n) if fresh else float("nan")
    decided = decide_some() if fresh or not Referral.objects.filter(decided_at__isnull=False).exists() else 0
    rows: list[tuple[str, str, str, str]] = []
    ids = list(Patient.objects.filter(site=site).values_list("pk", flat=True).order_by("pk"))

    # 1. facts load (the baseline of the screening rows), re-screen, results written when nothing changed
    def load_all() -> None:
        for chunk in cohort.chunks(ids):
            facts_for(cohort.patients_in(chunk))

    t_facts = timed(load_all)
    from django.db.models import Max

    from clinic.services import rescreen_patients as rescreen  # the set-based pipeline (screen_and_apply_chunk)

    sample = ids[: int(os.environ.get("BENCH_RESCREEN_SAMPLE", len(ids)))]
    # a month after the cohort was screened (at import, as of today): windows have let records go and flags
    # have lapsed, so many results change and are written; then the day after that, when few do
    # (counted from the latest as-of in the database, so a second run on a cohort left by the first re-screens
    # for real rather than finding everyone screened that day already)
    latest = ScreeningResult.objects.aggregate(day=Max("as_of"))["day"] or timezone.localdate()
    month_on = max(latest, timezone.localdate()) + timedelta(days=30)
    before = ScreeningResult.objects.count()
    evaluated = _count_evaluations()
    t_rescreen = timed(lambda: rescreen(sample, trigger="scheduled", as_of=month_on))
    evaluated_month, evaluated[0] = evaluated[0], 0
    first_rows = ScreeningResult.objects.count() - before
    t_rescreen_all = t_rescreen * len(ids) / len(sample)
    before, size_before = ScreeningResult.objects.count(), _table_bytes("screening_screeningresult")
    next_day = month_on + timedelta(days=1)
    t_next = timed(lambda: rescreen(sample, trigger="scheduled", as_of=next_day))
    evaluated_next = evaluated[0]
    written = ScreeningResult.objects.count() - before
    grown = _table_bytes("screening_screeningresult") - size_before
    rows.append(
        (
            f"re-screen the cohort (`{rescreen.__name__}`), a month on",
            f"{t_rescreen_all / t_facts:.1f}× the facts load",
            f"{len(sample):,} patients in {t_rescreen:.0f} s ({t_rescreen / len(sample) * 1000:.1f} ms a patient), "
            f"{evaluated_month:,} evaluated, {first_rows:,} results changed and written; facts load of the "
            f"{len(ids):,} {t_facts:.1f} s",
            "≤ 2×",
        )
    )
    rows.append(
        (
            "re-screen the next day",
            f"{t_next * len(ids) / len(sample) / t_facts:.1f}× the facts load",
            f"{evaluated_next:,} of {len(sample):,} evaluated (the others' facts unchanged before their "
            f"`stable_until`); {written:,} results written (each one whose outcome, reasons, lapse date or "
            f"nearest ways changed with the day; the others are marked checked, no row); the results table "
            f"grew {grown / 1e6:.1f} MB (a checked mark is an update: PostgreSQL writes a new version of the row)",
            "only changed results",
        )
    )
    # the day after that, once VACUUM (autovacuum's work) has made the old versions' space reusable: the marks
    # reuse it, so the table does not grow with the days
    with connection.cursor() as cur:
        cur.execute("VACUUM screening_screeningresult")
    before, size_before = ScreeningResult.objects.count(), _table_bytes("screening_screeningresult")
    next_day += timedelta(days=1)
    rescreen(sample, trigger="scheduled", as_of=next_day)
    rows.append(
        (
            "re-screen the day after, once vacuumed",
            f"{ScreeningResult.objects.count() - before:,} of {len(sample):,} written",
            f"the results table grew {(_table_bytes('screening_screeningresult') - size_before) / 1e6:.1f} MB",
            "no growth with the days",
        )
    )

    # the daily re-screen as deployed: the whole cohort the day after, in as many range tasks as worker
    # processes (rescreen --ranges K with K db_workers), here K processes each screening its range
    from screening import cohort as ranged

    workers = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
    daily = next_day + timedelta(days=1)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    code = (
        "import sys, django; django.setup(); from datetime import date; from clinic.services import rescreen_patients; "
        "from screening.cohort import patient_ids_between as between; "
        "rescreen_patients(between(int(sys.argv[1]), int(sys.argv[2])), trigger='scheduled', "
        "as_of=date.fromisoformat(sys.argv[3]))"
    )

    def daily_pass(day: date) -> tuple[float, int]:
        before = ScreeningResult.objects.count()
        start = time.perf_counter()
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(a), str(b), day.isoformat()], cwd=ROOT, env=env)
            for a, b in ranged.ranges(ids, workers)
        ]
        assert all(proc.wait() == 0 for proc in procs)
        return time.perf_counter() - start, ScreeningResult.objects.count() - before

    t_daily, written_daily = daily_pass(daily)
    rows.append(
        (
            f"daily re-screen of the whole cohort, {workers} range tasks on {workers} worker processes",
            f"{t_daily / t_facts:.1f}× the facts load",
            f"{len(ids):,} patients in {t_daily:.0f} s on {os.cpu_count()} CPUs; {written_daily:,} results written"
            + (
                f" (the {len(ids) - len(sample):,} not in the sample above were last screened a month and more "
                "before: most of them were evaluated and changed)"
                if len(sample) < len(ids)
                else ""
            ),
            "≤ 2×",
        )
    )
    steady = daily + timedelta(days=1)
    t_steady, written_steady = daily_pass(steady)
    rows.append(
        (
            "daily re-screen of the whole cohort, the day after",
            f"{t_steady / t_facts:.1f}× the facts load",
            f"{len(ids):,} patients in {t_steady:.0f} s on {os.cpu_count()} CPUs; {written_steady:,} results "
            "written (a patient whose facts are unchanged before their result's `stable_until` is not evaluated)",
            "≤ 2×",
        )
    )

    # 2. impact preview: whole in this process, then split into parts run by as many worker processes at once
    #    (what JOB_PARTS does with that many db_workers)
    from unittest import mock

    from django.test import override_settings

    from screening import jobs

    admin, _ = User.objects.get_or_create(username=f"bench_admin{n}", defaults={"role": Role.RULES_ADMIN})
    draft = create_draft(
        actor=admin, source=RuleSet.objects.published(), version=f"bench-{n}-{int(time.time())}", reason="benchmark"
    )

    def preview(parts: int, day: date) -> float:
        with mock.patch("screening.rulesets._queue"), transaction.atomic():  # not sent to a worker: run below
            job = start_impact_preview(rule_set=draft, actor=admin, as_of=day)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}

        def in_processes(part_ids: list[int]) -> None:
            code = "import sys, django; django.setup(); from screening.jobs import run_part; run_part(int(sys.argv[1]))"
            procs = [subprocess.Popen([sys.executable, "-c", code, str(pk)], cwd=ROOT, env=env) for pk in part_ids]
            for proc in procs:
                proc.wait()

        start = time.perf_counter()
        with override_settings(JOB_PARTS=parts):
            jobs.run_job(job.pk, send_parts=in_processes)
        elapsed = time.perf_counter() - start
        assert Job.objects.get(pk=job.pk).status == "done", Job.objects.get(pk=job.pk).error
        return elapsed

    # "cold": as of a day no stored result holds, so both rule sets are evaluated for every patient; "after
    # the daily re-screen": as of the day the last re-screen above stored or checked each patient's result
    previews = [
        ("one worker, cold (both rule sets evaluated)", 1, TODAY - timedelta(days=1)),
        ("one worker, after the daily re-screen", 1, steady),
    ]
    if os.environ.get("BENCH_PREVIEW_WHOLE", "1") != "1":
        previews = []
    previews.append((f"{workers} parts on {workers} worker processes, after the daily re-screen", workers, steady))
    for label, parts, day in previews:
        t = preview(parts, day)
        rows.append(
            (
                f"impact preview, {label}",
                f"{t / t_facts:.1f}× the facts load",
                f"{t:.0f} s for {len(ids):,} ({t / len(ids) * 1000:.2f} ms a patient; {os.cpu_count()} CPUs)",
                "≤ 60 s at 100k",
            )
        )

    # 3. pages over HTTP, gunicorn with 3 workers, 20 requests a second, p95 against the bare home page
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    patient_ids = Patient.objects.filter(site=site).order_by("-last_activity", "pk").values_list("pk", "last_activity")
    deep = patient_ids[min(200 * 25, len(ids)) - 1]  # page 200, or the last page of a small cohort
    from urllib.parse import quote

    page200 = f"/patients/?after={quote(f'{deep[1].isoformat()}~{deep[0]}')}"
    pages = {
        "bare home page": "/",
        "queue page": "/queue/?per_page=50",
        "dashboard": "/dashboard/",
        "patient list, first page": "/patients/",
        "patient list, page 200": page200,
        # another patient at each request (none seen before by the workers: their drawn sections are not cached)
        "patient page, a different patient each time": [
            f"/patients/{pk}/" for pk in ids[len(ids) // 3 :: max(1, len(ids) // (3 * int(RATE * (SECONDS + 1))))]
        ],
        "patient page, the same patient again": f"/patients/{ids[len(ids) // 2]}/",
    }
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "ALLOWED_HOSTS": "127.0.0.1"}
    server = start_gunicorn(env)
    results: dict[str, tuple[float, float, int]] = {}
    try:
        for name, path in pages.items():
            p95_at_rate(path if isinstance(path, str) else path[-1], cookie, rate=5, seconds=1)  # warm the workers
            results[name] = p95_at_rate(path, cookie)
        # 4. three CSV exports of the whole queue at once, written by the task code, while the queue is served
        keep = timezone.now() + timedelta(days=2)
        jobs = [QueueExport.objects.create(created_by=user, query="state=all", expires_at=keep) for _ in range(3)]
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    f"import django; django.setup(); from referrals.exports import write; write({j.pk})",
                ],
                cwd=ROOT,
                env=env,
            )
            for j in jobs
        ]
        start = time.perf_counter()
        during = p95_at_rate(pages["queue page"], cookie)
        for w in workers:
            w.wait()
        t_export = time.perf_counter() - start
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    home = results["bare home page"][0]
    for name, (p95, median, bad) in results.items():
        if name == "bare home page":
            continue
        rows.append(
            (
                f"{name}, p95 at {RATE} req/s",
                f"{p95 / home:.1f}× the home page",
                f"p95 {p95 * 1000:.0f} ms, median {median * 1000:.0f} ms{f', {bad} errors' if bad else ''}",
                "≤ 5×",
            )
        )
    done = QueueExport.objects.filter(pk__in=[j.pk for j in jobs], status="done")
    sizes = [len(bytes(e.content)) for e in done]
    exported = done.first().rows if done else 0
    rows.append(
        (
            "queue CSV export (3 at once, background jobs)",
            f"queue p95 meanwhile {during[0] / home:.1f}× the home page",
            f"{len(sizes)} files of {exported:,} rows ({(sizes[0] if sizes else 0) / 1e3:,.0f} kB gzip) in {t_export:.1f} s; "
            f"queue p95 {during[0] * 1000:.0f} ms",
            "pages stay fast",
        )
    )

    # 5. EXPLAIN ANALYZE of each page's queries
    plans, scans = [], []
    for name, path in pages.items():
        if name in ("bare home page", "patient page, the same patient again"):
            continue  # (the same queries as another patient's)
        path = path if isinstance(path, str) else path[0]
        p, s = explain(client, path)
        plans.append(f"#### {name} (`{path[:60]}`)\n\n```\n" + "\n\n".join(p) + "\n```")
        scans += s
    referrals = Referral.objects.count()
    results_rows = ScreeningResult.objects.count()
    head = [
        f"<!-- scale {n} -->",
        f"## PostgreSQL, {n:,} patients",
        "",
        f"Cohort: {n:,} patients ({TEMPLATES} imported and screened, the rest copied in SQL) loaded in "
        f"{load_seconds:.0f} s; {referrals:,} referrals ({decided:,} decided), {results_rows:,} screening results. "
        f"Bare home page p95 {home * 1000:.1f} ms (the baseline of the page rows).",
        "",
        "| what | measured | notes | goal |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "Sequential scans over a large table in the pages' plans: "
        + (", ".join(sorted(set(scans))) if scans else "none."),
        "",
        "<details><summary>EXPLAIN ANALYZE of each page's queries</summary>",
        "",
        *plans,
        "",
        "</details>",
        f"<!-- /scale {n} -->",
    ]
    return "\n".join(head)


def write_section(section: str, n: int) -> None:
    out = ROOT / "docs" / "benchmarks.md"
    text = out.read_text(encoding="utf-8")
    start, end = f"<!-- scale {n} -->", f"<!-- /scale {n} -->"
    if start in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    out.write_text(text, encoding="utf-8")
