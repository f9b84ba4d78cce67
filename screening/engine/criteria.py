"""One function per criterion type of the catalogue (``ruleset.CRITERION_TYPES``; docs/criteria.md).

Each takes the type's parameters and the Context and returns a Leaf: the
three-valued result, a one-line explanation naming the values and dates it
used (with how far off a number is when not met), the refs it read and, when
unknown, one line per piece of data that would settle it, each naming the
record it concerns (kind, code or ref) so that no reader has to parse the words.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from clinical import scoring, vocab
from screening.engine.context import Context, Course, dedupe, window_phrase, window_start
from screening.engine.criterion_types import (
    AgeBetweenParams,
    ConditionPresentParams,
    CriterionParams,
    DamageIndexAtLeastParams,
    DrugTriedParams,
    ExposureDaysAtLeastParams,
    FailedAgentsAtLeastParams,
    GlucocorticoidDependentParams,
    ManifestationActiveParams,
    ObservationCompareParams,
    RecentDrugParams,
    SledaiAtLeastParams,
    SleDiagnosisParams,
)
from screening.engine.facts import Assessment
from screening.engine.results import Missing, Need, RecordKind, Result, all_of, any_of, from_bool

MET, NOT_MET, UNKNOWN = Result.MET, Result.NOT_MET, Result.UNKNOWN

_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SYMBOL = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_STOP_REASON_TEXT = {
    "inadequate_response": "inadequate response",
    "intolerance": "intolerance",
    "remission": "remission",
    "non_adherence": "non-adherence",
    "other": "other reason",
}


@dataclass(frozen=True, slots=True)
class Leaf:
    """What a criterion function returns (the evaluator adds id, type and source)."""

    result: Result
    explanation: str
    refs: tuple[str, ...] = ()
    lacks: tuple[Missing, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        """The missing-data lines."""
        return tuple(m.line for m in self.lacks)


def _leaf(result: Result, explanation: str, refs: Iterable[str] = (), missing: Iterable[Missing] = ()) -> Leaf:
    lacks: dict[str, Missing] = {}
    if result is UNKNOWN:
        for item in missing:
            lacks.setdefault(item.line, item)
    return Leaf(result=result, explanation=explanation, refs=dedupe(refs), lacks=tuple(lacks.values()))


def _lack(record: RecordKind, line: str, *, code: str | None = None, ref: str | None = None) -> Missing:
    """A missing-data line naming one piece of data (its words are the line)."""
    return Missing(line=line, needs=(Need(record=record, text=line, code=code, ref=ref),))


def _unique(needs: Iterable[Need]) -> tuple[Need, ...]:
    return tuple(dict.fromkeys(needs))


# --------------------------------------------------------------------------
# Wording helpers


def num(value: Decimal | int) -> str:
    """A number as written in explanations (no exponent, no trailing zeros)."""
    if isinstance(value, int):
        return str(value)
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def _titre(titre: int) -> str:
    return "negative" if titre == 0 else f"1:{titre}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _needed_window(as_of: date, days: int | None) -> str:
    """Where a missing dated record would have to fall."""
    start = window_start(as_of, days)
    if start is None:
        return f"on or before {as_of.isoformat()} (none recorded)"
    return f"on or after {start.isoformat()} (none in the last {days} days)"


def _observation_label(code: str) -> str:
    return vocab.OBSERVATIONS[code].label


def _observation_value(code: str, value: Decimal) -> str:
    unit = vocab.OBSERVATIONS[code].unit
    # A scale such as ECOG's "0–5" is not a unit to print after the value.
    return num(value) if "–" in unit else f"{num(value)} {unit}"


# --------------------------------------------------------------------------
# SLEDAI-2K reading, shared by sledai_at_least and failed_agents_at_least


# Up to this many not-assessed items are named; more are counted.
_NAMED_ITEMS = 5


def _sledai_item(code: str) -> str:
    """A SLEDAI-2K item's label inside a sentence ("Low complement" → "low complement"; "CVA" stays)."""
    label = vocab.SLEDAI_ITEMS[code].label
    return label if label[:2].isupper() else label[0].lower() + label[1:]


