"""The stored result contract: one writer, one reader, typed views, every version readable.

Pure tests read traces built from the engine; database tests read stored results through the
patient panel. The last test checks that no module outside the contract compares outcome words
or reads the stored trace itself.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from screening import engine
from screening.contract import (
    SCHEMA_VERSION,
    CautionStatus,
    FormKey,
    Outcome,
    RecordKind,
    Result,
    build_trace,
    outcome_of,
    outcome_summary,
    parse_ref,
    read_outcomes,
    read_result,
    read_trace,
)
from tests.clock import TODAY

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 1)


@cache
def rules() -> engine.RuleSet:
    return engine.parse_rule_set(json.loads((ROOT / "screening/data/default-rules.json").read_text()))


def patient_facts(**kwargs: Any) -> engine.PatientFacts:
    """A woman of 36 with SLE attested and hydroxychloroquine tried (DB-style refs)."""
    base: dict[str, Any] = {
        "birth_date": date(1990, 5, 14),
        "sex": "female",
        "weight_kg": Decimal(60),
        "sle_attested": True,
        "treatments": (course("hydroxychloroquine", 900, None, 400, ref="treatments/1"),),
    }
    base.update(kwargs)
    return engine.PatientFacts(**base)


def course(drug: str, days_ago: int, ended_days_ago: int | None, dose: int | None, *, stop=None, ref: str):
    return engine.TreatmentCourse(
        drug=drug,
        start=AS_OF - timedelta(days=days_ago),
        end=None if ended_days_ago is None else AS_OF - timedelta(days=ended_days_ago),
        dose=None if dose is None else Decimal(dose),
        dose_unit="mg/day",
        stop_reason=stop,
        ref=ref,
    )


def sledai(days_ago: int, *present: str, ref: str = "assessments/7") -> engine.Assessment:
    return engine.Assessment(date=AS_OF - timedelta(days=days_ago), sledai_present=present, ref=ref)


FAILED = (
    course("mycophenolate_mofetil", 700, 400, 3000, stop="inadequate_response", ref="treatments/2"),
    course("cyclophosphamide_iv", 380, 200, 500, stop="intolerance", ref="treatments/3"),
)
ACTIVE = (sledai(5, "proteinuria", "urinary_casts", "hematuria"),)  # 12


def stored(facts: engine.PatientFacts) -> dict[str, Any]:
    """A trace as the database hands it back: written by build_trace, through JSON."""
    return json.loads(json.dumps(build_trace(engine.screen(facts, rules(), AS_OF), case_id="C-1")))


# --------------------------------------------------------------------------------------------
# Writer and reader


def test_the_stored_trace_is_the_screen_case_output_plus_the_extras() -> None:
    result = engine.screen(patient_facts(), rules(), AS_OF)
    trace = build_trace(result, case_id="C-1")
    output = engine.result_to_dict(result, case_id="C-1")
    assert trace["schema_version"] == SCHEMA_VERSION == 2
    assert {k: v for k, v in trace.items() if k != "schema_version"}.keys() == output.keys()
    for pid, out in output["pathways"].items():
        stored_pathway = trace["pathways"][pid]
        for key in ("outcome", "criteria", "missing"):
            assert stored_pathway[key] == out[key]
        assert [{k: c[k] for k in out["cautions"][0]} for c in stored_pathway["cautions"]] == out["cautions"]
        assert {"label", "sentence", "why_not", "checklist"} <= stored_pathway.keys()


def test_a_flagged_result_reads_as_typed_views() -> None:
    view = read_trace(stored(patient_facts(treatments=patient_facts().treatments + FAILED, assessments=ACTIVE)))
    assert (view.schema_version, view.case_id, view.as_of) == (2, "C-1", AS_OF)
    assert (view.rule_set_name, view.rule_set_version) == ("Default rules", "2026.2")
    hsct = view.pathway("hsct")
    assert hsct is not None and hsct.outcome is Outcome.FLAGGED and hsct.flagged
    assert hsct.label == rules().pathways[0].label and hsct.outcome_label == "flagged"
    assert hsct.sentence == "A referral for HSCT evaluation may be worth considering."
    assert hsct.why_not == () and hsct.missing == ()
    assert [c.id for c in hsct.criteria] == [
        "hsct.diagnosis",
        "hsct.age",
        "hsct.severe_activity",
        "hsct.refractory",
        "hsct.antimalarial",
    ]
    activity = hsct.criteria[2]
    assert activity.is_group and activity.type is None and activity.result is Result.MET
    leaf = activity.first_met_leaf()
    assert leaf.id == "hsct.severe_activity.sledai" and leaf.type == "sledai_at_least"
    assert leaf.refs == ("assessments/7",) and leaf.source and "SLEDAI-2K 12" in leaf.explanation
    assert [n.id for n in activity.met_leaves()] == ["hsct.severe_activity.sledai"]
    assert view.outcomes == {"hsct": Outcome.FLAGGED, "msc": Outcome.FLAGGED}
    assert view.pathway("nope") is None


def test_a_not_flagged_result_says_which_criteria_are_not_met() -> None:
    view = read_trace(stored(patient_facts(birth_date=date(1950, 1, 1), assessments=ACTIVE)))
    hsct = view.pathway("hsct")
    assert hsct is not None and hsct.outcome is Outcome.NOT_FLAGGED and not hsct.flagged
    assert hsct.sentence == "Not flagged for HSCT evaluation by the current rules."
    assert any(line.startswith("hsct.age: age 76") for line in hsct.why_not)
    assert hsct.missing == ()  # only insufficient data has a checklist


def test_insufficient_data_has_structured_missing_items_with_the_form_that_settles_each() -> None:
    aza = course("azathioprine", 200, None, None, ref="treatments/4")
    facts = patient_facts(weight_kg=None, treatments=patient_facts().treatments + FAILED[:1] + (aza,))
    hsct = read_trace(stored(facts)).pathway("hsct")
    assert hsct is not None and hsct.outcome is Outcome.INSUFFICIENT_DATA and hsct.insufficient_data
    assert hsct.sentence == "Not enough data to screen for HSCT evaluation."
    by_criterion = {item.criterion: item for item in hsct.missing}
    activity = by_criterion["hsct.severe_activity.sledai"]
    assert activity.type == "sledai_at_least" and activity.line.startswith("a SLEDAI-2K assessment dated")
    ((need,),) = [activity.needs]
    assert (need.record, need.code, need.ref, need.form, need.record_pk) == (
        RecordKind.ASSESSMENT,
        None,
        None,
        FormKey.ASSESSMENTS,
        None,
    )
    failed = by_criterion["hsct.refractory.failed_agents"]
    assert failed.line.startswith("azathioprine course started")
    assert [(n.record, n.code, n.ref, n.form, n.record_pk) for n in failed.needs] == [
        (RecordKind.TREATMENT, "azathioprine", "treatments/4", FormKey.TREATMENTS, 4),
        (RecordKind.PATIENT, "weight_kg", "patient.weight_kg", FormKey.PATIENT, None),
        (RecordKind.ASSESSMENT, None, None, FormKey.ASSESSMENTS, None),
    ]
    assert [n.text for n in failed.needs][0] == "dose" and "weight" in failed.needs[1].text


def test_cautions_read_with_status_severity_and_what_settles_an_unknown_one() -> None:
    facts = patient_facts(
        observations=(engine.Observation(code="lvef", date=AS_OF - timedelta(days=20), value=Decimal(30), ref="x/1"),)
    )
    hsct = read_trace(stored(facts)).pathway("hsct")
    assert hsct is not None
    cautions = {c.id: c for c in hsct.cautions}
    heart = cautions["cardiac_function"]
    assert heart.status is CautionStatus.PRESENT and heart.present and heart.is_contraindication
    assert heart.label == "Cardiac function" and heart.source and heart.needs == ()
    pregnancy = cautions["pregnancy"]
    assert pregnancy.unknown and pregnancy.explanation.startswith("work-up incomplete: ")
    assert [(n.record, n.code, n.form) for n in pregnancy.needs] == [
        (RecordKind.CONDITION, "pregnancy", FormKey.CONDITIONS)
    ]
    damage = cautions["organ_damage"]
    assert damage.severity == "caution" and not damage.is_contraindication
    assert [(n.record, n.form) for n in damage.needs] == [(RecordKind.DAMAGE, FormKey.DAMAGE)]
    absent = cautions["antiphospholipid_syndrome"]
    assert absent.absent and absent in hsct.absent_cautions and absent not in hsct.shown_cautions
    assert heart in hsct.shown_cautions and pregnancy in hsct.shown_cautions
    # The records each caution read are stored with it (the sex is read before any pregnancy status).
    assert heart.refs == ("x/1",) and pregnancy.refs == ("patient.sex",) and absent.refs == ()


def test_caution_refs_are_stored_and_a_row_stored_without_them_reads_with_none() -> None:
    facts = patient_facts(
        observations=(engine.Observation(code="lvef", date=AS_OF - timedelta(days=20), value=Decimal(30), ref="x/1"),)
    )
    trace = stored(facts)
    heart = next(c for c in trace["pathways"]["hsct"]["cautions"] if c["id"] == "cardiac_function")
    assert heart["refs"] == ["x/1"]
    for pathway in trace["pathways"].values():
        for caution in pathway["cautions"]:
            del caution["refs"]
    older = read_trace(trace).pathway("hsct")
    assert older is not None and trace["schema_version"] == 2
    assert {c.refs for c in older.cautions} == {()}


# A result stored before the contract was versioned (version 1): no schema_version, checklist items
# with the criterion type only, unknown cautions with the criterion types that would settle them.
V1_TRACE: dict[str, Any] = {
    "case_id": "OLD-1",
    "as_of": "2026-10-01",
    "rule_set": {"name": "Default rules", "version": "2026.1"},
    "pathways": {
        "hsct": {
            "outcome": "insufficient_data",
            "criteria": [
                {
                    "id": "hsct.activity",
                    "result": "unknown",
                    "explanation": "no SLEDAI-2K assessment within 30 days",
                    "type": "sledai_at_least",
                    "source": "S19",
                    "refs": [],
                },
                {
                    "id": "hsct.refractory",
                    "result": "unknown",
                    "explanation": "any of 2: 1 unknown, 1 not met",
                    "children": [
                        {
                            "id": "hsct.refractory.failed",
                            "result": "unknown",
                            "explanation": "1 failed agent",
                            "type": "failed_agents_at_least",
                            "source": "S8",
                            "refs": ["treatments/3"],
                        }
                    ],
                },
            ],
            "missing": ["a SLEDAI-2K assessment dated within 30 days", "azathioprine course needs: dose"],
            "cautions": [
                {
                    "id": "viral_infection",
                    "severity": "contraindication",
                    "status": "unknown",
                    "explanation": "work-up incomplete: HIV status",
                    "source": "S21",
                    "settle": ["condition_present"],
                },
                {
                    "id": "organ_damage",
                    "severity": "caution",
                    "status": "absent",
                    "explanation": "SLICC/ACR damage index 0",
                    "source": "S7",
                    "settle": [],
                },
            ],
            "label": "autologous HSCT evaluation",
            "sentence": "Not enough data to screen for HSCT evaluation.",
            "why_not": [],
            "checklist": [
                {
                    "line": "a SLEDAI-2K assessment dated within 30 days",
                    "type": "sledai_at_least",
                    "refs": [],
                    "criterion": "hsct.activity",
                },
                {
                    "line": "azathioprine course needs: dose",
                    "type": "failed_agents_at_least",
                    "refs": ["treatments/3"],
                    "criterion": "hsct.refractory.failed",
                },
            ],
        }
    },
}


def test_a_version_1_trace_still_reads_with_needs_from_the_criterion_type() -> None:
    view = read_trace(V1_TRACE)
    assert view.schema_version == 1 and view.as_of == date(2026, 10, 1)
    hsct = view.pathway("hsct")
    assert hsct is not None and hsct.outcome is Outcome.INSUFFICIENT_DATA
    assert [(i.criterion, i.type) for i in hsct.missing] == [
        ("hsct.activity", "sledai_at_least"),
        ("hsct.refractory.failed", "failed_agents_at_least"),
    ]
    assert [[(n.record, n.form, n.ref) for n in i.needs] for i in hsct.missing] == [
        [(RecordKind.ASSESSMENT, FormKey.ASSESSMENTS, None)],
        [(RecordKind.TREATMENT, FormKey.TREATMENTS, None)],  # version 1 did not say which course
    ]
    viral, damage = hsct.cautions
    assert [(n.record, n.form) for n in viral.needs] == [(RecordKind.CONDITION, FormKey.CONDITIONS)]
    assert damage.absent and damage.needs == ()
    assert hsct.criteria[1].children[0].refs == ("treatments/3",)


def test_the_bare_screening_output_reads_too_and_a_version_from_the_future_is_refused() -> None:
    facts = patient_facts(treatments=patient_facts().treatments + FAILED)
    output = engine.result_to_dict(engine.screen(facts, rules(), AS_OF), case_id="C-2")
    view = read_trace(output)
    assert view.schema_version == 1 and {p.id for p in view.pathways} == {"hsct", "msc"}
    assert view.pathway("msc").sentence == "Not enough data to screen for MSC evaluation."  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="schema_version 3"):
        read_trace({**output, "schema_version": 3})
    hsct = V1_TRACE["pathways"]["hsct"]
    with pytest.raises(ValueError):
        read_trace({**V1_TRACE, "pathways": {"hsct": {**hsct, "outcome": "eligible"}}})
    with pytest.raises(ValueError, match="severity"):
        bad = [{**hsct["cautions"][0], "severity": "major"}]
        read_trace({**V1_TRACE, "pathways": {"hsct": {**hsct, "cautions": bad}}})


def test_outcomes_column_reads_as_outcomes() -> None:
    assert read_outcomes({"hsct": "flagged", "msc": "insufficient_data"}) == {
        "hsct": Outcome.FLAGGED,
        "msc": Outcome.INSUFFICIENT_DATA,
    }
    assert read_outcomes('{"msc": "not_flagged"}') == {"msc": Outcome.NOT_FLAGGED}  # JSON text from a subquery
    assert read_outcomes(None) == {}
    assert outcome_summary({"hsct": "insufficient_data", "msc": "not_flagged"}) == (
        "HSCT insufficient data; MSC not flagged"
    )
    assert outcome_of(None, "hsct") is None
    with pytest.raises(ValueError):
        read_outcomes({"hsct": "approved"})


def test_refs_parse_to_forms() -> None:
    assert parse_ref("treatments/12") == parse_ref("treatments/12") and parse_ref("treatments/12").pk == 12  # type: ignore[union-attr]
    assert parse_ref("patient.weight_kg").form is FormKey.PATIENT  # type: ignore[union-attr]
    assert parse_ref("patient.ana_titre").form is FormKey.CLASSIFICATION  # type: ignore[union-attr]
    assert parse_ref("treatments[3]") is None and parse_ref("nonsense/4") is None and parse_ref(None) is None


# --------------------------------------------------------------------------------------------
# Through the database: stored results and the patient panel's links


@pytest.fixture
def incomplete(site_a):
    """Flag-ready but for a recent assessment, the weight and an azathioprine dose (HSCT: insufficient data)."""
    from tests.patients.factories import PatientFactory, TreatmentFactory

    patient = PatientFactory(site=site_a, sle_attested=True, weight_kg=None)
    day = TODAY
    TreatmentFactory(patient=patient, drug="hydroxychloroquine", start=day - timedelta(days=900))
    TreatmentFactory(
        patient=patient,
        drug="mycophenolate_mofetil",
        dose=3000,
        start=day - timedelta(days=700),
        end=day - timedelta(days=400),
        stop_reason="inadequate_response",
    )
    aza = TreatmentFactory(patient=patient, drug="azathioprine", dose=None, start=day - timedelta(days=200))
    return patient, aza


@pytest.mark.django_db
def test_the_panel_links_each_missing_item_to_the_form_its_needs_name(incomplete) -> None:
    from screening.display import panel
    from screening.services import screen_patient

    patient, aza = incomplete
    result = screen_patient(patient=patient, trigger="manual")
    assert result.trace["schema_version"] == SCHEMA_VERSION
    assert outcome_of(result, "hsct") is Outcome.INSUFFICIENT_DATA
    hsct = next(p for p in panel(patient, result) if p.id == "hsct")
    links = {row.line.split(" ")[0]: [(link.text, link.url) for link in row.links] for row in hsct.checklist}
    edit_aza = reverse("patients:record_edit", kwargs={"pk": patient.pk, "kind": "treatments", "rid": aza.pk})
    add_assessment = reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "assessments"})
    assert links["azathioprine"] == [
        (f"treatment #{aza.pk}", edit_aza),
        ("edit patient details", reverse("patients:edit", kwargs={"pk": patient.pk})),
        ("add an assessment", add_assessment),
    ]
    assert links["a"] == [("add an assessment", add_assessment)]
    cautions = {row.caution.id: row for group in hsct.caution_groups for row in group["shown"]}
    add_condition = reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "conditions"})
    assert [(link.text, link.url) for link in cautions["pregnancy"].links] == [
        ("record a work-up status", add_condition)
    ]
    add_lab = reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "observations"})
    assert [link.url for link in cautions["cardiac_function"].links] == [add_lab]
    assert read_result(result).pathway("hsct").missing[0].needs  # type: ignore[union-attr]


@pytest.mark.django_db
def test_a_version_1_row_still_shows_on_the_patient_page_with_links(spec_client, incomplete) -> None:
    from screening.models import RuleSet, ScreeningResult

    patient, _aza = incomplete
    ScreeningResult.objects.create(
        patient=patient,
        rule_set=RuleSet.objects.published(),
        as_of=TODAY - timedelta(days=30),
        trigger="manual",
        facts={},
        outcomes={"hsct": "insufficient_data"},
        trace=V1_TRACE,
    )
    page = spec_client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    assert "azathioprine course needs: dose — <a href" in page
    assert reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "treatments"}) in page
    assert 'data-outcome="insufficient_data"' in page and "Not enough data to screen for HSCT evaluation." in page


# --------------------------------------------------------------------------------------------
# One reader: nobody else compares outcome words or reads the stored trace


READERS = ("screening", "referrals", "patients", "clinic", "accounts", "templates")
ALLOWED = {"screening/contract.py"}
FORBIDDEN = {
    "an outcome word": re.compile(r"""["'](?:flagged|not_flagged|insufficient_data)["']"""),
    "the stored trace": re.compile(r"\.trace\b"),
    "the outcomes column parsed": re.compile(r"\.outcomes\s*(?:\.get\b|\[|\.items\b|\.values\b)"),
}


def reader_files() -> list[Path]:
    files = []
    for top in READERS:
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.suffix not in (".py", ".html") or rel in ALLOWED:
                continue
            if rel.startswith("screening/engine/") or "/migrations/" in rel:
                continue  # the engine defines the vocabulary; migrations are history
            files.append(path)
    return files


def test_no_module_outside_the_contract_compares_outcome_words_or_reads_the_trace() -> None:
    files = reader_files()
    assert any(f.name == "display.py" for f in files) and any(f.name == "print.html" for f in files)
    found = [
        f"{path.relative_to(ROOT)}:{n}: {what}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for what, pattern in FORBIDDEN.items()
        if pattern.search(line)
    ]
    assert found == []


def test_the_check_would_catch_a_restated_outcome() -> None:
    samples = [
        'still = latest.outcomes.get(pathway) == "flagged"',
        "{% if outcome == 'insufficient_data' %}",
        'pathway = result.trace["pathways"][pid]',
    ]
    assert all(any(p.search(s) for p in FORBIDDEN.values()) for s in samples)
