"""The two corrections of the default rules 2026.2, and 2026.1 files evaluating exactly as before.

1. ``manifestation_active`` has ``ln_unconfirmed``: with ``unknown``, active lupus nephritis whose class is
   unconfirmed (no biopsy class, or the latest biopsy older than the biopsy window, whatever its class) is
   unknown and asks for a kidney biopsy dated within the window; with ``not_met`` (and in a file that lacks
   the parameter, as every file before 2026.2 does) it is not met, as before.
2. ``cyclophosphamide_iv`` needs 70 days (84 in 2026.1): a completed Euro-Lupus course, six fortnightly pulses
   from the first to the last 70 days apart (71 calendar days counted), is adequate.
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from typing import Any

import pytest

from screening.engine import PatientFacts, RecordKind, Result, RuleSet, parse_rule_set, rule_set_to_dict
from screening.engine import screen as engine_screen
from screening.engine.adequacy import course_adequacy
from tests.screening.engine.helpers import (
    AS_OF,
    assessment,
    course,
    criterion_node,
    days_before,
    default_rules,
    facts,
    manifestation,
    rule_set_with,
    run,
)
from tests.shipped import earlier_rules_path

MET, NOT_MET, UNKNOWN = Result.MET, Result.NOT_MET, Result.UNKNOWN
ASKS = {"ln_unconfirmed": "unknown"}


def rules_2026_1() -> RuleSet:
    return parse_rule_set(json.loads(earlier_rules_path("2026.1").read_text(encoding="utf-8")))


def ln(*entries: tuple[int, bool, str | None]) -> PatientFacts:
    """Lupus nephritis entries, each (days before as-of, active, biopsy class)."""
    return facts(manifestations=tuple(manifestation("lupus_nephritis", days_before(d), a, c) for d, a, c in entries))


# ---------------------------------------------------------------- ln_unconfirmed: unknown


def test_active_nephritis_without_a_biopsy_class_is_unknown_and_asks_for_the_biopsy() -> None:
    r = run("manifestation_active", ln((20, True, None)), **ASKS)
    assert r.result is UNKNOWN
    since = days_before(365).isoformat()
    assert r.missing == (f"a kidney biopsy class of the active lupus nephritis, dated on or after {since}",)
    (lack,) = r.lacks
    (need,) = lack.needs
    assert (need.record, need.code, need.ref) == (RecordKind.MANIFESTATION, "lupus_nephritis", None)
    assert r.explanation == (
        f"Lupus nephritis active ({days_before(20).isoformat()}), but no biopsy class recorded; "
        "not recorded: Neuropsychiatric lupus"
    )
    assert r.refs == (f"manifestation:lupus_nephritis:{days_before(20).isoformat()}",)


@pytest.mark.parametrize(
    ("age_days", "biopsy_class", "expected"),
    [
        (365, "IV", MET),  # on the window's first day: confirmed
        (366, "IV", UNKNOWN),  # a day older: unconfirmed
        (366, "II", UNKNOWN),  # older, whatever its class: a new biopsy could show another
        (365, "II", NOT_MET),  # a recent biopsy of a class not listed settles it
    ],
)
def test_the_biopsy_window_edge_with_ln_unconfirmed_unknown(age_days: int, biopsy_class: str, expected: Result) -> None:
    r = run("manifestation_active", ln((age_days, True, biopsy_class)), **ASKS)
    assert r.result is expected
    assert (r.missing != ()) == (expected is UNKNOWN)
    if expected is UNKNOWN:
        # What is active comes first, then why it does not count: never "none active".
        biopsy = days_before(age_days).isoformat()
        assert r.explanation.startswith(
            f"Lupus nephritis active ({biopsy}), but its class {biopsy_class} biopsy of {biopsy} is older than 365 days"
        )
        assert r.refs == (f"manifestation:lupus_nephritis:{days_before(age_days).isoformat()}",)


def test_a_follow_up_entry_keeps_an_old_biopsy_which_is_then_unconfirmed() -> None:
    r = run("manifestation_active", ln((400, True, "IV"), (10, True, None)), **ASKS)
    assert r.result is UNKNOWN
    assert set(r.refs) == {
        f"manifestation:lupus_nephritis:{days_before(10).isoformat()}",
        f"manifestation:lupus_nephritis:{days_before(400).isoformat()}",
    }


def test_nephritis_not_active_not_recorded_or_not_listed_is_not_met() -> None:
    assert run("manifestation_active", ln((400, True, None), (10, False, None)), **ASKS).result is NOT_MET
    assert run("manifestation_active", facts(), **ASKS).result is NOT_MET
    r = run("manifestation_active", ln((20, True, None)), codes=["neuropsychiatric"], **ASKS)
    assert (r.result, r.missing) == (NOT_MET, ())


def test_another_active_manifestation_meets_it_whatever_the_nephritis() -> None:
    both = facts(
        manifestations=(
            manifestation("lupus_nephritis", days_before(20), True),
            manifestation("neuropsychiatric", days_before(5), True),
        )
    )
    r = run("manifestation_active", both, **ASKS)
    assert (r.result, r.missing) == (MET, ())


def test_with_no_biopsy_window_only_a_missing_class_is_unconfirmed() -> None:
    r = run("manifestation_active", ln((20, True, None)), biopsy_max_age_days=None, **ASKS)
    assert (r.result, r.missing) == (UNKNOWN, ("a kidney biopsy class of the active lupus nephritis",))
    assert run("manifestation_active", ln((4000, True, "IV")), biopsy_max_age_days=None, **ASKS).result is MET
    assert run("manifestation_active", ln((4000, True, "II")), biopsy_max_age_days=None, **ASKS).result is NOT_MET


# ---------------------------------------------------------------- ln_unconfirmed: not_met, and files without it


EXAMPLES = {
    "unbiopsied": ln((20, True, None)),
    "old listed": ln((366, True, "IV")),
    "old unlisted": ln((366, True, "II")),
    "recent unlisted": ln((40, True, "II")),
    "recent listed": ln((40, True, "IV")),
    "resolved": ln((400, True, "IV"), (10, False, None)),
    "nothing recorded": facts(),
}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_a_file_without_ln_unconfirmed_reads_not_met_exactly_as_2026_1_judged(name: str) -> None:
    node = criterion_node("p", "manifestation_active")
    explicit = rule_set_with(node)
    del node["params"]["ln_unconfirmed"]
    absent = rule_set_with(node)
    assert absent == explicit  # the same parsed rules: nothing downstream can tell them apart
    assert absent.pathways[0].inclusion.params.ln_unconfirmed == "not_met"  # type: ignore[union-attr]
    r = engine_screen(EXAMPLES[name], absent, AS_OF).pathway("p").inclusion
    assert r.result is (MET if name == "recent listed" else NOT_MET) and r.missing == ()


def test_a_bad_ln_unconfirmed_is_refused_naming_node_and_parameter() -> None:
    from screening.engine import RuleSetError

    with pytest.raises(RuleSetError, match=r"^p: params.ln_unconfirmed: must be not_met or unknown$"):
        rule_set_with(criterion_node("p", "manifestation_active", ln_unconfirmed="absent"))


def test_the_2026_1_file_parses_with_not_met_everywhere_and_round_trips_to_the_same_rules() -> None:
    rules = rules_2026_1()
    criteria = [rules.pathway("hsct").inclusion]
    found = []
    while criteria:
        node = criteria.pop()
        if hasattr(node, "children"):
            criteria.extend(node.children)  # type: ignore[union-attr]
        elif node.type == "manifestation_active":  # type: ignore[union-attr]
            found.append(node.params.ln_unconfirmed)  # type: ignore[union-attr]
    cns = next(c for c in rules.cautions if c.id == "active_cns_lupus").criterion
    assert found + [cns.params.ln_unconfirmed] == ["not_met", "not_met"]  # type: ignore[union-attr]
    assert parse_rule_set(rule_set_to_dict(rules)) == rules


def test_the_2026_2_default_asks_for_the_biopsy_for_hsct_only() -> None:
    rules = default_rules()
    data = rule_set_to_dict(rules)
    major = data["pathways"][0]["inclusion"]["all"][2]["any"][1]
    assert major["id"] == "hsct.severe_activity.major_organ" and major["params"]["ln_unconfirmed"] == "unknown"
    cns = next(c for c in data["cautions"] if c["id"] == "active_cns_lupus")["criterion"]
    assert cns["params"]["ln_unconfirmed"] == "not_met"


# ---------------------------------------------------------------- through the default rules


def nephritis_patient(sledai: tuple[str, ...]) -> PatientFacts:
    """Unbiopsied active nephritis, otherwise meeting every HSCT criterion but severe activity."""
    base = facts(
        sle_attested=True,
        assessments=(assessment(days_before(10), sledai),),
        manifestations=(manifestation("lupus_nephritis", days_before(20), True),),
        treatments=(
            course("hydroxychloroquine", days_before(2000), None, 400),
            course("mycophenolate_mofetil", days_before(800), days_before(500), 3000, "inadequate_response"),
            course("azathioprine", days_before(450), days_before(300), 150, "intolerance"),
        ),
    )
    return base


def test_unconfirmed_nephritis_leaves_hsct_short_of_data_under_2026_2_and_not_flagged_under_2026_1() -> None:
    patient = nephritis_patient(("proteinuria", "low_complement"))  # SLEDAI-2K 6: below 8
    new = engine_screen(patient, default_rules(), AS_OF).pathway("hsct")
    old = engine_screen(patient, rules_2026_1(), AS_OF).pathway("hsct")
    assert (new.outcome.value, old.outcome.value) == ("insufficient_data", "not_flagged")
    assert new.missing == (
        f"a kidney biopsy class of the active lupus nephritis, dated on or after {days_before(365).isoformat()}",
    )
    # SLEDAI-2K 8 settles the "any" group: the unknown leaf is no longer listed.
    active = engine_screen(nephritis_patient(("proteinuria", "urinary_casts")), default_rules(), AS_OF).pathway("hsct")
    assert (active.outcome.value, active.missing) == ("flagged", ())


def test_the_active_cns_lupus_caution_is_unchanged() -> None:
    patient = nephritis_patient(("proteinuria",))
    for rules in (default_rules(), rules_2026_1()):
        cautions = {c.id: c for c in engine_screen(patient, rules, AS_OF).pathway("hsct").cautions}
        assert cautions["active_cns_lupus"].status.value == "absent"


# ---------------------------------------------------------------- Euro-Lupus cyclophosphamide


def pulses(first: date, last: date) -> Any:
    return course("cyclophosphamide_iv", first, last, 500, "inadequate_response")


def adequacy(rules: RuleSet, first: date, last: date) -> tuple[Result, str]:
    cyc = pulses(first, last)
    return course_adequacy(PatientFacts(treatments=(cyc,)), rules, AS_OF)[cyc.ref]


def test_a_completed_euro_lupus_course_is_adequate_under_2026_2_and_was_not_under_2026_1() -> None:
    first = days_before(200)
    dates = [first + timedelta(days=14 * i) for i in range(6)]  # six fortnightly pulses
    assert (dates[-1] - dates[0]).days == 70
    assert adequacy(default_rules(), dates[0], dates[-1]) == (MET, "adequate: 71 days")
    result, text = adequacy(rules_2026_1(), dates[0], dates[-1])
    assert result is NOT_MET and "71 of 84 days" in text


@pytest.mark.parametrize(("first_to_last", "expected"), [(69, MET), (68, NOT_MET)])
def test_the_cyclophosphamide_boundary_is_70_calendar_days_counted(first_to_last: int, expected: Result) -> None:
    """70 days counted (first and last day included) is the least: 69 days first to last."""
    first = days_before(200)
    result, text = adequacy(default_rules(), first, first + timedelta(days=first_to_last))
    assert result is expected
    if expected is NOT_MET:
        assert "69 of 70 days" in text


def test_a_failed_euro_lupus_course_counts_as_a_failed_agent_under_2026_2() -> None:
    first = days_before(300)
    patient = facts(treatments=(pulses(first, first + timedelta(days=70)),))
    new = run("failed_agents_at_least", patient)
    old = engine_screen(patient, _single_2026_1("failed_agents_at_least", min_count=1), AS_OF).pathway("p").inclusion
    assert (new.result, old.result) == (MET, NOT_MET)


def _single_2026_1(type_name: str, **overrides: Any) -> RuleSet:
    """One criterion with 2026.1's drug catalogue."""
    data = json.loads(earlier_rules_path("2026.1").read_text(encoding="utf-8"))
    node = criterion_node("p", type_name, **overrides)
    return parse_rule_set({**data, "pathways": [{"id": "p", "label": "test", "inclusion": node}], "cautions": []})


def test_nothing_else_changed_between_the_two_files() -> None:
    old = rule_set_to_dict(rules_2026_1())
    new = rule_set_to_dict(default_rules())
    patched = copy.deepcopy(old)
    patched["version"] = "2026.2"
    patched["pathways"][0]["inclusion"]["all"][2]["any"][1]["params"]["ln_unconfirmed"] = "unknown"
    next(d for d in patched["drugs"] if d["drug"] == "cyclophosphamide_iv")["min_days"] = 70
    assert patched == new