@dataclass(frozen=True, slots=True)
class SledaiReading:
    result: Result
    assessment: Assessment | None
    low: int
    high: int
    not_assessed: tuple[str, ...]  # the not-assessed items that count, in form order
    label: str
    min_score: int
    days: int | None
    clinical_only: bool = False

    @property
    def scored(self) -> tuple[str, ...]:
        """The present items that count, in form order."""
        if self.assessment is None:
            return ()
        present = set(self.assessment.sledai_present)
        if self.clinical_only:
            present -= vocab.SLEDAI_SEROLOGICAL
        return tuple(code for code in vocab.SLEDAI_ITEMS if code in present)

    @property
    def unscored(self) -> bool:
        """An assessment none of whose counted items was assessed: no score at all."""
        counted = len(vocab.SLEDAI_ITEMS) - (len(vocab.SLEDAI_SEROLOGICAL) if self.clinical_only else 0)
        return self.assessment is not None and len(self.not_assessed) == counted

    def _not_assessed_text(self) -> str:
        if len(self.not_assessed) > _NAMED_ITEMS:
            return f"{len(self.not_assessed)} items not assessed"
        return "not assessed: " + ", ".join(_sledai_item(code) for code in self.not_assessed)

    def text(self, as_of: date, *, items: bool = True) -> str:
        """The score as read, e.g. "SLEDAI-2K 6–8 on 2026-10-15 (proteinuria 4, rash 2; not assessed: fever)".

        ``items`` False leaves out the items that scored (for a line that only needs the score).
        """
        if self.assessment is None:
            return f"no SLEDAI-2K assessment {window_phrase(as_of, self.days)}"
        when = self.assessment.date.isoformat()
        if self.unscored:
            return f"{self.label} not scored on {when}"
        details: list[str] = []
        if items:
            weights = [f"{_sledai_item(code)} {vocab.SLEDAI_ITEMS[code].weight}" for code in self.scored]
            details.append(", ".join(weights) or "no item present")
        if self.not_assessed:
            details.append(self._not_assessed_text())
        if not self.not_assessed:
            score = str(self.low)
        elif self.result is MET:
            score = f"at least {self.low}"
        elif self.result is NOT_MET:
            score = f"at most {self.high}"
        else:
            score = f"{self.low}–{self.high}"
        text = f"{self.label} {score} on {when}"
        return f"{text} ({'; '.join(details)})" if details else text

    def lack(self, as_of: date) -> Need:
        """The data that would settle an unknown reading: a new assessment, or this one's unassessed items."""
        if self.assessment is None:
            text = f"a SLEDAI-2K assessment dated {_needed_window(as_of, self.days)}"
            return Need(record=RecordKind.ASSESSMENT, text=text)
        when = self.assessment.date.isoformat()
        if self.unscored:
            text = f"the SLEDAI-2K items of {when} (none assessed), or a new scored SLEDAI-2K assessment"
        elif len(self.not_assessed) > _NAMED_ITEMS:
            text = f"the {len(self.not_assessed)} SLEDAI-2K items not assessed on {when}, or a new scored SLEDAI-2K assessment"
        else:
            named = ", ".join(_sledai_item(code) for code in self.not_assessed)
            text = f"SLEDAI-2K items not assessed on {when}: {named}"
        return Need(record=RecordKind.ASSESSMENT, text=text, ref=self.assessment.ref)


def read_sledai(ctx: Context, min_score: int, days: int | None, clinical_only: bool) -> SledaiReading:
    """Latest assessment in the window against a minimum, on the score's low and high bounds."""
    label = "clinical SLEDAI-2K (serology excluded)" if clinical_only else "SLEDAI-2K"
    assessment = ctx.latest_assessment(days)
    if assessment is None:
        return SledaiReading(UNKNOWN, None, 0, 0, (), label, min_score, days, clinical_only)
    low, high = scoring.sledai_bounds(
        assessment.sledai_present, assessment.sledai_not_assessed, clinical_only=clinical_only
    )
    counted = set(assessment.sledai_not_assessed)
    if clinical_only:
        counted -= vocab.SLEDAI_SEROLOGICAL
    not_assessed = tuple(code for code in vocab.SLEDAI_ITEMS if code in counted)
    if low >= min_score:
        result = MET
    elif high < min_score:
        result = NOT_MET
    else:
        result = UNKNOWN
    return SledaiReading(result, assessment, low, high, not_assessed, label, min_score, days, clinical_only)


# --------------------------------------------------------------------------
# Criterion types


