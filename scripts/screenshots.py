"""Screenshots of the patient page, the referral page and the printout, for reviewers who do not run the app.

Builds a throwaway SQLite database with the demo data (``seed_demo``: the demo site, its users and
patients, screened, with referrals moved along), serves the app on a free local port, signs in as the
demo specialist with Playwright and Debian's Chromium, and writes, at a 1366×768 window:

    docs/screenshots/patient.png         docs/screenshots/patient-full.png
    docs/screenshots/referral.png        docs/screenshots/referral-full.png
    docs/screenshots/printout.png        docs/screenshots/printout-full.png

(the first of each pair is what the window shows, the second the whole page). The demo data is dated
from today, so the pictures change with the day; run again after a change to these pages:

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
WINDOW = {"width": 1366, "height": 768}
os.environ["DATABASE_URL"] = f"sqlite:///{Path(tempfile.mkdtemp()) / 'screenshots.sqlite3'}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
os.environ["ALLOWED_HOSTS"] = "localhost,127.0.0.1"
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

import django  # noqa: E402

django.setup()

from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test.testcases import LiveServerThread  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from clinic.management.commands.seed_demo import DEMO_PASSWORD  # noqa: E402
from referrals.models import Referral  # noqa: E402


def pick_referral() -> Referral:
    """The referral with the most to show: open, on a flagged result, its patient with the longest record."""
    referrals = Referral.objects.select_related("patient").order_by("pk")
    return max(referrals, key=lambda r: (not r.flag_withdrawn, r.patient.assessment_set.count(), -r.pk))


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    referral = pick_referral()
    server = LiveServerThread("localhost", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    base = f"http://localhost:{server.port}"
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                args=["--headless", "--no-sandbox", "--disable-gpu"],
            )
            page = browser.new_page(viewport=WINDOW)
            page.goto(f"{base}/login/")
            page.get_by_label("Username").fill("specialist")
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state()
            for name, path in (
                ("patient", f"/patients/{referral.patient_id}/"),
                ("referral", f"/referrals/{referral.pk}/"),
                ("printout", f"/referrals/{referral.pk}/print/"),
            ):
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(OUT / f"{name}.png"))
                page.screenshot(path=str(OUT / f"{name}-full.png"), full_page=True)
                print(f"docs/screenshots/{name}.png: {path}")
            browser.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
