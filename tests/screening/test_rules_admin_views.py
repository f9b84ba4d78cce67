"""Rules administration pages: each action through its URL, POST/redirect/GET, errors naming fields."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.urls import reverse

from screening import editing, rulesets, testcases
from screening.models import EventKind, Job, RuleCase, RuleSet
from tests.conftest import client_for
from tests.screening.conftest import AS_OF, case_file
from tests.shipped import case_paths, earlier_rules_path

FORBIDDEN = re.compile(r"\b(eligible|eligibility|approved|candidate)\b", re.IGNORECASE)


def url(name: str, **kwargs) -> str:
    return reverse(f"screening:{name}", kwargs=kwargs)


def page(client, address: str) -> str:
    response = client.get(address)
    assert response.status_code == 200, address
    text = response.content.decode()
    assert not FORBIDDEN.search(text), FORBIDDEN.search(text)
    return text


@pytest.mark.django_db
def test_home_shows_the_published_set_its_history_and_the_drafts(rules_admin, older_draft) -> None:
    text = page(client_for(rules_admin), url("admin_home"))
    assert "Default rules 2026.2" in text and "Default shipped with Candidacy"[:7] in text
    assert "Default rule set shipped with Candidacy" in text  # why 2026.2 was published
    assert url("ruleset_detail", pk=older_draft.pk) in text and "waiting" in text
    assert url("draft_create", pk=RuleSet.objects.published().pk) in text


@pytest.mark.django_db
def test_create_a_draft_from_a_version(rules_admin) -> None:
    client = client_for(rules_admin)
    published = RuleSet.objects.published()
    assert 'value="2026.3"' in page(client, url("draft_create", pk=published.pk))
    response = client.post(url("draft_create", pk=published.pk), {"version": "2026.3", "name": "", "reason": "age"})
    draft = RuleSet.objects.get(version="2026.3")
    assert response.status_code == 302 and response["Location"] == url("ruleset_detail", pk=draft.pk)
    response = client.post(url("draft_create", pk=published.pk), {"version": "2026.3", "reason": "again"})
    assert "2026.3 already exists" in response.content.decode()


@pytest.mark.django_db
def test_edit_a_criterion_through_its_form_and_see_it_in_the_audit_trail(rules_admin, draft) -> None:
    client = client_for(rules_admin)
    address = url("node_edit", pk=draft.pk, node_id="hsct.age")
    assert "Oldest age (max_years)" in page(client, address)
    response = client.post(address, {"min_years": 18, "max_years": 65, "source": "S30", "reason": "LIST protocol"})
    assert response.status_code == 302
    text = page(client, url("ruleset_detail", pk=draft.pk))
    assert "hsct.age: 18–60 → 18–65 (max_years 60 → 65)" in text and "LIST protocol" in text and "admin_1" in text


@pytest.mark.django_db
def test_a_bad_value_is_refused_with_the_field_named_and_nothing_changes(rules_admin, draft) -> None:
    client = client_for(rules_admin)
    address = url("node_edit", pk=draft.pk, node_id="hsct.age")
    response = client.post(address, {"min_years": 18, "max_years": 200, "source": "S30", "reason": "typo"})
    assert response.status_code == 200
    assert "Oldest age (max_years): must be at most 150 years." in response.content.decode()
    response = client.post(
        url("node_edit", pk=draft.pk, node_id="hsct.severe_activity.major_organ"),
        {"codes": [], "ln_classes": ["IV"], "biopsy_max_age_days": "", "reason": "x"},
    )
    assert "Manifestations (codes): choose at least one." in response.content.decode()
    draft.refresh_from_db()
    assert draft.revision == 0


@pytest.mark.django_db
def test_only_drafts_are_edited(rules_admin) -> None:
    published = RuleSet.objects.published()
    response = client_for(rules_admin).get(url("node_edit", pk=published.pk, node_id="hsct.age"))
    assert response.status_code == 404
    text = page(client_for(rules_admin), url("ruleset_detail", pk=published.pk))
    assert url("node_edit", pk=published.pk, node_id="hsct.age") not in text


@pytest.mark.django_db
def test_switch_off_and_on_add_change_op_severity_and_drug_thresholds(rules_admin, draft) -> None:
    client = client_for(rules_admin)
    pk = draft.pk
    assert client.post(url("node_off", pk=pk, node_id="msc.antimalarial"), {"reason": "trial"}).status_code == 302
    assert "msc.antimalarial" in page(client, url("ruleset_detail", pk=pk))
    assert client.post(url("node_on", pk=pk, node_id="msc.antimalarial"), {"reason": "back"}).status_code == 302
    assert "Criterion type" in page(client, url("node_add", pk=pk, node_id="msc"))
    add = url("node_add", pk=pk, node_id="msc") + "?type=damage_index_at_least"
    assert 'value="msc.damage_index_at_least"' in page(client, add)
    assert client.post(add, {"node_id": "msc.damage", "min_score": 1, "reason": "trial"}).status_code == 302
    assert (
        client.post(url("group_op", pk=pk, node_id="hsct.refractory"), {"op": "all", "reason": "stricter"}).status_code
        == 302
    )
    assert (
        client.post(
            url("caution_edit", pk=pk, caution_id="organ_damage"),
            {"severity_hsct": "contraindication", "severity_msc": "", "reason": "S30"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            url("drug_edit", pk=pk, drug="methotrexate"),
            {"min_days": 120, "min_dose": 15, "min_dose_per_kg": "", "reason": "local"},
        ).status_code
        == 302
    )
    assert list(draft.events.order_by("pk").values_list("kind", flat=True)) == [
        EventKind.CREATED,
        EventKind.SWITCHED_OFF,
        EventKind.SWITCHED_ON,
        EventKind.ADDED,
        EventKind.EDITED,
        EventKind.EDITED,
        EventKind.EDITED,
    ]
    response = client.post(url("node_off", pk=pk, node_id="hsct.severe_activity.sledai"), {"reason": "x"})
    response = client.post(url("node_off", pk=pk, node_id="hsct.severe_activity.major_organ"), {"reason": "x"})
    assert "a group keeps at least one" in response.content.decode()


DRAFT_EDITS = [
    ("node_edit", {"node_id": "hsct.age"}),
    ("node_add", {"node_id": "msc"}),
    ("node_off", {"node_id": "hsct.age"}),
    ("node_on", {"node_id": "msc.antimalarial"}),
    ("group_op", {"node_id": "hsct.refractory"}),
    ("caution_edit", {"caution_id": "pregnancy"}),
    ("drug_edit", {"drug": "methotrexate"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "target"), DRAFT_EDITS, ids=[n for n, _ in DRAFT_EDITS])
def test_every_draft_edit_refuses_a_published_version(rules_admin, name, target) -> None:
    published = RuleSet.objects.published()
    client = client_for(rules_admin)
    assert client.get(url(name, pk=published.pk, **target)).status_code == 404
    assert client.post(url(name, pk=published.pk, **target), {"reason": "x"}).status_code == 404


REFUSED_EDITS = [
    ("node_edit", {"node_id": "hsct.age"}, {"min_years": 18, "max_years": 60, "source": "S30"}, "nothing changed"),
    (
        "node_add",
        {"node_id": "msc"},
        {"node_id": "hsct.age", "min_score": 1},
        "hsct.age is already used in this rule set",
    ),
    ("node_off", {"node_id": "hsct"}, {}, "hsct is the root of the pathway hsct and cannot be switched off"),
    ("group_op", {"node_id": "hsct.refractory"}, {"op": "any"}, "nothing changed"),
    (
        "caution_edit",
        {"caution_id": "pregnancy"},
        {"severity_hsct": "contraindication", "severity_msc": "contraindication"},
        "nothing changed",
    ),
    ("drug_edit", {"drug": "methotrexate"}, {"min_days": 90, "min_dose": 15, "min_dose_per_kg": ""}, "nothing changed"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "target", "data", "words"), REFUSED_EDITS, ids=[e[0] for e in REFUSED_EDITS])
def test_a_refused_draft_edit_shows_the_form_again_with_why(rules_admin, draft, name, target, data, words) -> None:
    address = url(name, pk=draft.pk, **target)
    if name == "node_add":
        address += "?type=damage_index_at_least"
    response = client_for(rules_admin).post(address, {**data, "reason": "checking"})
    assert response.status_code == 200
    text = response.content.decode()
    assert words in text and 'name="reason"' in text
    draft.refresh_from_db()
    assert draft.revision == 0 and list(draft.events.values_list("kind", flat=True)) == [EventKind.CREATED]


@pytest.mark.django_db
def test_export_and_import_a_rule_set_file(rules_admin) -> None:
    client = client_for(rules_admin)
    published = RuleSet.objects.published()
    response = client.get(url("ruleset_export", pk=published.pk))
    assert response["Content-Disposition"] == 'attachment; filename="rules-2026.2.json"'
    content = json.loads(response.content)
    assert content == published.content
    content["version"] = "2026.5"
    upload = io.BytesIO(json.dumps(content).encode())
    upload.name = "rules.json"
    response = client.post(url("ruleset_import"), {"file": upload, "note": "from the network"})
    imported = RuleSet.objects.get(version="2026.5")
    assert response.status_code == 302 and imported.status == "draft" and imported.created_by == rules_admin
    assert imported.events.get().kind == EventKind.IMPORTED
    content["version"] = "2026.6"
    content["pathways"][0]["inclusion"]["all"][1]["params"]["max_years"] = "sixty"
    upload = io.BytesIO(json.dumps(content).encode())
    upload.name = "bad.json"
    text = client.post(url("ruleset_import"), {"file": upload, "note": "x"}).content.decode()
    assert "Rule-set file: hsct.age: params.max_years: must be an integer" in text


@pytest.mark.django_db
def test_compare_two_versions_side_by_side(rules_admin, older_draft) -> None:
    text = page(client_for(rules_admin), url("compare") + "?a=2026.2&b=2026.3")
    assert "hsct.age: 18–60 → 18–65 (max_years 60 → 65)" in text
    assert "<td>18–60</td><td>18–65</td>" in text.replace("\n", "").replace("    ", "")


@pytest.mark.django_db
def test_plain_language_view_of_a_draft(rules_admin, older_draft) -> None:
    assert "Age 18 to 65 years" in page(client_for(rules_admin), reverse("screening:rules") + "?version=2026.3")


@pytest.mark.django_db
def test_tests_page_shows_failing_case_with_trace_and_the_expectation_can_be_updated(rules_admin, older_draft) -> None:
    client = client_for(rules_admin)
    text = page(client, url("ruleset_tests", pk=older_draft.pk))
    assert f"1 of {len(case_paths())} test cases failing" in text
    assert 'data-case="older-patient" data-passed="no"' in text and "hsct.age" in text
    case = RuleCase.objects.get(name="older-patient")
    expect = url("testcase_expect", pk=case.pk) + f"?draft={older_draft.pk}"
    form = page(client, expect)
    assert 'value="flagged" selected' in form.replace('selected=""', "selected")  # offered: the draft's outcome
    response = client.post(expect, {"expected_hsct": "flagged", "expected_msc": "flagged", "reason": ""})
    assert "Why: say why you make this change." in response.content.decode()
    response = client.post(expect, {"expected_hsct": "flagged", "expected_msc": "flagged", "reason": "65 now"})
    assert response["Location"] == url("ruleset_tests", pk=older_draft.pk)
    assert f"All {len(case_paths())} test cases pass." in page(client, url("ruleset_tests", pk=older_draft.pk))
    assert "65 now" in page(client, url("testcase_detail", pk=case.pk))


@pytest.mark.django_db
def test_impact_preview_runs_as_a_job_and_its_page_names_the_patients(
    rules_admin, older_draft, site_a, cases_day, django_capture_on_commit_callbacks
) -> None:
    from tests.screening.conftest import import_named

    import_named(site_a, "older-patient", "mild-disease")
    client = client_for(rules_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("impact_start", pk=older_draft.pk))
    job = Job.objects.get()
    assert response["Location"] == url("job_detail", pk=job.pk)
    text = page(client, response["Location"])
    assert 'data-patient="older-patient" data-pathway="hsct" data-direction="newly_flagged"' in text
    assert "<code>hsct.age</code> not met → met" in text
    assert 'data-direction="newly_flagged">1</td>' in text and "job-progress.js" not in text
    assert client.get(url("impact_start", pk=older_draft.pk)).status_code == 405


@pytest.mark.django_db
def test_a_running_job_page_refreshes_itself(rules_admin, older_draft) -> None:
    job = Job.objects.create(
        kind="impact", rule_set=older_draft, revision=1, as_of=AS_OF, status="running", total=200, done=50
    )
    text = page(client_for(rules_admin), url("job_detail", pk=job.pk))
    assert "50 of 200 patients" in text and 'aria-valuenow="25"' in text and "job-progress.js" in text


@pytest.mark.django_db
def test_self_sign_off_is_refused_and_a_second_admin_signs_off(rules_admin, admin_2, older_draft) -> None:
    address = url("sign_off", pk=older_draft.pk)
    own = client_for(rules_admin)
    assert "a second rules admin must sign it off" in page(own, address)
    response = own.post(address, {"note": "mine"})
    assert response.status_code == 200 and "a second rules admin must sign it off" in response.content.decode()
    older_draft.refresh_from_db()
    assert older_draft.reviewed_by is None
    other = client_for(admin_2)
    assert "<td>18–60</td><td>18–65</td>" in page(other, address).replace("\n", "").replace("    ", "")
    assert other.post(address, {"note": "checked"}).status_code == 302
    older_draft.refresh_from_db()
    assert older_draft.reviewed_by == admin_2
    assert "signed off by admin_2" in page(other, url("ruleset_detail", pk=older_draft.pk))


@pytest.mark.django_db
def test_publish_through_the_page_is_blocked_then_done(
    rules_admin, admin_2, older_draft, cohort, django_capture_on_commit_callbacks
) -> None:
    client = client_for(admin_2)
    address = url("publish", pk=older_draft.pk)
    text = client.post(address, {"change_note": "HSCT up to 65"}).content.decode()
    assert "must sign this draft off" in text
    rulesets.sign_off_rule_set(rule_set=older_draft, actor=admin_2)
    text = client.post(address, {"change_note": "HSCT up to 65"}).content.decode()
    assert "1 test case(s) fail: older-patient" in text
    # the author updates the expectation; that withdraws the sign-off, so the reviewer looks again
    testcases.update_expectation(
        test_case=RuleCase.objects.get(name="older-patient"),
        actor=rules_admin,
        expected={"hsct": "flagged"},
        reason="65",
    )
    older_draft.refresh_from_db()
    assert older_draft.reviewed_by is None
    rulesets.sign_off_rule_set(rule_set=older_draft, actor=admin_2)
    assert "Change note: say what changes and why." in client.post(address, {"change_note": ""}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("impact_start", pk=older_draft.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(address, {"change_note": "HSCT up to 65"})
    job = Job.objects.get(kind="rescreen")
    assert response["Location"] == url("job_detail", pk=job.pk)
    assert f"{len(case_paths()) + 1} patients re-screened" in page(client, response["Location"])  # the cohort
    assert RuleSet.objects.published().version == "2026.3"
    history = page(client, url("admin_home"))
    assert "HSCT up to 65" in history and "admin_2" in history


@pytest.mark.django_db
def test_publish_a_retired_version_again_in_one_action(
    rules_admin, admin_2, django_capture_on_commit_callbacks, older_draft
) -> None:
    original = RuleSet.objects.published()
    testcases.update_expectation(
        test_case=RuleCase.objects.get(name="older-patient"),
        actor=rules_admin,
        expected={"hsct": "flagged"},
        reason="65",
    )
    with django_capture_on_commit_callbacks(execute=True):
        rulesets.start_impact_preview(rule_set=older_draft, actor=rules_admin, as_of=AS_OF)
    rulesets.sign_off_rule_set(rule_set=older_draft, actor=admin_2)
    with django_capture_on_commit_callbacks(execute=True):
        rulesets.publish_rule_set(rule_set=older_draft, actor=rules_admin, change_note="65")
    client = client_for(admin_2)
    address = url("rollback", pk=original.pk)
    text = page(client, address)
    assert 'value="2026.4"' in text and "<td>18–65</td><td>18–60</td>" in text.replace("\n", "").replace("    ", "")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(address, {"version": "2026.4", "reason": "undo"})
    assert response.status_code == 302
    assert RuleSet.objects.published().version == "2026.4"
    assert client.get(url("rollback", pk=RuleSet.objects.published().pk)).status_code == 404


@pytest.mark.django_db
def test_add_a_test_case_from_a_file(rules_admin) -> None:
    client = client_for(rules_admin)
    case = case_file("mild-disease")
    case["case_id"] = "mild-2"
    upload = io.BytesIO(json.dumps(case).encode())
    upload.name = "mild-2.json"
    response = client.post(
        url("testcase_add"),
        {"file": upload, "expected_hsct": "not_flagged", "expected_msc": "not_flagged", "reason": "low activity"},
    )
    added = RuleCase.objects.get(name="mild-2")
    assert response["Location"] == url("testcase_detail", pk=added.pk)
    assert added.expected == {"hsct": "not_flagged", "msc": "not_flagged"}
    assert "mild-2" in page(client, url("testcase_list"))
    upload = io.BytesIO(b"{not json")
    upload.name = "bad.json"
    text = client.post(
        url("testcase_add"), {"file": upload, "expected_hsct": "flagged", "expected_msc": "flagged", "reason": "x"}
    ).content.decode()
    assert "Case file: not a JSON file" in text


@pytest.mark.django_db
def test_no_page_uses_forbidden_words(rules_admin, older_draft) -> None:
    client = client_for(rules_admin)
    job = Job.objects.create(kind="impact", rule_set=older_draft, revision=1, as_of=AS_OF)
    case = RuleCase.objects.first()
    for address in [
        url("admin_home"),
        url("ruleset_detail", pk=older_draft.pk),
        url("ruleset_tests", pk=older_draft.pk),
        url("sign_off", pk=older_draft.pk),
        url("publish", pk=older_draft.pk),
        url("testcase_list"),
        url("testcase_detail", pk=case.pk),
        url("job_detail", pk=job.pk),
        url("compare"),
        url("ruleset_import"),
        url("testcase_add"),
        url("node_add", pk=older_draft.pk, node_id="hsct"),
    ]:
        page(client, address)


@pytest.mark.django_db
def test_impact_rows_name_only_patients_of_the_admins_sites(rules_admin, site_a, site_b) -> None:
    from patients.models import Patient
    from screening.models import Job, RuleSet
    from tests.conftest import client_for

    mine = Patient.objects.create(site=site_a, identifier="MINE-1")
    theirs = Patient.objects.create(site=site_b, identifier="THEIRS-1")
    published = RuleSet.objects.published()
    rows = [
        {
            "patient": p.pk,
            "identifier": p.identifier,
            "site": p.site.name,
            "pathway": "hsct",
            "before": "not_flagged",
            "after": "flagged",
            "direction": "newly_flagged",
            "criteria": [],
        }
        for p in (mine, theirs)
    ]
    job = Job.objects.create(
        kind="impact",
        rule_set=published,
        revision=0,
        as_of="2026-11-01",
        status="done",
        result={"rows": rows, "counts": {"hsct": {"newly_flagged": 2}}},
    )
    page = client_for(rules_admin).get(reverse("screening:job_detail", kwargs={"pk": job.pk})).content.decode()
    assert "MINE-1" in page and "THEIRS-1" not in page and "another site" in page


def selected(text: str, name: str) -> str:
    """The value a <select> of the page has selected."""
    select = re.search(rf'<select name="{name}".*?</select>', text, re.S)
    assert select is not None, name
    [value] = re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', select.group())
    return value


@pytest.mark.django_db
def test_the_criterion_form_offers_ln_unconfirmed(rules_admin, draft) -> None:
    client = client_for(rules_admin)
    add = url("node_add", pk=draft.pk, node_id="hsct.severe_activity") + "?type=manifestation_active"
    form = page(client, add)
    assert "Lupus nephritis of unconfirmed class (ln_unconfirmed)" in form
    assert selected(form, "ln_unconfirmed") == "unknown"  # a new criterion asks for the biopsy
    edit = url("node_edit", pk=draft.pk, node_id="hsct.severe_activity.major_organ")
    assert selected(page(client, edit), "ln_unconfirmed") == "unknown"  # as 2026.2 sets it
    assert selected(page(client, url("node_edit", pk=draft.pk, node_id="active_cns_lupus")), "ln_unconfirmed") == (
        "not_met"
    )
    major = {
        "codes": ["lupus_nephritis", "neuropsychiatric"],
        "ln_classes": ["III", "IV"],
        "biopsy_max_age_days": 365,
        "source": "S20",
        "reason": "back to not met",
    }
    response = client.post(edit, {**major, "ln_unconfirmed": "maybe"})
    assert "Lupus nephritis of unconfirmed class (ln_unconfirmed): maybe is not one of the choices." in (
        response.content.decode()
    )
    assert client.post(edit, {**major, "ln_unconfirmed": "not_met"}).status_code == 302
    draft.refresh_from_db()
    assert (
        editing.locate(draft.content, "hsct.severe_activity.major_organ").node["params"]["ln_unconfirmed"] == "not_met"
    )
    assert "ln_unconfirmed unknown → not_met" in page(client, url("ruleset_detail", pk=draft.pk))


@pytest.mark.django_db
def test_a_draft_of_2026_1_shows_what_its_file_reads_and_an_edit_does_not_list_it(rules_admin) -> None:
    content = json.loads(earlier_rules_path("2026.1").read_text())
    old = RuleSet.objects.create(name=content["name"], version="2026.1", status="retired", content=content)
    draft = rulesets.create_draft(actor=rules_admin, source=old, version="2026.1-fix", reason="a wider window")
    client = client_for(rules_admin)
    edit = url("node_edit", pk=draft.pk, node_id="hsct.severe_activity.major_organ")
    form = page(client, edit)
    assert selected(form, "ln_unconfirmed") == "not_met"  # the file has no such key: it reads not_met
    params = editing.locate(content, "hsct.severe_activity.major_organ").node["params"]
    data = {**params, "biopsy_max_age_days": 400, "ln_unconfirmed": "not_met", "source": "S20, S21", "reason": "wider"}
    assert client.post(edit, data).status_code == 302
    event = draft.events.get(kind=EventKind.EDITED)
    assert event.summary == "hsct.severe_activity.major_organ: biopsy_max_age_days 365 → 400"
