"""The plausibility rules of the clinical record (clinical/plausibility.py): met, refused, and each boundary."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from clinical import limits, plausibility

TODAY = date(2026, 11, 1)  # the module takes today as an argument: any fixed day will do
BORN = date(1990, 5, 1)


@pytest.mark.parametrize(
    "value,problem",
    [
        (date(1900, 1, 1), None),
        (date(2199, 12, 31), None),
        (date(1899, 12, 31), "must not be before 1900-01-01"),
        (date(1, 1, 1), "must not be before 1900-01-01"),
        (date(2200, 1, 1), "must not be after 2199-12-31"),
        (date(9999, 12, 31), "must not be after 2199-12-31"),
    ],
)
def test_calendar_bounds(value: date, problem: str | None) -> None:
    assert plausibility.calendar_date(value) == problem


def test_birth_date() -> None:
    assert plausibility.birth_date(TODAY, today=TODAY) is None
    assert plausibility.birth_date(date(1900, 1, 1), today=TODAY) is None
    assert plausibility.birth_date(TODAY + timedelta(days=1), today=TODAY) == (
        "cannot be in the future (2026-11-02 is after today, 2026-11-01)"
    )
    assert plausibility.birth_date(date(1899, 12, 31), today=TODAY) == "must not be before 1900-01-01"
    assert plausibility.birth_date(date(9999, 1, 1)) == "must not be after 2199-12-31"  # no today: calendar only


@pytest.mark.parametrize(
    "value,problem",
    [
        (BORN, None),  # the day of birth
        (TODAY, None),  # today
        (BORN - timedelta(days=1), "must not be before the birth date (1990-05-01)"),
        (TODAY + timedelta(days=1), "cannot be in the future (2026-11-02 is after today, 2026-11-01)"),
        (date(9999, 12, 31), "cannot be in the future (9999-12-31 is after today, 2026-11-01)"),
        (date(1, 1, 1), "must not be before 1900-01-01"),
    ],
)
def test_record_date(value: date, problem: str | None) -> None:
    assert plausibility.record_date(value, born=BORN, today=TODAY) == problem


def test_record_date_without_birth_or_today_checks_the_calendar_only() -> None:
    assert plausibility.record_date(date(1901, 1, 1)) is None
    assert plausibility.record_date(date(2100, 1, 1)) is None
    assert plausibility.record_date(date(1850, 1, 1)) == "must not be before 1900-01-01"


def test_referral_sent() -> None:
    opened = date(2026, 10, 1)
    assert plausibility.referral_sent(opened, opened=opened, today=TODAY) is None
    assert plausibility.referral_sent(TODAY, opened=opened, today=TODAY) is None
    assert plausibility.referral_sent(date(2026, 9, 30), opened=opened, today=TODAY) == (
        "cannot be before the referral was opened (2026-10-01)"
    )
    assert plausibility.referral_sent(TODAY + timedelta(days=1), opened=opened, today=TODAY).startswith(
        "cannot be in the future"
    )


def test_review_date() -> None:
    latest = TODAY + timedelta(days=limits.REVIEW_AHEAD_DAYS)
    assert plausibility.review_date(TODAY + timedelta(days=1), today=TODAY) is None
    assert plausibility.review_date(latest, today=TODAY) is None
    assert plausibility.review_date(TODAY, today=TODAY) == "must be after today"
    assert plausibility.review_date(latest + timedelta(days=1), today=TODAY) == (
        f"must be within five years (on or before {latest.isoformat()})"
    )


@pytest.mark.parametrize(
    "check,value,problem",
    [
        (plausibility.weight, 20, None),
        (plausibility.weight, Decimal("300.0"), None),
        (plausibility.weight, 19.9, "must be between 20 and 300"),
        (plausibility.weight, 301, "must be between 20 and 300"),
        (plausibility.pga, 0, None),
        (plausibility.pga, 3, None),
        (plausibility.pga, Decimal("3.1"), "must be between 0 and 3"),
        (plausibility.ana_titre, 0, None),
        (plausibility.ana_titre, limits.ANA_TITRE_MAX, None),
        (plausibility.ana_titre, limits.ANA_TITRE_MAX + 1, "must be between 0 and 1000000"),
        (plausibility.dose, 0, None),
        (plausibility.dose, limits.DOSE_MAX, None),
        (plausibility.dose, 10**40, "must be between 0 and 100000"),
        (plausibility.dose, -1, "must be between 0 and 100000"),
    ],
)
def test_value_bounds(check, value, problem) -> None:  # type: ignore[no-untyped-def]
    assert check(value) == problem


def test_observation_ranges_come_from_the_vocabulary() -> None:
    assert plausibility.observation_value("egfr", 0) is None
    assert plausibility.observation_value("egfr", 200) is None
    assert plausibility.observation_value("egfr", Decimal("200.0001")) == (
        "200.0001 mL/min/1.73m² is outside the plausible range of eGFR, 0–200 mL/min/1.73m²; check the value and its unit"
    )
    assert plausibility.observation_value("creatinine", 0.04) is not None  # below the range's low end 0.05
    assert plausibility.observation_value("creatinine", 0.05) is None
    assert plausibility.observation_uln("alt", 35) is None
    assert plausibility.observation_uln("alt", 0) == "must be above 0"
    assert plausibility.observation_uln("alt", 10001) == "must be at most 10000 U/L, the plausible range of ALT"


def case(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "format": "sle-screening-case/1",
        "case_id": "c",
        "as_of": "2026-11-01",
        "patient": {"birth_date": "1990-05-01", "sex": "female", "weight_kg": 60, "sle_attested": False},
        "assessments": [{"date": "2026-10-01", "window_days": 10, "sledai2k": {"present": [], "not_assessed": []}}],
        "damage": [],
        "manifestations": [],
        "observations": [{"code": "alt", "date": "2026-10-01", "value": 30, "uln": 35}],
        "treatments": [{"drug": "azathioprine", "start": "2026-01-01", "end": "2026-06-01", "dose": 100}],
        "conditions": [],
    }
    base.update(changes)
    return base


def test_a_stored_case_is_checked_in_document_order() -> None:
    assert plausibility.stored_case(case(), today=TODAY) is None
    assert plausibility.stored_case(
        case(patient={"birth_date": "2027-01-01"}, observations=[{"code": "alt", "date": "1980-01-01", "value": 1}]),
        today=TODAY,
    ) == ("patient.birth_date", "cannot be in the future (2027-01-01 is after today, 2026-11-01)")
    assert plausibility.stored_case(
        case(treatments=[{"drug": "x", "start": "1989-01-01", "dose": 1}]), today=TODAY
    ) == (
        "treatments[0].start",
        "must not be before the birth date (1990-05-01)",
    )
    assert plausibility.stored_case(
        case(treatments=[{"drug": "x", "start": "2026-01-01", "end": "2026-11-02", "dose": 1}]), today=TODAY
    ) == ("treatments[0].end", "cannot be in the future (2026-11-02 is after today, 2026-11-01)")
    assert (
        plausibility.stored_case(
            case(observations=[{"code": "alt", "date": "2026-10-01", "value": 99999}]), today=TODAY
        )[0]
        == "observations[0].value"
    )
    assert plausibility.stored_case(case(classification={"ana_titre": 10**7}), today=TODAY) == (
        "classification.ana_titre",
        "must be between 0 and 1000000",
    )