def sle_diagnosis(p: SleDiagnosisParams, ctx: Context) -> Leaf:
    """SLE diagnosis: specialist attestation, or ANA entry criterion plus 2019 EULAR/ACR classification (S6)."""
    facts, refs = ctx.facts, ctx.facts.refs
    if facts.sle_attested:
        return _leaf(MET, "SLE diagnosis attested by a specialist", [refs.sle_attested])
    read = [refs.sle_attested, refs.ana_titre]
    ana = facts.ana_titre
    if ana is None:
        return _leaf(
            UNKNOWN,
            "not attested by a specialist; ANA titre not recorded",
            read,
            [
                _lack(
                    RecordKind.CLASSIFICATION,
                    "the ANA titre (highest ever), or a specialist's attestation of the SLE diagnosis",
                    code="ana_titre",
                    ref=refs.ana_titre,
                )
            ],
        )
    if ana < p.ana_min_titre:
        return _leaf(
            NOT_MET, f"not attested by a specialist; ANA {_titre(ana)}, needs ≥ {_titre(p.ana_min_titre)}", read
        )
    if facts.criteria is None:
        return _leaf(
            UNKNOWN,
            f"not attested by a specialist; ANA {_titre(ana)} meets the entry criterion, "
            "but the 2019 EULAR/ACR classification criteria are not recorded",
            read,
            [
                _lack(
                    RecordKind.CLASSIFICATION,
                    "the 2019 EULAR/ACR classification criteria present "
                    "(or a specialist's attestation of the SLE diagnosis)",
                    code="criteria",
                    ref=refs.criteria,
                )
            ],
        )
    read.append(refs.criteria)
    eular = scoring.eular_acr(ana, facts.criteria, ana_min_titre=p.ana_min_titre, min_score=p.classification_min_score)
    head = f"ANA {_titre(ana)}, 2019 EULAR/ACR score {eular.score}"
    needs = f"needs ≥ {p.classification_min_score}"
    if eular.classified:
        text = f"classified by the 2019 EULAR/ACR criteria: ANA {_titre(ana)}, score {eular.score} with a clinical criterion"
        return _leaf(MET, f"{text} ({needs})", read)
    if eular.score < p.classification_min_score:
        return _leaf(NOT_MET, f"not attested by a specialist; {head}, {needs}", read)
    return _leaf(NOT_MET, f"not attested by a specialist; {head} but no clinical criterion (needs at least one)", read)


def age_between(p: AgeBetweenParams, ctx: Context) -> Leaf:
    """Age in whole years on as-of within [min_years, max_years]."""
    birth = ctx.facts.birth_date
    read = [ctx.facts.refs.birth_date]
    if birth is None:
        lack = _lack(RecordKind.PATIENT, "the patient's birth date", code="birth_date", ref=ctx.facts.refs.birth_date)
        return _leaf(UNKNOWN, "birth date not recorded", read, [lack])
    age = scoring.age_on(birth, ctx.as_of)
    text = f"age {age} on {ctx.as_of.isoformat()} (born {birth.isoformat()}), range {p.min_years}–{p.max_years}"
    return _leaf(from_bool(p.min_years <= age <= p.max_years), text, read)


def sledai_at_least(p: SledaiAtLeastParams, ctx: Context) -> Leaf:
    """Latest SLEDAI-2K (or cSLEDAI) in the window at least min_score, judged on its bounds (S1, S2)."""
    reading = read_sledai(ctx, p.min_score, p.max_age_days, p.clinical_only)
    refs = [reading.assessment.ref] if reading.assessment is not None else []
    need = reading.lack(ctx.as_of)
    return _leaf(
        reading.result,
        f"{reading.text(ctx.as_of)}, needs ≥ {p.min_score}",
        refs,
        [Missing(line=need.text, needs=(need,))],
    )


