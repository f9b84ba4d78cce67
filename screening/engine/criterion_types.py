"""The criterion catalogue: each type and its parameters, declared once.

A criterion type is its parameters class: every field is
``Annotated[python type, Param(...)]``. The Python type says what kind of
value the parameter holds and whether null is allowed (``int | None``); the
``Param`` says the rest (label, help, unit, range, vocabulary, the value a new
criterion is offered). The ``@criterion_type`` decorator registers the class
with what the type decides: when it is met, not met and unknown, and the data
it reports missing. Everything else is derived from that one declaration: the
file validation (``ruleset.parse_rule_set``), the admin forms
(``screening.forms``), the catalogue document (``catalogue_doc``) and the
order of parameters in change lists.

The kind of a parameter, from its Python type: ``bool`` boolean, ``int``
integer, ``Decimal`` number, ``tuple[str, ...]`` a list of codes from a
vocabulary, ``str`` one code from a vocabulary or one of fixed choices.
"""

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Final, Literal, TypeAlias, TypeVar, get_args, get_origin, get_type_hints

from clinical import limits, vocab

ParamValue: TypeAlias = int | Decimal | bool | str | tuple[str, ...] | None
ParamKind: TypeAlias = Literal["integer", "number", "boolean", "codes", "code", "choice"]

OPERATORS: Final[tuple[str, ...]] = ("<", "<=", ">", ">=")
IF_UNRECORDED: Final[tuple[str, ...]] = ("unknown", "absent")
LN_UNCONFIRMED: Final[tuple[str, ...]] = ("not_met", "unknown")
SLEDAI_MAX: Final = sum(item.weight for item in vocab.SLEDAI_ITEMS.values())
# The highest 2019 EULAR/ACR score: the highest weight of each domain.
EULAR_MAX: Final = sum(
    max(c.weight for c in vocab.EULAR_CRITERIA.values() if c.domain == domain)
    for domain in {c.domain for c in vocab.EULAR_CRITERIA.values()}
)
OBSERVATION_MAX: Final = int(max(o.high for o in vocab.OBSERVATIONS.values()))  # the top of the widest plausible range
WINDOW_NULL: Final = "any date on or before as-of"


# --------------------------------------------------------------------------
# Vocabularies a parameter may draw its codes from


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A code list: its name in messages ("unknown {noun} code") and each code's plain words."""

    noun: str
    labels: Mapping[str, str]  # code → plain words, in the vocabulary's order


AGENT_VOCABULARY: Final = "agent"  # the rule-set file's own drug catalogue: its codes come with the file
VOCABULARIES: Final[Mapping[str, Vocabulary]] = {
    "manifestation": Vocabulary("manifestation", vocab.MANIFESTATION_CODES),
    "ln_class": Vocabulary("lupus nephritis class", {c: c for c in vocab.LN_CLASSES}),
    "observation": Vocabulary("observation", {code: o.label for code, o in vocab.OBSERVATIONS.items()}),
    "condition": Vocabulary("condition", vocab.CONDITION_CODES),
    "drug_class": Vocabulary("drug class", {c: c for c in vocab.DRUG_CLASSES}),
    AGENT_VOCABULARY: Vocabulary("agent", {}),
}


# --------------------------------------------------------------------------
# How a parameter is declared


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """What a parameter's field declares beside its Python type."""

    label: str  # plain words, e.g. "Oldest age"
    help: str  # what the value means, lower case, no final stop
    unit: str | None = None
    default: ParamValue | _Unset = UNSET  # offered for a new criterion; UNSET: the form offers no value
    null_means: str | None = None  # what null stands for (nullable parameters only)
    minimum: int | None = None  # integer and number kinds
    maximum: int | None = None
    at_least: str | None = None  # an earlier parameter of the type this one may not be below
    vocabulary: str | None = None  # code and codes kinds: a VOCABULARIES key
    choices: tuple[str, ...] = ()  # choice kind
    allow_empty: bool = False  # codes kind: may the list be empty
    # what a file without the key reads (a parameter added after files were written); UNSET: the key is required
    if_absent: ParamValue | _Unset = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamSpec(Param):
    """One parameter as validation, forms and documents use it: the declaration with its name and kind."""

    name: str
    kind: ParamKind
    nullable: bool

    @property
    def has_default(self) -> bool:
        return self.default is not UNSET


