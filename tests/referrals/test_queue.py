"""The queue: filters, sorting, keyset pages, counts per state, and a constant query budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, Site
from referrals.models import Referral, ReferralState
from tests.conftest import client_for, make_user
from tests.patients.factories import PatientFactory
from tests.referrals.factories import CAUTIONS, make_referral

S = ReferralState
pytestmark = pytest.mark.django_db
QUEUE = reverse("referrals:queue")


def rows(client, **params) -> list[str]:
    """Patient identifiers of the queue page, in order."""
    response = client.get(QUEUE, params)
    assert response.status_code == 200
    return [r.identifier for r in response.context["page"].rows]


def flag_age(referral: Referral, days: int) -> None:
    Referral.objects.filter(pk=referral.pk).update(flagged_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def cast(site_a, site_b, staff, specialist):
    """A small queue: one referral per state at site A, one at site B."""
    made = {}
    for i, state in enumerate([S.NEW, S.IN_REVIEW, S.REFERRED, S.NOT_REFERRED, S.DEFERRED, S.NEEDS_DATA]):
        made[state] = make_referral(PatientFactory(site=site_a, identifier=f"A-{state}"), staff, state=state)
        flag_age(made[state], 10 * i)
    made["other_site"] = make_referral(PatientFactory(site=site_b, identifier="B-new"))
    return made


def test_default_view_is_the_work_to_do_of_my_sites(cast, staff) -> None:
    assert sorted(rows(client_for(staff))) == ["A-in_review", "A-new"]


@pytest.mark.parametrize(
    "state,expected",
    [
        ("open", ["A-deferred", "A-in_review", "A-needs_data", "A-new"]),
        ("referred", ["A-referred"]),
        ("not_referred", ["A-not_referred"]),
        ("decided", ["A-not_referred", "A-referred"]),
        ("needs_data", ["A-needs_data"]),
        ("all", ["A-deferred", "A-in_review", "A-needs_data", "A-new", "A-not_referred", "A-referred"]),
    ],
)
def test_state_filter(cast, staff, state, expected) -> None:
    assert sorted(rows(client_for(staff), state=state)) == expected


def test_counts_per_state_in_one_query(cast, staff) -> None:
    response = client_for(staff).get(QUEUE)
    counts = {key: n for key, _label, n, _q in response.context["state_views"]}
    assert counts == {
        "todo": 2,
        "open": 4,
        "new": 1,
        "in_review": 1,
        "referred": 1,
        "not_referred": 1,
        "deferred": 1,
        "needs_data": 1,
        "due": 0,
        "decided": 2,
        "all": 6,
    }


def test_pathway_filter_and_options(site_a, staff) -> None:
    p = PatientFactory(site=site_a, identifier="TWO")
    make_referral(p, pathway="hsct")
    make_referral(p, pathway="msc")
    client = client_for(staff)
    assert client.get(QUEUE).context["counts"].pathways == ["hsct", "msc"]
    response = client.get(QUEUE, {"pathway": "msc"})
    assert [r.pathway for r in response.context["page"].rows] == ["msc"]
    assert response.context["total"] == 1


def test_site_filter(site_a, site_b, staff) -> None:
    staff.sites.add(site_b)
    make_referral(PatientFactory(site=site_a, identifier="IN-A"))
    make_referral(PatientFactory(site=site_b, identifier="IN-B"))
    assert rows(client_for(staff), site="site-b") == ["IN-B"]
    assert sorted(rows(client_for(staff))) == ["IN-A", "IN-B"]


def test_another_sites_referrals_are_not_shown(cast, specialist_b) -> None:
    assert rows(client_for(specialist_b)) == ["B-new"]


def test_assigned_to_me(site_a, staff, specialist) -> None:
    from referrals.services import assign_referral

    mine = make_referral(PatientFactory(site=site_a, identifier="MINE"))
    make_referral(PatientFactory(site=site_a, identifier="THEIRS"))
    assign_referral(referral=mine, actor=specialist, seen_version=1, assignee=staff)
    assert rows(client_for(staff), mine="1") == ["MINE"]
    assert rows(client_for(specialist), mine="1") == []


def test_has_a_contraindication(site_a, staff) -> None:
    present = [{**CAUTIONS[0], "status": "present"}]
    make_referral(PatientFactory(site=site_a, identifier="CI"), cautions=present)
    make_referral(PatientFactory(site=site_a, identifier="NO-CI"))  # unknown contraindication only
    assert rows(client_for(staff), contraindication="1") == ["CI"]


def test_flag_withdrawn_filter(site_a, staff) -> None:
    withdrawn = make_referral(PatientFactory(site=site_a, identifier="GONE"))
    make_referral(PatientFactory(site=site_a, identifier="STILL"))
    Referral.objects.filter(pk=withdrawn.pk).update(flag_withdrawn=True, withdrawn_reason="new data")
    assert rows(client_for(staff), withdrawn="1") == ["GONE"]


def test_age_of_flag_filter(cast, staff) -> None:
    # A-new flagged now, A-in_review 10 days ago
    assert rows(client_for(staff), age="7") == ["A-in_review"]
    assert rows(client_for(staff), age="30") == []


def test_sorting(cast, staff) -> None:
    client = client_for(staff)
    assert rows(client, state="open") == ["A-needs_data", "A-deferred", "A-in_review", "A-new"]  # oldest flag first
    assert rows(client, state="open", sort="newest") == ["A-new", "A-in_review", "A-deferred", "A-needs_data"]
    assert rows(client, state="open", sort="updated")[0] == "A-needs_data"  # changed last by the fixture


def test_keyset_pages_walk_forward_and_back(site_a, staff) -> None:
    made = [make_referral(PatientFactory(site=site_a, identifier=f"K-{i:02d}")) for i in range(60)]
    same_time = timezone.now() - timedelta(days=1)
    Referral.objects.filter(pk__in=[r.pk for r in made[:30]]).update(flagged_at=same_time)  # ties are broken by id
    client = client_for(staff)
    seen, pages, params = [], [], {"per_page": "25"}
    while True:
        response = client.get(QUEUE, params)
        page = response.context["page"]
        pages.append([r.identifier for r in page.rows])
        seen += pages[-1]
        if not page.next_cursor:
            break
        params = {"per_page": "25", "after": page.next_cursor}
    assert [len(p) for p in pages] == [25, 25, 10]
    assert sorted(seen) == sorted(r.patient.identifier for r in made) and len(set(seen)) == 60
    back = client.get(QUEUE, {"per_page": "25", "before": page.prev_cursor}).context["page"]
    assert [r.identifier for r in back.rows] == pages[1]
    first = client.get(QUEUE, {"per_page": "25", "before": back.prev_cursor}).context["page"]
    assert [r.identifier for r in first.rows] == pages[0] and first.prev_cursor == ""


def test_bad_parameters_fall_back_to_defaults(cast, staff) -> None:
    response = client_for(staff).get(
        QUEUE, {"state": "nope", "sort": "x", "age": "5", "per_page": "abc", "after": "junk"}
    )
    assert response.status_code == 200 and response.context["f"].state == "todo"


def test_the_row_shows_reasons_and_cautions_at_a_glance(site_a, staff) -> None:
    make_referral(PatientFactory(site=site_a, identifier="GLANCE"))
    page = client_for(staff).get(QUEUE).content.decode()
    assert "GLANCE" in page and "SLEDAI-2K 12 on 15 Oct 2026, needs ≥ 8" in page  # stored ISO, shown the clinic's way
    assert (
        '<abbr title="contraindication">CI</abbr>: Chronic viral infection (HIV, hepatitis B or C)'
        '<abbr title="not yet known: work-up incomplete">?</abbr>' in page
    )
    assert "Organ damage" in page and 'id="caution-key"' in page  # CI and ? explained where they appear


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(QUEUE, {"state": "all", "per_page": "100"})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_queue_query_budget_is_the_same_for_1_and_50_rows(site_a, staff, specialist) -> None:
    client = client_for(staff)
    make_referral(PatientFactory(site=site_a), staff, state=S.IN_REVIEW)
    one = count_queries(client)
    for i in range(49):
        referral = make_referral(PatientFactory(site=site_a), staff, state=[S.NEW, S.IN_REVIEW, S.DEFERRED][i % 3])
        if i % 2:
            from referrals.services import assign_referral

            assign_referral(
                referral=Referral.objects.get(pk=referral.pk),
                actor=staff,
                seen_version=Referral.objects.get(pk=referral.pk).version,
                assignee=specialist,
            )
    fifty = count_queries(client)
    # the summary was dropped by the changes: session, user, user's sites with their summaries, the summary
    # recomputed (patients, referrals per state and pathway, decisions; one upsert), page of referrals
    # (+patient, site, assignee)
    assert one == fifty == 8
    # read again while fresh (the steady state, at most one recompute a minute a site): 4, one fewer than
    # when the counts were a GROUP BY over every referral of the user's sites on each view
    assert count_queries(client) == 4
    # a filter the summary does not hold counts the matching referrals: session, user, sites, count, page
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(QUEUE, {"state": "all", "mine": "1"}).status_code == 200
    assert len(ctx.captured_queries) == 5


def test_queue_export_query_budget(site_a, staff) -> None:
    from referrals.exports import write
    from referrals.models import QueueExport

    for _ in range(20):
        make_referral(PatientFactory(site=site_a))
    client = client_for(staff)
    with CaptureQueriesContext(connection) as asking:
        assert client.post(reverse("referrals:export"), {"state": "all"}).status_code == 302
    # session, user, expired exports deleted, the request saved, the message kept in the session (an update
    # in a savepoint): no row of the queue is read while the user waits
    assert len(asking.captured_queries) == 7
    job = QueueExport.objects.get()
    with CaptureQueriesContext(connection) as writing:
        write(job.pk)
    # claim, the export and its user, the user's sites within the rows' query, the rows, the file saved
    assert len(writing.captured_queries) == 4
    url = reverse("referrals:export_download", kwargs={"pk": job.pk})
    with CaptureQueriesContext(connection) as ctx:
        body = b"".join(client.get(url).streaming_content)
    assert body.count(b"\n") == 21
    # session, user, the export
    assert len(ctx.captured_queries) == 3
    client.get(reverse("referrals:export"))  # shows (and so drops) the message of the request
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("referrals:export")).status_code == 200
    assert len(ctx.captured_queries) == 3  # session, user, the user's exports (without their files)


def test_another_role_layout(site_a) -> None:
    """Specialists of several sites see every site's queue at once."""
    other = Site.objects.create(code="site-c", name="Site C")
    user = make_user("multi", Role.SPECIALIST, site_a, other)
    make_referral(PatientFactory(site=site_a, identifier="SA"))
    make_referral(PatientFactory(site=other, identifier="SC"))
    assert sorted(rows(client_for(user))) == ["SA", "SC"]


def test_reasons_are_cut_at_a_word_boundary() -> None:
    from referrals.services import _short

    text = "SLEDAI-2K 20 on 2026-10-15 (arthritis 4, urinary casts 4, haematuria 4, proteinuria 4, low complement 2, increased DNA binding 2), needs ≥ 8"
    short = _short(text)
    assert len(short) <= 110 and short.endswith("…")
    assert text.startswith(short[:-1]) and not text[len(short) - 1].isalnum()  # the cut falls between words
    assert _short("short; second part") == "short"


def test_older_rows_show_todays_caution_labels(site_a, staff) -> None:
    from referrals.queue import caution_badges

    referral = make_referral(PatientFactory(site=site_a))
    referral.cautions = [
        {"id": "active_cns_lupus", "label": "Active cns lupus", "severity": "caution", "status": "present"},
        {"label": "Kept as written", "severity": "caution", "status": "unknown"},
    ]
    assert [b.label for b in caution_badges(referral.cautions)] == ["Active CNS lupus", "Kept as written"]