def _or_list(items: Sequence[str]) -> str:
    """ "a", "a or b", "a, b or c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def manifestation_active(p: ManifestationActiveParams, ctx: Context) -> Leaf:
    """A listed manifestation active per its latest entry; lupus nephritis also needs a listed, recent biopsy class.

    Active lupus nephritis whose class is unconfirmed (no biopsy class, or the latest biopsy older than the
    window, whatever its class) is unknown, asking for the biopsy, when ``ln_unconfirmed`` is unknown; not met
    otherwise (rule sets before 2026.2). The explanation names what is active first, with why it does not
    count when it does not; "none active" only when nothing listed is active."""
    met: list[str] = []
    unconfirmed_active: list[str] = []  # active, but its class does not confirm it
    inactive: list[str] = []
    unrecorded: list[str] = []
    refs: list[str] = []
    unconfirmed = False
    asks_biopsy = p.ln_unconfirmed == "unknown"
    biopsy_since = window_start(ctx.as_of, p.biopsy_max_age_days)
    for code in p.codes:
        label = vocab.MANIFESTATION_CODES[code]
        latest = ctx.latest_manifestation(code)
        if latest is None:
            unrecorded.append(label)
            continue
        refs.append(latest.ref)
        if not latest.active:
            inactive.append(f"{label} not active ({latest.date.isoformat()})")
            continue
        active = f"{label} active ({latest.date.isoformat()})"
        if code != "lupus_nephritis":
            met.append(active)
            continue
        biopsy = ctx.latest_biopsy(code)
        if biopsy is None:
            unconfirmed_active.append(f"{active}, but no biopsy class recorded")
            unconfirmed = asks_biopsy
            continue
        refs.append(biopsy.ref)
        biopsy_text = f"class {biopsy.biopsy_class} biopsy of {biopsy.date.isoformat()}"
        old = biopsy_since is not None and biopsy.date < biopsy_since
        if biopsy.biopsy_class not in p.ln_classes and not (old and asks_biopsy):
            counted = f"not class {_or_list(p.ln_classes)}" if p.ln_classes else "not a class these rules count"
            unconfirmed_active.append(f"{active}, but its {biopsy_text} is {counted}")
        elif old:
            # whatever its class: a new biopsy could show another
            unconfirmed_active.append(f"{active}, but its {biopsy_text} is older than {p.biopsy_max_age_days} days")
            unconfirmed = asks_biopsy
        else:
            met.append(f"{active} with {biopsy_text}")
    if met:
        return _leaf(MET, "; ".join(met), refs)
    parts = unconfirmed_active + inactive
    if unrecorded:
        parts.append(f"not recorded: {', '.join(unrecorded)}")
    text = "; ".join(parts) if unconfirmed_active else "; ".join(["none active", *parts])
    if unconfirmed:
        when = "" if biopsy_since is None else f", dated on or after {biopsy_since.isoformat()}"
        lack = _lack(
            RecordKind.MANIFESTATION,
            f"a kidney biopsy class of the active lupus nephritis{when}",
            code="lupus_nephritis",
        )
        return _leaf(UNKNOWN, text, refs, [lack])
    return _leaf(NOT_MET, text, refs)


@dataclass(frozen=True, slots=True)
class Adequacy:
    result: Result
    text: str
    lacks: tuple[Need, ...]
    refs: tuple[str, ...]


def _dose_gap(course: Course) -> str:
    """Why a course's dose cannot be compared with its drug's threshold (``course.dose`` is None)."""
    record = course.record
    if record.dose is not None:
        return f"dose recorded in {record.dose_unit}, not {course.drug.dose_unit}"
    return "no dose recorded"


def judge_adequacy(course: Course, ctx: Context) -> Adequacy:
    """Kleene AND of days covered ≥ min_days and the drug's dose conditions (section 2).

    The text says why: "adequate: 200 days", "not adequate: 30 of 90 days", "adequacy unknown: no dose
    recorded" (each thing missing named once)."""
    drug = course.drug
    min_days = drug.min_days or 0
    days = course.days_covered
    parts = [from_bool(days >= min_days)]
    shortfalls: list[str] = []
    gaps: list[str] = []
    lacks: list[Need] = []
    refs: list[str] = []
    dose_lack = Need(record=RecordKind.TREATMENT, text=course.dose_lack, code=drug.drug, ref=course.ref)
    if days < min_days:
        shortfalls.append(f"{days} of {min_days} days")
    dose = course.dose
    unit = drug.dose_unit
    if drug.min_dose is not None:
        if dose is None:
            parts.append(UNKNOWN)
            lacks.append(dose_lack)
            gaps.append(_dose_gap(course))
        else:
            parts.append(from_bool(dose >= drug.min_dose))
            if dose < drug.min_dose:
                shortfalls.append(f"dose {num(dose)} {unit} < {num(drug.min_dose)} {unit}")
    if drug.min_dose_per_kg is not None:
        weight = ctx.facts.weight_kg
        refs.append(ctx.facts.refs.weight_kg)
        if dose is None or weight is None:
            parts.append(UNKNOWN)
            if dose is None:
                lacks.append(dose_lack)
                gaps.append(_dose_gap(course))
            if weight is None:
                lacks.append(
                    Need(
                        record=RecordKind.PATIENT,
                        text=f"the patient's weight ({course.name} dose threshold is per kg)",
                        code="weight_kg",
                        ref=ctx.facts.refs.weight_kg,
                    )
                )
                gaps.append("the patient's weight is not recorded (the dose threshold is per kg)")
        else:
            # dose ÷ weight ≥ threshold, multiplied out to stay exact in Decimal.
            needed = drug.min_dose_per_kg * weight
            enough = dose >= needed
            parts.append(from_bool(enough))
            if not enough:
                shortfalls.append(
                    f"dose {num(dose)} {unit} < {num(drug.min_dose_per_kg)} mg/kg × {num(weight)} kg = {num(needed)} {unit}"
                )
    result = all_of(parts)
    if result is MET:
        text = f"adequate: {_plural(days, 'day')}"
    elif result is NOT_MET:
        text = "not adequate: " + ", ".join(shortfalls)
    else:
        # A drug may set both dose conditions: a missing dose is still one thing lacking.
        text = "adequacy unknown: " + "; ".join(dict.fromkeys(gaps))
    return Adequacy(result, text, _unique(lacks) if result is UNKNOWN else (), tuple(refs))