def window(label: str, help: str, *, default: int | None | _Unset = UNSET) -> Param:
    """A window in days before as-of (closed at both ends); null is any date on or before as-of."""
    return Param(
        label=label,
        help=help,
        unit="days",
        minimum=0,
        maximum=limits.MAX_WINDOW_DAYS,
        null_means=WINDOW_NULL,
        default=default,
    )


_KINDS: Final[Mapping[object, ParamKind]] = {
    bool: "boolean",
    int: "integer",
    Decimal: "number",
    tuple[str, ...]: "codes",
}


def _spec(owner: str, name: str, hint: object, earlier: Mapping[str, ParamSpec]) -> ParamSpec:
    where = f"{owner}.{name}"
    args = get_args(hint)
    if get_origin(hint) is not Annotated or not isinstance(args[1], Param):
        raise TypeError(f"{where}: declare it as Annotated[type, Param(...)]")
    base, param = args[0], args[1]
    nullable = isinstance(base, types.UnionType) and type(None) in get_args(base)
    if nullable:
        [base] = [arg for arg in get_args(base) if arg is not type(None)]
    kind: ParamKind | None = _KINDS.get(base)
    if base is str:
        kind = "code" if param.vocabulary is not None else "choice" if param.choices else None
    if kind is None:
        raise TypeError(f"{where}: no parameter kind for {base!r} (a str needs a vocabulary or choices)")
    if (kind in ("code", "codes")) != (param.vocabulary in VOCABULARIES):
        raise TypeError(f"{where}: codes need a vocabulary, one of {', '.join(VOCABULARIES)}; other kinds none")
    if param.at_least is not None and (param.at_least not in earlier or nullable or earlier[param.at_least].nullable):
        raise TypeError(f"{where}: at_least must name an earlier parameter; neither may be nullable")
    declared = {f.name: getattr(param, f.name) for f in fields(Param)}
    return ParamSpec(name=name, kind=kind, nullable=nullable, **declared)


def param_specs(params_class: type[Any]) -> tuple[ParamSpec, ...]:
    """The parameters a params class declares, in field order (TypeError if one is declared wrong)."""
    hints = get_type_hints(params_class, include_extras=True)
    specs: dict[str, ParamSpec] = {}
    for f in fields(params_class):
        specs[f.name] = _spec(params_class.__name__, f.name, hints[f.name], specs)
    return tuple(specs.values())


# --------------------------------------------------------------------------
# Criterion types


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionType:
    """A catalogue entry: what the criterion decides and its parameters."""

    name: str
    label: str
    met_when: str
    not_met_when: str
    unknown_when: str | None  # None: never unknown
    missing: str | None  # what an unknown result reports missing (None when never unknown)
    notes: tuple[str, ...]
    params_class: type[Any]
    params: tuple[ParamSpec, ...]

    @property
    def can_be_unknown(self) -> bool:
        return self.unknown_when is not None


_TYPES: dict[str, CriterionType] = {}
P = TypeVar("P")


def criterion_type(
    name: str,
    *,
    label: str,
    met_when: str,
    not_met_when: str,
    unknown_when: str | None = None,
    missing: str | None = None,
    notes: tuple[str, ...] = (),
) -> Callable[[type[P]], type[P]]:
    """Register a params class as the catalogue entry ``name``."""

    def register(params_class: type[P]) -> type[P]:
        if (unknown_when is None) != (missing is None) or name in _TYPES:
            raise TypeError(f"{name}: a type that can be unknown says what it reports missing; names are unique")
        _TYPES[name] = CriterionType(
            name=name,
            label=label,
            met_when=met_when,
            not_met_when=not_met_when,
            unknown_when=unknown_when,
            missing=missing,
            notes=notes,
            params_class=params_class,
            params=param_specs(params_class),
        )
        return params_class

    return register


