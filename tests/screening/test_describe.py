"""Plain-language criteria: every declared parameter shows in the sentence, null windows in words."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from screening.describe import describe_criterion
from screening.engine import CRITERION_TYPES, ParamSpec
from screening.engine.criterion_types import AGENT_VOCABULARY, VOCABULARIES
from tests.screening.engine.helpers import BASE_PARAMS, default_rules_data

AGENTS = list(dict.fromkeys(d["agent"] for d in default_rules_data()["drugs"]))


def other_value(spec: ParamSpec, value: Any) -> Any:
    """A valid value of the parameter other than ``value``, chosen from its declaration."""
    if spec.nullable and value is not None:
        return None
    if spec.kind == "boolean":
        return not value
    if spec.kind in ("integer", "number"):
        if value is None:
            return 7
        step = 1 if spec.maximum is None or value + 1 <= spec.maximum else -1
        return value + step if spec.kind == "integer" else float(Decimal(str(value)) + step)
    if spec.kind == "choice":
        return next(c for c in spec.choices if c != value)
    codes = AGENTS if spec.vocabulary == AGENT_VOCABULARY else list(VOCABULARIES[spec.vocabulary or ""].labels)
    if spec.kind == "code":
        return next(c for c in codes if c != value)
    return value[:1] if len(value) > 1 else [*value, next(c for c in codes if c not in value)]


CASES = [(t, s) for t, ctype in CRITERION_TYPES.items() for s in ctype.params]


@pytest.mark.parametrize(("type_name", "spec"), CASES, ids=[f"{t}.{s.name}" for t, s in CASES])
def test_every_declared_parameter_changes_the_sentence(type_name: str, spec: ParamSpec) -> None:
    params = BASE_PARAMS[type_name]
    changed = {**params, spec.name: other_value(spec, params[spec.name])}
    assert describe_criterion(type_name, changed) != describe_criterion(type_name, params), spec.name


NULLABLE = [(t, s) for t, s in CASES if s.nullable]


@pytest.mark.parametrize(("type_name", "spec"), NULLABLE, ids=[f"{t}.{s.name}" for t, s in NULLABLE])
def test_a_null_parameter_reads_in_words(type_name: str, spec: ParamSpec) -> None:
    text = describe_criterion(type_name, {**BASE_PARAMS[type_name], spec.name: None})
    assert "None" not in text and "none days" not in text, text


def test_codes_read_with_their_vocabulary_labels() -> None:
    assert describe_criterion("manifestation_active", BASE_PARAMS["manifestation_active"]).startswith(
        "active lupus nephritis or neuropsychiatric lupus"
    )
    text = describe_criterion("drug_tried", BASE_PARAMS["drug_tried"])
    assert text == "hydroxychloroquine tried at some point, or hydroxychloroquine contraindicated recorded"
    observation = {**BASE_PARAMS["observation_compare"], "code": "egfr"}
    assert describe_criterion("observation_compare", observation) == (
        "latest eGFR dated within the last 365 days below 35 mL/min/1.73m²"
    )


def test_null_windows_say_any_date() -> None:
    failed = describe_criterion(
        "failed_agents_at_least", {**BASE_PARAMS["failed_agents_at_least"], "max_age_days": None}
    )
    assert failed.endswith("SLEDAI-2K still at least 6 at any date")
    recent = describe_criterion("recent_drug", {**BASE_PARAMS["recent_drug"], "within_days": None})
    assert recent == "rituximab or obinutuzumab given at any date"
    assert describe_criterion("recent_drug", BASE_PARAMS["recent_drug"]) == (
        "rituximab or obinutuzumab given within the last 180 days"
    )


def test_unconfirmed_lupus_nephritis_reads_in_words_only_where_it_asks_for_the_biopsy() -> None:
    params = BASE_PARAMS["manifestation_active"]
    before = "active lupus nephritis or neuropsychiatric lupus (lupus nephritis counts with a biopsy of class III, IV, III+V, IV+V within 365 days)"
    assert describe_criterion("manifestation_active", params) == before
    without = {k: v for k, v in params.items() if k != "ln_unconfirmed"}  # a file before 2026.2
    assert describe_criterion("manifestation_active", without) == before
    asks = {**params, "ln_unconfirmed": "unknown"}
    assert describe_criterion("manifestation_active", asks) == before.removesuffix(")") + (
        "; with no biopsy class recorded, or only an older biopsy, it is unknown until a biopsy is recorded)"
    )
    assert describe_criterion("manifestation_active", {**asks, "biopsy_max_age_days": None}).endswith(
        "at any date; with no biopsy class recorded, it is unknown until a biopsy is recorded)"
    )
    # Without lupus nephritis among the codes the parameter has nothing to say.
    cns = {**asks, "codes": ["neuropsychiatric"]}
    assert describe_criterion("manifestation_active", cns) == "active neuropsychiatric lupus"