@dataclass(frozen=True, slots=True)
class _Judgement:
    course: Course
    result: Result
    text: str
    lacks: tuple[Need, ...]
    refs: tuple[str, ...]


def _judge_course(course: Course, p: FailedAgentsAtLeastParams, ctx: Context) -> _Judgement:
    """Whether one course failed (notes on failed_agents_at_least, section 3)."""
    refs: list[str] = [course.ref]
    if course.ongoing:
        adequacy = judge_adequacy(course, ctx)
        reading = read_sledai(ctx, p.ongoing_active_sledai_min, p.max_age_days, False)
        refs += adequacy.refs
        if reading.assessment is not None:
            refs.append(reading.assessment.ref)
        result = all_of([adequacy.result, reading.result])
        lacks: list[Need] = []
        if result is UNKNOWN:
            lacks += adequacy.lacks
            if reading.result is UNKNOWN:
                lacks.append(reading.lack(ctx.as_of))
        activity = reading.text(ctx.as_of, items=False)
        text = f"ongoing, {adequacy.text}, {activity}, failed if ≥ {p.ongoing_active_sledai_min}"
        return _Judgement(course, result, text, tuple(lacks), tuple(refs))
    reason = course.stop_reason
    if reason is None:
        lack = Need(record=RecordKind.TREATMENT, text="stop reason", code=course.drug.drug, ref=course.ref)
        return _Judgement(course, UNKNOWN, "ended with no stop reason", (lack,), tuple(refs))
    stopped = f"stopped for {_STOP_REASON_TEXT.get(reason, reason)}"
    if reason == "intolerance":
        counted = "counted" if p.count_intolerance else "not counted"
        return _Judgement(course, from_bool(p.count_intolerance), f"{stopped} ({counted})", (), tuple(refs))
    if reason == "inadequate_response":
        adequacy = judge_adequacy(course, ctx)
        refs += adequacy.refs
        return _Judgement(course, adequacy.result, f"{stopped}, {adequacy.text}", adequacy.lacks, tuple(refs))
    return _Judgement(course, NOT_MET, stopped, (), tuple(refs))


_VERDICT = {MET: "failed", NOT_MET: "not failed", UNKNOWN: "undetermined"}


