"""axe-core finds no accessibility violation (of any impact) on any page, as any role.

The pages are those of the access table (tests/test_access.py): every GET that answers a role 200 is
opened in the browser as that role, signed in through the login page (rules admins with their code),
plus the error pages and the login page. A URL added to the app joins the access table (a test insists)
and so this test too. Downloads (CSV, case files, rule-set exports) are not pages and are left out.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.e2e.conftest import login, with_authenticator
from tests.test_access import LOGIN, PRIVACY_OFFICER, ROLES, TABLE, _kwargs

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
AXE = (ROOT / "static" / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
# URLs that answer with a file or JSON for a program, not a page for a person: axe has nothing to read there
DOWNLOADS = {
    "patients:export",
    "privacy:patient_log_export",
    "referrals:export_download",
    "screening:ruleset_export",
    "interop:patient_bundle",
    "cds:discovery",
}


def violations(page) -> list[str]:
    """Every axe violation on the page, with where: all impacts, every rule axe-core has (the experimental and
    best-practice ones too) but those of WCAG level AAA, which the app does not aim at (enhanced contrast)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'rule', values: axe.getRules().filter((r) => !r.tags.includes('wcag2aaa')).map((r) => r.ruleId)}}))"
        ".violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + " | ".join(n["target"][0] for n in v["nodes"][:3]) for v in found
    ]


def pages_for(role: str) -> list[tuple[str, Any]]:
    """(url name, kwargs spec) of every page the access table says ``role`` opens (GET, 200)."""
    rows = []
    for name, method, spec, expected in TABLE:
        if method != "GET" or name in DOWNLOADS:
            continue
        want = PRIVACY_OFFICER.get(name, (403, 403))[0] if role == "privacy_officer" else expected[ROLES.index(role)]
        if want == 200 and want != LOGIN:
            rows.append((name, spec))
    if role == "rules_admin":  # the table opens a rule set's page on the published one; drafts and retired too
        from tests.screening.access_rows import draft, retired

        rows += [("screening:ruleset_detail", draft), ("screening:ruleset_detail", retired)]
    return rows


@pytest.fixture
def cast(request, site_a, specialist, staff, rules_admin, privacy_officer, monkeypatch):
    """The site's people and a screened, flagged patient with an open referral, built once for every page."""
    from referrals.models import Referral
    from tests.e2e.test_rules_admin import seed_shipped_test_cases
    from tests.referrals import factories
    from tests.screening import access_rows

    seed_shipped_test_cases()
    patient = factories.import_case(site_a, "workup-pending")
    factories.screen(patient)
    monkeypatch.setattr(access_rows, "_draft", functools.cache(access_rows._draft))
    make_referral = factories.make_referral
    monkeypatch.setattr(
        factories,
        "make_referral",
        lambda p, *a, **k: Referral.objects.filter(patient=p).first() or make_referral(p, *a, **k),
    )
    return {
        "specialist": (specialist, None),
        "staff": (staff, None),
        "rules_admin": (rules_admin, with_authenticator(rules_admin.username)),
        "privacy_officer": (privacy_officer, None),
        "patient": patient,
    }


@pytest.mark.parametrize("role", ["specialist", "staff", "rules_admin", "privacy_officer"])
def test_every_page_of_every_role_has_no_violations(page, live_server, request, cast, role) -> None:
    page.set_default_timeout(15_000)
    user, key = cast[role]
    login(page, live_server, user.username, PASSWORD, otp_key=key)
    page.wait_for_load_state()
    urls: dict[Any, dict[str, Any]] = {}
    problems: dict[str, list[str]] = {}
    seen = set()
    for name, spec in pages_for(role):
        key_ = spec if isinstance(spec, str) else spec.__name__
        if key_ not in urls:
            urls[key_] = _kwargs(spec, cast["patient"], request)
        path = reverse(name, kwargs=urls[key_])
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        if found := violations(page):
            problems[path] = found
    # the app's own error pages, as this role
    for path in ["/no-such-page/", "/privacy/patients/" if role != "privacy_officer" else "/patients/"]:
        page.goto(live_server.url + path)
        if found := violations(page):
            problems[path] = found
    assert len(seen) >= 3, seen
    assert not problems, problems


def test_pages_before_signing_in(page, live_server, rules_admin) -> None:
    page.goto(live_server.url + "/login/")
    assert not violations(page)
    page.get_by_label("Password").fill("wrong")
    page.get_by_label("Username").fill(rules_admin.username)
    page.get_by_role("button", name="Log in").click()
    assert not violations(page)  # the login page with its error
    login(page, live_server, rules_admin.username, PASSWORD)
    page.wait_for_url("**/two-factor/**")
    assert not violations(page)  # the two-factor set-up page a new rules admin lands on
