"""The pure screening engine: facts + rule set + as-of date → results with their trace.

No Django here: the engine is pure (a test imports it and checks). What it
computes is described in ``docs/rule-sets.md`` (the rule-set file and the
evaluation model), ``docs/criteria.md`` (the criterion types) and
``docs/case-files.md`` (case files and the screening output).
"""

from screening.engine.casefile import case_as_of, facts_from_case
from screening.engine.course_verdicts import (
    FAILED,
    NOT_FAILED,
    UNDETERMINED,
    CourseVerdict,
    Judgement,
    course_verdicts,
)
from screening.engine.criterion_types import CRITERION_TYPES, CriterionType, ParamSpec
from screening.engine.evaluate import EngineError, screen
from screening.engine.facts import (
    Assessment,
    ConditionEntry,
    DamageEntry,
    Manifestation,
    Observation,
    PatientFacts,
    PatientRefs,
    TreatmentCourse,
)
from screening.engine.hints import Hint, consistency_hints
from screening.engine.output import STANDING_NOTE, outcome_sentence, result_to_dict, why_not
from screening.engine.results import (
    CautionResult,
    CautionStatus,
    CriterionResult,
    GroupResult,
    Missing,
    Need,
    NodeResult,
    Outcome,
    PathwayResult,
    RecordKind,
    Result,
    ScreeningResult,
    all_of,
    any_of,
)
from screening.engine.ruleset import (
    Caution,
    Criterion,
    Drug,
    Group,
    Node,
    Pathway,
    RuleSet,
    RuleSetError,
    parse_rule_set,
    rule_set_to_dict,
)
from screening.engine.stability import stable_until
from screening.engine.storable import check_storable, id_problem, version_problem

__all__ = [
    "CRITERION_TYPES",
    "FAILED",
    "NOT_FAILED",
    "UNDETERMINED",
    "STANDING_NOTE",
    "Assessment",
    "Caution",
    "CautionResult",
    "CautionStatus",
    "ConditionEntry",
    "CourseVerdict",
    "Criterion",
    "CriterionResult",
    "CriterionType",
    "DamageEntry",
    "Drug",
    "EngineError",
    "Group",
    "Judgement",
    "GroupResult",
    "Hint",
    "Manifestation",
    "Missing",
    "Need",
    "Node",
    "NodeResult",
    "Observation",
    "Outcome",
    "ParamSpec",
    "Pathway",
    "PathwayResult",
    "PatientFacts",
    "PatientRefs",
    "RecordKind",
    "Result",
    "RuleSet",
    "RuleSetError",
    "ScreeningResult",
    "TreatmentCourse",
    "all_of",
    "any_of",
    "case_as_of",
    "course_verdicts",
    "check_storable",
    "consistency_hints",
    "facts_from_case",
    "id_problem",
    "outcome_sentence",
    "parse_rule_set",
    "result_to_dict",
    "rule_set_to_dict",
    "screen",
    "stable_until",
    "version_problem",
    "why_not",
]
