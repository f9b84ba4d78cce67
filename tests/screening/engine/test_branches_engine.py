"""Engine entry points at their edges: case-file numbers, the as-of argument, result lookups."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from screening.engine import EngineError, GroupResult, Outcome, PatientFacts, Result, facts_from_case, screen
from screening.engine.casefile import to_decimal
from tests.screening.engine.helpers import AS_OF, default_rules

# ---------------------------------------------------------------- case-file numbers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),  # a float through its shortest repr, not its binary expansion
        (35.0, "35.0"),
        (65, "65"),
        (Decimal("2.50"), "2.50"),  # a Decimal is kept as it is, exponent included
        ("1.25", "1.25"),
    ],
)
def test_case_file_numbers_become_exact_decimals(value: Any, expected: str) -> None:
    converted = to_decimal(value)
    assert isinstance(converted, Decimal) and str(converted) == expected


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_never_read_as_a_number(value: bool) -> None:
    with pytest.raises(TypeError, match="a boolean is not a number"):
        to_decimal(value)


def test_facts_from_a_case_refuse_a_boolean_weight() -> None:
    with pytest.raises(TypeError, match="a boolean is not a number"):
        facts_from_case({"case_id": "c1", "patient": {"weight_kg": True}})


def test_facts_from_a_case_with_decimal_numbers_keep_them_exact() -> None:
    case = {
        "case_id": "c1",
        "patient": {"birth_date": "1990-05-14", "sex": "female", "weight_kg": Decimal("61.5")},
        "observations": [{"code": "alt", "date": "2026-10-01", "value": Decimal("105.0"), "uln": Decimal("35")}],
    }
    facts = facts_from_case(case)
    assert facts.weight_kg == Decimal("61.5")
    (alt,) = facts.observations
    assert (alt.value, alt.uln, alt.ref) == (Decimal("105.0"), Decimal("35"), "observations[0]")
    # 105 > 3 × 35 is false in decimal.
    hsct = screen(facts, default_rules(), AS_OF).pathway("hsct")
    liver = next(c for c in hsct.cautions if c.id == "liver_function")
    assert isinstance(liver.node, GroupResult)
    alt_leaf = next(n for n in liver.node.children if n.id == "liver_function.alt")
    assert alt_leaf.result is Result.NOT_MET
    assert alt_leaf.explanation.endswith("on 2026-10-01, not > 3 × ULN 35 = 105")


# ---------------------------------------------------------------- the as-of argument


@pytest.mark.parametrize("as_of", [datetime(2026, 11, 1, 12, 0), "2026-11-01", None, 20261101])
def test_as_of_must_be_a_date(as_of: Any) -> None:
    with pytest.raises(EngineError) as excinfo:
        screen(PatientFacts(), default_rules(), as_of)
    assert str(excinfo.value) == f"as_of must be a date, got {as_of!r}"


def test_as_of_before_the_birth_date_is_refused_and_on_it_is_accepted() -> None:
    born = date(1990, 5, 14)
    with pytest.raises(EngineError, match="as-of date 1990-05-13 is before the birth date 1990-05-14"):
        screen(PatientFacts(birth_date=born), default_rules(), date(1990, 5, 13))
    result = screen(PatientFacts(birth_date=born), default_rules(), born)
    assert result.pathway("hsct").outcome is Outcome.NOT_FLAGGED  # age 0 is outside 18–60


# ---------------------------------------------------------------- result lookups


def test_result_lookup_finds_each_pathway_and_refuses_others() -> None:
    result = screen(PatientFacts(), default_rules(), AS_OF)
    assert [p.id for p in result.pathways] == ["hsct", "msc"]
    assert result.pathway("msc") is result.pathways[1]
    with pytest.raises(KeyError):
        result.pathway("car_t")


def test_every_criterion_type_has_its_function() -> None:
    from screening.engine import CRITERION_TYPES
    from screening.engine.criteria import CRITERION_FUNCTIONS

    assert {t.params_class for t in CRITERION_TYPES.values()} == set(CRITERION_FUNCTIONS)
