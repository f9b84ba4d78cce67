"""Whether each treatment course was an adequate trial, for display on the patient page."""

from __future__ import annotations

from datetime import date

from screening.engine.context import build_context
from screening.engine.criteria import judge_adequacy
from screening.engine.facts import PatientFacts
from screening.engine.results import Result
from screening.engine.ruleset import RuleSet


def course_adequacy(facts: PatientFacts, rule_set: RuleSet, as_of: date) -> dict[str, tuple[Result, str]]:
    """Course ref → (met / not_met / unknown, plain words) by the catalogue's thresholds (section 2)."""
    ctx = build_context(facts, rule_set, as_of)
    out: dict[str, tuple[Result, str]] = {}
    for course in ctx.courses:
        # An unknown verdict's text says what is missing ("adequacy unknown: no dose recorded").
        verdict = judge_adequacy(course, ctx)
        out[course.ref] = (verdict.result, verdict.text)
    return out