@criterion_type(
    "sle_diagnosis",
    label="SLE diagnosis",
    met_when="specialist attestation, or ANA ≥ minimum titre and 2019 EULAR/ACR score ≥ minimum with a clinical criterion",
    not_met_when=(
        "not attested, and the ANA titre is recorded below the minimum (0 is negative); or the titre reaches the "
        "minimum and the classification criteria are recorded, but they score below the minimum or include no "
        "clinical criterion"
    ),
    unknown_when=(
        "not attested and the ANA titre is not recorded; or the titre reaches the minimum and the classification "
        "criteria are not recorded (an empty list is recorded: assessed, none present)"
    ),
    missing=(
        "the ANA titre (highest ever) or a specialist's attestation; or, once the titre reaches the minimum, the "
        "2019 EULAR/ACR classification criteria"
    ),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class SleDiagnosisParams:
    ana_min_titre: Annotated[
        int,
        Param(
            label="Lowest ANA titre",
            help="lowest ANA titre that meets the entry criterion (80 for 1:80)",
            unit="reciprocal titre",
            minimum=1,
            maximum=limits.ANA_TITRE_MAX,
            default=80,
        ),
    ]
    classification_min_score: Annotated[
        int,
        Param(
            label="Lowest 2019 EULAR/ACR score",
            help="lowest 2019 EULAR/ACR score that classifies",
            unit="points",
            minimum=0,
            maximum=EULAR_MAX,
            default=10,
        ),
    ]


@criterion_type(
    "age_between",
    label="Age in range",
    met_when="age in whole years on as-of within the range (both ends included)",
    not_met_when="age outside the range",
    unknown_when="the birth date is not recorded",
    missing="the patient's birth date",
    notes=("A birthday not yet reached on as-of counts one year less; 29 February is reached on 1 March.",),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class AgeBetweenParams:
    min_years: Annotated[
        int, Param(label="Youngest age", help="youngest age included", unit="years", minimum=0, maximum=150)
    ]
    max_years: Annotated[
        int,
        Param(
            label="Oldest age",
            help="oldest age included (≥ min_years)",
            unit="years",
            minimum=0,
            maximum=150,
            at_least="min_years",
        ),
    ]


@criterion_type(
    "sledai_at_least",
    label="SLEDAI-2K at least",
    met_when="the latest assessment in the window scores at least the minimum even if every not-assessed item is absent",
    not_met_when="the latest assessment in the window scores below the minimum even if every not-assessed item is present",
    unknown_when=(
        "no assessment in the window, or the latest one reaches the minimum only if some of its not-assessed "
        "items are present"
    ),
    missing=(
        "a SLEDAI-2K assessment dated within the window, or the items the latest one did not assess (in one line, "
        "named up to five, else counted, with a new scored assessment as the alternative)"
    ),
    notes=(
        "The score is read as a range: its low end counts the present items, its high end adds every item not "
        "assessed. The clinical SLEDAI-2K leaves low complement and increased DNA binding out of both ends.",
    ),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class SledaiAtLeastParams:
    min_score: Annotated[
        int,
        Param(
            label="Lowest score",
            help="lowest SLEDAI-2K score that meets the criterion",
            unit="points",
            minimum=0,
            maximum=SLEDAI_MAX,
        ),
    ]
    max_age_days: Annotated[int | None, window("Window", "how old the latest assessment may be", default=30)]
    clinical_only: Annotated[
        bool,
        Param(
            label="Clinical SLEDAI-2K only",
            help="use the clinical SLEDAI-2K (leaves out low complement and increased DNA binding)",
            default=False,
        ),
    ]


@criterion_type(
    "manifestation_active",
    label="Manifestation active",
    met_when="the latest entry of a listed manifestation is active (lupus nephritis also needs a recent biopsy of a listed class)",
    not_met_when=(
        "no listed manifestation is active by its latest entry: one never recorded counts as absent, and active "
        "lupus nephritis does not count with a biopsy class not listed, nor, while ln_unconfirmed is not_met, "
        "without a biopsy class or with a biopsy older than the biopsy window"
    ),
    unknown_when=(
        "ln_unconfirmed is unknown, no listed manifestation meets it, and lupus nephritis is listed and active "
        "with its class unconfirmed: no biopsy class recorded, or the latest biopsy older than the biopsy window "
        "(whatever its class: a new biopsy could show another)"
    ),
    missing="a kidney biopsy class of the lupus nephritis, dated within the biopsy window",
    notes=("The biopsy is the latest lupus nephritis entry that has a class; a later entry without a class keeps it.",),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestationActiveParams:
    codes: Annotated[
        tuple[str, ...],
        Param(
            label="Manifestations",
            help="manifestations any one of which meets the criterion",
            vocabulary="manifestation",
        ),
    ]
    ln_classes: Annotated[
        tuple[str, ...],
        Param(
            label="Lupus nephritis biopsy classes",
            help="ISN/RPS classes of the latest biopsy that admit lupus nephritis (empty admits none)",
            vocabulary="ln_class",
            allow_empty=True,
        ),
    ]
    biopsy_max_age_days: Annotated[int | None, window("Biopsy window", "how old the lupus nephritis biopsy may be")]
    ln_unconfirmed: Annotated[
        str,
        Param(
            label="Lupus nephritis of unconfirmed class",
            help=(
                "what active lupus nephritis reads when no biopsy class is recorded or the latest biopsy is older "
                "than the biopsy window: unknown (asking for the biopsy) or not met"
            ),
            choices=LN_UNCONFIRMED,
            default="unknown",
            if_absent="not_met",
        ),
    ]


@criterion_type(
    "failed_agents_at_least",
    label="Failed agents at least",
    met_when="at least the minimum number of agents of the listed classes definitely failed",
    not_met_when="fewer agents than the minimum failed even if every undetermined agent failed",
    unknown_when="enough agents failed only if some undetermined ones did",
    missing=(
        "one line per course whose failure is undetermined, naming the drug and its start date and what it "
        "lacks: the dose in the drug's unit, the patient's weight, the stop reason, or a recent or fully assessed "
        "SLEDAI-2K"
    ),
    notes=(
        "Each course of a drug of a listed class is judged: stopped for intolerance, failed when intolerance "
        "counts; stopped for inadequate response, failed if the course was adequate (its adequacy unknown: "
        "undetermined); ongoing on as-of, failed if it is adequate and the full SLEDAI-2K of the latest assessment "
        "in the window is still at least the still-active minimum; ended with no stop reason, undetermined; "
        "stopped for remission, non-adherence or another reason, not failed.",
        "A course is adequate when it covers at least the drug's minimum days and its dose reaches the drug's "
        "minimum dose and minimum dose per kg, where the drug catalogue sets them.",
        "An agent failed if any of its courses failed; drugs of one agent count once.",
    ),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class FailedAgentsAtLeastParams:
    min_count: Annotated[
        int,
        Param(
            label="Number of failed agents",
            help="how many distinct agents must have failed",
            unit="agents",
            minimum=1,
            maximum=100,
        ),
    ]
    classes: Annotated[
        tuple[str, ...],
        Param(
            label="Drug classes",
            help="drug classes whose courses are judged",
            vocabulary="drug_class",
            default=("immunosuppressant", "biologic"),
        ),
    ]
    count_intolerance: Annotated[
        bool,
        Param(
            label="Count intolerance as failure",
            help="a course stopped for intolerance counts as failed",
            default=True,
        ),
    ]
    ongoing_active_sledai_min: Annotated[
        int,
        Param(
            label="Still-active SLEDAI-2K",
            help="an adequate ongoing course has failed if the SLEDAI-2K is still at least this",
            unit="points",
            minimum=0,
            maximum=SLEDAI_MAX,
            default=6,
        ),
    ]
    max_age_days: Annotated[
        int | None,
        window("Window", "how old the SLEDAI-2K assessment judging an ongoing course may be", default=30),
    ]


@criterion_type(
    "glucocorticoid_dependent",
    label="Glucocorticoid dependent",
    met_when="every day of the last min_days days is covered by glucocorticoids summing above the threshold (prednisone-equivalent)",
    not_met_when="some day of those days has no glucocorticoid course, or only courses of known dose summing to the threshold or less",
    unknown_when="the answer for some day depends on a course whose dose is not recorded",
    missing="the dose, in the drug's unit, of each such course, naming the drug and its start date",
    notes=(
        "The days examined are exactly min_days days ending on as-of (as-of included). Each course's daily dose "
        "is converted with its drug's prednisone-equivalence factor, and courses covering the same day add up.",
    ),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class GlucocorticoidDependentParams:
    above_mg_per_day: Annotated[
        Decimal,
        Param(
            label="Daily dose above",
            help="the daily dose must be strictly above this",
            unit="mg/day prednisone-equivalent",
            minimum=0,
            maximum=10_000,
            default=Decimal("7.5"),
        ),
    ]
    min_days: Annotated[
        int,
        Param(
            label="Minimum days",
            help="how many days up to as-of are examined",
            unit="days",
            minimum=1,
            maximum=limits.MAX_WINDOW_DAYS,
            default=180,
        ),
    ]


@criterion_type(
    "drug_tried",
    label="Drug tried",
    met_when="a course of a listed agent started on or before as-of, or a listed condition is present",
    not_met_when="no course of a listed agent, and no listed condition whose latest entry is present",
    notes=("Any course counts, whatever its dose, length or outcome.",),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class DrugTriedParams:
    agents: Annotated[
        tuple[str, ...],
        Param(label="Agents", help="agents of the drug catalogue, any course of which counts", vocabulary="agent"),
    ]
    or_conditions: Annotated[
        tuple[str, ...],
        Param(
            label="Or one of these conditions",
            help="conditions whose presence counts instead (e.g. a contraindication)",
            vocabulary="condition",
            allow_empty=True,
        ),
    ]


@criterion_type(
    "exposure_days_at_least",
    label="Exposure days at least",
    met_when="calendar days covered by at least one course of the listed classes reach the minimum",
    not_met_when="fewer covered days than the minimum",
    notes=("A day covered by two courses counts once; days after as-of do not count.",),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class ExposureDaysAtLeastParams:
    classes: Annotated[
        tuple[str, ...], Param(label="Drug classes", help="drug classes whose courses count", vocabulary="drug_class")
    ]
    min_days: Annotated[
        int,
        Param(
            label="Minimum days",
            help="lowest number of covered days",
            unit="days",
            minimum=0,
            maximum=limits.MAX_WINDOW_DAYS,
        ),
    ]


@criterion_type(
    "observation_compare",
    label="Observation compared",
    met_when="the latest observation of the code in the window satisfies the comparison",
    not_met_when="the latest observation of the code in the window does not satisfy the comparison",
    unknown_when="no observation of the code in the window, or times_uln is set and that observation has no upper limit of normal",
    missing="a result of the observation dated within the window, or the upper limit of normal of the latest one",
    notes=("Values are in the code's canonical unit and compared exactly in decimal (105 > 3 × 35 is false).",),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class ObservationCompareParams:
    code: Annotated[str, Param(label="Observation", help="lab or function test", vocabulary="observation")]
    op: Annotated[str, Param(label="Comparison", help="observed value OP threshold", choices=OPERATORS)]
    value: Annotated[
        Decimal,
        Param(
            label="Threshold",
            help="threshold (a multiple of the upper limit of normal when times_uln)",
            unit="the code's canonical unit, or × ULN",
            maximum=OBSERVATION_MAX,
        ),
    ]
    times_uln: Annotated[
        bool,
        Param(
            label="Multiple of the upper limit of normal",
            help="compare with value × the observation's own upper limit of normal",
            default=False,
        ),
    ]
    max_age_days: Annotated[int | None, window("Window", "how old the observation may be")]


@criterion_type(
    "condition_present",
    label="Condition present",
    met_when="the latest entry in the window of a listed condition is present",
    not_met_when=(
        "the patient's sex is known and is not the one the criterion applies to (checked first); or the latest "
        "entry in the window of every listed condition is absent (no entry counts as absent when if_unrecorded "
        "is absent)"
    ),
    unknown_when="none is present and a listed condition has no entry in the window while if_unrecorded is unknown",
    missing="the status of each such condition, dated within the window",
    notes=(
        "if_unrecorded is unknown for work-up items (an infection screen, a pregnancy test) and absent for "
        "history items (dialysis, transplant).",
    ),
)
@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionPresentParams:
    codes: Annotated[
        tuple[str, ...],
        Param(label="Conditions", help="conditions any one of which counts", vocabulary="condition"),
    ]
    max_age_days: Annotated[int | None, window("Window", "how old the latest entry may be", default=None)]
    sex: Annotated[
        str | None,
        Param(
            label="Sex",
            help="applies only to patients of this sex (a patient known to be of another sex: not met)",
            choices=("female",),
            null_means="any sex",
            default=None,
        ),
    ]
    if_unrecorded: Annotated[
        str,
        Param(
            label="When never recorded",
            help="a code with no entry in the window is unknown (work-up item) or absent (history item)",
            choices=IF_UNRECORDED,
            default="unknown",
        ),
    ]


@criterion_type(
    "recent_drug",
    label="Recent drug",
    met_when="a course of a listed agent covers a day of the window",
    not_met_when="no course of a listed agent covers a day of the window",
)
@dataclass(frozen=True, slots=True, kw_only=True)
class RecentDrugParams:
    agents: Annotated[tuple[str, ...], Param(label="Agents", help="agents of the drug catalogue", vocabulary="agent")]
    within_days: Annotated[int | None, window("Window", "how many days before as-of the window starts")]


@criterion_type(
    "damage_index_at_least",
    label="Damage index at least",
    met_when="the latest SLICC/ACR damage index is at least the minimum",
    not_met_when="the latest SLICC/ACR damage index is below the minimum",
    unknown_when="no SLICC/ACR damage index recorded on or before as-of",
    missing="a SLICC/ACR damage index",
)
@dataclass(frozen=True, slots=True, kw_only=True)
class DamageIndexAtLeastParams:
    min_score: Annotated[
        int,
        Param(
            label="Lowest score",
            help="lowest SLICC/ACR damage index score",
            unit="points",
            minimum=0,
            maximum=limits.SDI_MAX,
        ),
    ]


CriterionParams: TypeAlias = (
    SleDiagnosisParams
    | AgeBetweenParams
    | SledaiAtLeastParams
    | ManifestationActiveParams
    | FailedAgentsAtLeastParams
    | GlucocorticoidDependentParams
    | DrugTriedParams
    | ExposureDaysAtLeastParams
    | ObservationCompareParams
    | ConditionPresentParams
    | RecentDrugParams
    | DamageIndexAtLeastParams
)

# The catalogue admins instantiate, in declaration order.
CRITERION_TYPES: Final[Mapping[str, CriterionType]] = types.MappingProxyType(_TYPES)
