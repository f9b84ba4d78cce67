"""Builders shared by the engine tests: facts, single-criterion rule sets, the default rules."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from screening.engine import (
    Assessment,
    ConditionEntry,
    CriterionResult,
    DamageEntry,
    Manifestation,
    Observation,
    PatientFacts,
    RuleSet,
    TreatmentCourse,
    parse_rule_set,
    screen,
)
from tests.shipped import RULES_PATH

AS_OF = date(2026, 11, 1)

# A valid parameter set per criterion type; tests override what they examine.
BASE_PARAMS: dict[str, dict[str, Any]] = {
    "sle_diagnosis": {"ana_min_titre": 80, "classification_min_score": 10},
    "age_between": {"min_years": 18, "max_years": 60},
    "sledai_at_least": {"min_score": 8, "max_age_days": 30, "clinical_only": False},
    "manifestation_active": {
        "codes": ["lupus_nephritis", "neuropsychiatric"],
        "ln_classes": ["III", "IV", "III+V", "IV+V"],
        "biopsy_max_age_days": 365,
        "ln_unconfirmed": "not_met",
    },
    "failed_agents_at_least": {
        "min_count": 1,
        "classes": ["immunosuppressant", "biologic"],
        "count_intolerance": True,
        "ongoing_active_sledai_min": 6,
        "max_age_days": 30,
    },
    "glucocorticoid_dependent": {"above_mg_per_day": 7.5, "min_days": 180},
    "drug_tried": {"agents": ["hydroxychloroquine"], "or_conditions": ["hcq_contraindicated"]},
    "exposure_days_at_least": {"classes": ["immunosuppressant", "biologic"], "min_days": 180},
    "observation_compare": {"code": "lvef", "op": "<", "value": 35, "times_uln": False, "max_age_days": 365},
    "condition_present": {"codes": ["pregnancy"], "max_age_days": 30, "sex": None, "if_unrecorded": "unknown"},
    "recent_drug": {"agents": ["rituximab", "obinutuzumab"], "within_days": 180},
    "damage_index_at_least": {"min_score": 3},
}


def days_before(n: int, as_of: date = AS_OF) -> date:
    return as_of - timedelta(days=n)


@cache
def default_rules_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RULES_PATH.read_text(encoding="utf-8"))
    return data


def default_rules_data() -> dict[str, Any]:
    """A fresh deep copy of default-rules.json, safe to mutate."""
    return copy.deepcopy(default_rules_json())


@cache
def default_rules() -> RuleSet:
    return parse_rule_set(default_rules_json())


def rule_set_with(inclusion: dict[str, Any], cautions: list[dict[str, Any]] | None = None) -> RuleSet:
    """A rule set with one pathway "p" (inclusion root id must be "p") and the default drug catalogue."""
    data = {
        "format": "sle-screening-rules/1",
        "name": "Test rules",
        "version": "t1",
        "pathways": [{"id": "p", "label": "test evaluation", "inclusion": inclusion}],
        "cautions": cautions or [],
        "drugs": default_rules_json()["drugs"],
    }
    return parse_rule_set(data)


def criterion_node(node_id: str, type_name: str, **overrides: Any) -> dict[str, Any]:
    params = copy.deepcopy(BASE_PARAMS[type_name])
    params.update(overrides)
    return {"id": node_id, "type": type_name, "params": params, "source": "T"}


def run(type_name: str, facts: PatientFacts, as_of: date = AS_OF, **overrides: Any) -> CriterionResult:
    """Evaluate one criterion of the given type (parameters: BASE_PARAMS plus overrides)."""
    rules = rule_set_with(criterion_node("p", type_name, **overrides))
    result = screen(facts, rules, as_of).pathway("p").inclusion
    assert isinstance(result, CriterionResult)
    return result


def facts(**kwargs: Any) -> PatientFacts:
    """PatientFacts with a plausible adult woman as the default patient."""
    base: dict[str, Any] = {"birth_date": date(1990, 5, 14), "sex": "female", "weight_kg": Decimal(60)}
    base.update(kwargs)
    return PatientFacts(**base)


def assessment(on: date, present: tuple[str, ...] = (), not_assessed: tuple[str, ...] = ()) -> Assessment:
    return Assessment(
        date=on, sledai_present=present, sledai_not_assessed=not_assessed, ref=f"assessment:{on.isoformat()}"
    )


def course(
    drug: str,
    start: date,
    end: date | None = None,
    dose: Decimal | int | str | None = None,
    stop: str | None = None,
    unit: str | None = None,
) -> TreatmentCourse:
    rules = default_rules()
    catalogue = rules.drug(drug)
    assert catalogue is not None, drug
    return TreatmentCourse(
        drug=drug,
        start=start,
        end=end,
        dose=None if dose is None else Decimal(dose),
        dose_unit=unit or catalogue.dose_unit,
        stop_reason=stop,
        ref=f"course:{drug}:{start.isoformat()}",
    )


def observation(code: str, on: date, value: Decimal | int | str, uln: Decimal | int | str | None = None) -> Observation:
    return Observation(
        code=code,
        date=on,
        value=Decimal(value),
        uln=None if uln is None else Decimal(uln),
        ref=f"observation:{code}:{on.isoformat()}",
    )


def condition(code: str, status: str, on: date) -> ConditionEntry:
    return ConditionEntry(code=code, status=status, date=on, ref=f"condition:{code}:{on.isoformat()}")


def manifestation(code: str, on: date, active: bool, biopsy_class: str | None = None) -> Manifestation:
    return Manifestation(
        code=code, date=on, active=active, biopsy_class=biopsy_class, ref=f"manifestation:{code}:{on.isoformat()}"
    )


def damage(on: date, **items: int) -> DamageEntry:
    return DamageEntry(date=on, items=tuple(sorted(items.items())), ref=f"damage:{on.isoformat()}")


def load_case(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
