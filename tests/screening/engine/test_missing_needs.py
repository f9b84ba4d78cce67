"""Missing data is structured: each line names the kind of record, which one, and what of it is needed.

The words of a line are free (screening-rules.md section 1); readers that link a line to a form use
these fields, never the words.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from screening.engine import Missing, Need, PatientFacts, RecordKind, Result, screen
from tests.screening.engine.helpers import (
    assessment,
    course,
    criterion_node,
    days_before,
    facts,
    observation,
    rule_set_with,
    run,
)

UNKNOWN = Result.UNKNOWN
A, T, P, OBS = RecordKind.ASSESSMENT, RecordKind.TREATMENT, RecordKind.PATIENT, RecordKind.OBSERVATION


def needs(r) -> list[tuple[RecordKind, str | None, str | None]]:
    return [(n.record, n.code, n.ref) for item in r.lacks for n in item.needs]


def test_each_line_is_its_lacks_line_and_a_single_need_says_the_same_words() -> None:
    r = run("age_between", facts(birth_date=None))
    assert r.result is UNKNOWN
    (item,) = r.lacks
    assert isinstance(item, Missing) and r.missing == (item.line,)
    assert item.needs == (Need(record=P, text=item.line, code="birth_date", ref="patient.birth_date"),)


def test_diagnosis_names_the_classification_field() -> None:
    assert needs(run("sle_diagnosis", facts(ana_titre=None))) == [
        (RecordKind.CLASSIFICATION, "ana_titre", "classification.ana_titre")
    ]
    assert needs(run("sle_diagnosis", facts(ana_titre=640, criteria=None))) == [
        (RecordKind.CLASSIFICATION, "criteria", "classification.criteria")
    ]


def test_sledai_needs_a_new_assessment_or_the_items_of_the_one_recorded() -> None:
    assert needs(run("sledai_at_least", facts())) == [(A, None, None)]
    partly = assessment(days_before(3), ("arthritis",), ("low_complement", "increased_dna_binding"))
    r = run("sledai_at_least", facts(assessments=(partly,)))
    assert r.result is UNKNOWN and needs(r) == [(A, None, partly.ref)]
    assert "low complement" in r.lacks[0].needs[0].text


def test_observation_needs_a_result_of_its_code_or_the_uln_of_the_one_recorded() -> None:
    assert needs(run("observation_compare", facts())) == [(OBS, "lvef", None)]
    alt = observation("alt", days_before(3), 200)
    r = run("observation_compare", facts(observations=(alt,)), code="alt", op=">", value=3, times_uln=True)
    assert r.result is UNKNOWN and needs(r) == [(OBS, "alt", alt.ref)]


def test_condition_and_damage_name_what_to_record() -> None:
    assert needs(run("condition_present", facts())) == [(RecordKind.CONDITION, "pregnancy", None)]
    assert needs(run("damage_index_at_least", facts())) == [(RecordKind.DAMAGE, None, None)]


def test_a_course_line_names_each_thing_it_lacks() -> None:
    """One line per course (the output's words), with one need per lacking piece: dose, weight, assessment."""
    aza = course("azathioprine", days_before(200), None, None)
    r = run("failed_agents_at_least", facts(treatments=(aza,), weight_kg=None))
    assert r.result is UNKNOWN
    (item,) = r.lacks
    assert item.line.startswith(f"azathioprine course started {aza.start.isoformat()} needs: ")
    assert needs(r) == [(T, "azathioprine", aza.ref), (P, "weight_kg", "patient.weight_kg"), (A, None, None)]
    assert item.line.endswith("; ".join(n.text for n in item.needs))


def test_a_course_without_stop_reason_or_dose_names_the_course() -> None:
    ended = course("mycophenolate_mofetil", date(2025, 3, 1), date(2025, 10, 1), 2000, None)
    assert needs(run("failed_agents_at_least", facts(treatments=(ended,)))) == [(T, "mycophenolate_mofetil", ended.ref)]
    pred = course("prednisone", date(2025, 1, 1), None, None)
    assert needs(run("glucocorticoid_dependent", facts(treatments=(pred,)))) == [(T, "prednisone", pred.ref)]


def test_the_pathway_missing_list_and_its_items_agree() -> None:
    rules = rule_set_with(
        {
            "id": "p",
            "all": [criterion_node("age", "age_between"), criterion_node("lvef", "observation_compare")],
        }
    )
    pathway = screen(PatientFacts(weight_kg=Decimal(60)), rules, date(2026, 11, 1)).pathway("p")
    assert [n.record for c in pathway.criteria for item in c.lacks for n in item.needs] == [P, OBS]  # type: ignore[union-attr]
    assert len(pathway.missing) == 2