def failed_agents_at_least(p: FailedAgentsAtLeastParams, ctx: Context) -> Leaf:
    """Distinct agents of the listed classes that failed (definite and possible counts) against min_count."""
    judgements = [_judge_course(c, p, ctx) for c in ctx.courses if c.drug.drug_class in p.classes]
    by_agent: dict[str, list[_Judgement]] = {}
    for j in judgements:
        by_agent.setdefault(j.course.drug.agent, []).append(j)
    agent_result = {agent: any_of(j.result for j in js) for agent, js in sorted(by_agent.items())}
    definite = [a for a, r in agent_result.items() if r is MET]
    undetermined = [a for a, r in agent_result.items() if r is UNKNOWN]
    if len(definite) >= p.min_count:
        result = MET
    elif len(definite) + len(undetermined) < p.min_count:
        result = NOT_MET
    else:
        result = UNKNOWN
    count = _plural(len(definite), "failed agent")
    text = f"{count} ({', '.join(definite)})" if definite else count
    if undetermined:
        text += f" and {len(undetermined)} undetermined ({', '.join(undetermined)})"
    text += f", needs ≥ {p.min_count}"
    if judgements:
        courses = ", ".join(f"{j.course.label} {_VERDICT[j.result]} ({j.text})" for j in judgements)
        text += f"; courses: {courses}"
    else:
        text += f"; no {' or '.join(p.classes)} course recorded"
    # Section 1: one line per course whose failure is unknown, naming the course and what it lacks.
    missing = [
        Missing(
            line=f"{j.course.name} course started {j.course.start.isoformat()} needs: "
            + "; ".join(n.text for n in j.lacks),
            needs=j.lacks,
        )
        for j in judgements
        if j.result is UNKNOWN
    ]
    refs = [ref for j in judgements for ref in j.refs]
    return _leaf(result, text, refs, missing)


def _prednisone_dose(courses: Sequence[Course]) -> tuple[Decimal, str]:
    """The prednisone-equivalent sum of courses with a dose, and how it is made up, naming each drug
    and its factor where it is not 1: "methylprednisolone 6.4 mg/day = 8 mg prednisone"."""
    total = Decimal(0)
    parts: list[str] = []
    for c in courses:
        if c.dose is None:
            continue
        factor = c.drug.prednisone_factor or Decimal(1)
        equivalent = scoring.prednisone_equivalent(c.dose, factor)
        total += equivalent
        dose = f"{c.name} {num(c.dose)} {c.drug.dose_unit}"
        if factor == 1:
            parts.append(dose)
        elif len(courses) == 1:
            parts.append(f"{dose} = {num(equivalent)} mg prednisone")
        else:
            parts.append(f"{dose} ({num(equivalent)} mg prednisone)")
    if len(parts) == 1:
        return total, parts[0]
    return total, f"{' + '.join(parts)} = {num(total)} mg/day prednisone-equivalent"


def glucocorticoid_dependent(p: GlucocorticoidDependentParams, ctx: Context) -> Leaf:
    """Every day of (as_of − min_days, as_of] covered by glucocorticoids summing above the threshold (S8)."""
    as_of = ctx.as_of
    try:
        first = as_of - timedelta(days=p.min_days - 1)
    except OverflowError:
        first = date.min
    courses = [c for c in ctx.courses if c.drug.drug_class == "glucocorticoid" and c.last_day >= first]
    span = f"every day from {first.isoformat()} to {as_of.isoformat()}"
    need = f"needs > {num(p.above_mg_per_day)} mg/day prednisone-equivalent on {span}"
    # Split the examined days where the set of covering courses changes.
    cuts = {first} | {c.start for c in courses if c.start > first}
    cuts |= {c.last_day + timedelta(days=1) for c in courses if c.last_day < as_of}
    starts = sorted(cuts)
    verdicts: list[Result] = []
    lowest: tuple[Decimal, str] | None = None  # the lowest sum above the threshold, and where
    first_failure = ""
    unknown_courses: list[Course] = []
    for i, seg_start in enumerate(starts):
        seg_end = starts[i + 1] - timedelta(days=1) if i + 1 < len(starts) else as_of
        dates = (
            f"on {seg_start.isoformat()}"
            if seg_start == seg_end
            else f"from {seg_start.isoformat()} to {seg_end.isoformat()}"
        )
        covering = [c for c in courses if c.start <= seg_start <= c.last_day]
        known = [c for c in covering if c.dose is not None]
        total, made_up = _prednisone_dose(known)
        if not covering:
            verdict = NOT_MET
            first_failure = first_failure or f"no glucocorticoid course {dates}"
        elif total > p.above_mg_per_day:
            verdict = MET
            if lowest is None or total < lowest[0]:
                lowest = (total, f"{made_up} {dates}")
        elif len(known) < len(covering):
            verdict = UNKNOWN
            unknown_courses += [c for c in covering if c.dose is None]
        else:
            verdict = NOT_MET
            first_failure = first_failure or f"{made_up} {dates}"
        verdicts.append(verdict)
    result = all_of(verdicts)
    refs = [c.ref for c in courses]
    if result is MET:
        assert lowest is not None  # every segment met: at least one
        return _leaf(
            MET,
            f"above {num(p.above_mg_per_day)} mg/day prednisone-equivalent on {span} (lowest: {lowest[1]})",
            refs,
        )
    if result is NOT_MET:
        return _leaf(NOT_MET, f"{first_failure}, {need}", refs)
    undetermined = {id(c) for c in unknown_courses}
    unknown_sorted = [c for c in courses if id(c) in undetermined]
    missing = [
        _lack(
            RecordKind.TREATMENT,
            f"{c.dose_lack} of the {c.name} course started {c.start.isoformat()}",
            code=c.drug.drug,
            ref=c.ref,
        )
        for c in unknown_sorted
    ]
    named = ", ".join(f"the {c.name} course started {c.start.isoformat()}" for c in unknown_sorted)
    return _leaf(UNKNOWN, f"dose not known for {named}; {need}", refs, missing)


