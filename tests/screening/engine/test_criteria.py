"""Every criterion type: met, not met, unknown (or that it never is), and its boundaries."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from screening.engine import CRITERION_TYPES, PatientFacts, Result, TreatmentCourse
from tests.screening.engine.helpers import (
    AS_OF,
    BASE_PARAMS,
    assessment,
    condition,
    course,
    damage,
    days_before,
    facts,
    manifestation,
    observation,
    run,
)

MET, NOT_MET, UNKNOWN = Result.MET, Result.NOT_MET, Result.UNKNOWN
EMPTY = PatientFacts()


def test_base_params_cover_the_catalogue() -> None:
    assert set(BASE_PARAMS) == set(CRITERION_TYPES)


# ---------------------------------------------------------------- sle_diagnosis


def test_sle_diagnosis_attested_is_met_whatever_the_serology() -> None:
    r = run("sle_diagnosis", facts(sle_attested=True, ana_titre=None))
    assert r.result is MET and r.refs == ("patient.sle_attested",)


@pytest.mark.parametrize(
    ("ana", "criteria", "expected"),
    [
        (80, ("ln_class_iii_or_iv",), MET),  # ANA exactly at the minimum, score exactly 10
        (640, ("joint_involvement", "anti_dsdna_or_anti_sm", "low_c3_or_low_c4"), MET),  # E1: 15
        (640, ("fever", "leukopenia", "thrombocytopenia", "oral_ulcers", "non_scarring_alopecia"), NOT_MET),  # E2: 8
        (640, ("anti_dsdna_or_anti_sm", "low_c3_and_low_c4", "antiphospholipid_antibodies"), NOT_MET),  # E4
        (640, (), NOT_MET),  # assessed, none present
        (640, None, UNKNOWN),  # not assessed
        (40, ("ln_class_iii_or_iv",), NOT_MET),
        (0, None, NOT_MET),  # negative ANA decides, whatever the criteria
        (None, ("ln_class_iii_or_iv",), UNKNOWN),
    ],
)
def test_sle_diagnosis(ana: int | None, criteria: tuple[str, ...] | None, expected: Result) -> None:
    r = run("sle_diagnosis", facts(ana_titre=ana, criteria=criteria))
    assert r.result is expected
    assert (r.missing != ()) == (expected is UNKNOWN)


def test_sle_diagnosis_explanations_say_how_far_off() -> None:
    low = run("sle_diagnosis", facts(ana_titre=640, criteria=("fever", "leukopenia", "oral_ulcers")))
    assert "2019 EULAR/ACR score 7, needs ≥ 10" in low.explanation
    negative = run("sle_diagnosis", facts(ana_titre=0))
    assert "ANA negative, needs ≥ 1:80" in negative.explanation
    no_clinical = run("sle_diagnosis", facts(ana_titre=640, criteria=("anti_dsdna_or_anti_sm", "low_c3_and_low_c4")))
    assert "no clinical criterion" in no_clinical.explanation
    unknown = run("sle_diagnosis", facts(ana_titre=None))
    assert len(unknown.missing) == 1 and "ANA titre" in unknown.missing[0]


# ---------------------------------------------------------------- age_between


@pytest.mark.parametrize(
    ("born", "as_of", "expected"),
    [
        (date(2008, 11, 1), AS_OF, MET),  # 18th birthday
        (date(2008, 11, 1), date(2026, 10, 31), NOT_MET),  # the day before: 17
        (date(1966, 11, 1), date(2026, 10, 31), MET),  # 59, day before the 60th birthday
        (date(1966, 11, 1), AS_OF, MET),  # 60: max is inclusive
        (date(1965, 11, 1), AS_OF, NOT_MET),  # 61
        (date(2008, 2, 29), date(2026, 2, 28), NOT_MET),  # 29 February birthday not reached on 28 February
        (date(2008, 2, 29), date(2026, 3, 1), MET),  # reached on 1 March
    ],
)
def test_age_between_boundaries(born: date, as_of: date, expected: Result) -> None:
    assert run("age_between", facts(birth_date=born), as_of=as_of).result is expected


def test_age_between_not_met_says_the_range() -> None:
    r = run("age_between", facts(birth_date=date(1963, 2, 20)))
    assert r.result is NOT_MET and "age 63" in r.explanation and "range 18–60" in r.explanation


def test_age_between_unknown_without_birth_date() -> None:
    r = run("age_between", facts(birth_date=None))
    assert r.result is UNKNOWN and r.missing == ("the patient's birth date",)


# ---------------------------------------------------------------- sledai_at_least


def test_sledai_met_at_exactly_the_minimum() -> None:
    r = run("sledai_at_least", facts(assessments=(assessment(days_before(3), ("arthritis", "proteinuria")),)))
    assert r.result is MET and r.refs == (f"assessment:{days_before(3).isoformat()}",)


def test_sledai_not_met_says_how_far_off() -> None:
    r = run("sledai_at_least", facts(assessments=(assessment(days_before(3), ("arthritis",)),)))
    assert r.result is NOT_MET
    assert r.explanation == f"SLEDAI-2K 4 on {days_before(3).isoformat()} (arthritis 4), needs ≥ 8"


def test_sledai_partly_assessed_is_unknown_and_names_all_items_in_one_line() -> None:
    a = assessment(days_before(3), ("arthritis", "rash"), ("increased_dna_binding", "low_complement"))
    r = run("sledai_at_least", facts(assessments=(a,)))
    assert r.result is UNKNOWN
    assert r.missing == (
        f"SLEDAI-2K items not assessed on {days_before(3).isoformat()}: low complement, increased DNA binding",
    )


def test_sledai_partly_assessed_but_decided() -> None:
    met = assessment(days_before(3), ("arthritis", "proteinuria"), ("low_complement",))
    assert run("sledai_at_least", facts(assessments=(met,))).result is MET
    not_met = assessment(days_before(3), ("fever",), ("low_complement",))
    r = run("sledai_at_least", facts(assessments=(not_met,)))
    assert r.result is NOT_MET and "at most 3" in r.explanation


def test_sledai_window_edges() -> None:
    edge = facts(assessments=(assessment(days_before(30), ("arthritis", "proteinuria")),))
    assert run("sledai_at_least", edge).result is MET  # day as_of − 30 included
    outside = facts(assessments=(assessment(days_before(31), ("arthritis", "proteinuria")),))
    r = run("sledai_at_least", outside)
    assert r.result is UNKNOWN and r.refs == ()
    assert "SLEDAI-2K assessment" in r.missing[0] and "30 days" in r.missing[0]


def test_sledai_uses_the_latest_assessment_in_window_and_ignores_later_ones() -> None:
    high_then_low = facts(
        assessments=(
            assessment(days_before(20), ("seizure",)),
            assessment(days_before(2), ("fever",)),
            assessment(AS_OF + timedelta(days=1), ("seizure", "psychosis")),
        )
    )
    assert run("sledai_at_least", high_then_low).result is NOT_MET


def test_sledai_null_window_means_any_date() -> None:
    old = facts(assessments=(assessment(days_before(4000), ("seizure",)),))
    assert run("sledai_at_least", old, max_age_days=None).result is MET


def test_clinical_sledai_leaves_out_serology() -> None:
    serology = facts(
        assessments=(assessment(days_before(3), ("arthritis", "low_complement", "increased_dna_binding")),)
    )
    assert run("sledai_at_least", serology, min_score=8).result is MET
    r = run("sledai_at_least", serology, min_score=6, clinical_only=True)
    assert r.result is NOT_MET
    assert (
        r.explanation
        == f"clinical SLEDAI-2K (serology excluded) 4 on {days_before(3).isoformat()} (arthritis 4), needs ≥ 6"
    )
    # Serological items not assessed do not make the clinical score unknown.
    partial = facts(assessments=(assessment(days_before(3), ("arthritis", "rash"), ("low_complement",)),))
    assert run("sledai_at_least", partial, min_score=6, clinical_only=True).result is MET
    assert run("sledai_at_least", partial, min_score=7, clinical_only=True).result is NOT_MET


# ---------------------------------------------------------------- manifestation_active


def test_manifestation_lupus_nephritis_with_recent_listed_biopsy_is_met() -> None:
    r = run(
        "manifestation_active", facts(manifestations=(manifestation("lupus_nephritis", days_before(40), True, "IV"),))
    )
    assert r.result is MET


@pytest.mark.parametrize(("age_days", "expected"), [(365, MET), (366, NOT_MET)])
def test_manifestation_biopsy_window_edge(age_days: int, expected: Result) -> None:
    entries = (manifestation("lupus_nephritis", days_before(age_days), True, "III"),)
    assert run("manifestation_active", facts(manifestations=entries)).result is expected


def test_manifestation_biopsy_class_must_be_listed() -> None:
    entries = (manifestation("lupus_nephritis", days_before(40), True, "II"),)
    r = run("manifestation_active", facts(manifestations=entries))
    assert r.result is NOT_MET and "class II" in r.explanation
    iv = (manifestation("lupus_nephritis", days_before(40), True, "IV"),)
    assert run("manifestation_active", facts(manifestations=iv), ln_classes=[]).result is NOT_MET  # admits none


def test_manifestation_follow_up_without_class_keeps_the_last_biopsy() -> None:
    entries = (
        manifestation("lupus_nephritis", days_before(200), True, "IV"),
        manifestation("lupus_nephritis", days_before(10), True),
    )
    r = run("manifestation_active", facts(manifestations=entries))
    assert r.result is MET
    assert set(r.refs) == {e.ref for e in entries}


def test_manifestation_later_inactive_entry_means_resolved() -> None:
    entries = (
        manifestation("neuropsychiatric", days_before(100), True),
        manifestation("neuropsychiatric", days_before(10), False),
    )
    assert run("manifestation_active", facts(manifestations=entries)).result is NOT_MET
    # ... unless that entry is dated after as_of.
    later = (
        manifestation("neuropsychiatric", days_before(100), True),
        manifestation("neuropsychiatric", AS_OF + timedelta(days=1), False),
    )
    assert run("manifestation_active", facts(manifestations=later)).result is MET


def test_manifestation_is_never_unknown_while_unconfirmed_nephritis_reads_not_met() -> None:
    unbiopsied = facts(manifestations=(manifestation("lupus_nephritis", days_before(20), True),))
    old_biopsy = facts(manifestations=(manifestation("lupus_nephritis", days_before(400), True, "IV"),))
    for case in (EMPTY, unbiopsied, old_biopsy):
        assert run("manifestation_active", case, ln_unconfirmed="not_met").result is NOT_MET
    # With ln_unconfirmed unknown (2026.2) the type can be unknown: see test_branches_criteria.
    assert CRITERION_TYPES["manifestation_active"].can_be_unknown


# ---------------------------------------------------------------- failed_agents_at_least

MMF_START = date(2025, 3, 1)


def _mmf(days: int, dose: int | None = 3000, stop: str | None = "inadequate_response") -> tuple[TreatmentCourse, ...]:
    end = MMF_START + timedelta(days=days - 1)
    return (course("mycophenolate_mofetil", MMF_START, end, dose, stop),)


def test_failed_agents_adequate_course_stopped_for_inadequate_response() -> None:
    r = run("failed_agents_at_least", facts(treatments=_mmf(180)))
    assert r.result is MET and "1 failed agent (mycophenolate)" in r.explanation


def test_failed_agents_days_boundary() -> None:
    assert run("failed_agents_at_least", facts(treatments=_mmf(180))).result is MET
    r = run("failed_agents_at_least", facts(treatments=_mmf(179)))
    assert r.result is NOT_MET and "179 of 180 days" in r.explanation


def test_failed_agents_dose_exactly_at_threshold() -> None:
    assert run("failed_agents_at_least", facts(treatments=_mmf(200, dose=2000))).result is MET
    assert run("failed_agents_at_least", facts(treatments=_mmf(200, dose=1999))).result is NOT_MET


def test_failed_agents_missing_dose_is_unknown_and_names_the_course() -> None:
    r = run("failed_agents_at_least", facts(treatments=_mmf(200, dose=None)))
    assert r.result is UNKNOWN
    assert r.missing == ("mycophenolate mofetil course started 2025-03-01 needs: dose",)


def test_failed_agents_short_course_with_missing_dose_is_not_failed() -> None:
    # Too short whatever the dose: Kleene AND gives not met.
    assert run("failed_agents_at_least", facts(treatments=_mmf(30, dose=None))).result is NOT_MET


def test_failed_agents_per_kg_dose() -> None:
    aza = (course("azathioprine", date(2025, 12, 15), date(2026, 4, 30), 140, "inadequate_response"),)
    assert run("failed_agents_at_least", facts(treatments=aza, weight_kg=Decimal(70))).result is MET  # 2.0 mg/kg
    assert run("failed_agents_at_least", facts(treatments=aza, weight_kg=Decimal("70.5"))).result is NOT_MET
    r = run("failed_agents_at_least", facts(treatments=aza, weight_kg=None))
    assert r.result is UNKNOWN and "patient.weight_kg" in r.refs
    (line,) = r.missing
    assert line.startswith("azathioprine course started 2025-12-15") and "weight" in line


def test_failed_agents_intolerance() -> None:
    short = _mmf(10, stop="intolerance")
    assert run("failed_agents_at_least", facts(treatments=short)).result is MET
    assert run("failed_agents_at_least", facts(treatments=short), count_intolerance=False).result is NOT_MET


@pytest.mark.parametrize("reason", ["remission", "non_adherence", "other"])
def test_failed_agents_other_stop_reasons_are_not_failures(reason: str) -> None:
    assert run("failed_agents_at_least", facts(treatments=_mmf(300, stop=reason))).result is NOT_MET


def test_failed_agents_ended_without_stop_reason_is_unknown() -> None:
    r = run("failed_agents_at_least", facts(treatments=_mmf(300, stop=None)))
    assert r.result is UNKNOWN
    assert r.missing == ("mycophenolate mofetil course started 2025-03-01 needs: stop reason",)


def test_failed_agents_ongoing_course() -> None:
    ongoing = (course("belimumab", days_before(200), None, 800),)
    active = (assessment(days_before(5), ("arthritis", "rash")),)  # 6
    quiet = (assessment(days_before(5), ("arthritis",)),)  # 4
    assert run("failed_agents_at_least", facts(treatments=ongoing, assessments=active)).result is MET
    assert run("failed_agents_at_least", facts(treatments=ongoing, assessments=quiet)).result is NOT_MET
    r = run("failed_agents_at_least", facts(treatments=ongoing))
    assert r.result is UNKNOWN
    (line,) = r.missing
    assert line.startswith(f"belimumab course started {days_before(200).isoformat()}") and "SLEDAI-2K" in line
    # Not yet adequate (179 days covered): not failed, whatever the activity.
    young = (course("belimumab", days_before(178), None, 800),)
    assert run("failed_agents_at_least", facts(treatments=young)).result is NOT_MET


def test_failed_agents_course_ending_after_as_of_is_ongoing() -> None:
    # Its end and stop reason are not known on as_of.
    later = (course("mycophenolate_mofetil", days_before(200), AS_OF + timedelta(days=5), 3000, "intolerance"),)
    quiet = (assessment(days_before(5), ()),)
    assert run("failed_agents_at_least", facts(treatments=later, assessments=quiet)).result is NOT_MET


def test_failed_agents_drugs_of_one_agent_count_once() -> None:
    both = (
        course("mycophenolate_mofetil", date(2024, 1, 1), date(2024, 12, 31), 3000, "inadequate_response"),
        course("mycophenolic_acid", date(2025, 1, 1), date(2025, 12, 31), 1440, "inadequate_response"),
    )
    r = run("failed_agents_at_least", facts(treatments=both), min_count=2)
    assert r.result is NOT_MET
    assert r.explanation.startswith("1 failed agent (mycophenolate), needs ≥ 2")


def test_failed_agents_agent_is_kleene_or_of_its_courses() -> None:
    courses = (
        course("mycophenolate_mofetil", date(2024, 1, 1), date(2024, 12, 31), 3000, "inadequate_response"),
        course("mycophenolic_acid", date(2025, 1, 1), date(2025, 12, 31), None, "inadequate_response"),
    )
    r = run("failed_agents_at_least", facts(treatments=courses))
    # The agent failed through its first course; the unknown second course cannot change the count.
    assert r.result is MET and r.missing == ()


def test_failed_agents_definite_and_possible_counts() -> None:
    failed_one = _mmf(200)
    undetermined = (course("azathioprine", date(2025, 12, 15), date(2026, 4, 30), 150, None),)
    r = run("failed_agents_at_least", facts(treatments=failed_one + undetermined), min_count=2)
    assert r.result is UNKNOWN
    assert r.missing == ("azathioprine course started 2025-12-15 needs: stop reason",)
    r = run("failed_agents_at_least", facts(treatments=failed_one + undetermined), min_count=3)
    assert r.result is NOT_MET


def test_failed_agents_only_listed_classes() -> None:
    others = (
        course("hydroxychloroquine", date(2020, 1, 1), date(2021, 1, 1), 400, "inadequate_response"),
        course("prednisone", date(2020, 1, 1), date(2021, 1, 1), 20, "inadequate_response"),
    )
    r = run("failed_agents_at_least", facts(treatments=others))
    assert r.result is NOT_MET and r.refs == ()


# ---------------------------------------------------------------- glucocorticoid_dependent

FIRST_DAY = days_before(179)  # (as_of − 180, as_of] starts here


def test_glucocorticoid_dependent_met_and_not_met() -> None:
    assert (
        run("glucocorticoid_dependent", facts(treatments=(course("prednisone", date(2025, 1, 1), None, 10),))).result
        is MET
    )
    r = run("glucocorticoid_dependent", facts(treatments=(course("prednisone", date(2025, 1, 1), None, 5),)))
    assert r.result is NOT_MET and "5 mg/day" in r.explanation and "needs > 7.5 mg/day" in r.explanation
    assert run("glucocorticoid_dependent", EMPTY).result is NOT_MET


def test_glucocorticoid_window_lower_end_is_exclusive() -> None:
    before = course("prednisone", date(2025, 1, 1), days_before(180), 20)  # ends on the excluded day
    exact = course("prednisolone", FIRST_DAY, None, 20)
    assert run("glucocorticoid_dependent", facts(treatments=(before, exact))).result is MET
    assert run("glucocorticoid_dependent", facts(treatments=(exact,))).result is MET
    late = course("prednisolone", FIRST_DAY + timedelta(days=1), None, 20)
    r = run("glucocorticoid_dependent", facts(treatments=(before, late)))
    assert r.result is NOT_MET and f"no glucocorticoid course on {FIRST_DAY.isoformat()}" in r.explanation


def test_glucocorticoid_threshold_is_strict() -> None:
    at = (course("prednisone", date(2025, 1, 1), None, "7.5"),)
    assert run("glucocorticoid_dependent", facts(treatments=at)).result is NOT_MET
    above = (course("prednisone", date(2025, 1, 1), None, "7.6"),)
    assert run("glucocorticoid_dependent", facts(treatments=above)).result is MET


def test_glucocorticoid_overlapping_courses_are_summed_with_prednisone_factors() -> None:
    two = (course("prednisone", date(2025, 1, 1), None, 5), course("prednisolone", date(2025, 2, 1), None, 5))
    assert run("glucocorticoid_dependent", facts(treatments=two)).result is MET
    mp_at = (course("methylprednisolone", date(2025, 1, 1), None, 6),)  # 6 × 1.25 = 7.5
    assert run("glucocorticoid_dependent", facts(treatments=mp_at)).result is NOT_MET
    mp_above = (course("methylprednisolone", date(2025, 1, 1), None, "6.4"),)  # 8
    assert run("glucocorticoid_dependent", facts(treatments=mp_above)).result is MET


def test_glucocorticoid_missing_dose() -> None:
    unknown = (course("prednisone", date(2025, 1, 1), None, None),)
    r = run("glucocorticoid_dependent", facts(treatments=unknown))
    assert r.result is UNKNOWN and r.missing == ("dose of the prednisone course started 2025-01-01",)
    # A known dose above the threshold settles every day.
    settled = unknown + (course("prednisolone", date(2025, 1, 1), None, 10),)
    assert run("glucocorticoid_dependent", facts(treatments=settled)).result is MET
    # An uncovered day settles it the other way.
    gap = (course("prednisone", FIRST_DAY + timedelta(days=3), None, None),)
    assert run("glucocorticoid_dependent", facts(treatments=gap)).result is NOT_MET


def test_glucocorticoid_course_ending_after_as_of_covers_to_as_of() -> None:
    later = (course("prednisone", date(2025, 1, 1), AS_OF + timedelta(days=30), 10, "remission"),)
    assert run("glucocorticoid_dependent", facts(treatments=later)).result is MET
    ended = (course("prednisone", date(2025, 1, 1), days_before(1), 10, "remission"),)
    assert run("glucocorticoid_dependent", facts(treatments=ended)).result is NOT_MET


# ---------------------------------------------------------------- drug_tried


def test_drug_tried_any_course_counts() -> None:
    single_day = (course("hydroxychloroquine", AS_OF, AS_OF, None, "intolerance"),)
    r = run("drug_tried", facts(treatments=single_day))
    assert r.result is MET and r.refs == (single_day[0].ref,)
    future = (course("hydroxychloroquine", AS_OF + timedelta(days=1), None, 400),)
    assert run("drug_tried", facts(treatments=future)).result is NOT_MET


def test_drug_tried_or_condition() -> None:
    present = (condition("hcq_contraindicated", "present", date(2020, 1, 1)),)
    assert run("drug_tried", facts(conditions=present)).result is MET
    revoked = present + (condition("hcq_contraindicated", "absent", date(2021, 1, 1)),)
    assert run("drug_tried", facts(conditions=revoked)).result is NOT_MET


def test_drug_tried_is_never_unknown() -> None:
    assert run("drug_tried", EMPTY).result is NOT_MET
    assert not CRITERION_TYPES["drug_tried"].can_be_unknown


# ---------------------------------------------------------------- exposure_days_at_least


def test_exposure_same_day_course_covers_one_day() -> None:
    single = (course("rituximab", days_before(10), days_before(10), 1000),)
    assert run("exposure_days_at_least", facts(treatments=single), min_days=1).result is MET
    r = run("exposure_days_at_least", facts(treatments=single), min_days=2)
    assert r.result is NOT_MET and r.explanation.startswith("1 day covered")


def test_exposure_overlapping_courses_count_each_day_once() -> None:
    start = date(2025, 1, 1)
    overlapping = (
        course("mycophenolate_mofetil", start, start + timedelta(days=99), 3000, "other"),
        course("azathioprine", start + timedelta(days=50), start + timedelta(days=149), 150, "other"),
    )
    assert run("exposure_days_at_least", facts(treatments=overlapping), min_days=150).result is MET
    assert run("exposure_days_at_least", facts(treatments=overlapping), min_days=151).result is NOT_MET


def test_exposure_course_ending_after_as_of_counts_to_as_of() -> None:
    exact = (course("belimumab", days_before(179), AS_OF + timedelta(days=100), 800, "other"),)
    assert run("exposure_days_at_least", facts(treatments=exact)).result is MET  # 180 days
    short = (course("belimumab", days_before(178), AS_OF + timedelta(days=100), 800, "other"),)
    r = run("exposure_days_at_least", facts(treatments=short))
    assert r.result is NOT_MET and "179 days" in r.explanation and "needs ≥ 180" in r.explanation


def test_exposure_is_never_unknown() -> None:
    no_doses = (course("azathioprine", date(2025, 1, 1), None, None),)
    assert run("exposure_days_at_least", facts(treatments=no_doses, weight_kg=None)).result is MET
    assert run("exposure_days_at_least", EMPTY).result is NOT_MET
    assert not CRITERION_TYPES["exposure_days_at_least"].can_be_unknown


# ---------------------------------------------------------------- observation_compare


@pytest.mark.parametrize(("op", "value", "expected"), [("<", 34, MET), ("<", 35, NOT_MET), ("<=", 35, MET)])
def test_observation_compare_operators(op: str, value: int, expected: Result) -> None:
    f = facts(observations=(observation("lvef", days_before(10), value),))
    assert run("observation_compare", f, op=op).result is expected


def test_observation_window_edges_and_latest() -> None:
    assert run("observation_compare", facts(observations=(observation("lvef", days_before(365), 30),))).result is MET
    r = run("observation_compare", facts(observations=(observation("lvef", days_before(366), 30),)))
    assert r.result is UNKNOWN and "365 days" in r.missing[0]
    later_normal = (observation("lvef", days_before(100), 30), observation("lvef", days_before(5), 60))
    assert run("observation_compare", facts(observations=later_normal)).result is NOT_MET
    future = (observation("lvef", days_before(100), 60), observation("lvef", AS_OF + timedelta(days=1), 20))
    assert run("observation_compare", facts(observations=future)).result is NOT_MET


def test_observation_times_uln_compares_in_decimal() -> None:
    params: dict[str, Any] = {"code": "alt", "op": ">", "value": 3, "times_uln": True, "max_age_days": 90}
    at = facts(observations=(observation("alt", days_before(5), 105, 35),))
    assert run("observation_compare", at, **params).result is NOT_MET  # 105 > 3 × 35 is false
    above = facts(observations=(observation("alt", days_before(5), 106, 35),))
    assert run("observation_compare", above, **params).result is MET
    # 0.3 ≥ 3 × 0.1 holds in decimal (in binary floating point it does not).
    tenth = facts(observations=(observation("bilirubin", days_before(5), "0.3", "0.1"),))
    assert run("observation_compare", tenth, **{**params, "code": "bilirubin", "op": ">="}).result is MET


def test_observation_times_uln_without_uln_is_unknown() -> None:
    r = run(
        "observation_compare",
        facts(observations=(observation("alt", days_before(5), 500),)),
        code="alt",
        op=">",
        value=3,
        times_uln=True,
    )
    assert r.result is UNKNOWN and r.missing == (
        f"ULN of the ALT result of {days_before(5).isoformat()} (needed for 3 × ULN)",
    )


def test_observation_none_recorded_is_unknown() -> None:
    r = run("observation_compare", EMPTY)
    assert r.result is UNKNOWN and r.refs == () and len(r.missing) == 1


# ---------------------------------------------------------------- condition_present


def test_condition_present_absent_unknown() -> None:
    assert (
        run("condition_present", facts(conditions=(condition("pregnancy", "present", days_before(3)),))).result is MET
    )
    assert (
        run("condition_present", facts(conditions=(condition("pregnancy", "absent", days_before(3)),))).result
        is NOT_MET
    )
    r = run("condition_present", EMPTY)
    assert r.result is UNKNOWN and len(r.missing) == 1 and "Pregnancy" in r.missing[0]
    assert run("condition_present", EMPTY, if_unrecorded="absent").result is NOT_MET


def test_condition_window_edges() -> None:
    assert (
        run("condition_present", facts(conditions=(condition("pregnancy", "present", days_before(30)),))).result is MET
    )
    outside = facts(conditions=(condition("pregnancy", "present", days_before(31)),))
    assert run("condition_present", outside).result is UNKNOWN
    assert run("condition_present", outside, max_age_days=None).result is MET  # null window: any date


def test_condition_latest_entry_per_code_counts() -> None:
    resolved = (condition("pregnancy", "present", days_before(20)), condition("pregnancy", "absent", days_before(2)))
    assert run("condition_present", facts(conditions=resolved)).result is NOT_MET
    new = (condition("pregnancy", "absent", days_before(20)), condition("pregnancy", "present", days_before(2)))
    assert run("condition_present", facts(conditions=new)).result is MET


def test_condition_sex_is_checked_first() -> None:
    entries = (condition("pregnancy", "present", days_before(3)),)
    r = run("condition_present", facts(sex="male", conditions=entries), sex="female")
    assert r.result is NOT_MET and r.refs == ("patient.sex",)  # entries not read
    assert run("condition_present", facts(sex=None, conditions=entries), sex="female").result is MET
    assert run("condition_present", facts(sex=None), sex="female").result is UNKNOWN


def test_condition_several_codes() -> None:
    viral: dict[str, Any] = {"codes": ["hiv", "hbv", "hcv"], "max_age_days": 365}
    one = facts(conditions=(condition("hbv", "present", days_before(3)),))
    assert run("condition_present", one, **viral).result is MET
    partial = facts(conditions=(condition("hiv", "absent", days_before(3)), condition("hbv", "absent", days_before(3))))
    r = run("condition_present", partial, **viral)
    assert r.result is UNKNOWN and len(r.missing) == 1 and "Hepatitis C" in r.missing[0]
    assert run("condition_present", partial, **viral, if_unrecorded="absent").result is NOT_MET


# ---------------------------------------------------------------- recent_drug


@pytest.mark.parametrize(("age_days", "expected"), [(180, MET), (181, NOT_MET)])
def test_recent_drug_window_edge(age_days: int, expected: Result) -> None:
    infusion = (course("rituximab", days_before(age_days), days_before(age_days), 1000),)
    assert run("recent_drug", facts(treatments=infusion)).result is expected


def test_recent_drug_ongoing_or_ending_after_as_of_covers_the_window() -> None:
    ongoing = (course("obinutuzumab", date(2020, 1, 1), None, 1000),)
    assert run("recent_drug", facts(treatments=ongoing)).result is MET
    later = (course("rituximab", date(2020, 1, 1), AS_OF + timedelta(days=10), 1000, "other"),)
    assert run("recent_drug", facts(treatments=later)).result is MET
    old = (course("rituximab", date(2020, 1, 1), date(2020, 2, 1), 1000, "other"),)
    r = run("recent_drug", facts(treatments=old))
    assert r.result is NOT_MET and "2020-02-01" in r.explanation


def test_recent_drug_is_never_unknown() -> None:
    assert run("recent_drug", EMPTY).result is NOT_MET
    assert not CRITERION_TYPES["recent_drug"].can_be_unknown


# ---------------------------------------------------------------- damage_index_at_least


def test_damage_index() -> None:
    assert run("damage_index_at_least", facts(damage=(damage(days_before(10), cva=2, cataract=1),))).result is MET
    r = run("damage_index_at_least", facts(damage=(damage(days_before(10), cva=2),)))
    assert r.result is NOT_MET and "damage index 2" in r.explanation and "needs ≥ 3" in r.explanation
    # ESRD suppresses GFR < 50 and proteinuria ≥ 3.5 g: 3, not 5.
    esrd = facts(damage=(damage(days_before(10), esrd=1, gfr_below_50=1, proteinuria_3_5g=1),))
    assert run("damage_index_at_least", esrd, min_score=4).result is NOT_MET
    assert run("damage_index_at_least", esrd, min_score=3).result is MET


def test_damage_index_latest_entry_and_unknown() -> None:
    entries = (damage(days_before(400), cva=2, diabetes=1), damage(days_before(10), cataract=1))
    assert run("damage_index_at_least", facts(damage=entries)).result is NOT_MET
    future = (damage(days_before(400), cva=2, diabetes=1), damage(AS_OF + timedelta(days=1), cataract=1))
    assert run("damage_index_at_least", facts(damage=future)).result is MET
    r = run("damage_index_at_least", EMPTY)
    assert r.result is UNKNOWN and r.missing


# ---------------------------------------------------------------- every type


@pytest.mark.parametrize("type_name", sorted(CRITERION_TYPES))
def test_every_explanation_is_one_line_and_unknown_leaves_name_their_data(type_name: str) -> None:
    r = run(type_name, EMPTY)
    assert r.explanation and "\n" not in r.explanation
    assert (r.result is UNKNOWN) == bool(r.missing)
    if r.result is UNKNOWN:
        assert CRITERION_TYPES[type_name].can_be_unknown
