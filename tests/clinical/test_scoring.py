"""Scoring functions against worked examples, plus edge cases.

The worked examples are those of the normative clinical reference (kept with the
other normative specs outside this repository); section numbers below are its own.
"""

from datetime import date
from decimal import Decimal

import pytest

from clinical import vocab
from clinical.scoring import (
    ALTERNATIVE_UNITS,
    EularResult,
    age_on,
    ckd_epi_2021,
    eular_acr,
    prednisone_equivalent,
    sdi_score,
    sledai_activity_band,
    sledai_bounds,
    to_canonical,
)

# --- Age (docs/rule-sets.md) ---------------------------------------------


@pytest.mark.parametrize(
    ("birth", "as_of", "expected"),
    [
        (date(1994, 3, 12), date(2026, 3, 12), 32),  # on the birthday
        (date(1994, 3, 12), date(2026, 3, 11), 31),  # the day before
        (date(1994, 3, 12), date(2026, 11, 1), 32),
        (date(1994, 3, 12), date(1994, 3, 12), 0),  # day of birth
        (date(2000, 2, 29), date(2024, 2, 29), 24),  # leap year: on 29 February
        (date(2000, 2, 29), date(2024, 2, 28), 23),
        (date(2000, 2, 29), date(2023, 2, 28), 22),  # non-leap: not yet on 28 February
        (date(2000, 2, 29), date(2023, 3, 1), 23),  # ... reached on 1 March
    ],
)
def test_age_on(birth, as_of, expected):
    assert age_on(birth, as_of) == expected


def test_age_on_refuses_as_of_before_birth():
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


# --- SLEDAI-2K (clinical reference 9.2) -------------------------------------

SERO = ["low_complement", "increased_dna_binding"]
SLEDAI_VECTORS = {
    "A": (["arthritis", "rash", *SERO], 10, 6),
    "B": (["proteinuria", "hematuria", "urinary_casts", *SERO], 16, 12),
    "C": (
        ["seizure", "vasculitis", "proteinuria", "pyuria", *SERO, "thrombocytopenia"],
        29,
        25,
    ),
    "D": (SERO, 4, 0),
    "E": (["alopecia", "mucosal_ulcers", "fever", "leukopenia"], 6, 6),
    "F": (
        [
            "psychosis",
            "pleurisy",
            "pericarditis",
            "arthritis",
            "myositis",
            *SERO,
            "fever",
            "thrombocytopenia",
            "leukopenia",
        ],
        27,
        23,
    ),
    "G": (list(vocab.SLEDAI_ITEMS), 105, 101),
}


@pytest.mark.parametrize(("present", "total", "clinical"), SLEDAI_VECTORS.values(), ids=SLEDAI_VECTORS)
def test_sledai_vectors(present, total, clinical):
    assert sledai_bounds(present) == (total, total)
    assert sledai_bounds(present, clinical_only=True) == (clinical, clinical)


def test_sledai_bounds_with_not_assessed_items():
    present = ["proteinuria", "urinary_casts", "low_complement"]
    assert sledai_bounds(present, ["increased_dna_binding", "seizure"]) == (10, 20)
    assert sledai_bounds(present, ["increased_dna_binding", "seizure"], clinical_only=True) == (8, 16)
    assert sledai_bounds([], list(vocab.SLEDAI_ITEMS)) == (0, 105)


def test_sledai_bounds_empty_and_repeated_codes():
    assert sledai_bounds([]) == (0, 0)
    assert sledai_bounds(iter(["rash", "rash"])) == (
        2,
        2,
    )  # any iterable; a code counts once


@pytest.mark.parametrize(
    ("present", "not_assessed"),
    [(["arthritis", "lupus_nephritis"], []), (["arthritis"], ["low_c3"])],
)
def test_sledai_bounds_refuses_unknown_codes(present, not_assessed):
    with pytest.raises(ValueError, match="unknown SLEDAI-2K code"):
        sledai_bounds(present, not_assessed)


def test_sledai_bounds_refuses_overlap():
    with pytest.raises(ValueError, match="both present and not assessed: fever"):
        sledai_bounds(["fever", "rash"], ["fever"])


def test_sledai_bounds_refuses_a_bare_string():
    with pytest.raises(TypeError, match="not a string"):
        sledai_bounds("rash")


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "remission"),
        (1, "low"),
        (4, "low"),
        (5, "moderate"),
        (10, "moderate"),
        (11, "high"),
        (105, "high"),
    ],
)
def test_sledai_activity_band(score, band):
    assert sledai_activity_band(score) == band


@pytest.mark.parametrize("score", [-1, 106])
def test_sledai_activity_band_refuses_out_of_range(score):
    with pytest.raises(ValueError, match="0–105"):
        sledai_activity_band(score)