def drug_tried(p: DrugTriedParams, ctx: Context) -> Leaf:
    """A course of a listed agent started on or before as-of, or a listed condition present."""
    courses = [c for c in ctx.courses if c.drug.agent in p.agents]
    if courses:
        first = courses[0]
        return _leaf(MET, f"{first.name} course started {first.start.isoformat()}", [c.ref for c in courses])
    refs: list[str] = []
    states: list[str] = []
    for code in p.or_conditions:
        latest = ctx.latest_condition(code, None)
        label = vocab.CONDITION_CODES[code]
        if latest is None:
            states.append(f"{label} not recorded")
            continue
        refs.append(latest.ref)
        if latest.status == "present":
            return _leaf(MET, f"{label} present ({latest.date.isoformat()})", refs)
        states.append(f"{label} {latest.status} ({latest.date.isoformat()})")
    text = f"no course of {_or_list(p.agents)}"
    if states:
        text += "; " + "; ".join(states)
    return _leaf(NOT_MET, text, refs)


def _covered_days(courses: Sequence[Course]) -> int:
    """Calendar days covered by at least one of the courses."""
    total = 0
    covered_until: date | None = None
    for start, last in sorted((c.start, c.last_day) for c in courses):
        if covered_until is not None and start <= covered_until:
            start = covered_until + timedelta(days=1)
        if last >= start:
            total += (last - start).days + 1
        covered_until = last if covered_until is None else max(covered_until, last)
    return total


def exposure_days_at_least(p: ExposureDaysAtLeastParams, ctx: Context) -> Leaf:
    """Calendar days covered by at least one course of the listed classes, against min_days."""
    courses = [c for c in ctx.courses if c.drug.drug_class in p.classes]
    days = _covered_days(courses)
    classes = " or ".join(p.classes)
    text = f"{_plural(days, 'day')} covered by {classes} courses"
    if courses:
        text += f" ({', '.join(c.label for c in courses)})"
    return _leaf(from_bool(days >= p.min_days), f"{text}, needs ≥ {p.min_days}", [c.ref for c in courses])


def observation_compare(p: ObservationCompareParams, ctx: Context) -> Leaf:
    """Latest observation of the code in the window compared with a value (or value × its ULN), in Decimal."""
    label = _observation_label(p.code)
    latest = ctx.latest_observation(p.code, p.max_age_days)
    if latest is None:
        return _leaf(
            UNKNOWN,
            f"no {label} result {window_phrase(ctx.as_of, p.max_age_days)}",
            (),
            [
                _lack(
                    RecordKind.OBSERVATION,
                    f"{label} result dated {_needed_window(ctx.as_of, p.max_age_days)}",
                    code=p.code,
                )
            ],
        )
    seen = f"{label} {_observation_value(p.code, latest.value)} on {latest.date.isoformat()}"
    symbol = _SYMBOL[p.op]
    if p.times_uln:
        if latest.uln is None:
            return _leaf(
                UNKNOWN,
                f"{seen} with no ULN recorded, compared with {num(p.value)} × ULN",
                [latest.ref],
                [
                    _lack(
                        RecordKind.OBSERVATION,
                        f"ULN of the {label} result of {latest.date.isoformat()} (needed for {num(p.value)} × ULN)",
                        code=p.code,
                        ref=latest.ref,
                    )
                ],
            )
        threshold = p.value * latest.uln
        rule = f"{symbol} {num(p.value)} × ULN {num(latest.uln)} = {num(threshold)}"
    else:
        threshold = p.value
        rule = f"{symbol} {num(threshold)}"
    holds = _COMPARE[p.op](latest.value, threshold)
    return _leaf(from_bool(holds), f"{seen}, {'' if holds else 'not '}{rule}", [latest.ref])


