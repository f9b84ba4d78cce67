"""Parameter forms generated per criterion type: bad values refused, each error naming its field."""

from __future__ import annotations

import json

import pytest
from crispy_forms.utils import render_crispy_form

from screening import editing
from screening.engine import CRITERION_TYPES
from screening.forms import CriterionForm, DrugThresholdForm, field_label, to_form_value
from tests.shipped import RULES_PATH

DEFAULT = json.loads(RULES_PATH.read_text())
AGENTS = sorted({d["agent"] for d in DEFAULT["drugs"]})
# one criterion of every type, from the default rule set (every type is used there)
EXAMPLES = {}
for _loc in editing.iter_nodes(DEFAULT):
    if not editing.is_group(_loc.node):
        EXAMPLES.setdefault(_loc.node["type"], _loc.node["params"])


def valid_data(type_name: str) -> dict:
    data = {"reason": "testing", "source": ""}
    for spec in CRITERION_TYPES[type_name].params:
        value = to_form_value(spec, EXAMPLES[type_name][spec.name])
        if spec.kind == "boolean":
            if value:
                data[spec.name] = "on"
        else:
            data[spec.name] = value
    return data


def bad_values(spec) -> list[tuple[object, str]]:
    """(bad value, expected wording) for a parameter of this kind."""
    out: list[tuple[object, str]] = []
    if spec.kind in ("integer", "number"):
        out.append(("abc", "enter a whole number" if spec.kind == "integer" else "enter a number"))
        if spec.minimum is not None:
            out.append((spec.minimum - 1, f"must be at least {spec.minimum}"))
        if spec.maximum is not None:
            out.append((spec.maximum + 1, f"must be at most {spec.maximum}"))
        if not spec.nullable:
            out.append(("", "enter a value"))
    elif spec.kind in ("choice", "code"):
        out.append(("bogus", "bogus is not one of the choices"))
    elif spec.kind == "codes":
        out.append((["bogus"], "bogus is not one of the choices"))
        if not spec.allow_empty:
            out.append(([], "choose at least one"))
    return out


CASES = [
    (t, spec.name, bad, words)
    for t, ctype in CRITERION_TYPES.items()
    for spec in ctype.params
    for bad, words in bad_values(spec)
]


def test_every_type_has_an_example_and_its_valid_values_pass() -> None:
    assert set(EXAMPLES) == set(CRITERION_TYPES)
    for type_name, ctype in CRITERION_TYPES.items():
        form = CriterionForm(valid_data(type_name), ctype=ctype, agents=AGENTS)
        assert form.is_valid(), (type_name, form.errors)
        assert form.params == EXAMPLES[type_name]


@pytest.mark.parametrize("type_name,param,bad,words", CASES, ids=[f"{c[0]}.{c[1]}={c[2]!r}" for c in CASES])
def test_bad_value_is_refused_with_the_field_named(type_name, param, bad, words) -> None:
    ctype = CRITERION_TYPES[type_name]
    spec = next(s for s in ctype.params if s.name == param)
    form = CriterionForm({**valid_data(type_name), param: bad}, ctype=ctype, agents=AGENTS)
    assert not form.is_valid()
    [message] = form.errors[param]
    assert message.startswith(field_label(spec) + ":"), message
    assert param in message and words in message


def test_units_are_shown_beside_the_inputs() -> None:
    form = CriterionForm(ctype=CRITERION_TYPES["sledai_at_least"], agents=AGENTS)
    html = render_crispy_form(form)
    assert "points</span>" in html and "days</span>" in html
    assert "Leave empty for any date on or before as-of" in str(form["max_age_days"].help_text)


def test_codes_are_picked_from_the_vocabularies() -> None:
    form = CriterionForm(ctype=CRITERION_TYPES["manifestation_active"], agents=AGENTS)
    assert ("lupus_nephritis", "Lupus nephritis") in form.fields["codes"].choices
    assert [c for c, _ in form.fields["ln_classes"].choices] == ["I", "II", "III", "IV", "V", "VI", "III+V", "IV+V"]
    agents = CriterionForm(ctype=CRITERION_TYPES["drug_tried"], agents=AGENTS).fields["agents"].choices
    assert [c for c, _ in agents] == AGENTS  # the draft's own drug catalogue
    observations = CriterionForm(ctype=CRITERION_TYPES["observation_compare"], agents=AGENTS).fields["code"].choices
    assert ("lvef", "Left ventricular ejection fraction (%)") in observations


def test_age_range_upside_down_is_refused_on_the_oldest_age() -> None:
    form = CriterionForm(
        {**valid_data("age_between"), "min_years": 40, "max_years": 30},
        ctype=CRITERION_TYPES["age_between"],
        agents=AGENTS,
    )
    assert not form.is_valid()
    assert form.errors["max_years"] == ["Oldest age (max_years): must be at least the youngest age (40)."]


def test_a_reason_is_required() -> None:
    form = CriterionForm(
        {**valid_data("age_between"), "reason": ""}, ctype=CRITERION_TYPES["age_between"], agents=AGENTS
    )
    assert not form.is_valid() and form.errors["reason"] == ["Why: say why you make this change."]


def test_new_criterion_form_offers_the_catalogue_defaults() -> None:
    form = CriterionForm(ctype=CRITERION_TYPES["sledai_at_least"], agents=AGENTS, new=True)
    assert form["max_age_days"].value() == 30 and form["clinical_only"].value() is False
    assert "node_id" in form.fields


@pytest.mark.parametrize(
    "field,value,words",
    [
        ("min_days", -1, "Minimum days (min_days): must be at least 0 days."),
        ("min_dose", "x", "Minimum dose (min_dose): enter a number."),
        ("min_dose_per_kg", -0.5, "Minimum dose per kg (min_dose_per_kg): must be at least 0 mg/kg/day."),
    ],
)
def test_drug_threshold_form_names_the_field(field, value, words) -> None:
    drug = next(d for d in DEFAULT["drugs"] if d["drug"] == "azathioprine")
    data = {"min_days": 90, "min_dose": "", "min_dose_per_kg": 2.0, "reason": "x", field: value}
    form = DrugThresholdForm(data, drug=drug)
    assert not form.is_valid() and form.errors[field] == [words]


@pytest.mark.parametrize("type_name", list(CRITERION_TYPES))
def test_every_form_has_one_field_per_declared_parameter(type_name) -> None:
    ctype = CRITERION_TYPES[type_name]
    names = [spec.name for spec in ctype.params]
    form = CriterionForm(ctype=ctype, agents=AGENTS)
    assert list(form.fields) == [*names, "source", "reason"]
    new = CriterionForm(ctype=ctype, agents=AGENTS, new=True)
    assert list(new.fields) == ["node_id", *names, "source", "reason"]
    for spec in ctype.params:
        field = form.fields[spec.name]
        assert field.label == f"{spec.label} ({spec.name})" == field_label(spec)
        optional = spec.nullable or spec.kind == "boolean" or spec.allow_empty
        assert field.required is not optional, spec.name
        if spec.has_default:
            assert new[spec.name].value() == to_form_value(spec, spec.default), spec.name
        else:
            assert spec.name not in new.initial, spec.name
