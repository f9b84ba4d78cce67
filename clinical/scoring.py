"""Clinical scores and unit conversions as pure functions (no Django import).

Weights come from ``clinical.vocab`` (one table each); the scores follow the
references S1–S7 and S42 (``screening/data/sources.json``) and read the record
as ``docs/case-files.md`` and ``docs/rule-sets.md`` ("How the facts are read")
describe it. Tested against worked examples in ``tests/clinical/test_scoring.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from clinical import vocab

# Converted lab values are rounded to 4 decimal places (ROUND_HALF_UP): finer
# than any entered value needs, and fixed-point so that converted values are
# comparable and fit a DecimalField with decimal_places=4.
CONVERSION_QUANTUM = Decimal("0.0001")


def age_on(birth_date: date, as_of: date) -> int:
    """Age in whole years on as_of (docs/rule-sets.md, "How the facts are read")."""
    if as_of < birth_date:
        raise ValueError(f"as-of date {as_of} is before the birth date {birth_date}")
    # Tuple comparison puts a 29 February birthday after 28 February, so in a
    # non-leap year it is reached on 1 March, as the rule requires.
    not_yet = (as_of.month, as_of.day) < (birth_date.month, birth_date.day)
    return as_of.year - birth_date.year - not_yet


def _codes(items: Iterable[str], table: Mapping[str, object], what: str) -> set[str]:
    """Validated set of codes from one of the vocab tables (docs/case-files.md, "Codes")."""
    if isinstance(items, str):
        raise TypeError(f"{what} codes must be given as a collection, not a string")
    codes = set(items)
    unknown = sorted(codes - table.keys())
    if unknown:
        raise ValueError(f"unknown {what} code(s): {', '.join(unknown)}")
    return codes


def sledai_bounds(
    present: Iterable[str],
    not_assessed: Iterable[str] = (),
    *,
    clinical_only: bool = False,
) -> tuple[int, int]:
    """SLEDAI-2K (or cSLEDAI) (low, high) bounds (S1, S2; docs/rule-sets.md, "How the facts are read")."""
    present_codes = _codes(present, vocab.SLEDAI_ITEMS, "SLEDAI-2K")
    missing_codes = _codes(not_assessed, vocab.SLEDAI_ITEMS, "SLEDAI-2K")
    overlap = sorted(present_codes & missing_codes)
    if overlap:
        raise ValueError(f"SLEDAI-2K item(s) both present and not assessed: {', '.join(overlap)}")
    if clinical_only:
        present_codes -= vocab.SLEDAI_SEROLOGICAL
        missing_codes -= vocab.SLEDAI_SEROLOGICAL
    low = sum(vocab.SLEDAI_ITEMS[code].weight for code in present_codes)
    high = low + sum(vocab.SLEDAI_ITEMS[code].weight for code in missing_codes)
    return low, high


def sledai_activity_band(score: int) -> str:
    """SLEDAI-2K activity band per S5's grading, not a trial cut-off."""
    if not 0 <= score <= 105:
        raise ValueError(f"SLEDAI-2K score must be 0–105, got {score}")
    if score == 0:
        return "remission"
    if score <= 4:
        return "low"
    if score <= 10:
        return "moderate"
    return "high"


class EularResult(NamedTuple):
    score: int
    has_clinical: bool
    entry_met: bool | None  # None: ANA titre not recorded
    classified: bool | None  # None: cannot be decided from what is recorded


def eular_acr(
    ana_titre: int | None,
    criteria: Iterable[str] | None,
    *,
    ana_min_titre: int = 80,
    min_score: int = 10,
) -> EularResult:
    """2019 EULAR/ACR classification of SLE (S6)."""
    codes = set() if criteria is None else _codes(criteria, vocab.EULAR_CRITERIA, "EULAR/ACR")
    best: dict[str, int] = {}
    for code in codes:
        criterion = vocab.EULAR_CRITERIA[code]
        best[criterion.domain] = max(best.get(criterion.domain, 0), criterion.weight)
    score = sum(best.values())
    has_clinical = any(vocab.EULAR_CRITERIA[code].clinical for code in codes)
    entry_met = None if ana_titre is None else ana_titre >= ana_min_titre
    if entry_met is False:
        classified: bool | None = False
    elif entry_met is None or criteria is None:
        classified = None
    else:
        classified = score >= min_score and has_clinical
    return EularResult(score, has_clinical, entry_met, classified)