# --- 2019 EULAR/ACR (clinical reference 9.3) ---------------------------------

EULAR_VECTORS = {
    "E1": (
        640,
        ["joint_involvement", "anti_dsdna_or_anti_sm", "low_c3_or_low_c4"],
        EularResult(15, True, True, True),
    ),
    "E2": (
        640,
        [
            "fever",
            "leukopenia",
            "thrombocytopenia",
            "oral_ulcers",
            "non_scarring_alopecia",
        ],
        EularResult(8, True, True, False),
    ),
    "E3": (640, ["ln_class_iii_or_iv"], EularResult(10, True, True, True)),
    "E4": (
        640,
        ["anti_dsdna_or_anti_sm", "low_c3_and_low_c4", "antiphospholipid_antibodies"],
        EularResult(12, False, True, False),
    ),
    "E5": (
        640,
        [
            "pleural_or_pericardial_effusion",
            "acute_pericarditis",
            "proteinuria",
            "ln_class_ii_or_v",
            "low_c3_or_low_c4",
        ],
        EularResult(17, True, True, True),
    ),
    "E6": (
        640,
        [
            "acute_cutaneous_lupus",
            "subacute_cutaneous_or_discoid_lupus",
            "joint_involvement",
            "anti_dsdna_or_anti_sm",
            "low_c3_and_low_c4",
            "thrombocytopenia",
            "leukopenia",
            "seizure",
            "psychosis",
        ],
        EularResult(31, True, True, True),
    ),
    # ANA negative: entry criterion unmet, not classified (the points are still reported).
    "E7": (
        0,
        ["ln_class_iii_or_iv", "anti_dsdna_or_anti_sm"],
        EularResult(16, True, False, False),
    ),
}


@pytest.mark.parametrize(("ana", "criteria", "expected"), EULAR_VECTORS.values(), ids=EULAR_VECTORS)
def test_eular_acr_vectors(ana, criteria, expected):
    assert eular_acr(ana, criteria) == expected


@pytest.mark.parametrize(
    ("ana", "criteria", "expected"),
    [
        (
            None,
            ["ln_class_iii_or_iv"],
            EularResult(10, True, None, None),
        ),  # ANA unknown
        (80, None, EularResult(0, False, True, None)),  # criteria not assessed
        (80, [], EularResult(0, False, True, False)),  # assessed, none present
        (40, None, EularResult(0, False, False, False)),  # ANA below 1:80 decides alone
        (None, None, EularResult(0, False, None, None)),
        (
            80,
            ["ln_class_iii_or_iv"],
            EularResult(10, True, True, True),
        ),  # 1:80 is enough
    ],
)
def test_eular_acr_unknowns_and_boundaries(ana, criteria, expected):
    assert eular_acr(ana, criteria) == expected


def test_eular_acr_parameters():
    assert eular_acr(80, ["ln_class_iii_or_iv"], ana_min_titre=160).classified is False
    assert eular_acr(160, ["ln_class_iii_or_iv"], ana_min_titre=160).classified is True
    assert eular_acr(640, ["ln_class_iii_or_iv"], min_score=11).classified is False


def test_eular_acr_refuses_unknown_code():
    with pytest.raises(ValueError, match="unknown EULAR/ACR code"):
        eular_acr(640, ["joint_involvement", "arthritis"])


# --- SDI (clinical reference 9.4; docs/case-files.md) ----------------------------


def test_sdi_vector():
    assert sdi_score({"cataract": 1, "esrd": 1, "avascular_necrosis": 2, "diabetes": 1}) == 7


def test_sdi_empty():
    assert sdi_score({}) == 0


def test_sdi_esrd_suppresses_gfr_and_proteinuria():
    renal = {"gfr_below_50": 1, "proteinuria_3_5g": 1}
    assert sdi_score(renal) == 2
    assert sdi_score({**renal, "esrd": 1}) == 3


@pytest.mark.parametrize("code", [code for code, item in vocab.SDI_ITEMS.items() if item.max_count == 2])
def test_sdi_count_two_on_double_items(code):
    assert sdi_score({code: 2}) == 2


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ({"cataract": 2}, "count must be 1, got 2"),
        ({"esrd": 2}, "count must be 1, got 2"),
        ({"malignancy": 3}, "count must be 1 or 2, got 3"),
        ({"cataract": 0}, "got 0"),
        ({"cataract": True}, "got True"),
        ({"cataract": 1.0}, "got 1.0"),
        ({"cataract": 1, "lupus_nephritis": 1}, "unknown SDI code"),
    ],
)
def test_sdi_refuses_bad_items(items, message):
    with pytest.raises(ValueError, match=message):
        sdi_score(items)


# --- CKD-EPI 2021 (clinical reference 8.2) -----------------------------------


