"""Record consistency hints: places where a patient's records seem to disagree with each other.

A hint asks a person to look; it never changes an outcome (screening does not read hints). Each names
the records it read, as criteria do, so the page can link to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from clinical import vocab
from screening.engine.context import drug_name
from screening.engine.facts import Manifestation, PatientFacts

# Biopsy classes and the 2019 EULAR/ACR renal criterion each supports.
LN_CRITERION_OF_CLASS = {
    "III": "ln_class_iii_or_iv",
    "IV": "ln_class_iii_or_iv",
    "III+V": "ln_class_iii_or_iv",
    "IV+V": "ln_class_iii_or_iv",
    "II": "ln_class_ii_or_v",
    "V": "ln_class_ii_or_v",
}
ASSESSED_BEFORE_STOP_DAYS = 90  # a course stopped for inadequate response: was activity assessed near its end?
RENAL_SLEDAI_ITEMS = ("proteinuria", "urinary_casts", "hematuria", "pyuria")


@dataclass(frozen=True, slots=True)
class Hint:
    code: str
    text: str
    refs: tuple[str, ...]


def _ln_class_not_in_criteria(facts: PatientFacts, as_of: date) -> list[Hint]:
    if facts.criteria is None:
        return []  # not assessed: the missing-data list asks for them already
    hints = []
    biopsies = sorted(
        (m for m in facts.manifestations if m.biopsy_class and m.date <= as_of), key=lambda m: (m.date, m.ref)
    )
    seen: set[str] = set()
    for biopsy in reversed(biopsies):
        criterion = LN_CRITERION_OF_CLASS.get(biopsy.biopsy_class or "")
        if criterion is None or criterion in facts.criteria or criterion in seen:
            continue
        seen.add(criterion)
        label = vocab.EULAR_CRITERIA[criterion].label
        hints.append(
            Hint(
                "ln_class_not_in_criteria",
                f"A class {biopsy.biopsy_class} kidney biopsy is recorded ({biopsy.date.isoformat()}), but the 2019 "
                f"EULAR/ACR criteria recorded do not include “{label}”.",
                (biopsy.ref, facts.refs.criteria),
            )
        )
    return hints


def _stopped_unassessed(facts: PatientFacts, as_of: date) -> list[Hint]:
    hints = []
    for course in sorted(facts.treatments, key=lambda t: (t.start, t.ref)):
        if course.stop_reason != "inadequate_response" or course.end is None or course.end > as_of:
            continue
        since = course.end - timedelta(days=ASSESSED_BEFORE_STOP_DAYS)
        if any(since <= a.date <= course.end for a in facts.assessments):
            continue
        name = drug_name(course.drug)
        hints.append(
            Hint(
                "stopped_unassessed",
                f"The {name} course was stopped for inadequate response on {course.end.isoformat()}, but no "
                f"disease-activity assessment is recorded in its last {ASSESSED_BEFORE_STOP_DAYS} days.",
                (course.ref,),
            )
        )
    return hints


def _latest_by_code(facts: PatientFacts, as_of: date) -> dict[str, Manifestation]:
    latest: dict[str, Manifestation] = {}
    for m in sorted(facts.manifestations, key=lambda m: (m.date, m.ref)):
        if m.date <= as_of:
            latest[m.code] = m
    return latest


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]


def _active_ln_unbiopsied(facts: PatientFacts, as_of: date) -> list[Hint]:
    latest = _latest_by_code(facts, as_of).get("lupus_nephritis")
    if latest is None or not latest.active:
        return []
    if any(m.code == "lupus_nephritis" and m.biopsy_class and m.date <= as_of for m in facts.manifestations):
        return []
    return [
        Hint(
            "active_ln_unbiopsied",
            f"Lupus nephritis is recorded as active ({latest.date.isoformat()}) with no kidney biopsy class recorded.",
            (latest.ref,),
        )
    ]


def _renal_activity_without_ln(facts: PatientFacts, as_of: date) -> list[Hint]:
    assessments = sorted((a for a in facts.assessments if a.date <= as_of), key=lambda a: (a.date, a.ref))
    if not assessments or "lupus_nephritis" in _latest_by_code(facts, as_of):
        return []
    latest = assessments[-1]
    renal = [_lower(vocab.SLEDAI_ITEMS[i].label) for i in RENAL_SLEDAI_ITEMS if i in latest.sledai_present]
    if not renal:
        return []
    return [
        Hint(
            "renal_activity_without_ln",
            f"The SLEDAI-2K of {latest.date.isoformat()} scores {', '.join(renal)}, but no lupus nephritis entry "
            "is recorded under organ involvement.",
            (latest.ref,),
        )
    ]


CHECKS = (_ln_class_not_in_criteria, _active_ln_unbiopsied, _renal_activity_without_ln, _stopped_unassessed)


def consistency_hints(facts: PatientFacts, as_of: date) -> list[Hint]:
    """Every hint for the records known on as_of, in a fixed order."""
    return [hint for check in CHECKS for hint in check(facts, as_of)]
