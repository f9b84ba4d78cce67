"""The engine's verdict on each course (engine.course_verdicts): the failure criteria's judgement, not the stop reason."""

from __future__ import annotations

import copy
from typing import Any

from screening import engine
from screening.engine import FAILED, NOT_FAILED, UNDETERMINED, course_verdicts, parse_rule_set
from tests.screening.engine.helpers import (
    AS_OF,
    BASE_PARAMS,
    assessment,
    course,
    days_before,
    default_rules,
    default_rules_json,
    facts,
    rule_set_with,
)


def failed_agents(node_id: str, **overrides: Any) -> dict[str, Any]:
    params = copy.deepcopy(BASE_PARAMS["failed_agents_at_least"])
    params.update(overrides)
    return {"id": node_id, "type": "failed_agents_at_least", "params": params, "source": "T"}


def two_pathways(a: dict[str, Any], b: dict[str, Any]) -> engine.RuleSet:
    """Pathways "a" and "b", each with one failed_agents_at_least criterion (root ids "a", "b")."""
    return parse_rule_set(
        {
            "format": "sle-screening-rules/1",
            "name": "Two pathways",
            "version": "t2",
            "pathways": [
                {"id": "a", "label": "a evaluation", "inclusion": a},
                {"id": "b", "label": "b evaluation", "inclusion": b},
            ],
            "cautions": [],
            "drugs": default_rules_json()["drugs"],
        }
    )


def test_a_full_length_course_stopped_for_inadequate_response_below_the_dose_has_not_failed() -> None:
    # mycophenolate needs 2000 mg/day for 180 days: 1000 mg/day for a year is not an adequate trial
    low = course("mycophenolate_mofetil", days_before(700), days_before(300), dose=1000, stop="inadequate_response")
    full = course("mycophenolate_mofetil", days_before(290), days_before(60), dose=3000, stop="inadequate_response")
    verdicts = course_verdicts(default_rules(), facts(treatments=(low, full)), AS_OF)
    assert verdicts[low.ref].verdict == NOT_FAILED
    assert verdicts[low.ref].judgements[0].reason == (
        "stopped for inadequate response, not adequate: dose 1000 mg/day < 2000 mg/day"
    )
    assert verdicts[full.ref].verdict == FAILED
    assert verdicts[full.ref].judgements[0].reason.startswith("stopped for inadequate response, adequate: ")
    assert verdicts[full.ref].judgements[0].pathways == ("hsct",)
    assert verdicts[full.ref].judgements[0].criteria == (
        "hsct.refractory.failed_agents",
        "hsct.refractory.steroid_dependent.failed_agent",
    )


def test_a_short_cyclophosphamide_course_stopped_for_inadequate_response_has_not_failed() -> None:
    short = course("cyclophosphamide_iv", days_before(200), days_before(170), dose=500, stop="inadequate_response")
    verdict = course_verdicts(default_rules(), facts(treatments=(short,)), AS_OF)[short.ref]
    assert verdict.verdict == NOT_FAILED and "31 of 70 days" in verdict.judgements[0].reason


def test_undetermined_courses_say_what_is_missing() -> None:
    no_dose = course("mycophenolate_mofetil", days_before(400), days_before(100), stop="inadequate_response")
    no_reason = course("azathioprine", days_before(90), days_before(10), dose=150)
    verdicts = course_verdicts(default_rules(), facts(treatments=(no_dose, no_reason)), AS_OF)
    assert verdicts[no_dose.ref].verdict == UNDETERMINED
    assert verdicts[no_dose.ref].judgements[0].missing == ("dose",)
    assert verdicts[no_reason.ref].verdict == UNDETERMINED
    assert verdicts[no_reason.ref].judgements[0].missing == ("stop reason",)


def test_courses_the_failure_criteria_do_not_read_are_left_out() -> None:
    hcq = course("hydroxychloroquine", days_before(400), days_before(100), dose=400, stop="intolerance")
    pred = course("prednisone", days_before(400), dose=10)
    assert course_verdicts(default_rules(), facts(treatments=(hcq, pred)), AS_OF) == {}


def test_an_ongoing_course_is_judged_with_the_latest_activity() -> None:
    ongoing = course("mycophenolate_mofetil", days_before(300), dose=3000)
    active = facts(treatments=(ongoing,), assessments=(assessment(days_before(5), present=("arthritis", "rash")),))
    verdict = course_verdicts(default_rules(), active, AS_OF)[ongoing.ref]
    assert verdict.verdict == FAILED and verdict.end is None and "ongoing" in verdict.judgements[0].reason
    quiet = facts(treatments=(ongoing,), assessments=(assessment(days_before(5)),))
    assert course_verdicts(default_rules(), quiet, AS_OF)[ongoing.ref].verdict == NOT_FAILED


def test_pathways_that_judge_a_course_differently_each_get_their_verdict() -> None:
    rules = two_pathways(failed_agents("a", count_intolerance=True), failed_agents("b", count_intolerance=False))
    stopped = course("azathioprine", days_before(200), days_before(150), dose=150, stop="intolerance")
    verdict = course_verdicts(rules, facts(treatments=(stopped,)), AS_OF)[stopped.ref]
    assert not verdict.uniform and verdict.verdict is None
    assert [(j.pathways, j.verdict, j.reason) for j in verdict.judgements] == [
        (("a",), FAILED, "stopped for intolerance (counted)"),
        (("b",), NOT_FAILED, "stopped for intolerance (not counted)"),
    ]
    assert verdict.verdicts() == {FAILED, NOT_FAILED}


def test_pathways_that_agree_share_one_judgement_and_classes_are_each_criterions_own() -> None:
    rules = two_pathways(failed_agents("a"), failed_agents("b", classes=["biologic"]))
    aza = course("azathioprine", days_before(200), days_before(150), dose=150, stop="intolerance")
    rtx = course("rituximab", days_before(100), days_before(90), dose=1000, stop="intolerance")
    verdicts = course_verdicts(rules, facts(treatments=(aza, rtx)), AS_OF)
    assert verdicts[aza.ref].judgements[0].pathways == ("a",)  # b reads biologics only
    assert verdicts[rtx.ref].uniform and verdicts[rtx.ref].judgements[0].pathways == ("a", "b")


def test_facts_after_the_as_of_date_are_not_known() -> None:
    later = course("azathioprine", days_before(-5), days_before(-1), dose=150, stop="intolerance")
    ended_later = course("mycophenolate_mofetil", days_before(300), days_before(-10), dose=3000, stop="intolerance")
    verdicts = course_verdicts(rule_set_with(failed_agents("p")), facts(treatments=(later, ended_later)), AS_OF)
    assert later.ref not in verdicts
    assert verdicts[ended_later.ref].end is None and verdicts[ended_later.ref].stop_reason is None


def test_the_verdicts_agree_with_the_criterion_they_come_from() -> None:
    """Same judgement as the screening's own explanation of failed_agents_at_least (one function for both)."""
    courses = (
        course("mycophenolate_mofetil", days_before(700), days_before(300), dose=1000, stop="inadequate_response"),
        course("azathioprine", days_before(200), days_before(150), dose=150, stop="intolerance"),
        course("rituximab", days_before(100), days_before(90), stop="remission"),
    )
    patient = facts(treatments=courses)
    rules = rule_set_with(failed_agents("p"))
    explanation = engine.screen(patient, rules, AS_OF).pathway("p").inclusion.explanation
    for ref, verdict in course_verdicts(rules, patient, AS_OF).items():
        judged = verdict.judgements[0]
        assert f"{judged.verdict} ({judged.reason})" in explanation, ref
