"""Explanations read as a rheumatologist would write them: no repeats, no self-contradiction, labels not codes.

Each test pins one wording rule at its cause (the criterion function or the caution's explanation); the golden
file (test_golden_explanations.py) holds the full text of the public cases.
"""

from __future__ import annotations

from datetime import date

from clinical import vocab
from screening.engine import CautionStatus, Result, screen
from tests.screening.engine.helpers import (
    AS_OF,
    assessment,
    condition,
    course,
    criterion_node,
    days_before,
    default_rules,
    facts,
    manifestation,
    rule_set_with,
    run,
)

MET, NOT_MET, UNKNOWN = Result.MET, Result.NOT_MET, Result.UNKNOWN
ON = days_before(17).isoformat()  # 2026-10-15


# ---------------------------------------------------------------- cautions


def test_a_caution_says_each_sentence_once() -> None:
    """Both pregnancy leaves check the sex first: a man's pregnancy caution says so once, not twice."""
    result = screen(facts(sex="male"), default_rules(), AS_OF)
    pregnancy = next(c for c in result.pathway("hsct").cautions if c.id == "pregnancy")
    assert pregnancy.status is CautionStatus.ABSENT
    assert pregnancy.explanation == "patient's sex is male; applies to female patients only"


def test_a_caution_names_the_records_its_criteria_read_in_order_once_each() -> None:
    f = facts(
        conditions=(
            condition("hbv", "present", days_before(40)),
            condition("hiv", "absent", days_before(40)),
        )
    )
    result = screen(f, default_rules(), AS_OF)
    for pathway in result.pathways:
        cautions = {c.id: c for c in pathway.cautions}
        # In the order of the caution's criteria (HIV, hepatitis B, hepatitis C), each once.
        assert cautions["viral_infection"].refs == (
            f"condition:hiv:{days_before(40).isoformat()}",
            f"condition:hbv:{days_before(40).isoformat()}",
        )
        assert cautions["pregnancy"].refs == ("patient.sex",)  # both leaves read it: named once


# ---------------------------------------------------------------- manifestation_active


def test_active_nephritis_of_a_class_not_counted_is_named_first_never_none_active() -> None:
    ln = facts(manifestations=(manifestation("lupus_nephritis", days_before(20), True, "II"),))
    r = run("manifestation_active", ln, codes=["lupus_nephritis"])
    when = days_before(20).isoformat()
    assert r.result is NOT_MET
    assert r.explanation == (
        f"Lupus nephritis active ({when}), but its class II biopsy of {when} is not class III, IV, III+V or IV+V"
    )


def test_old_biopsy_of_active_nephritis_says_but_older() -> None:
    ln = facts(manifestations=(manifestation("lupus_nephritis", date(2025, 6, 1), True, "IV"),))
    r = run("manifestation_active", ln, codes=["lupus_nephritis"])
    assert r.explanation == (
        "Lupus nephritis active (2025-06-01), but its class IV biopsy of 2025-06-01 is older than 365 days"
    )


def test_none_active_only_when_nothing_listed_is_active_and_labels_not_codes() -> None:
    resolved = facts(manifestations=(manifestation("lupus_nephritis", days_before(20), False),))
    r = run("manifestation_active", resolved)
    assert r.explanation == (
        f"none active; Lupus nephritis not active ({days_before(20).isoformat()}); not recorded: Neuropsychiatric lupus"
    )


# ---------------------------------------------------------------- sle_diagnosis


def test_diagnosis_asks_for_the_criteria_present_or_an_attestation() -> None:
    r = run("sle_diagnosis", facts(ana_titre=640, criteria=None))
    assert r.result is UNKNOWN
    assert r.missing == (
        "the 2019 EULAR/ACR classification criteria present (or a specialist's attestation of the SLE diagnosis)",
    )
    assert r.explanation == (
        "not attested by a specialist; ANA 1:640 meets the entry criterion, "
        "but the 2019 EULAR/ACR classification criteria are not recorded"
    )