def condition_present(p: ConditionPresentParams, ctx: Context) -> Leaf:
    """Latest entry in the window of a listed condition present; sex checked first; if_unrecorded for no entry."""
    facts = ctx.facts
    refs: list[str] = []
    if p.sex is not None:
        refs.append(facts.refs.sex)
        if facts.sex is not None and facts.sex != p.sex:
            return _leaf(NOT_MET, f"patient's sex is {facts.sex}; applies to {p.sex} patients only", refs)
    # An entry outside the window is not read: "not recorded" says within which window.
    unrecorded = (
        "not recorded" if p.max_age_days is None else f"not recorded {window_phrase(ctx.as_of, p.max_age_days)}"
    )
    present: list[str] = []
    states: list[str] = []
    missing: list[Missing] = []
    for code in p.codes:
        label = vocab.CONDITION_CODES[code]
        latest = ctx.latest_condition(code, p.max_age_days)
        if latest is None:
            if p.if_unrecorded == "absent":
                states.append(f"{label} {unrecorded}, taken as absent")
            else:
                states.append(f"{label} {unrecorded}")
                line = f"{label} status dated {_needed_window(ctx.as_of, p.max_age_days)}"
                missing.append(_lack(RecordKind.CONDITION, line, code=code))
            continue
        refs.append(latest.ref)
        state = f"{label} {latest.status} ({latest.date.isoformat()})"
        (present if latest.status == "present" else states).append(state)
    if present:
        return _leaf(MET, "; ".join(present), refs)
    return _leaf(UNKNOWN if missing else NOT_MET, "; ".join(states), refs, missing)


def recent_drug(p: RecentDrugParams, ctx: Context) -> Leaf:
    """A course of a listed agent covering a day of [as_of − within_days, as_of]."""
    courses = [c for c in ctx.courses if c.drug.agent in p.agents]
    since = window_start(ctx.as_of, p.within_days)
    window = window_phrase(ctx.as_of, p.within_days)
    refs = [c.ref for c in courses]
    recent = [c for c in courses if since is None or c.last_day >= since]
    if recent:
        return _leaf(MET, f"{recent[-1].label}, given {window}", refs)
    if courses:
        last = max(courses, key=lambda c: (c.last_day, c.start))
        return _leaf(NOT_MET, f"last course {last.label}, none given {window}", refs)
    return _leaf(NOT_MET, f"no course of {_or_list(p.agents)}", refs)


def damage_index_at_least(p: DamageIndexAtLeastParams, ctx: Context) -> Leaf:
    """Latest SLICC/ACR damage index (S7) at least min_score."""
    latest = ctx.latest_damage()
    if latest is None:
        return _leaf(
            UNKNOWN,
            f"no SLICC/ACR damage index recorded on or before {ctx.as_of.isoformat()}",
            (),
            [_lack(RecordKind.DAMAGE, "a SLICC/ACR damage index")],
        )
    score = scoring.sdi_score(dict(latest.items))
    text = f"SLICC/ACR damage index {score} on {latest.date.isoformat()}, needs ≥ {p.min_score}"
    return _leaf(from_bool(score >= p.min_score), text, [latest.ref])


# One function per criterion type, found by the type of its parameters.
CRITERION_FUNCTIONS: dict[type[Any], Callable[[Any, Context], Leaf]] = {
    SleDiagnosisParams: sle_diagnosis,
    AgeBetweenParams: age_between,
    SledaiAtLeastParams: sledai_at_least,
    ManifestationActiveParams: manifestation_active,
    FailedAgentsAtLeastParams: failed_agents_at_least,
    GlucocorticoidDependentParams: glucocorticoid_dependent,
    DrugTriedParams: drug_tried,
    ExposureDaysAtLeastParams: exposure_days_at_least,
    ObservationCompareParams: observation_compare,
    ConditionPresentParams: condition_present,
    RecentDrugParams: recent_drug,
    DamageIndexAtLeastParams: damage_index_at_least,
}


def evaluate_criterion(params: CriterionParams, ctx: Context) -> Leaf:
    """Dispatch on the parameters' type to the criterion function."""
    return CRITERION_FUNCTIONS[type(params)](params, ctx)
