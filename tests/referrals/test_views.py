"""The referral page and its actions, the printable summary and the dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.models import EventKind, Referral, ReferralState
from referrals.services import add_note
from tests.conftest import client_for
from tests.patients.factories import PatientFactory
from tests.referrals.factories import import_case, make_referral, move, screen

S = ReferralState
pytestmark = pytest.mark.django_db
FORBIDDEN = ("eligible", "eligibility", "approved", "candidate")


def detail(referral: Referral) -> str:
    return reverse("referrals:detail", kwargs={"pk": referral.pk})


def action(name: str, referral: Referral) -> str:
    return reverse(f"referrals:{name}", kwargs={"pk": referral.pk})


@pytest.fixture
def flagged(site_a, cases_day) -> Referral:
    patient = import_case(site_a, "refractory-nephritis")
    screen(patient)
    return Referral.objects.get(patient=patient, pathway="hsct")


def test_referral_page_shows_summary_trace_cautions_history_and_actions(flagged, staff) -> None:
    page = client_for(staff).get(detail(flagged)).content.decode()
    for text in (
        "refractory-nephritis",
        "Patient summary",
        "Diagnosis basis",
        "SLEDAI-2K over time",
        "<svg",
        "Latest key labs",
        "The result it was raised on",
        "SLEDAI-2K 20 on 15 Oct 2026",
        "Contraindications",
        "Cardiac function",
        "History and notes",
        "Opened on a flag",
        "Start review",
        "Assign to me",
        "the evaluating centre decides",
    ):
        assert text in page, text
    assert 'data-action="in_review"' in page and 'data-action="referred"' not in page


def test_later_results_are_shown_beside_the_one_it_was_raised_on(flagged, staff) -> None:
    screen(flagged.patient, trigger="data")
    page = client_for(staff).get(detail(flagged)).content.decode()
    assert "The latest result" in page and "Later screening results (1)" in page


def test_decided_referral_offers_no_transition(flagged, specialist) -> None:
    move(move(flagged, specialist, S.IN_REVIEW), specialist, S.REFERRED)
    page = client_for(specialist).get(detail(flagged)).content.decode()
    assert "data-action=" not in page and "This referral is decided" in page and "Add note" in page


def test_staff_moves_it_to_review_then_referred(flagged, staff) -> None:
    client = client_for(staff)
    response = client.post(action("transition", flagged), {"to_state": "in_review", "in_review-version": 1})
    assert response.status_code == 302 and response["Location"] == detail(flagged)
    response = client.post(
        action("transition", flagged),
        {
            "to_state": "referred",
            "referred-version": 2,
            "referred-centre": "Evaluation centre North",
            "referred-referred_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert (flagged.state, flagged.centre, flagged.decided_by) == (S.REFERRED, "Evaluation centre North", staff)
    assert [e.actor for e in flagged.events.filter(kind=EventKind.TRANSITION)] == [staff, staff]


@pytest.mark.parametrize(
    "data,error",
    [
        (
            {
                "to_state": "referred",
                "referred-version": 2,
                "referred-centre": "",
                "referred-referred_on": "2026-01-01",
            },
            "This field is required",
        ),
        (
            {
                "to_state": "referred",
                "referred-version": 2,
                "referred-centre": "X",
                "referred-referred_on": "2999-01-01",
            },
            "cannot be in the future",
        ),
        (
            {"to_state": "deferred", "deferred-version": 2, "deferred-review_on": "2000-01-01", "deferred-reason": "x"},
            "must be after today",
        ),
        (
            {"to_state": "not_referred", "not_referred-version": 2, "not_referred-not_referred_reason": "other"},
            "This field is required",
        ),
    ],
)
def test_invalid_decision_is_shown_beside_the_field(flagged, staff, data, error) -> None:
    move(flagged, staff, S.IN_REVIEW)
    response = client_for(staff).post(action("transition", flagged), data)
    assert response.status_code == 200 and error in response.content.decode()
    assert Referral.objects.get(pk=flagged.pk).state == S.IN_REVIEW


def test_a_transition_the_workflow_refuses_is_explained(flagged, staff) -> None:
    response = client_for(staff).post(
        action("transition", flagged),
        {
            "to_state": "referred",
            "referred-version": 1,
            "referred-centre": "X",
            "referred-referred_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 200 and "A referral that is new cannot become referred." in response.content.decode()


def test_get_on_an_action_is_refused(flagged, staff) -> None:
    assert client_for(staff).get(action("transition", flagged)).status_code == 405


def test_assign_and_unassign(flagged, staff, specialist) -> None:
    client = client_for(staff)
    assert client.post(action("assign", flagged), {"version": 1, "assignee": specialist.pk}).status_code == 302
    flagged.refresh_from_db()
    assert flagged.assigned_to == specialist
    assert client.post(action("assign", flagged), {"version": 2, "assignee": ""}).status_code == 302
    flagged.refresh_from_db()
    assert flagged.assigned_to is None
    assert [e.reason for e in flagged.events.filter(kind=EventKind.ASSIGNED)] == [
        f"Assigned to {specialist}",
        f"Unassigned (was {specialist})",
    ]


def test_cannot_assign_to_someone_of_another_site(flagged, staff, specialist_b, rules_admin) -> None:
    for user in (specialist_b, rules_admin):
        response = client_for(staff).post(action("assign", flagged), {"version": 1, "assignee": user.pk})
        assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert Referral.objects.get(pk=flagged.pk).assigned_to is None


def test_notes_are_appended(flagged, staff, specialist) -> None:
    client_for(specialist).post(action("note", flagged), {"text": "Discussed with the patient"})
    client_for(staff).post(action("note", flagged), {"text": "Letter drafted"})
    notes = list(flagged.events.filter(kind=EventKind.NOTE).order_by("version"))
    assert [(n.actor, n.reason) for n in notes] == [
        (specialist, "Discussed with the patient"),
        (staff, "Letter drafted"),
    ]
    page = client_for(staff).get(detail(flagged)).content.decode()
    assert page.index("Letter drafted") < page.index("Discussed with the patient")  # newest first


def test_empty_note_is_refused(flagged, staff) -> None:
    response = client_for(staff).post(action("note", flagged), {"text": "  "})
    assert response.status_code == 200 and not flagged.events.filter(kind=EventKind.NOTE).exists()


def test_detail_query_budget_does_not_grow_with_history(site_a, staff, specialist) -> None:
    small = make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW)
    big = make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW)
    for i in range(50):
        add_note(referral=big, actor=[staff, specialist][i % 2], text=f"note {i}")
    client = client_for(staff)

    def count(referral: Referral) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(detail(referral)).status_code == 200
        return len(ctx.captured_queries)

    # session, user, referral (+patient, site, assignee, result, rule set), access-log row (INSERT),
    # 6 record tables, latest result, later results, events, people to assign to
    assert count(small) == count(big) == 14


def test_print_query_budget_does_not_grow_with_the_record(site_a, staff) -> None:
    from tests.patients.test_query_budget import fill

    small, big = PatientFactory(site=site_a), PatientFactory(site=site_a)
    fill(small, 1)
    fill(big, 50)
    client = client_for(staff)

    def count(referral: Referral) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(action("print", referral)).status_code == 200
        return len(ctx.captured_queries)

    # session, user, referral (+patient, site, assignee, result, rule set), access-log row (INSERT),
    # 6 record tables, latest result
    assert count(make_referral(small)) == count(make_referral(big)) == 11


def test_printable_summary(flagged, staff) -> None:
    page = client_for(staff).get(action("print", flagged)).content.decode()
    for text in (
        "refractory-nephritis",
        "Diagnosis basis",
        "1:640",
        "2019 EULAR/ACR score 26",
        "SLEDAI-2K over time",
        "<svg",
        "15 Oct 2026: 20",
        "Failed treatments",
        "mycophenolate mofetil",
        "3000 mg/day",
        "01 Mar 2025",
        "30 Nov 2025",
        "Inadequate response",
        "Key labs",
        "eGFR",
        "Why the screening flagged this patient",
        "version <strong>2026.2</strong>",
        "[S19]",
        "Severe activity",
        "S6: Aringer M",
        "Cautions",
        "Missing work-up",
        "The evaluating centre decides.",
    ):
        assert text in page, text
    assert "<nav" not in page  # a page of its own, not the app's frame


def test_dashboard_aggregates(site_a, site_b, staff, specialist, rules_admin) -> None:
    for state in (S.NEW, S.IN_REVIEW, S.DEFERRED):
        make_referral(PatientFactory(site=site_a), staff, state=state)
    make_referral(PatientFactory(site=site_a), staff, state=S.NEW, pathway="msc")
    referred = make_referral(PatientFactory(site=site_a), staff, state=S.REFERRED)
    declined = make_referral(PatientFactory(site=site_a), staff, state=S.NOT_REFERRED)
    make_referral(PatientFactory(site=site_b))  # another site
    now = timezone.now()
    Referral.objects.filter(pk=referred.pk).update(flagged_at=now - timedelta(days=2), decided_at=now)
    Referral.objects.filter(pk=declined.pk).update(flagged_at=now - timedelta(days=6), decided_at=now)

    d = client_for(staff).get(reverse("referrals:dashboard")).context["d"]
    assert d.open_rows == [
        {"pathway": "HSCT", "counts": [1, 1, 1, 0], "total": 3},
        {"pathway": "MSC", "counts": [1, 0, 0, 0], "total": 1},
    ]
    assert d.median_days == 4.0 and d.decided_count == 2
    assert d.by_version == [
        {"version": "2026.2", "referred": 1, "not_referred": 1, "reasons": [0, 1, 0, 0, 0, 0], "extra": [0, 0]}
    ]
    # rules admins see the aggregates of every site, and no patient
    response = client_for(rules_admin).get(reverse("referrals:dashboard"))
    assert response.context["d"].open_total == 5
    assert "PAT-" not in response.content.decode()


@pytest.mark.parametrize("name", ["queue", "detail", "print", "dashboard"])
def test_no_forbidden_words_on_the_pages(flagged, staff, name) -> None:
    move(flagged, staff, S.IN_REVIEW)
    url = reverse(f"referrals:{name}", kwargs={"pk": flagged.pk} if name in ("detail", "print") else {})
    page = client_for(staff).get(url, {"state": "all"} if name == "queue" else {}).content.decode().lower()
    for word in FORBIDDEN:
        assert word not in page, word


def test_the_why_sits_beside_the_decision_forms(flagged, staff) -> None:
    page = client_for(staff).get(detail(flagged)).content.decode()
    actions, why, summary = (page.index(f'id="{h}"') for h in ("h-actions", "h-trace", "h-patient"))
    assert actions < why < summary  # beside the actions (same row), not below the whole summary
    assert "Flagged because" in page and "All criteria for HSCT" in page


def test_safety_checks_split_absent_from_unknown(flagged, staff) -> None:
    page = client_for(staff).get(detail(flagged)).content.decode()
    assert "none present or unknown" not in page
    raised = page[page.index('id="raised"') :]
    assert "None present." in raised and "Checked and absent (" in raised