def sdi_score(items: Mapping[str, int]) -> int:
    """SLICC/ACR damage index total (S7; count and ESRD rules in docs/case-files.md)."""
    _codes(items, vocab.SDI_ITEMS, "SDI")
    total = 0
    for code, count in items.items():
        item = vocab.SDI_ITEMS[code]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= item.max_count:
            allowed = "1 or 2" if item.max_count == 2 else "1"
            raise ValueError(f"SDI item {code}: count must be {allowed}, got {count!r}")
        if "esrd" in items and code in vocab.SDI_SUPPRESSED_BY_ESRD:
            continue
        total += item.points * count
    return total


def ckd_epi_2021(creatinine_mg_dl: float, age: int, sex: str) -> float:
    """eGFR in mL/min/1.73 m² by the race-free CKD-EPI 2021 creatinine equation (S42)."""
    if sex == "female":
        kappa, alpha, sex_factor = 0.7, -0.241, 1.012
    elif sex == "male":
        kappa, alpha, sex_factor = 0.9, -0.302, 1.0
    else:
        raise ValueError(f"sex must be 'female' or 'male', got {sex!r}")
    if not creatinine_mg_dl > 0:
        raise ValueError(f"creatinine must be positive, got {creatinine_mg_dl!r}")
    ratio = float(creatinine_mg_dl) / kappa
    return float(142 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age * sex_factor)


# Alternative entry units: observation code -> {unit label: factor}; a value in
# the alternative unit times the factor is the value in the canonical unit
# (vocab.OBSERVATIONS[code].unit). Factors are Decimals for exact arithmetic;
# divisions are written as 1 / divisor so the published constant stays visible.
ALTERNATIVE_UNITS: dict[str, dict[str, Decimal]] = {
    # Creatinine 88.4 µmol/L = 1 mg/dL.
    "creatinine": {"µmol/L": 1 / Decimal("88.4")},
    # mg protein per mmol creatinine: creatinine molar mass 113.12 g/mol, so
    # 50 mg/mmol = 0.442 g/g (KDIGO's "0.5 g/g (50 mg/mmol)" is a rounding).
    "upcr": {
        "mg/mmol": 1 / Decimal("113.12"),
        "mg/g": Decimal("0.001"),
        "mg/mg": Decimal(1),
    },
    "urine_protein_24h": {"mg/24h": Decimal("0.001")},
    "c3": {"g/L": Decimal(100)},
    "c4": {"g/L": Decimal(100)},
    "hemoglobin": {"g/L": Decimal("0.1")},
    # Bilirubin 17.1 µmol/L = 1 mg/dL (molar mass 584.66 g/mol).
    "bilirubin": {"µmol/L": 1 / Decimal("17.1")},
}


def to_canonical(code: str, value: Decimal, unit: str) -> Decimal:
    """Lab value converted to its code's canonical unit (docs/case-files.md, "Observation codes and units")."""
    if code not in vocab.OBSERVATIONS:
        raise ValueError(f"unknown observation code: {code}")
    if not value.is_finite():
        raise ValueError(f"{code}: value must be a finite number, got {value}")
    canonical = vocab.OBSERVATIONS[code].unit
    unit = unit.strip().replace("\u03bc", "\u00b5")  # Greek mu -> micro sign
    if unit == canonical:
        return value  # nothing converted, so nothing rounded
    alternatives = ALTERNATIVE_UNITS.get(code, {})
    if unit not in alternatives:
        allowed = ", ".join([canonical, *alternatives])
        raise ValueError(f"unit {unit!r} not accepted for {code}; allowed: {allowed}")
    return (value * alternatives[unit]).quantize(CONVERSION_QUANTUM, rounding=ROUND_HALF_UP)


def prednisone_equivalent(dose_mg: Decimal | float, factor: Decimal | float) -> Decimal:
    """Prednisone-equivalent dose in mg (dose × the drug catalogue's prednisone_factor, docs/rule-sets.md)."""
    # str() first so that a float such as 1.25 becomes Decimal("1.25"), not its binary expansion.
    dose = Decimal(str(dose_mg))
    equivalence = Decimal(str(factor))
    if not (dose.is_finite() and equivalence.is_finite()) or dose < 0 or equivalence <= 0:
        raise ValueError(f"dose must be ≥ 0 and factor > 0, got dose {dose_mg!r}, factor {factor!r}")
    return dose * equivalence
