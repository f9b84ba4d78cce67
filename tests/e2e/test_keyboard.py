"""Keyboard only: each role's main path, and a whole SLEDAI-2K, a treatment course and a lab, with no mouse.

Pages are reached by following links with Tab and Enter from the login page on; every field is reached
with Tab (or Shift+Tab) and filled by typing, Space or the arrow keys; forms are sent with Enter. Each
element reached must show where the focus is (an outline or a shadow), and the skip link must lead past
the navigation.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.dates import show_date
from tests.clock import CASES_DAY
from tests.conftest import PASSWORD
from tests.e2e.conftest import totp_code, with_authenticator

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FOCUS_SHOWN = """() => {
  const el = document.activeElement, s = getComputedStyle(el);
  return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
}"""


def focused(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page, selector: str, *, back: bool = False, limit: int = 120) -> None:
    """Press Tab (Shift+Tab with ``back``) until the element matching ``selector`` has the focus, shown."""
    for _ in range(limit):
        if focused(page, selector):
            assert page.evaluate(FOCUS_SHOWN), f"{selector}: the focus is not visible"
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{selector} is not reached with {'Shift+Tab' if back else 'Tab'} on {page.url}")


def follow(page, selector: str) -> None:
    """Tab to a link and open it with Enter."""
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def keyboard_login(page, live_server, username: str, otp_key: str | None = None) -> None:
    page.goto(f"{live_server.url}/login/")
    tab_to(page, "#id_username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert focused(page, "#id_password")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if otp_key is not None:
        tab_to(page, "input[name=code]")
        page.keyboard.type(totp_code(otp_key))
        with page.expect_navigation():
            page.keyboard.press("Enter")


def skip_to_main(page) -> None:
    """The skip link is the first stop on the page and shows; Enter moves the focus to the content."""
    tab_to(page, "a[href='#main']", back=True)  # from a field with autofocus, Shift+Tab leads back to it
    page.keyboard.press("Enter")
    assert focused(page, "#main")


@pytest.fixture
def clinic(site_a, specialist, staff, rules_admin, privacy_officer):
    from tests.referrals import factories

    patient = factories.import_case(site_a, "workup-pending")
    factories.screen(patient, as_of=CASES_DAY)  # the case file's day: flagged (and referred) whatever the clock says
    return patient


def test_specialist_enters_a_whole_sledai_a_course_and_a_lab_by_keyboard(page, live_server, specialist, clinic):
    from clinical import vocab
    from patients.models import Assessment, Observation, TreatmentCourse

    page.set_default_timeout(10_000)
    keyboard_login(page, live_server, specialist.username)
    skip_to_main(page)
    follow(page, f"a[href$='/patients/{clinic.pk}/']")
    before = Assessment.objects.filter(patient=clinic).count()

    # a whole SLEDAI-2K: the date is today's (the default), every descriptor answered from the keyboard
    follow(page, "a[href$='/assessments/add/']")
    today = timezone.localdate()
    assert page.locator("#id_date").input_value() == show_date(today)
    codes = list(vocab.SLEDAI_ITEMS)
    tab_to(page, f"input[name=sledai_{codes[0]}]")
    for i, code in enumerate(codes):
        if i:
            page.keyboard.press("Tab")
        assert focused(page, f"input[name=sledai_{code}]"), (code, page.evaluate("document.activeElement.name"))
        assert page.evaluate(FOCUS_SHOWN)
        if code == "arthritis":
            page.keyboard.press("ArrowRight")  # absent → present
        elif code == "low_complement":
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")  # not assessed
        else:
            page.keyboard.press("Space")  # the group's first choice: absent
    expect(page.locator("#sledai-score")).to_have_text("4–6")
    tab_to(page, "#assessment-form button.btn-primary[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert Assessment.objects.filter(patient=clinic).count() == before + 1
    saved = Assessment.objects.filter(patient=clinic).latest("pk")
    assert saved.date == today and "arthritis" in saved.sledai_present

    # a treatment course: the drug by typing its name, the dates typed the way the pages show them
    follow(page, "a[href$='/treatments/add/']")
    page.wait_for_load_state("load")
    assert focused(page, "#id_drug")
    page.keyboard.type("mycophenolate")
    expect(page.locator("#id_drug")).to_have_value("mycophenolate_mofetil")
    start, end = today - timedelta(days=300), today - timedelta(days=40)
    page.keyboard.press("Tab")
    assert focused(page, "#id_start")
    page.keyboard.type(show_date(start))
    page.keyboard.press("Tab")
    page.keyboard.type(show_date(end))
    tab_to(page, "#id_dose")
    page.keyboard.type("2000")
    expect(page.locator("#id_dose_unit")).to_have_value("mg/day")
    tab_to(page, "#id_stop_reason")
    page.keyboard.type("Inadequate")
    expect(page.locator("#id_stop_reason")).to_have_value("inadequate_response")
    tab_to(page, "button.btn-primary[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    course = TreatmentCourse.objects.get(patient=clinic, drug="mycophenolate_mofetil", start=start)
    assert course.end == end and course.stop_reason == "inadequate_response"

    # a lab: the test by typing its name, today's date kept, the value typed, sent with Enter in a field
    follow(page, "a[href$='/observations/add/']")
    assert focused(page, "#id_code")
    page.keyboard.type("Complement C3")
    expect(page.locator("#id_code")).to_have_value("c3")
    page.keyboard.press("Tab")
    assert focused(page, "#id_date") and page.locator("#id_date").input_value() == show_date(today)
    tab_to(page, "#id_value")
    page.keyboard.type("0.62")
    page.keyboard.press("Tab")
    assert focused(page, "#id_unit")
    page.keyboard.type("g/L")
    expect(page.locator("#id_unit")).to_have_value("g/L")
    page.keyboard.press("Shift+Tab")  # back to the value: Enter in a field sends the form
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert Observation.objects.filter(patient=clinic, code="c3", date=today).exists()


def test_staff_starts_a_review_by_keyboard(page, live_server, staff, clinic):
    from referrals.models import Referral

    page.set_default_timeout(10_000)
    referral = Referral.objects.filter(patient=clinic).order_by("pathway").first()
    assert referral is not None
    keyboard_login(page, live_server, staff.username)
    follow(page, "nav a[href$='/queue/']")
    skip_to_main(page)
    follow(page, f"main a[href$='/referrals/{referral.pk}/']")
    tab_to(page, "form[data-action=in_review] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    referral.refresh_from_db()
    assert referral.state == "in_review"


def test_rules_admin_makes_a_draft_and_opens_the_test_cases_by_keyboard(page, live_server, rules_admin, clinic):
    from screening.models import RuleSet
    from tests.e2e.test_rules_admin import seed_shipped_test_cases

    seed_shipped_test_cases()
    page.set_default_timeout(10_000)
    keyboard_login(page, live_server, rules_admin.username, otp_key=with_authenticator(rules_admin.username))
    follow(page, "nav a[href$='/rules/manage/']")
    skip_to_main(page)
    follow(page, "main a[href$='/new-draft/']")
    tab_to(page, "#id_reason")
    page.keyboard.type("Trying a change")
    tab_to(page, "main button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    draft = RuleSet.objects.get(status="draft")
    assert page.url.endswith(f"/rules/manage/{draft.pk}/")
    follow(page, f"main a[href$='/rules/manage/{draft.pk}/tests/']")
    expect(page.locator("article[data-case]").first).to_be_visible()


def test_privacy_officer_opens_a_patients_access_log_by_keyboard(page, live_server, privacy_officer, clinic):
    page.set_default_timeout(10_000)
    keyboard_login(page, live_server, privacy_officer.username)
    skip_to_main(page)
    follow(page, f"main a[href$='/privacy/patients/{clinic.pk}/']")
    tab_to(page, "main a[href$='access-log.csv']")
    expect(page.locator("main h1")).to_contain_text(clinic.identifier)
