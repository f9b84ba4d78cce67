"""The catalogue is declared once, on the params classes: what is derived from the declarations, and wrong ones refused."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Annotated, Any

import pytest

from screening.engine import CRITERION_TYPES, RuleSetError
from screening.engine.criterion_types import (
    UNSET,
    VOCABULARIES,
    WINDOW_NULL,
    Param,
    criterion_type,
    param_specs,
    window,
)
from screening.engine.ruleset import Criterion
from tests.screening.engine.helpers import BASE_PARAMS, rule_set_with

P = Param(label="A parameter", help="what it means")


@dataclass(frozen=True, slots=True, kw_only=True)
class EveryKind:
    count: Annotated[int, Param(label="Count", help="how many", minimum=1, default=3)]
    days: Annotated[int | None, window("Window", "how old it may be")]
    dose: Annotated[Decimal, Param(label="Dose", help="how much", unit="mg")]
    flag: Annotated[bool, Param(label="Flag", help="whether", default=False)]
    codes: Annotated[tuple[str, ...], Param(label="Codes", help="which", vocabulary="condition", allow_empty=True)]
    code: Annotated[str, Param(label="Code", help="which one", vocabulary="observation")]
    sex: Annotated[str | None, Param(label="Sex", help="whose", choices=("female",), null_means="any sex")]
    most: Annotated[int, Param(label="Most", help="at most", at_least="count")]


def test_kind_and_nullability_come_from_the_python_type() -> None:
    specs = {s.name: s for s in param_specs(EveryKind)}
    assert list(specs) == [f.name for f in fields(EveryKind)]
    assert {n: (s.kind, s.nullable) for n, s in specs.items()} == {
        "count": ("integer", False),
        "days": ("integer", True),
        "dose": ("number", False),
        "flag": ("boolean", False),
        "codes": ("codes", False),
        "code": ("code", False),
        "sex": ("choice", True),
        "most": ("integer", False),
    }


def test_the_rest_comes_from_the_param_and_the_window_helper() -> None:
    specs = {s.name: s for s in param_specs(EveryKind)}
    assert (specs["count"].label, specs["count"].minimum, specs["count"].default) == ("Count", 1, 3)
    assert specs["count"].has_default and specs["flag"].has_default and specs["flag"].default is False
    assert not specs["dose"].has_default and specs["dose"].default is UNSET and specs["dose"].unit == "mg"
    assert (specs["days"].unit, specs["days"].minimum, specs["days"].null_means) == ("days", 0, WINDOW_NULL)
    assert specs["codes"].allow_empty and specs["codes"].vocabulary == "condition"
    assert specs["sex"].choices == ("female",) and specs["sex"].null_means == "any sex"
    assert specs["most"].at_least == "count"


@dataclass(frozen=True, slots=True, kw_only=True)
class NotAnnotated:
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnotatedWithoutParam:
    count: Annotated[int, "how many"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FloatParam:
    ratio: Annotated[float, P]


@dataclass(frozen=True, slots=True, kw_only=True)
class BareString:
    name: Annotated[str, P]


@dataclass(frozen=True, slots=True, kw_only=True)
class CodesWithoutVocabulary:
    codes: Annotated[tuple[str, ...], P]


@dataclass(frozen=True, slots=True, kw_only=True)
class CodesOfAnUnknownVocabulary:
    codes: Annotated[tuple[str, ...], Param(label="Codes", help="which", vocabulary="colour")]


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegerWithVocabulary:
    count: Annotated[int, Param(label="Count", help="how many", vocabulary="condition")]


@dataclass(frozen=True, slots=True, kw_only=True)
class AtLeastALaterParameter:
    most: Annotated[int, Param(label="Most", help="at most", at_least="least")]
    least: Annotated[int, P]


@dataclass(frozen=True, slots=True, kw_only=True)
class AtLeastANullableParameter:
    least: Annotated[int | None, P]
    most: Annotated[int, Param(label="Most", help="at most", at_least="least")]


@dataclass(frozen=True, slots=True, kw_only=True)
class NullableAtLeast:
    least: Annotated[int, P]
    most: Annotated[int | None, Param(label="Most", help="at most", at_least="least")]


@pytest.mark.parametrize(
    ("params_class", "words"),
    [
        (NotAnnotated, "NotAnnotated.count: declare it as Annotated[type, Param(...)]"),
        (AnnotatedWithoutParam, "AnnotatedWithoutParam.count: declare it as Annotated[type, Param(...)]"),
        (FloatParam, "FloatParam.ratio: no parameter kind for <class 'float'>"),
        (BareString, "BareString.name: no parameter kind for <class 'str'> (a str needs a vocabulary or choices)"),
        (CodesWithoutVocabulary, "CodesWithoutVocabulary.codes: codes need a vocabulary"),
        (CodesOfAnUnknownVocabulary, "CodesOfAnUnknownVocabulary.codes: codes need a vocabulary, one of manifestation"),
        (IntegerWithVocabulary, "IntegerWithVocabulary.count: codes need a vocabulary"),
        (AtLeastALaterParameter, "AtLeastALaterParameter.most: at_least must name an earlier parameter"),
        (AtLeastANullableParameter, "AtLeastANullableParameter.most: at_least must name an earlier parameter"),
        (NullableAtLeast, "NullableAtLeast.most: at_least must name an earlier parameter; neither may be nullable"),
    ],
)
def test_a_parameter_declared_wrong_is_refused_by_name(params_class: type[Any], words: str) -> None:
    with pytest.raises(TypeError) as excinfo:
        param_specs(params_class)
    assert str(excinfo.value).startswith(words)


@pytest.mark.parametrize(
    ("name", "texts"),
    [
        ("new_type", {"unknown_when": "the data is missing"}),  # says when unknown but not what is missing
        ("new_type", {"missing": "the data"}),  # says what is missing but never unknown
        ("age_between", {}),  # a name taken
    ],
)
def test_a_type_declared_wrong_is_refused_and_not_registered(name: str, texts: dict[str, str]) -> None:
    register = criterion_type(name, label="New", met_when="met", not_met_when="not met", **texts)
    before = dict(CRITERION_TYPES)
    with pytest.raises(TypeError):
        register(EveryKind)
    assert dict(CRITERION_TYPES) == before


def test_the_catalogue_is_read_only() -> None:
    with pytest.raises(TypeError):
        CRITERION_TYPES["x"] = CRITERION_TYPES["age_between"]  # type: ignore[index]


@pytest.mark.parametrize("type_name", list(CRITERION_TYPES))
def test_every_type_says_when_met_not_met_and_unknown(type_name: str) -> None:
    ctype = CRITERION_TYPES[type_name]
    assert ctype.label and ctype.met_when and ctype.not_met_when
    assert ctype.can_be_unknown == (ctype.unknown_when is not None) == (ctype.missing is not None)
    for spec in ctype.params:
        assert spec.label and spec.help and not spec.help.endswith(".")  # forms and documents add the stop
        assert (spec.vocabulary in VOCABULARIES) == (spec.kind in ("code", "codes"))
        assert bool(spec.choices) == (spec.kind == "choice")
        assert spec.null_means is None or spec.nullable


PYTHON_TYPES = {"integer": int, "number": Decimal, "boolean": bool, "codes": tuple, "code": str, "choice": str}


@pytest.mark.parametrize("type_name", list(CRITERION_TYPES))
def test_a_parsed_criterion_holds_values_of_its_declared_kinds(type_name: str) -> None:
    rules = rule_set_with({"id": "p", "type": type_name, "params": BASE_PARAMS[type_name]})
    criterion = rules.pathways[0].inclusion
    assert isinstance(criterion, Criterion) and isinstance(criterion.params, CRITERION_TYPES[type_name].params_class)
    for spec in CRITERION_TYPES[type_name].params:
        value = getattr(criterion.params, spec.name)
        if value is not None:
            assert type(value) is PYTHON_TYPES[spec.kind], (spec.name, value)


NULLABLE = [(t, s.name, s.nullable) for t, ctype in CRITERION_TYPES.items() for s in ctype.params]


@pytest.mark.parametrize(("type_name", "param", "nullable"), NULLABLE, ids=[f"{t}.{p}" for t, p, _ in NULLABLE])
def test_a_file_may_set_null_exactly_where_the_type_allows_none(type_name: str, param: str, nullable: bool) -> None:
    node = {"id": "p", "type": type_name, "params": {**BASE_PARAMS[type_name], param: None}}
    if nullable:
        criterion = rule_set_with(node).pathways[0].inclusion
        assert isinstance(criterion, Criterion) and getattr(criterion.params, param) is None
    else:
        with pytest.raises(RuleSetError) as excinfo:
            rule_set_with(node)
        assert str(excinfo.value) == f"p: params.{param}: must not be null"


def test_a_parameter_declared_at_least_another_is_checked_in_files() -> None:
    checked = [(t, s.name, s.at_least) for t, c in CRITERION_TYPES.items() for s in c.params if s.at_least]
    assert checked == [("age_between", "max_years", "min_years")]
    with pytest.raises(RuleSetError) as excinfo:
        rule_set_with({"id": "p", "type": "age_between", "params": {"min_years": 40, "max_years": 39}})
    assert str(excinfo.value) == "p: params.max_years: must be an integer ≥ min_years"
    equal = rule_set_with({"id": "p", "type": "age_between", "params": {"min_years": 40, "max_years": 40}})
    assert equal.pathways[0].inclusion.id == "p"
