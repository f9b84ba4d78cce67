"""Shipping the default rules 2026.2: a fresh install publishes it; an install in use receives it as a draft.

These tests run the real migrations (django's MigrationExecutor): the migration that ships 2026.2 is
unapplied, leaving a 2026.1 install (the 2026.1 rules published and their test cases, as the earlier
migrations seed them); then data is recorded the way an install in use has it, and the shipping migration
runs forward (and back). They run on whichever database the suite runs on (SQLite and PostgreSQL).
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import date
from types import ModuleType
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.template.loader import render_to_string
from django.urls import reverse

from clinic.services import screen_and_apply
from clinical.casefile import validate_case
from patients.casefiles import import_cases
from patients.models import Patient
from screening import rulesets, testcases
from screening.catalogue import drug_units
from screening.display import panel
from screening.errors import RuleSetRefused
from screening.models import EventKind, Job, RuleCase, RuleSet, RuleSetEvent, ScreeningResult
from tests.conftest import client_for
from tests.shipped import CASES, EXPECTATIONS, EXPECTED_PATH, RULES_PATH, earlier_rules_path

pytestmark = pytest.mark.django_db(transaction=True)

SHIP_SUFFIX = "_ship_default_rules_2026_2"
SHIPPED_WITH_2026_1 = [
    "contraindications-present",
    "mild-disease",
    "no-recent-assessment",
    "not-lupus",
    "older-patient",
    "partial-activity-score",
    "refractory-nephritis",
    "steroid-dependent",
    "workup-pending",
]


@pytest.fixture(autouse=True)
def back_to_the_latest_migrations() -> Any:
    """Whatever a test leaves, the next one finds every migration applied."""
    yield
    migrate_to_latest()


def load(path: Any) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def outcomes(path: Any) -> dict[str, dict[str, str]]:
    return {name: {p: v["outcome"] for p, v in item.items()} for name, item in load(path).items()}


def ship_node(executor: MigrationExecutor) -> tuple[str, str]:
    """The migration that ships 2026.2, found by name (its number may change when branches merge)."""
    [node] = [key for key in executor.loader.graph.nodes if key[0] == "screening" and key[1].endswith(SHIP_SUFFIX)]
    return node


def ship_module() -> ModuleType:
    return importlib.import_module(f"screening.migrations.{ship_node(MigrationExecutor(connection))[1]}")


def migrate_to_before_shipping() -> None:
    """A 2026.1 install: every migration before the shipping one, with the data those seed.

    The shipping migration is unapplied (it only moves data; the later ones, applied, make the schema now). A
    transactional test starts on emptied tables, so the seeds of a fresh 2026.1 install are run again, as
    migrate ran them: the 2026.1 rules published (0002) and their nine test cases (0005). Both skip what exists.
    """
    executor = MigrationExecutor(connection)
    node = ship_node(executor)
    before = [parent.key for parent in executor.loader.graph.node_map[node].parents]
    executor.migrate(before)
    # the migrations after the shipping one change the schema only, not the rules: they stay applied
    executor.recorder.record_applied(*node)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    executor.recorder.record_unapplied(*node)
    state = MigrationExecutor(connection).loader.project_state(before).apps
    for seed in ("0002_seed_default_rules", "0005_seed_test_cases"):
        importlib.import_module(f"screening.migrations.{seed}").seed(state, None)


def migrate_to_latest() -> None:
    """Every migration not applied, the shipping one included (the later ones may be applied already)."""
    executor = MigrationExecutor(connection)
    graph, applied = executor.loader.graph, executor.recorder.applied_migrations()
    leaves = graph.leaf_nodes()
    todo = dict.fromkeys(key for leaf in leaves for key in graph.forwards_plan(leaf) if key not in applied)
    executor.migrate(leaves, plan=[(graph.nodes[key], False) for key in todo])


def import_case(site: Any, name: str) -> Patient:
    case = validate_case(load(CASES / f"{name}.json"), drugs=drug_units())
    import_cases(actor=None, site=site, cases=[case])
    return Patient.objects.get(identifier=name)


def panel_html(patient: Patient, result: ScreeningResult) -> str:
    """The screening panel of the patient page for a stored result."""
    context = {
        "patient": patient,
        "screening": result,
        "screening_age": (date(2026, 11, 1) - result.as_of).days,
        # the pathways drawn afresh (not from the fragment cache, which the page uses)
        "pathways": render_to_string("screening/includes/pathways.html", {"panels": panel(patient, result)}),
    }
    return render_to_string("screening/includes/panel.html", context)


def page_panel(client: Any, patient: Patient) -> str:
    """The screening panel as the patient page shows it (from its section to the section's end)."""
    text = client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    start = text.index('<section class="card mb-3 border-primary-subtle" aria-labelledby="h-screening"')
    depth, at = 0, start
    for match in re.finditer(r"<section\b|</section>", text[start:]):
        depth += 1 if match.group() == "<section" else -1
        if depth == 0:
            at = start + match.end()
            break
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', text[start:at])


def test_a_fresh_install_publishes_2026_2_and_nothing_else() -> None:
    migrate_to_before_shipping()
    migrate_to_latest()
    [rule_set] = RuleSet.objects.all()
    assert (rule_set.version, rule_set.status, rule_set.content) == ("2026.2", "published", load(RULES_PATH))
    assert rule_set.change_note == "Default rule set shipped with Candidacy (described in docs/rule-sets.md)."
    assert not RuleSetEvent.objects.exists()
    assert {c.name: c.expected for c in RuleCase.objects.all()} == outcomes(EXPECTED_PATH)
    assert not RuleCase.history.exists()  # nothing changed on a fresh install: no reasons to give


def test_before_the_shipping_migration_an_install_is_2026_1() -> None:
    migrate_to_before_shipping()
    [rule_set] = RuleSet.objects.all()
    assert (rule_set.version, rule_set.status) == ("2026.1", "published")
    assert rule_set.content == load(earlier_rules_path("2026.1"))
    earlier = outcomes(EXPECTATIONS / "2026.1.json")
    assert {c.name: c.expected for c in RuleCase.objects.all()} == {n: earlier[n] for n in SHIPPED_WITH_2026_1}
    migrate_to_latest()


def test_an_install_in_use_receives_2026_2_as_a_draft_released_only_through_the_normal_steps(
    site_a, specialist, rules_admin, admin_2, cases_day
) -> None:
    migrate_to_before_shipping()
    patient = import_case(site_a, "nephritis-unbiopsied")
    other = import_case(site_a, "refractory-nephritis")
    for p in (patient, other):
        if not ScreeningResult.objects.filter(patient=p).exists():
            screen_and_apply(patient=p, trigger="manual")
    old_result = ScreeningResult.objects.latest_for(patient.pk)
    assert old_result.rule_set.version == "2026.1" and old_result.outcomes["hsct"] == "not_flagged"
    stored = list(ScreeningResult.objects.order_by("pk").values())
    reader = client_for(specialist)
    shown = page_panel(reader, patient)
    rendered = panel_html(patient, old_result)
    assert "Default rules 2026.1" in shown

    migrate_to_latest()

    module = ship_module()
    published = RuleSet.objects.published()
    assert (published.version, published.content) == ("2026.1", load(earlier_rules_path("2026.1")))
    draft = RuleSet.objects.get(version="2026.2")
    assert (draft.status, draft.content, draft.based_on, draft.created_by) == (
        "draft",
        load(RULES_PATH),
        published,
        None,
    )
    assert draft.change_note == module.CHANGE_NOTE and "Euro-Lupus" in draft.change_note
    assert "ln_unconfirmed unknown" in draft.change_note and "84 → 70" in draft.change_note
    shipped, expectation = draft.events.order_by("pk")
    assert (shipped.kind, shipped.actor, shipped.reason) == (EventKind.SHIPPED, None, module.CHANGE_NOTE)
    assert (
        shipped.summary == "shipped update: Default rules 2026.2 delivered with Candidacy as a draft, based on 2026.1"
    )
    reason = module.REASONS[("nephritis-unbiopsied", "hsct")]
    assert (expectation.kind, expectation.reason) == (EventKind.EXPECTATION, reason)
    assert expectation.summary == "test case nephritis-unbiopsied: expected hsct not flagged → insufficient data"
    assert not published.events.exists()

    # the test cases: the new one, and the shipped outcomes under 2026.2, each change with its reason
    assert {c.name: c.expected for c in RuleCase.objects.all()} == outcomes(EXPECTED_PATH)
    case = RuleCase.objects.get(name="nephritis-unbiopsied")
    assert [(h.history_type, h.expected["hsct"], h.history_change_reason) for h in case.history.order_by("pk")] == [
        ("+", "not_flagged", "shipped case file added with the 2026.2 update"),
        ("~", "insufficient_data", f"{expectation.summary} — {reason}"),
    ]

    # nothing stored changed, and the patient page shows the 2026.1 result exactly as before
    assert list(ScreeningResult.objects.order_by("pk").values()) == stored
    assert page_panel(reader, patient) == shown

    # what a rules admin sees: the shipped update, its change note, who delivered it, the two changes
    admin = client_for(rules_admin)
    home = admin.get(reverse("screening:admin_home")).content.decode()
    assert "shipped update</span>" in home and "shipped with Candidacy" in home
    detail = admin.get(reverse("screening:ruleset_detail", kwargs={"pk": draft.pk})).content.decode()
    assert 'id="shipped">shipped update' in detail and "Change note of this shipped update:" in detail
    assert "<td>installation</td><td>shipped update delivered with Candidacy</td>" in detail
    compare = admin.get(reverse("screening:compare") + "?a=2026.1&b=2026.2").content.decode()
    assert "hsct.severe_activity.major_organ: ln_unconfirmed not_met → unknown" in compare
    assert "drug cyclophosphamide_iv: min_days 84 → 70" in compare and "active_cns_lupus" not in compare
    publish_form = admin.get(reverse("screening:publish", kwargs={"pk": draft.pk})).content.decode()
    assert "Euro-Lupus" in publish_form.split('name="change_note"', 1)[1]  # offered, to be read and edited

    # it goes live only through the normal release: test cases, impact preview, second sign-off, publish
    assert testcases.failing(testcases.run_test_cases(draft.content)) == []
    with pytest.raises(RuleSetRefused, match="must sign this draft off"):
        rulesets.publish_rule_set(rule_set=draft, actor=admin_2, change_note=draft.change_note)
    rulesets.sign_off_rule_set(rule_set=draft, actor=rules_admin, note="read the two corrections")
    # no one here wrote it: whoever signed it off may not also publish it (two people release every version)
    with pytest.raises(RuleSetRefused, match="another rules admin must publish it"):
        rulesets.publish_rule_set(rule_set=draft, actor=rules_admin, change_note=draft.change_note)
    with pytest.raises(RuleSetRefused, match="run the impact preview"):
        rulesets.publish_rule_set(rule_set=draft, actor=admin_2, change_note=draft.change_note)
    preview = rulesets.start_impact_preview(rule_set=draft, actor=admin_2, as_of=cases_day)
    preview.refresh_from_db()
    rows = {(r["identifier"], r["pathway"]): r["direction"] for r in preview.result["rows"]}
    assert rows == {("nephritis-unbiopsied", "hsct"): "to_insufficient"}
    rulesets.publish_rule_set(rule_set=draft, actor=admin_2, change_note=draft.change_note, as_of=cases_day)
    published.refresh_from_db()
    assert (published.status, RuleSet.objects.published().version) == ("retired", "2026.2")
    new = ScreeningResult.objects.latest_for(patient.pk)
    assert (new.rule_set.version, new.outcomes["hsct"]) == ("2026.2", "insufficient_data")
    assert Job.objects.filter(kind="rescreen", status="done").count() == 1

    # 2026.1's results stay as they were stored, and render exactly as before
    assert list(ScreeningResult.objects.filter(pk__in=[r["id"] for r in stored]).order_by("pk").values()) == stored
    assert panel_html(patient, ScreeningResult.objects.get(pk=old_result.pk)) == rendered


def test_an_install_with_patients_but_no_result_gets_a_draft_too_and_the_migration_reverses(site_a) -> None:
    migrate_to_before_shipping()
    Patient.objects.create(site=site_a, identifier="NO-RESULT-YET")
    migrate_to_latest()
    assert dict(RuleSet.objects.values_list("version", "status")) == {"2026.1": "published", "2026.2": "draft"}

    migrate_to_before_shipping()  # back: the untouched shipped draft and the new case go
    assert dict(RuleSet.objects.values_list("version", "status")) == {"2026.1": "published"}
    assert sorted(RuleCase.objects.values_list("name", flat=True)) == SHIPPED_WITH_2026_1
    assert not RuleSetEvent.objects.exists()

    migrate_to_latest()  # and forward again
    assert dict(RuleSet.objects.values_list("version", "status")) == {"2026.1": "published", "2026.2": "draft"}


def test_every_draft_records_the_changed_expectation_and_loses_its_sign_off(rules_admin, admin_2) -> None:
    migrate_to_before_shipping()
    local = rulesets.create_draft(
        actor=rules_admin, source=RuleSet.objects.published(), version="2026.1-local", reason="our own change"
    )
    rulesets.sign_off_rule_set(rule_set=local, actor=admin_2)
    migrate_to_latest()
    local.refresh_from_db()
    assert local.reviewed_by is None and local.reviewed_at is None
    event = local.events.get(kind=EventKind.EXPECTATION)
    assert event.data["sign_off_withdrawn"] == "admin_2" and event.data["shipped"] == "2026.2"
    assert event.reason == ship_module().REASONS[("nephritis-unbiopsied", "hsct")]
    assert local.history.first().history_change_reason.startswith("sign-off withdrawn: test case nephritis-unbiopsied")
    # the local draft now fails the new case until it takes the correction or the expectation changes
    assert [run.case.name for run in testcases.failing(testcases.run_test_cases(local.content))] == [
        "nephritis-unbiopsied"
    ]


def test_a_version_name_taken_and_an_own_case_of_the_same_name_are_respected(rules_admin) -> None:
    migrate_to_before_shipping()
    rulesets.create_draft(actor=rules_admin, source=RuleSet.objects.published(), version="2026.2", reason="ours")
    own = load(CASES / "nephritis-unbiopsied.json")
    testcases.add_test_case(
        actor=rules_admin, case=own, expected={"hsct": "not_flagged", "msc": "flagged"}, note="our own copy"
    )
    migrate_to_latest()
    shipped = RuleSet.objects.get(version="2026.2-shipped")
    assert shipped.content == {**load(RULES_PATH), "version": "2026.2-shipped"} and shipped.status == "draft"
    assert "(stored as 2026.2-shipped: 2026.2 was taken)" in shipped.events.get(kind=EventKind.SHIPPED).summary
    case = RuleCase.objects.get(name="nephritis-unbiopsied")
    assert (case.expected, case.note) == ({"hsct": "not_flagged", "msc": "flagged"}, "our own copy")
    assert not RuleSetEvent.objects.filter(kind=EventKind.EXPECTATION).exists()


def test_every_change_of_an_expected_outcome_has_a_reason_and_every_reason_a_change() -> None:
    module = ship_module()
    before, after = outcomes(EXPECTATIONS / "2026.1.json"), outcomes(EXPECTED_PATH)
    changes = {(n, p) for n, item in after.items() for p, o in item.items() if before[n][p] != o}
    assert set(module.REASONS) == changes == {("nephritis-unbiopsied", "hsct")}
    assert module.expectation_changes() == {("nephritis-unbiopsied", "hsct"): ("not_flagged", "insufficient_data")}
    assert set(module.NEW_CASES) == set(after) - set(SHIPPED_WITH_2026_1)