@pytest.mark.parametrize(
    ("sex", "age", "creatinine", "egfr"),
    [
        ("male", 55, 1.2, 71.4),
        ("female", 40, 0.6, 116.3),
        ("female", 30, 0.9, 88.2),
        ("male", 45, 2.5, 31.5),
        ("female", 70, 1.0, 60.6),
        ("male", 25, 0.7, 131.1),
    ],
)
def test_ckd_epi_2021(sex, age, creatinine, egfr):
    assert round(ckd_epi_2021(creatinine, age, sex), 1) == egfr


def test_ckd_epi_2021_kidney_org_example_rounds_to_71():
    assert round(ckd_epi_2021(1.2, 55, "male")) == 71


@pytest.mark.parametrize(
    ("creatinine", "sex", "message"),
    [
        (1.0, "f", "sex must be"),
        (1.0, None, "sex must be"),
        (0.0, "female", "positive"),
        (-1.0, "male", "positive"),
    ],
)
def test_ckd_epi_2021_refuses_bad_input(creatinine, sex, message):
    with pytest.raises(ValueError, match=message):
        ckd_epi_2021(creatinine, 50, sex)


# --- Units (clinical reference 8.1) ------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "unit", "expected"),
    [
        ("creatinine", "88.4", "µmol/L", "1.0"),
        ("creatinine", "88.4", "\u03bcmol/L", "1.0"),  # Greek mu accepted as micro
        ("creatinine", "100", "µmol/L", "1.1312"),
        ("upcr", "50", "mg/mmol", "0.4420"),  # not 0.5: KDIGO's 50 mg/mmol is rounded
        ("upcr", "113.12", "mg/mmol", "1"),
        ("upcr", "500", "mg/g", "0.5"),
        ("upcr", "0.5", "mg/mg", "0.5"),
        ("urine_protein_24h", "500", "mg/24h", "0.5"),
        ("c3", "0.9", "g/L", "90"),
        ("c4", "0.12", "g/L", "12"),
        ("hemoglobin", "85", "g/L", "8.5"),
        ("bilirubin", "17.1", "µmol/L", "1"),
        ("bilirubin", "34.2", "µmol/L", "2"),
    ],
)
def test_to_canonical_converts(code, value, unit, expected):
    result = to_canonical(code, Decimal(value), unit)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -4  # converted values are quantized to 4 places


def test_to_canonical_rounds_half_up():
    assert to_canonical("upcr", Decimal("0.05"), "mg/g") == Decimal("0.0001")
    assert to_canonical("upcr", Decimal("0.0499"), "mg/g") == Decimal("0.0000")


@pytest.mark.parametrize("code", list(vocab.OBSERVATIONS))
def test_to_canonical_passes_canonical_unit_through(code):
    value = Decimal("1.23456")
    assert to_canonical(code, value, vocab.OBSERVATIONS[code].unit) is value


def test_alternative_units_are_for_known_codes_and_differ_from_canonical():
    for code, units in ALTERNATIVE_UNITS.items():
        assert code in vocab.OBSERVATIONS
        assert vocab.OBSERVATIONS[code].unit not in units


@pytest.mark.parametrize(
    ("code", "unit", "message"),
    [
        ("creatinine", "mmol/L", "allowed: mg/dL, µmol/L"),
        ("c3", "mg/L", "allowed: mg/dL, g/L"),
        ("platelets", "10³/µL", "allowed: 10⁹/L$"),  # no alternatives at all
    ],
)
def test_to_canonical_refuses_other_units(code, unit, message):
    with pytest.raises(ValueError, match=message):
        to_canonical(code, Decimal(1), unit)


def test_to_canonical_refuses_unknown_code_and_non_finite_value():
    with pytest.raises(ValueError, match="unknown observation code"):
        to_canonical("ferritin", Decimal(1), "µg/L")
    with pytest.raises(ValueError, match="finite"):
        to_canonical("creatinine", Decimal("NaN"), "mg/dL")


# --- Prednisone equivalent (docs/rule-sets.md) -------------------------------


@pytest.mark.parametrize(
    ("dose", "factor", "expected"),
    [
        (Decimal(10), Decimal("1.0"), Decimal(10)),
        (8, 1.25, Decimal(10)),  # methylprednisolone; float factor taken at face value
        (Decimal("7.5"), 1.0, Decimal("7.5")),
        (0, 1.25, Decimal(0)),
    ],
)
def test_prednisone_equivalent(dose, factor, expected):
    assert prednisone_equivalent(dose, factor) == expected


@pytest.mark.parametrize(("dose", "factor"), [(-1, 1.0), (10, 0), (10, -1.25), (float("nan"), 1.0)])
def test_prednisone_equivalent_refuses_bad_input(dose, factor):
    with pytest.raises(ValueError, match="dose must be"):
        prednisone_equivalent(dose, factor)
