"""Record consistency hints: each check fires on records that disagree and stays quiet otherwise; never an outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest

from screening.engine import consistency_hints
from tests.screening.engine.helpers import (
    AS_OF,
    assessment,
    course,
    facts,
    manifestation,
)

DAY = timedelta(days=1)


def codes(f) -> list[str]:
    return [h.code for h in consistency_hints(f, AS_OF)]


@pytest.mark.parametrize("biopsy, criteria, fires", [
    ("IV", ("ln_class_ii_or_v",), True),
    ("III+V", (), True),
    ("IV", ("ln_class_iii_or_iv",), False),
    ("V", ("ln_class_iii_or_iv",), True),
    ("V", ("ln_class_ii_or_v",), False),
    ("VI", (), False),  # no criterion is supported by class VI
])  # fmt: skip
def test_a_biopsy_class_missing_from_the_classification_criteria(biopsy, criteria, fires) -> None:
    f = facts(criteria=criteria, manifestations=(manifestation("lupus_nephritis", AS_OF - 30 * DAY, True, biopsy),))
    hints = consistency_hints(f, AS_OF)
    assert ("ln_class_not_in_criteria" in [h.code for h in hints]) == fires
    if fires:
        hint = hints[0]
        assert f"class {biopsy} kidney biopsy" in hint.text and "2019 EULAR/ACR" in hint.text
        assert hint.refs == (
            f"manifestation:lupus_nephritis:{(AS_OF - 30 * DAY).isoformat()}",
            "classification.criteria",
        )


def test_criteria_not_assessed_give_no_biopsy_hint() -> None:
    f = facts(criteria=None, manifestations=(manifestation("lupus_nephritis", AS_OF, True, "IV"),))
    assert "ln_class_not_in_criteria" not in codes(f)


def test_a_course_stopped_for_inadequate_response_with_no_assessment_near_its_end() -> None:
    end = AS_OF - 20 * DAY
    stopped = course("mycophenolate_mofetil", end - 200 * DAY, end, dose=2000, stop="inadequate_response")
    alone = facts(treatments=(stopped,), assessments=(assessment(end - 91 * DAY),))
    assert codes(alone) == ["stopped_unassessed"]
    assert "mycophenolate mofetil course was stopped for inadequate response" in consistency_hints(alone, AS_OF)[0].text
    assessed = facts(treatments=(stopped,), assessments=(assessment(end - 90 * DAY),))
    assert codes(assessed) == []
    other_reason = facts(treatments=(course("azathioprine", end - 200 * DAY, end, dose=100, stop="intolerance"),))
    assert codes(other_reason) == []
    ends_later = course("azathioprine", end, AS_OF + DAY, dose=100, stop="inadequate_response")
    assert codes(facts(treatments=(ends_later,))) == []  # its end is not known on as-of


def test_active_lupus_nephritis_with_no_biopsy() -> None:
    active = manifestation("lupus_nephritis", AS_OF - 10 * DAY, True)
    assert "active_ln_unbiopsied" in codes(facts(manifestations=(active,)))
    biopsied = manifestation("lupus_nephritis", AS_OF - 400 * DAY, True, "IV")
    assert "active_ln_unbiopsied" not in codes(facts(manifestations=(biopsied, active), criteria=None))
    quiet = manifestation("lupus_nephritis", AS_OF - 5 * DAY, False)
    assert "active_ln_unbiopsied" not in codes(facts(manifestations=(active, quiet)))


def test_renal_sledai_items_with_no_lupus_nephritis_entry() -> None:
    renal = assessment(AS_OF - 5 * DAY, present=("proteinuria", "rash"))
    hints = consistency_hints(facts(assessments=(renal,)), AS_OF)
    assert [h.code for h in hints] == ["renal_activity_without_ln"]
    assert "scores proteinuria, but no lupus nephritis entry" in hints[0].text
    entry = manifestation("lupus_nephritis", AS_OF - 100 * DAY, False)
    assert codes(facts(assessments=(renal,), manifestations=(entry,))) == []
    assert codes(facts(assessments=(assessment(AS_OF, present=("rash",)),))) == []


def test_screening_does_not_read_hints() -> None:
    """Hints never change an outcome: no module of the screening imports them."""
    from pathlib import Path

    import screening.engine as engine_package

    screening_modules = ("evaluate.py", "tree.py", "criteria.py", "lapse.py", "nearest.py", "output.py")
    folder = Path(engine_package.__file__).parent
    for name in screening_modules:
        assert "hints" not in (folder / name).read_text(encoding="utf-8"), name