def test_diagnosis_met_by_classification_says_so() -> None:
    r = run("sle_diagnosis", facts(ana_titre=640, criteria=("joint_involvement", "anti_dsdna_or_anti_sm")))
    assert r.result is MET
    assert r.explanation == (
        "classified by the 2019 EULAR/ACR criteria: ANA 1:640, score 12 with a clinical criterion (needs ≥ 10)"
    )


# ---------------------------------------------------------------- SLEDAI-2K


def test_sledai_names_the_items_that_scored_with_their_weights() -> None:
    a = assessment(days_before(17), ("proteinuria", "low_complement"))
    r = run("sledai_at_least", facts(assessments=(a,)), min_score=6)
    assert r.explanation == f"SLEDAI-2K 6 on {ON} (proteinuria 4, low complement 2), needs ≥ 6"
    zero = run("sledai_at_least", facts(assessments=(assessment(days_before(17)),)), min_score=6)
    assert zero.explanation == f"SLEDAI-2K 0 on {ON} (no item present), needs ≥ 6"


def test_clinical_sledai_says_serology_is_excluded_and_leaves_it_out_of_the_items() -> None:
    a = assessment(days_before(17), ("proteinuria", "low_complement"))
    r = run("sledai_at_least", facts(assessments=(a,)), min_score=4, clinical_only=True)
    assert r.explanation == f"clinical SLEDAI-2K (serology excluded) 4 on {ON} (proteinuria 4), needs ≥ 4"


def test_sledai_with_no_item_assessed_is_not_scored_and_asks_for_a_score_without_the_list() -> None:
    a = assessment(days_before(17), (), tuple(vocab.SLEDAI_ITEMS))
    r = run("sledai_at_least", facts(assessments=(a,)))
    assert r.result is UNKNOWN
    assert r.explanation == f"SLEDAI-2K not scored on {ON}, needs ≥ 8"
    assert r.missing == (f"the SLEDAI-2K items of {ON} (none assessed), or a new scored SLEDAI-2K assessment",)
    # The clinical score is not scored either when only serology was assessed.
    clinical = assessment(days_before(17), (), tuple(set(vocab.SLEDAI_ITEMS) - vocab.SLEDAI_SEROLOGICAL))
    c = run("sledai_at_least", facts(assessments=(clinical,)), clinical_only=True)
    assert c.explanation == f"clinical SLEDAI-2K (serology excluded) not scored on {ON}, needs ≥ 8"


def test_sledai_names_up_to_five_items_not_assessed_and_counts_more() -> None:
    five = ("fever", "thrombocytopenia", "leukopenia", "rash", "alopecia")
    r = run("sledai_at_least", facts(assessments=(assessment(days_before(17), ("arthritis",), five),)))
    assert r.explanation == (
        f"SLEDAI-2K 4–11 on {ON} (arthritis 4; not assessed: rash, alopecia, fever, thrombocytopenia, leukopenia), "
        "needs ≥ 8"
    )
    assert r.missing == (f"SLEDAI-2K items not assessed on {ON}: rash, alopecia, fever, thrombocytopenia, leukopenia",)
    six = (*five, "mucosal_ulcers")
    r = run("sledai_at_least", facts(assessments=(assessment(days_before(17), ("arthritis",), six),)))
    assert r.explanation == f"SLEDAI-2K 4–13 on {ON} (arthritis 4; 6 items not assessed), needs ≥ 8"
    assert r.missing == (f"the 6 SLEDAI-2K items not assessed on {ON}, or a new scored SLEDAI-2K assessment",)


