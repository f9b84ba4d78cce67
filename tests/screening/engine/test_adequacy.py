"""Whether each course was an adequate trial (section 2), as the patient page shows it."""

from __future__ import annotations

from decimal import Decimal

from screening.engine import PatientFacts, Result
from screening.engine.adequacy import course_adequacy
from tests.screening.engine.helpers import AS_OF, course, days_before, default_rules


def verdicts(*courses, weight=None):
    facts = PatientFacts(weight_kg=None if weight is None else Decimal(weight), treatments=tuple(courses))
    return course_adequacy(facts, default_rules(), AS_OF)


def test_met_not_met_and_unknown() -> None:
    enough = course("mycophenolate_mofetil", days_before(400), days_before(200), dose=2000)  # 201 days, 2000 mg
    low = course("mycophenolate_mofetil", days_before(900), days_before(600), dose=1500)
    no_dose = course("mycophenolate_mofetil", days_before(1300), days_before(1000))
    out = verdicts(enough, low, no_dose)
    assert out[enough.ref] == (Result.MET, "adequate: 201 days")
    assert out[low.ref] == (Result.NOT_MET, "not adequate: dose 1500 mg/day < 2000 mg/day")
    assert out[no_dose.ref] == (Result.UNKNOWN, "adequacy unknown: no dose recorded")


def test_per_kg_threshold_needs_the_weight() -> None:
    aza = course("azathioprine", days_before(300), days_before(100), dose=150)
    assert verdicts(aza)[aza.ref] == (
        Result.UNKNOWN,
        "adequacy unknown: the patient's weight is not recorded (the dose threshold is per kg)",
    )
    assert verdicts(aza, weight=75)[aza.ref][0] is Result.MET  # 150 mg = 2.0 mg/kg × 75 kg: at the threshold
    assert verdicts(aza, weight=76)[aza.ref][0] is Result.NOT_MET


def test_courses_after_as_of_and_unknown_drugs_are_left_out() -> None:
    later = course("hydroxychloroquine", days_before(-5))
    assert verdicts(later) == {}
