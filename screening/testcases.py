"""Test cases of the rules: case files with the outcome expected per pathway.

A draft is run against every test case before it may be published. A case
fails when the draft's outcome of a pathway differs from the expected one (or
the case no longer validates against the draft's drug catalogue). A failing
case blocks publishing until the draft changes or an admin updates the
expected outcome, with a reason kept in the case's history and the draft's
audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction

from accounts.models import User
from clinical.casefile import CaseFileError, validate_case
from screening import engine
from screening.contract import OUTCOME_LABEL, ResultView, view_of
from screening.errors import RuleSetRefused
from screening.models import EventKind, RuleCase, RuleSet, RuleSetEvent, RuleSetStatus

# outcome code → words, in the vocabulary's order (the choices of an expected outcome)
OUTCOMES = {outcome.value: label for outcome, label in OUTCOME_LABEL.items()}


@dataclass
class PathwayCheck:
    pathway: str
    expected: str | None
    actual: str | None

    @property
    def passed(self) -> bool:
        # a pathway the case has no expectation for is shown, not judged
        return self.expected is None or self.expected == self.actual


@dataclass
class CaseRun:
    """One test case run against a rule set: per pathway expected and actual, and the result with its trace."""

    case: RuleCase
    checks: list[PathwayCheck] = field(default_factory=list)
    error: str = ""
    result: ResultView | None = None

    @property
    def passed(self) -> bool:
        return not self.error and all(check.passed for check in self.checks)

    @property
    def actual(self) -> dict[str, str]:
        return {c.pathway: c.actual for c in self.checks if c.actual is not None}


def drug_units(content: dict[str, Any]) -> dict[str, str]:
    return {d["drug"]: d["dose_unit"] for d in content["drugs"]}


def run_case(case: RuleCase, rules: engine.RuleSet, units: dict[str, str]) -> CaseRun:
    """Screen one test case's file with the rules as of the file's own as_of date."""
    run = CaseRun(case=case)
    try:
        valid = validate_case(case.case, drugs=units)
        result = engine.screen(engine.facts_from_case(valid), rules, date.fromisoformat(valid["as_of"]))
    except CaseFileError as err:
        run.error = f"the case file does not validate against this rule set's drug catalogue: {err}"
    except engine.EngineError as err:
        run.error = str(err)
    else:
        run.result = view_of(result, case_id=case.name)
    actual = {p.id: p.outcome.value for p in run.result.pathways} if run.result is not None else {}
    pathways = [p.id for p in rules.pathways] + [p for p in case.expected if p not in actual]
    run.checks = [PathwayCheck(p, case.expected.get(p), actual.get(p)) for p in dict.fromkeys(pathways)]
    return run


def run_test_cases(content: dict[str, Any]) -> list[CaseRun]:
    """Every test case run against a rule set's content (one query; the engine does the rest)."""
    rules = engine.parse_rule_set(content)
    units = drug_units(content)
    return [run_case(case, rules, units) for case in RuleCase.objects.order_by("name")]


def failing(runs: list[CaseRun]) -> list[CaseRun]:
    return [run for run in runs if not run.passed]


def _check_expected(expected: dict[str, str]) -> dict[str, str]:
    for pathway, outcome in expected.items():
        if outcome not in OUTCOMES:
            raise RuleSetRefused(f"expected {pathway}: must be one of {', '.join(OUTCOMES)}", field=pathway)
    if not expected:
        raise RuleSetRefused("expected: give the expected outcome of at least one pathway")
    return expected


@transaction.atomic
def add_test_case(*, actor: User, case: dict[str, Any], expected: dict[str, str], note: str) -> RuleCase:
    """Keep a case file with its expected outcomes as a new test case (validated with the published catalogue)."""
    if not case.get("as_of"):
        raise RuleSetRefused(
            "file: as_of: a test case needs a fixed as-of date so it screens the same every day", field="file"
        )
    try:
        valid = validate_case(case, drugs=drug_units(RuleSet.objects.published().content))
    except CaseFileError as err:
        raise RuleSetRefused(f"file: {err}", field="file") from err
    if RuleCase.objects.filter(name=valid["case_id"]).exists():
        raise RuleSetRefused(
            f"file: a test case {valid['case_id']} already exists; give the file another case_id", field="file"
        )
    test_case = RuleCase(
        name=valid["case_id"], case=case, expected=_check_expected(expected), note=note.strip(), created_by=actor
    )
    test_case._history_user = actor  # type: ignore[attr-defined]
    test_case._change_reason = note.strip() or "test case added"  # type: ignore[attr-defined]
    test_case.save()
    return test_case


@transaction.atomic
def update_expectation(
    *, test_case: RuleCase, actor: User, expected: dict[str, str], reason: str, rule_set: RuleSet | None = None
) -> RuleCase:
    """Change a test case's expected outcomes, with the reason; logged on the draft that prompted it."""
    reason = reason.strip()
    if not reason:
        raise RuleSetRefused(
            "reason: say why the expected outcome changes (it is kept in the audit trail)", field="reason"
        )
    expected = _check_expected(expected)
    locked = RuleCase.objects.select_for_update().get(pk=test_case.pk)
    changes = [
        f"{p} {OUTCOMES.get(locked.expected.get(p, ''), 'none')} → {OUTCOMES[v]}"
        for p, v in expected.items()
        if locked.expected.get(p) != v
    ]
    if not changes:
        raise RuleSetRefused("nothing changed: these are the outcomes already expected")
    summary = f"test case {locked.name}: expected " + ", ".join(changes)
    locked.expected = {**locked.expected, **expected}
    locked._history_user = actor  # type: ignore[attr-defined]
    locked._change_reason = f"{summary} — {reason}"  # type: ignore[attr-defined]
    locked.save()
    # What every draft is tested against changed: each draft's sign-off is withdrawn (the reviewer
    # must look again) and each draft's audit trail records the change, whichever page it came from.
    for draft in RuleSet.objects.select_for_update().filter(status=RuleSetStatus.DRAFT).order_by("pk"):
        data: dict[str, Any] = {"test_case": locked.name, "expected": locked.expected}
        if rule_set is not None and draft.pk != rule_set.pk:
            data["prompted_by"] = rule_set.version
        if draft.reviewed_by_id is not None:
            data["sign_off_withdrawn"] = str(draft.reviewed_by)
            draft.reviewed_by, draft.reviewed_at = None, None
            draft._history_user = actor  # type: ignore[attr-defined]
            draft._change_reason = f"sign-off withdrawn: {summary}"  # type: ignore[attr-defined]
            draft.save()
        RuleSetEvent.objects.create(
            rule_set=draft, actor=actor, kind=EventKind.EXPECTATION, summary=summary, reason=reason, data=data
        )
    return locked