def test_an_ongoing_course_reads_the_score_without_its_items() -> None:
    ongoing = (course("mycophenolate_mofetil", days_before(300), None, 3000),)
    active = (assessment(days_before(17), ("proteinuria", "rash")),)
    r = run("failed_agents_at_least", facts(treatments=ongoing, assessments=active))
    assert r.result is MET
    assert (
        f"mycophenolate mofetil {days_before(300).isoformat()}–ongoing failed "
        f"(ongoing, adequate: 301 days, SLEDAI-2K 6 on {ON}, failed if ≥ 6)"
    ) in r.explanation


# ---------------------------------------------------------------- glucocorticoid_dependent


def test_a_prednisone_equivalent_names_the_drug_and_its_factor() -> None:
    methyl = (course("methylprednisolone", date(2025, 1, 1), None, "6.4"),)
    r = run("glucocorticoid_dependent", facts(treatments=methyl))
    assert r.result is MET
    assert r.explanation == (
        "above 7.5 mg/day prednisone-equivalent on every day from 2026-05-06 to 2026-11-01 "
        "(lowest: methylprednisolone 6.4 mg/day = 8 mg prednisone from 2026-05-06 to 2026-11-01)"
    )
    low = (course("methylprednisolone", date(2025, 1, 1), None, 4),)
    r = run("glucocorticoid_dependent", facts(treatments=low))
    assert r.explanation.startswith("methylprednisolone 4 mg/day = 5 mg prednisone from 2026-05-06 to 2026-11-01, ")


def test_overlapping_glucocorticoids_show_how_the_sum_is_made_up() -> None:
    both = (
        course("prednisone", date(2025, 1, 1), None, 2),
        course("methylprednisolone", date(2025, 1, 1), None, 4),
    )
    r = run("glucocorticoid_dependent", facts(treatments=both))
    assert r.result is NOT_MET
    assert r.explanation.startswith(
        "methylprednisolone 4 mg/day (5 mg prednisone) + prednisone 2 mg/day = 7 mg/day prednisone-equivalent "
        "from 2026-05-06 to 2026-11-01, needs > 7.5 mg/day"
    )


# ---------------------------------------------------------------- other wording


def test_conditions_unrecorded_say_within_which_window_and_history_items_need_none() -> None:
    rules = default_rules()
    result = screen(facts(), rules, AS_OF)
    cautions = {c.id: c for c in result.pathway("hsct").cautions}
    assert (
        cautions["antiphospholipid_syndrome"].explanation == "Antiphospholipid syndrome not recorded, taken as absent"
    )
    assert cautions["adherence_concern"].explanation == (
        "Adherence concern not recorded within 365 days (since 2025-11-01), taken as absent"
    )


def test_drugs_are_named_in_words_and_lists_read_with_or() -> None:
    cyc = (course("cyclophosphamide_iv", date(2025, 1, 1), date(2025, 6, 1), 500),)
    r = run("exposure_days_at_least", facts(treatments=cyc))
    assert "(cyclophosphamide IV 2025-01-01–2025-06-01)" in r.explanation
    r = run("recent_drug", facts())
    assert r.explanation == "no course of rituximab or obinutuzumab"
    old = (course("rituximab", date(2025, 1, 1), date(2025, 1, 1), 1000),)
    r = run("recent_drug", facts(treatments=old))
    assert r.explanation == "last course rituximab 2025-01-01–2025-01-01, none given within 180 days (since 2026-05-05)"


def test_a_single_criterion_caution_tree_reads_its_leaf() -> None:
    """A caution's explanation is its deciding leaves' (evaluate.caution_explanation); nothing else is added."""
    cautions = [
        {
            "id": "c",
            "criterion": criterion_node("c", "condition_present", sex="female", codes=["pregnancy"]),
            "severity": {"p": "caution"},
            "source": "T",
        }
    ]
    rules = rule_set_with(criterion_node("p", "age_between"), cautions)
    (caution,) = screen(facts(sex="male"), rules, AS_OF).pathway("p").cautions
    assert caution.explanation == "patient's sex is male; applies to female patients only"
    assert caution.refs == ("patient.sex",)
