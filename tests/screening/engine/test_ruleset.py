"""Rule-set files: exact round trip, the catalogue, and every kind of bad file rejected by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from typing import Any

import pytest

from screening.engine import CRITERION_TYPES, RuleSetError, parse_rule_set, rule_set_to_dict
from tests.screening.engine.helpers import BASE_PARAMS, default_rules_data, rule_set_with
from tests.shipped import RULES_PATH

Mutation = Callable[[dict[str, Any]], None]


def find_node(data: dict[str, Any], node_id: str) -> dict[str, Any]:
    """The node with this id anywhere in a rule-set dict."""
    stack: list[Any] = [p["inclusion"] for p in data["pathways"]] + [c["criterion"] for c in data["cautions"]]
    while stack:
        node = stack.pop()
        if node.get("id") == node_id:
            return node  # type: ignore[no-any-return]
        stack.extend(node.get("all", []) + node.get("any", []))
    raise KeyError(node_id)


def find_drug(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(d for d in data["drugs"] if d["drug"] == code)


def test_default_rules_round_trip_exactly() -> None:
    text = RULES_PATH.read_text(encoding="utf-8")
    rules = parse_rule_set(json.loads(text))
    dumped = rule_set_to_dict(rules)
    assert dumped == json.loads(text)
    assert json.dumps(dumped, indent=2, ensure_ascii=False) + "\n" == text  # key order and number forms too


def test_round_trip_keeps_number_forms_and_optional_source() -> None:
    data = default_rules_data()
    find_node(data, "cardiac_function")["params"]["value"] = 35.5
    find_node(data, "hsct.refractory.steroid_dependent.glucocorticoids")["params"]["above_mg_per_day"] = 10
    del find_node(data, "hsct.age")["source"]
    find_drug(data, "azathioprine")["min_dose_per_kg"] = 2.25
    assert rule_set_to_dict(parse_rule_set(data)) == data
    parsed = parse_rule_set(data)
    assert parse_rule_set(rule_set_to_dict(parsed)) == parsed


def test_parsed_values_are_typed() -> None:
    rules = parse_rule_set(default_rules_data())
    methylprednisolone = rules.drug("methylprednisolone")
    assert methylprednisolone is not None and methylprednisolone.prednisone_factor == Decimal("1.25")
    hsct = rules.pathway("hsct")
    assert hsct.label == "autologous HSCT evaluation"
    assert [c.id for c in rules.cautions][:2] == ["pregnancy", "viral_infection"]
    assert rules.cautions[0].severity_for("msc") == "contraindication"
    assert next(c for c in rules.cautions if c.id == "recent_biologic").severity_for("hsct") is None


# ---------------------------------------------------------------- the catalogue


@pytest.mark.parametrize("type_name", sorted(CRITERION_TYPES))
def test_catalogue_specs_match_the_params_classes(type_name: str) -> None:
    ctype = CRITERION_TYPES[type_name]
    assert ctype.name == type_name and ctype.label and ctype.met_when
    assert [s.name for s in ctype.params] == [f.name for f in fields(ctype.params_class)]
    assert [s.name for s in ctype.params] == list(BASE_PARAMS[type_name])
    for spec in ctype.params:
        assert spec.help
        if spec.kind in ("codes", "code"):
            assert spec.vocabulary
        if spec.kind == "choice":
            assert spec.choices


@pytest.mark.parametrize("type_name", sorted(CRITERION_TYPES))
def test_catalogue_defaults_are_valid_parameters(type_name: str) -> None:
    params = dict(BASE_PARAMS[type_name])
    for spec in CRITERION_TYPES[type_name].params:
        if spec.has_default:
            value = spec.default
            params[spec.name] = (
                list(value) if isinstance(value, tuple) else (float(value) if isinstance(value, Decimal) else value)
            )
    rule_set_with({"id": "p", "type": type_name, "params": params})


def test_catalogue_defaults_are_those_of_section_3() -> None:
    def defaults(type_name: str) -> dict[str, Any]:
        return {s.name: s.default for s in CRITERION_TYPES[type_name].params if s.has_default}

    assert defaults("sle_diagnosis") == {"ana_min_titre": 80, "classification_min_score": 10}
    assert defaults("age_between") == {}
    assert defaults("sledai_at_least") == {"max_age_days": 30, "clinical_only": False}
    assert defaults("failed_agents_at_least") == {
        "classes": ("immunosuppressant", "biologic"),
        "count_intolerance": True,
        "ongoing_active_sledai_min": 6,
        "max_age_days": 30,
    }
    assert defaults("glucocorticoid_dependent") == {"above_mg_per_day": Decimal("7.5"), "min_days": 180}
    assert defaults("observation_compare") == {"times_uln": False}
    assert defaults("condition_present") == {"max_age_days": None, "sex": None, "if_unrecorded": "unknown"}
    assert defaults("manifestation_active") == {"ln_unconfirmed": "unknown"}  # a new criterion asks for the biopsy
    assert {t for t, c in CRITERION_TYPES.items() if not c.can_be_unknown} == {
        "drug_tried",
        "exposure_days_at_least",
        "recent_drug",
    }


# ---------------------------------------------------------------- bad files


def node_params(node_id: str, **changes: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        find_node(data, node_id)["params"].update(changes)

    return mutate


def drop_param(node_id: str, name: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del find_node(data, node_id)["params"][name]

    return mutate


def node_set(node_id: str, key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        find_node(data, node_id)[key] = value

    return mutate


def drug_set(code: str, key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        find_drug(data, code)[key] = value

    return mutate


def drug_drop(code: str, key: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del find_drug(data, code)[key]

    return mutate


def caution_severity(caution_id: str, severity: dict[str, Any]) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        next(c for c in data["cautions"] if c["id"] == caution_id)["severity"] = severity

    return mutate


def top(key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data[key] = value

    return mutate


def duplicate_drug(data: dict[str, Any]) -> None:
    data["drugs"].append(dict(data["drugs"][0]))


def empty_group(data: dict[str, Any]) -> None:
    find_node(data, "hsct.severe_activity")["any"] = []


def both_ops(data: dict[str, Any]) -> None:
    find_node(data, "hsct.severe_activity")["all"] = []


def pathway_root_id(data: dict[str, Any]) -> None:
    data["pathways"][0]["inclusion"]["id"] = "hsct.root"


def caution_root_id(data: dict[str, Any]) -> None:
    data["cautions"][1]["criterion"]["id"] = "viral"


def unknown_caution_key(data: dict[str, Any]) -> None:
    data["cautions"][0]["note"] = "x"


BAD_FILES: list[tuple[str, Mutation, str]] = [
    ("unknown type", node_set("hsct.age", "type", "age_within"), "hsct.age: type: unknown criterion type 'age_within'"),
    ("missing param", drop_param("hsct.age", "max_years"), "hsct.age: params.max_years: missing"),
    ("extra param", node_params("hsct.age", unit="years"), "hsct.age: params.unit: not a parameter of age_between"),
    ("bool for int", node_params("hsct.age", min_years=True), "hsct.age: params.min_years: must be an integer, not a boolean"),
    ("float for int", node_params("msc.activity", min_score=6.0), "msc.activity: params.min_score: must be an integer"),
    ("string for int", node_params("msc.activity", max_age_days="30"), "msc.activity: params.max_age_days: must be an integer"),
    ("bool for number", node_params("cardiac_function", value=False), "cardiac_function: params.value: must be a number, not a boolean"),
    ("int for bool", node_params("msc.activity", clinical_only=0), "msc.activity: params.clinical_only: must be true or false"),
    ("min over max", node_params("hsct.age", min_years=61), "hsct.age: params.max_years: must be an integer ≥ min_years"),
    ("negative window", node_params("msc.activity", max_age_days=-1), "msc.activity: params.max_age_days: must be an integer ≥ 0"),
    ("null not allowed", node_params("hsct.age", min_years=None), "hsct.age: params.min_years: must not be null"),
    ("bad operator", node_params("cardiac_function", op="=<"), "cardiac_function: params.op: must be one of <, <=, >, >="),
    ("bad sex", node_params("pregnancy.pregnant", sex="male"), "pregnancy.pregnant: params.sex: must be female or null"),
    ("bad if_unrecorded", node_params("tuberculosis", if_unrecorded="maybe"), "tuberculosis: params.if_unrecorded: must be unknown or absent"),
    ("unknown manifestation", node_params("active_cns_lupus", codes=["cns"]), "active_cns_lupus: params.codes: unknown manifestation code 'cns'"),
    ("unknown LN class", node_params("hsct.severe_activity.major_organ", ln_classes=["VII"]), "hsct.severe_activity.major_organ: params.ln_classes: unknown lupus nephritis class code 'VII'"),
    ("unknown observation", node_params("cardiac_function", code="bnp"), "cardiac_function: params.code: unknown observation code 'bnp'"),
    ("unknown condition", node_params("tuberculosis", codes=["tb"]), "tuberculosis: params.codes: unknown condition code 'tb'"),
    ("unknown drug class", node_params("msc.immunosuppression", classes=["steroid"]), "msc.immunosuppression: params.classes: unknown drug class code 'steroid'"),
    ("unknown agent", node_params("hsct.antimalarial", agents=["chloroquine"]), "hsct.antimalarial: params.agents: unknown agent 'chloroquine'"),
    ("agent given as drug code", node_params("hsct.antimalarial", agents=["mycophenolate_mofetil"]), "hsct.antimalarial: params.agents: unknown agent 'mycophenolate_mofetil'"),
    ("empty code list", node_params("tuberculosis", codes=[]), "tuberculosis: params.codes: must list at least one code"),
    ("repeated code", node_params("tuberculosis", codes=["tuberculosis", "tuberculosis"]), "tuberculosis: params.codes: lists a code twice"),
    ("duplicate id", node_set("msc.age", "id", "hsct.age"), "hsct.age: id: duplicate node id"),
    ("unknown node key", node_set("hsct.age", "weight", 1), "hsct.age: weight: unknown key"),
    ("empty group", empty_group, "hsct.severe_activity: any: a group needs at least one child"),
    ("all and any", both_ops, "hsct.severe_activity: any: a group has either all or any, not both"),
    ("pathway root id", pathway_root_id, "hsct: inclusion.id: the inclusion root must carry the pathway id 'hsct'"),
    ("caution root id", caution_root_id, "viral_infection: criterion.id: the criterion root must carry the caution id"),
    ("unknown caution key", unknown_caution_key, "pregnancy: note: unknown key"),
    ("severity for unknown pathway", caution_severity("pregnancy", {"hsct": "caution", "msc": "caution", "car_t": "caution"}), "pregnancy: severity.car_t: not a pathway id"),
    ("severity key missing", caution_severity("pregnancy", {"hsct": "caution"}), "pregnancy: severity.msc: missing"),
    ("bad severity value", caution_severity("pregnancy", {"hsct": "warning", "msc": None}), "pregnancy: severity.hsct: must be contraindication, caution or null"),
    ("drug without class", drug_drop("mycophenolate_mofetil", "class"), "drug mycophenolate_mofetil: class: missing"),
    ("bad drug class", drug_set("leflunomide", "class", "dmard"), "drug leflunomide: class: must be one of"),
    ("unknown drug key", drug_set("leflunomide", "route", "oral"), "drug leflunomide: route: unknown key"),
    ("glucocorticoid without factor", drug_set("prednisone", "prednisone_factor", None), "drug prednisone: prednisone_factor: must be a number > 0 for a glucocorticoid"),
    ("factor on a non-glucocorticoid", drug_set("azathioprine", "prednisone_factor", 1.0), "drug azathioprine: prednisone_factor: must be null"),
    ("negative min_days", drug_set("tacrolimus", "min_days", -3), "drug tacrolimus: min_days: must be an integer ≥ 0 or null"),
    ("bool min_dose", drug_set("leflunomide", "min_dose", True), "drug leflunomide: min_dose: must be a number ≥ 0 or null"),
    ("agent of two classes", drug_set("cyclophosphamide_oral", "class", "biologic"), "drug cyclophosphamide_oral: class: agent 'cyclophosphamide' is already of class 'immunosuppressant'"),
    ("duplicate drug", duplicate_drug, "drug hydroxychloroquine: drug: duplicate drug code"),
    ("unknown top-level key", top("author", "me"), "rule set: author: unknown key"),
    ("wrong format", top("format", "sle-screening-rules/2"), "rule set: format: must be 'sle-screening-rules/1'"),
    ("empty name", top("name", ""), "rule set: name: must be a non-empty string"),
    ("no pathways", top("pathways", []), "rule set: pathways: must hold at least one pathway"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutation", "message"), [(m, msg) for _, m, msg in BAD_FILES], ids=[n for n, _, _ in BAD_FILES]
)
def test_bad_file_is_rejected_naming_node_and_parameter(mutation: Mutation, message: str) -> None:
    data = default_rules_data()
    mutation(data)
    with pytest.raises(RuleSetError) as excinfo:
        parse_rule_set(data)
    assert str(excinfo.value).startswith(message)
    assert "\n" not in str(excinfo.value)


def test_error_carries_where_and_field() -> None:
    data = default_rules_data()
    drop_param("hsct.age", "max_years")(data)
    with pytest.raises(RuleSetError) as excinfo:
        parse_rule_set(data)
    assert (excinfo.value.where, excinfo.value.field) == ("hsct.age", "params.max_years")


def test_null_windows_are_accepted() -> None:
    data = default_rules_data()
    node_params("msc.activity", max_age_days=None)(data)
    node_params("cardiac_function", max_age_days=None)(data)
    node_params("recent_biologic.other", within_days=None)(data)
    assert rule_set_to_dict(parse_rule_set(data)) == data
