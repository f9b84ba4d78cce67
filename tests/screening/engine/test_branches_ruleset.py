"""Rule-set files (docs/rule-sets.md, "The file"): every validation rule, by the exact message it gives.

Each bad file is the default rule set with one thing broken; the message must
name the node id (or the drug, pathway, caution, or where in the file it is
when the thing has no usable id) and the parameter, in one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from screening.engine import RuleSetError, parse_rule_set, rule_set_to_dict
from screening.engine.criterion_types import SLEDAI_MAX, ObservationCompareParams
from screening.engine.ruleset import Criterion
from tests.screening.engine.helpers import default_rules, default_rules_data
from tests.shipped import RULES_PATH

Mutation = Callable[[dict[str, Any]], None]
IDENTIFIER = "must be a non-empty identifier (letters, digits, '_', '.', '-')"


def node(data: dict[str, Any], node_id: str) -> dict[str, Any]:
    """The node with this id anywhere in a rule-set dict."""
    stack: list[Any] = [p["inclusion"] for p in data["pathways"]] + [c["criterion"] for c in data["cautions"]]
    while stack:
        found = stack.pop()
        if found.get("id") == node_id:
            return found  # type: ignore[no-any-return]
        stack.extend(found.get("all", []) + found.get("any", []))
    raise KeyError(node_id)


def drug(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(d for d in data["drugs"] if d["drug"] == code)


def params(node_id: str, **changes: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node(data, node_id)["params"].update(changes)

    return mutate


def node_key(node_id: str, key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node(data, node_id)[key] = value

    return mutate


def node_drop(node_id: str, key: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del node(data, node_id)[key]

    return mutate


def replace_child(group_id: str, op: str, index: int, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node(data, group_id)[op][index] = value

    return mutate


def drug_key(code: str, key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        drug(data, code)[key] = value

    return mutate


def drug_item(index: int, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["drugs"][index] = value

    return mutate


def drug_item_drop(index: int, key: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del data["drugs"][index][key]

    return mutate


def pathway_item(index: int, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["pathways"][index] = value

    return mutate


def pathway_key(index: int, key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["pathways"][index][key] = value

    return mutate


def pathway_drop(index: int, key: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del data["pathways"][index][key]

    return mutate


def caution_item(index: int, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["cautions"][index] = value

    return mutate


def caution_key(index: int, key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["cautions"][index][key] = value

    return mutate


def top(key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data[key] = value

    return mutate


def drop_top(key: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del data[key]

    return mutate


def rename_group_op(group_id: str, old: str, new: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        group = node(data, group_id)
        group[new] = group.pop(old)

    return mutate


def duplicate_pathway(data: dict[str, Any]) -> None:
    data["pathways"].append(json.loads(json.dumps(data["pathways"][1])))


def caution_named_like_a_criterion(data: dict[str, Any]) -> None:
    tb = next(c for c in data["cautions"] if c["id"] == "tuberculosis")
    tb["id"] = tb["criterion"]["id"] = "hsct.age"


HSCT_AGE = 1  # hsct.age is the second child of the hsct root ("all")
PREDNISONE = 1  # index of prednisone in the drug catalogue (section 5 order)
TUBERCULOSIS = 2  # index of the tuberculosis caution
GC = "hsct.refractory.steroid_dependent.glucocorticoids"

BAD_FILES: list[tuple[str, Mutation, str]] = [
    # -- top level
    ("drugs not a list", top("drugs", {}), "rule set: drugs: must be a list of drug objects"),
    ("pathways not a list", top("pathways", {"id": "hsct"}), "rule set: pathways: must be a list of pathway objects"),
    ("cautions not a list", top("cautions", None), "rule set: cautions: must be a list of caution objects"),
    ("version not a string", top("version", 2026.1), "rule set: version: must be a non-empty string"),
    ("blank name", top("name", "   "), "rule set: name: must be a non-empty string"),
    ("format missing", drop_top("format"), "rule set: format: missing"),
    # -- drugs: an entry with no usable code is named by its index
    ("drug not an object", drug_item(PREDNISONE, "prednisone"), "drugs[1]: drug: must be an object"),
    ("drug code not lower-case", drug_key("prednisone", "drug", "Prednisone"), "drugs[1]: drug: must be a lower-case code (a-z, 0-9, _)"),
    ("drug code missing", drug_item_drop(PREDNISONE, "drug"), "drugs[1]: drug: missing"),
    ("drug code not a string", drug_key("prednisone", "drug", 7), "drugs[1]: drug: must be a lower-case code (a-z, 0-9, _)"),
    ("agent not a code", drug_key("leflunomide", "agent", "Leflunomide"), "drug leflunomide: agent: must be a lower-case code (a-z, 0-9, _)"),
    ("empty dose unit", drug_key("leflunomide", "dose_unit", ""), "drug leflunomide: dose_unit: must be a non-empty string"),
    ("bool min_days", drug_key("tacrolimus", "min_days", True), "drug tacrolimus: min_days: must be an integer ≥ 0 or null"),
    ("float min_days", drug_key("tacrolimus", "min_days", 90.0), "drug tacrolimus: min_days: must be an integer ≥ 0 or null"),
    ("negative min_dose_per_kg", drug_key("azathioprine", "min_dose_per_kg", -2.0), "drug azathioprine: min_dose_per_kg: must be a number ≥ 0 or null"),
    ("string min_dose", drug_key("leflunomide", "min_dose", "20"), "drug leflunomide: min_dose: must be a number ≥ 0 or null"),
    ("zero prednisone factor", drug_key("prednisolone", "prednisone_factor", 0), "drug prednisolone: prednisone_factor: must be a number > 0 for a glucocorticoid"),
    ("string prednisone factor", drug_key("prednisolone", "prednisone_factor", "1.0"), "drug prednisolone: prednisone_factor: must be a number > 0 for a glucocorticoid"),
    # -- nodes
    ("node not an object", replace_child("hsct", "all", HSCT_AGE, "hsct.age"), "hsct.all[1]: node: must be an object"),
    ("node without id", node_drop("hsct.age", "id"), "hsct.all[1]: id: missing"),
    ("node id with a space", node_key("hsct.age", "id", "hsct age"), f"hsct.all[1]: id: {IDENTIFIER}"),
    ("node id empty", node_key("hsct.age", "id", ""), f"hsct.all[1]: id: {IDENTIFIER}"),
    ("node id a number", node_key("hsct.age", "id", 7), f"hsct.all[1]: id: {IDENTIFIER}"),
    ("nested node path", replace_child("hsct.refractory.steroid_dependent", "all", 0, []), "hsct.refractory.steroid_dependent.all[0]: node: must be an object"),
    ("criterion without type", node_drop("hsct.age", "type"), "hsct.age: type: missing (a node is a criterion with a type, or a group with all or any)"),
    ("group op misspelt", rename_group_op("hsct.severe_activity", "any", "one_of"), "hsct.severe_activity: type: missing (a node is a criterion with a type, or a group with all or any)"),
    ("group children not a list", node_key("hsct.severe_activity", "any", {"id": "x"}), "hsct.severe_activity: any: must be a list of nodes"),
    ("group with a type", node_key("hsct.severe_activity", "type", "sledai_at_least"), "hsct.severe_activity: type: unknown key"),
    ("type not a string", node_key("hsct.age", "type", ["age_between"]), "hsct.age: type: unknown criterion type ['age_between']"),
    ("params missing", node_drop("hsct.age", "params"), "hsct.age: params: missing"),
    ("params not an object", node_key("hsct.age", "params", [18, 60]), "hsct.age: params: must be an object"),
    ("empty source", node_key("hsct.age", "source", ""), "hsct.age: source: must be a non-empty string (leave the key out for none)"),
    ("blank source", node_key("hsct.age", "source", "  "), "hsct.age: source: must be a non-empty string (leave the key out for none)"),
    ("null source", node_key("hsct.age", "source", None), "hsct.age: source: must be a non-empty string (leave the key out for none)"),
    ("duplicate pathway", duplicate_pathway, "msc: id: duplicate node id (ids are unique in the file)"),
    ("caution id taken by a criterion", caution_named_like_a_criterion, "hsct.age: id: duplicate node id (ids are unique in the file)"),
    # -- parameters, by kind
    ("integer above maximum", params("hsct.age", max_years=151), "hsct.age: params.max_years: must be an integer ≤ 150"),
    ("SLEDAI minimum above the scale", params("msc.activity", min_score=SLEDAI_MAX + 1), f"msc.activity: params.min_score: must be an integer ≤ {SLEDAI_MAX}"),
    ("ongoing SLEDAI minimum above the scale", params("hsct.refractory.failed_agents", ongoing_active_sledai_min=SLEDAI_MAX + 1), f"hsct.refractory.failed_agents: params.ongoing_active_sledai_min: must be an integer ≤ {SLEDAI_MAX}"),
    ("integer below minimum", params("hsct.refractory.failed_agents", min_count=0), "hsct.refractory.failed_agents: params.min_count: must be an integer ≥ 1"),
    ("window below zero says null is allowed", params("msc.activity", max_age_days=-1), "msc.activity: params.max_age_days: must be an integer ≥ 0 or null"),
    ("window as text says null is allowed", params("msc.activity", max_age_days="30"), "msc.activity: params.max_age_days: must be an integer or null"),
    ("non-nullable integer as float", params("msc.activity", min_score=6.0), "msc.activity: params.min_score: must be an integer"),
    ("number as text", params("cardiac_function", value="35"), "cardiac_function: params.value: must be a number"),
    ("number as list", params(GC, above_mg_per_day=[7.5]), f"{GC}: params.above_mg_per_day: must be a number"),
    ("number not finite", params(GC, above_mg_per_day=float("inf")), f"{GC}: params.above_mg_per_day: must be a number"),
    ("number NaN", params("cardiac_function", value=float("nan")), "cardiac_function: params.value: must be a number"),
    ("number below minimum", params(GC, above_mg_per_day=-0.5), f"{GC}: params.above_mg_per_day: must be a number ≥ 0"),
    ("null number", params("cardiac_function", value=None), "cardiac_function: params.value: must not be null"),
    ("null boolean", params("cardiac_function", times_uln=None), "cardiac_function: params.times_uln: must not be null"),
    ("null code list", params("tuberculosis", codes=None), "tuberculosis: params.codes: must not be null"),
    ("operator as symbol word", params("cardiac_function", op="lt"), "cardiac_function: params.op: must be one of <, <=, >, >="),
    ("operator not a string", params("cardiac_function", op=1), "cardiac_function: params.op: must be one of <, <=, >, >="),
    ("code not a string", params("cardiac_function", code=["lvef"]), "cardiac_function: params.code: unknown observation code ['lvef']"),
    ("code list not a list", params("tuberculosis", codes="tuberculosis"), "tuberculosis: params.codes: must be a list of condition codes"),
    ("agent list not a list", params("hsct.antimalarial", agents="hydroxychloroquine"), "hsct.antimalarial: params.agents: must be a list of agent codes"),
    ("code in list not a string", params("msc.immunosuppression", classes=["biologic", 3]), "msc.immunosuppression: params.classes: unknown drug class code 3"),
    ("empty agent list", params("hsct.antimalarial", agents=[]), "hsct.antimalarial: params.agents: must list at least one code"),
    ("repeated agent", params("hsct.antimalarial", agents=["hydroxychloroquine", "hydroxychloroquine"]), "hsct.antimalarial: params.agents: lists a code twice"),
    # -- pathways: one with no usable id is named by its index
    ("pathway not an object", pathway_item(1, "msc"), "pathways[1]: pathway: must be an object"),
    ("pathway without id", pathway_drop(0, "id"), "pathways[0]: id: missing"),
    ("pathway id empty", pathway_key(0, "id", ""), f"pathways[0]: id: {IDENTIFIER}"),
    ("pathway id a number", pathway_key(1, "id", 2), f"pathways[1]: id: {IDENTIFIER}"),
    ("pathway unknown key", pathway_key(0, "colour", "red"), "hsct: colour: unknown key"),
    ("pathway without inclusion", pathway_drop(1, "inclusion"), "msc: inclusion: missing"),
    ("pathway label empty", pathway_key(0, "label", ""), "hsct: label: must be a non-empty string"),
    ("inclusion not an object", pathway_key(0, "inclusion", None), "hsct.inclusion: node: must be an object"),
    # -- cautions: one with no usable id is named by its index
    ("caution not an object", caution_item(TUBERCULOSIS, "tuberculosis"), "cautions[2]: caution: must be an object"),
    ("caution id empty", caution_key(TUBERCULOSIS, "id", ""), f"cautions[2]: id: {IDENTIFIER}"),
    ("caution id with a slash", caution_key(TUBERCULOSIS, "id", "tb/active"), f"cautions[2]: id: {IDENTIFIER}"),
    ("caution criterion not an object", caution_key(TUBERCULOSIS, "criterion", "tuberculosis"), "tuberculosis.criterion: node: must be an object"),
    ("severity not an object", caution_key(TUBERCULOSIS, "severity", "contraindication"), "tuberculosis: severity: must be an object with a key for every pathway"),
    ("severity a list", caution_key(TUBERCULOSIS, "severity", ["contraindication", "contraindication"]), "tuberculosis: severity: must be an object with a key for every pathway"),
    ("caution source empty", caution_key(TUBERCULOSIS, "source", ""), "tuberculosis: source: must be a non-empty string"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutation", "message"), [(m, msg) for _, m, msg in BAD_FILES], ids=[n for n, _, _ in BAD_FILES]
)
def test_bad_file_gives_the_exact_message(mutation: Mutation, message: str) -> None:
    data = default_rules_data()
    mutation(data)
    with pytest.raises(RuleSetError) as excinfo:
        parse_rule_set(data)
    assert str(excinfo.value) == message
    where, field, problem = message.split(": ", 2)
    assert (excinfo.value.where, excinfo.value.field, excinfo.value.problem) == (where, field, problem)


def test_indexes_named_in_the_messages_are_those_of_the_default_file() -> None:
    data = default_rules_data()
    assert data["drugs"][PREDNISONE]["drug"] == "prednisone"
    assert data["cautions"][TUBERCULOSIS]["id"] == "tuberculosis"
    assert data["pathways"][0]["inclusion"]["all"][HSCT_AGE]["id"] == "hsct.age"


@pytest.mark.parametrize("value", [[], "rules", None, 3])
def test_a_file_that_is_not_an_object_is_refused(value: Any) -> None:
    with pytest.raises(RuleSetError) as excinfo:
        parse_rule_set(value)
    assert str(excinfo.value) == "rule set: file: must be a JSON object"


def test_integer_at_the_maximum_is_accepted() -> None:
    data = default_rules_data()
    params("hsct.age", min_years=150, max_years=150)(data)
    params("msc.activity", min_score=SLEDAI_MAX)(data)
    rules = parse_rule_set(data)
    assert rule_set_to_dict(rules) == data


# ---------------------------------------------------------------- numbers read as Decimal


def test_a_file_read_with_decimal_numbers_gives_the_same_rule_set() -> None:
    """A caller may load the JSON with parse_float=Decimal to keep numbers exact: same rules either way."""
    exact = json.loads(RULES_PATH.read_text(encoding="utf-8"), parse_float=Decimal)
    assert isinstance(node(exact, "cardiac_function")["params"]["value"], int)
    assert isinstance(node(exact, GC)["params"]["above_mg_per_day"], Decimal)
    assert parse_rule_set(exact) == default_rules()
    assert rule_set_to_dict(parse_rule_set(exact)) == default_rules_data()


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (params(GC, above_mg_per_day=Decimal("NaN")), f"{GC}: params.above_mg_per_day: must be a number"),
        (params("cardiac_function", value=Decimal("-Infinity")), "cardiac_function: params.value: must be a number"),
        (params(GC, above_mg_per_day=Decimal("-0.1")), f"{GC}: params.above_mg_per_day: must be a number ≥ 0"),
        (drug_key("leflunomide", "min_dose", Decimal("Infinity")), "drug leflunomide: min_dose: must be a number ≥ 0 or null"),
        (drug_key("prednisone", "prednisone_factor", Decimal("NaN")), "drug prednisone: prednisone_factor: must be a number > 0 for a glucocorticoid"),
    ],
)  # fmt: skip
def test_non_finite_or_negative_decimals_are_refused(mutation: Mutation, message: str) -> None:
    data = default_rules_data()
    mutation(data)
    with pytest.raises(RuleSetError) as excinfo:
        parse_rule_set(data)
    assert str(excinfo.value) == message


def test_decimal_parameters_keep_their_exact_value() -> None:
    data = default_rules_data()
    params("cardiac_function", value=Decimal("35.50"))(data)
    drug_key("azathioprine", "min_dose_per_kg", Decimal("2.25"))(data)
    rules = parse_rule_set(data)
    cardiac = next(c for c in rules.cautions if c.id == "cardiac_function").criterion
    assert isinstance(cardiac, Criterion) and isinstance(cardiac.params, ObservationCompareParams)
    assert cardiac.params.value == Decimal("35.50")
    aza = rules.drug("azathioprine")
    assert aza is not None and aza.min_dose_per_kg == Decimal("2.25")


# ---------------------------------------------------------------- lookups on a parsed rule set


def test_drug_lookup_of_a_code_outside_the_catalogue_is_none() -> None:
    rules = default_rules()
    assert rules.drug("chloroquine") is None
    assert rules.drug("mycophenolate") is None  # an agent is not a drug code
    found = rules.drug("obinutuzumab")  # the last entry
    assert found is not None and found.agent == "obinutuzumab" and found.drug_class == "biologic"


def test_pathway_lookup_finds_every_pathway_and_refuses_others() -> None:
    rules = default_rules()
    msc = rules.pathway("msc")  # not the first pathway: the lookup goes past hsct
    assert msc.id == "msc" and msc.inclusion.id == "msc" and msc is rules.pathways[1]
    with pytest.raises(KeyError):
        rules.pathway("car_t")


def test_severity_for_a_pathway_the_rule_set_lacks_is_not_applicable() -> None:
    cautions = {c.id: c for c in default_rules().cautions}
    assert cautions["pregnancy"].severity_for("car_t") is None
    assert cautions["kidney_function"].severity_for("hsct") == "caution"
    assert cautions["kidney_function"].severity_for("msc") == "contraindication"
