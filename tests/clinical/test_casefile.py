"""Case-file schema, validation and canonical text (docs/case-files.md; no Django)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from clinical import vocab
from clinical.casefile import (
    LIST_KEYS,
    ROOT_FIELD,
    SCHEMA_PATH,
    CaseFileError,
    case_schema,
    dump_case,
    main,
    parse_case,
    schema_text,
    validate_case,
)
from tests.shipped import CASES, RULES_PATH, case_paths

CASE_FILES = case_paths()
DRUGS = {d["drug"]: d["dose_unit"] for d in json.loads(RULES_PATH.read_text())["drugs"]}
BASE_FILE = CASES / "contraindications-present.json"


def base() -> dict[str, Any]:
    return json.loads(BASE_FILE.read_text())


def validate(data: object, today: date | None = None) -> dict[str, Any]:
    return validate_case(data, drugs=DRUGS, today=today)


# --- The shipped cases -----------------------------------------------------------


def test_shipped_cases_exist() -> None:
    assert len(CASE_FILES) >= 9


def without_null_biopsy_class(data: dict[str, Any]) -> dict[str, Any]:
    """The case with ``"biopsy_class": null`` left out: not recorded, as the normal form writes it."""
    out = copy.deepcopy(data)
    for entry in out.get("manifestations", []):
        if "biopsy_class" in entry and entry["biopsy_class"] is None:
            del entry["biopsy_class"]
    return out


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_shipped_case_validates_and_is_already_normal(path: Path) -> None:
    """Each shipped case is in canonical form, but for a biopsy class written as null (nephritis-unbiopsied's,
    as the normative file writes it), which the canonical form leaves out: a missing optional value means not
    recorded, so the two read the same."""
    text = path.read_text()
    data = json.loads(text)
    case = validate(data)
    normal = without_null_biopsy_class(data)
    assert case == normal
    assert validate(case) == case  # idempotent
    assert dump_case(case) == (text if normal == data else dump_case(normal))  # canonical form
    assert case["case_id"] == path.stem


def test_only_the_unbiopsied_nephritis_case_writes_a_null_biopsy_class() -> None:
    nulls = [
        p.stem for p in CASE_FILES if without_null_biopsy_class(json.loads(p.read_text())) != json.loads(p.read_text())
    ]
    assert nulls == ["nephritis-unbiopsied"]


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_shipped_case_round_trip_is_byte_identical(path: Path) -> None:
    first = dump_case(parse_case(path.read_text(), drugs=DRUGS))
    second = dump_case(parse_case(first, drugs=DRUGS))
    assert first == second


# --- Schema ----------------------------------------------------------------------


def test_schema_doc_equals_case_schema() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == case_schema()


def test_schema_is_valid_draft_2020_12() -> None:
    schema = case_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_forbids_unknown_keys_on_every_object() -> None:
    def objects(node: Any) -> list[dict[str, Any]]:
        found = []
        if isinstance(node, dict):
            if node.get("type") == "object":
                found.append(node)
            for value in node.values():
                found += objects(value)
        elif isinstance(node, list):
            for value in node:
                found += objects(value)
        return found

    nodes = objects(case_schema())
    assert len(nodes) >= 11
    assert all(node["additionalProperties"] is False for node in nodes)


def test_schema_code_lists_come_from_vocab() -> None:
    props = case_schema()["properties"]
    assessment = props["assessments"]["items"]["properties"]
    assert assessment["sledai2k"]["properties"]["present"]["items"]["enum"] == list(vocab.SLEDAI_ITEMS)
    assert assessment["window_days"]["enum"] == list(vocab.SLEDAI_WINDOWS)
    assert list(assessment["bilag"]["properties"]) == list(vocab.BILAG_SYSTEMS)
    assert props["classification"]["properties"]["criteria"]["items"]["enum"] == list(vocab.EULAR_CRITERIA)
    assert list(props["damage"]["items"]["properties"]["items"]["properties"]) == list(vocab.SDI_ITEMS)
    assert props["manifestations"]["items"]["properties"]["code"]["enum"] == list(vocab.MANIFESTATION_CODES)
    assert props["manifestations"]["items"]["properties"]["biopsy_class"]["enum"] == [*vocab.LN_CLASSES, None]
    assert props["observations"]["items"]["properties"]["code"]["enum"] == list(vocab.OBSERVATIONS)
    assert props["conditions"]["items"]["properties"]["code"]["enum"] == list(vocab.CONDITION_CODES)
    assert props["treatments"]["items"]["properties"]["stop_reason"]["enum"] == [*vocab.STOP_REASONS, None]
    assert props["patient"]["properties"]["sex"]["enum"] == [*vocab.SEXES, None]
    assert props["format"]["const"] == vocab.CASE_FORMAT
    assert "enum" not in props["treatments"]["items"]["properties"]["drug"]  # catalogue is admin-editable


def test_case_schema_returns_a_fresh_dict() -> None:
    schema = case_schema()
    schema["properties"].clear()
    assert case_schema()["properties"]


def test_write_and_check_schema_entry_point(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    assert main(["--check-schema", "--path", str(target)]) == 1
    assert main(["--write-schema", "--path", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema_text()
    assert main(["--check-schema", "--path", str(target)]) == 0
    assert main(["--check-schema"]) == 0  # the committed doc is current


# --- Bad files ---------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], Any]


def setter(*path: Any, value: Any) -> Mutation:
    def mutate(case: dict[str, Any]) -> None:
        node: Any = case
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def deleter(*path: Any) -> Mutation:
    def mutate(case: dict[str, Any]) -> None:
        node: Any = case
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return mutate


def appender(key: str, entry: dict[str, Any]) -> Mutation:
    return lambda case: case[key].append(entry)


def copy_entry(key: str, index: int, **changes: Any) -> Mutation:
    return lambda case: case[key].append({**copy.deepcopy(case[key][index]), **changes})


class Whole:
    """Returned by a mutation that replaces the whole file."""

    def __init__(self, value: Any) -> None:
        self.value = value


def replace_whole(value: Any) -> Mutation:
    return lambda case: Whole(value)


# (id, mutation, field, message). The base is contraindications-present.json.
BAD: list[tuple[str, Mutation, str, str]] = [
    (
        "format-wrong",
        setter("format", value="sle-screening-case/2"),
        "format",
        'must be exactly "sle-screening-case/1"',
    ),
    ("format-missing", deleter("format"), "format", "is required"),
    (
        "case-id-space",
        setter("case_id", value="bad id"),
        "case_id",
        "must be 1 to 64 characters, each a letter, digit, dot, underscore or hyphen",
    ),
    (
        "case-id-empty",
        setter("case_id", value=""),
        "case_id",
        "must be 1 to 64 characters, each a letter, digit, dot, underscore or hyphen",
    ),
    (
        "case-id-too-long",
        setter("case_id", value="x" * 65),
        "case_id",
        "must be 1 to 64 characters, each a letter, digit, dot, underscore or hyphen",
    ),
    (
        "case-id-trailing-newline",
        setter("case_id", value="demo-01\n"),
        "case_id",
        "must be 1 to 64 characters, each a letter, digit, dot, underscore or hyphen",
    ),
    ("unknown-top-level-key", setter("notes", value="x"), "notes", "unknown field"),
    ("unknown-patient-key", setter("patient", "height", value=170), "patient.height", "unknown field"),
    ("unknown-treatment-key", setter("treatments", 1, "route", value="oral"), "treatments[1].route", "unknown field"),
    (
        "unknown-sledai-key",
        setter("assessments", 0, "sledai2k", "absent", value=[]),
        "assessments[0].sledai2k.absent",
        "unknown field",
    ),
    ("as-of-bad-string", setter("as_of", value="01/11/2026"), "as_of", "must be a date written YYYY-MM-DD"),
    ("as-of-impossible", setter("as_of", value="2026-02-30"), "as_of", "2026-02-30 is not a real calendar date"),
    (
        "as-of-not-leap",
        setter("assessments", 1, "date", value="2026-02-29"),
        "assessments[1].date",
        "2026-02-29 is not a real calendar date",
    ),
    (
        "month-13",
        setter("treatments", 2, "end", value="2025-13-01"),
        "treatments[2].end",
        "2025-13-01 is not a real calendar date",
    ),
    (
        "date-not-text",
        setter("patient", "birth_date", value=19960514),
        "patient.birth_date",
        "must be a date written YYYY-MM-DD or null, not 19960514",
    ),
    ("as-of-missing-no-today", deleter("as_of"), "as_of", "is required (no evaluation date was given)"),
    (
        "birth-after-as-of",
        setter("patient", "birth_date", value="2026-11-02"),
        "patient.birth_date",
        "must not be after the as-of date (2026-11-01)",
    ),
    (
        "birth-before-1900",
        setter("patient", "birth_date", value="1899-12-31"),
        "patient.birth_date",
        "must not be before 1900-01-01",
    ),
    ("weight-19", setter("patient", "weight_kg", value=19), "patient.weight_kg", "must be between 20 and 300"),
    ("weight-301", setter("patient", "weight_kg", value=301), "patient.weight_kg", "must be between 20 and 300"),
    (
        "weight-text",
        setter("patient", "weight_kg", value="60"),
        "patient.weight_kg",
        'must be a number or null, not the text "60"',
    ),
    ("weight-nan", setter("patient", "weight_kg", value=float("nan")), "patient.weight_kg", "must be a finite number"),
    ("sex-f", setter("patient", "sex", value="f"), "patient.sex", "must be one of: female, male"),
    (
        "sle-attested-text",
        setter("patient", "sle_attested", value="yes"),
        "patient.sle_attested",
        'must be true or false, not the text "yes"',
    ),
    ("pga-3.5", setter("assessments", 0, "pga", value=3.5), "assessments[0].pga", "must be between 0 and 3"),
    (
        "window-14",
        setter("assessments", 0, "window_days", value=14),
        "assessments[0].window_days",
        "must be one of: 10, 30",
    ),
    ("sledai-missing", deleter("assessments", 0, "sledai2k"), "assessments[0].sledai2k", "is required"),
    (
        "unknown-sledai-code",
        setter("assessments", 1, "sledai2k", "present", 1, value="headache"),
        "assessments[1].sledai2k.present[1]",
        '"headache" is not a known SLEDAI-2K descriptor',
    ),
    (
        "sledai-duplicate",
        setter("assessments", 1, "sledai2k", "present", 2, value="proteinuria"),
        "assessments[1].sledai2k.present[2]",
        "duplicate: proteinuria is already listed",
    ),
    (
        "sledai-overlap",
        setter("assessments", 1, "sledai2k", "not_assessed", value=["fever", "arthritis"]),
        "assessments[1].sledai2k.not_assessed[1]",
        "arthritis is also listed as present",
    ),
    (
        "not-assessed-duplicate",
        setter("assessments", 0, "sledai2k", "not_assessed", value=["fever", "fever"]),
        "assessments[0].sledai2k.not_assessed[1]",
        "duplicate: fever is already listed",
    ),
    (
        "bilag-unknown-system",
        setter("assessments", 0, "bilag", value={"kidney": "A"}),
        "assessments[0].bilag.kidney",
        "is not a known BILAG-2004 system",
    ),
    (
        "bilag-bad-grade",
        setter("assessments", 0, "bilag", value={"renal": "F"}),
        "assessments[0].bilag.renal",
        "must be one of: A, B, C, D, E",
    ),
    (
        "criterion-duplicate",
        lambda c: c["classification"]["criteria"].append("joint_involvement"),
        "classification.criteria[4]",
        "duplicate: joint_involvement is already listed",
    ),
    (
        "criterion-unknown",
        setter("classification", "criteria", 1, value="nephritis"),
        "classification.criteria[1]",
        '"nephritis" is not a known 2019 EULAR/ACR criterion',
    ),
    ("ana-negative", setter("classification", "ana_titre", value=-1), "classification.ana_titre", "must be at least 0"),
    (
        "ana-float",
        setter("classification", "ana_titre", value=640.5),
        "classification.ana_titre",
        "must be a whole number or null, not 640.5",
    ),
    (
        "cataract-twice",
        setter("damage", 0, "items", "cataract", value=2),
        "damage[0].items.cataract",
        "must be 1 (cataract cannot be counted twice)",
    ),
    ("cva-three", setter("damage", 0, "items", "cva", value=3), "damage[0].items.cva", "must be 1 or 2"),
    (
        "damage-count-zero",
        setter("damage", 0, "items", "cataract", value=0),
        "damage[0].items.cataract",
        "must be 1 or 2",
    ),
    (
        "unknown-sdi-item",
        setter("damage", 0, "items", "blindness", value=1),
        "damage[0].items.blindness",
        "is not a known SLICC/ACR damage index item",
    ),
    (
        "biopsy-on-neuropsychiatric",
        appender(
            "manifestations", {"code": "neuropsychiatric", "date": "2026-05-01", "active": True, "biopsy_class": "IV"}
        ),
        "manifestations[1].biopsy_class",
        "is allowed only for lupus_nephritis",
    ),
    (
        "bad-biopsy-class",
        setter("manifestations", 0, "biopsy_class", value="VII"),
        "manifestations[0].biopsy_class",
        "must be one of: I, II, III, IV, V, VI, III+V, IV+V",
    ),
    (
        "unknown-manifestation",
        setter("manifestations", 0, "code", value="nephritis"),
        "manifestations[0].code",
        "must be one of: lupus_nephritis, neuropsychiatric, cardiopulmonary, systemic_vasculitis, "
        "severe_cytopenia, catastrophic_aps, other",
    ),
    ("active-missing", deleter("manifestations", 0, "active"), "manifestations[0].active", "is required"),
    (
        "unknown-observation",
        setter("observations", 0, "code", value="gfr"),
        "observations[0].code",
        '"gfr" is not a known observation code',
    ),
    ("observation-value-missing", deleter("observations", 3, "value"), "observations[3].value", "is required"),
    ("uln-zero", setter("observations", 8, "uln", value=0), "observations[8].uln", "must be greater than 0"),
    (
        "unknown-drug",
        setter("treatments", 0, "drug", value="aspirin"),
        "treatments[0].drug",
        '"aspirin" is not a known drug',
    ),
    (
        "drug-upper-case",
        setter("treatments", 0, "drug", value="Hydroxychloroquine"),
        "treatments[0].drug",
        "must be a code of lower-case letters, digits and underscores",
    ),
    (
        "wrong-dose-unit",
        appender("treatments", {"drug": "azathioprine", "start": "2026-04-01", "dose": 2, "dose_unit": "mg/kg/day"}),
        "treatments[5].dose_unit",
        "must be mg/day for azathioprine",
    ),
    ("end-before-start", setter("treatments", 2, "end", value="2025-02-28"), "treatments[2].end", "before start"),
    (
        "stop-reason-without-end",
        setter("treatments", 0, "stop_reason", value="intolerance"),
        "treatments[0].stop_reason",
        "is allowed only for a course that has an end date",
    ),
    ("negative-dose", setter("treatments", 1, "dose", value=-5), "treatments[1].dose", "must be at least 0"),
    (
        "bad-stop-reason",
        setter("treatments", 2, "stop_reason", value="failed"),
        "treatments[2].stop_reason",
        "must be one of: inadequate_response, intolerance, remission, non_adherence, other",
    ),
    (
        "unknown-condition",
        setter("conditions", 0, "code", value="flu"),
        "conditions[0].code",
        '"flu" is not a known condition code',
    ),
    (
        "bad-status",
        setter("conditions", 0, "status", value="positive"),
        "conditions[0].status",
        "must be one of: present, absent",
    ),
    (
        "duplicate-assessment",
        copy_entry("assessments", 1, pga=1.0),
        "assessments[2]",
        "duplicate: another assessment on 2026-10-15",
    ),
    (
        "duplicate-damage",
        appender("damage", {"date": "2026-06-01", "items": {"cva": 1}}),
        "damage[1]",
        "duplicate: another damage index on 2026-06-01",
    ),
    (
        "duplicate-manifestation",
        copy_entry("manifestations", 0, active=False),
        "manifestations[1]",
        "duplicate: another lupus_nephritis on 2026-03-20",
    ),
    (
        "duplicate-observation",
        copy_entry("observations", 0, value=70),
        "observations[15]",
        "duplicate: another egfr on 2026-10-15",
    ),
    (
        "duplicate-condition",
        copy_entry("conditions", 0, status="present"),
        "conditions[7]",
        "duplicate: another pregnancy on 2026-10-15",
    ),
    ("top-level-list", replace_whole([]), ROOT_FIELD, "must be a JSON object holding one case, not a list"),
    (
        "top-level-text",
        replace_whole("case"),
        ROOT_FIELD,
        'must be a JSON object holding one case, not the text "case"',
    ),
    ("top-level-null", replace_whole(None), ROOT_FIELD, "must be a JSON object holding one case, not null"),
    ("top-level-empty-object", replace_whole({}), "format", "is required"),
]

# Signs of a message written for programmers rather than clinicians.
TECHNICAL = re.compile(r"None|True|False|'|\\|\^|\$|\{|is not of type|additionalProperties|Failed|schema|regex")


def test_bad_table_is_big_enough() -> None:
    assert len(BAD) >= 30
    assert len({case_id for case_id, *_ in BAD}) == len(BAD)


@pytest.mark.parametrize(("mutate", "field", "message"), [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_bad_file_names_the_field(mutate: Mutation, field: str, message: str) -> None:
    data = base()
    replaced = mutate(data)
    if isinstance(replaced, Whole):
        data = replaced.value
    with pytest.raises(CaseFileError) as caught:
        validate(data)
    err = caught.value
    assert (err.field, err.message) == (field, message)
    assert str(err) == f"{field}: {message}"
    assert isinstance(err, ValueError)
    assert not TECHNICAL.search(err.message), err.message


def test_base_of_the_table_is_valid() -> None:
    assert validate(base()) == base()


# --- Rules that accept ------------------------------------------------------------


def test_as_of_defaults_to_today() -> None:
    data = base()
    del data["as_of"]
    case = validate(data, today=date(2026, 11, 1))
    assert case["as_of"] == "2026-11-01"
    assert list(case)[:3] == ["format", "case_id", "as_of"]
    assert case == base()


def test_null_as_of_means_today() -> None:
    data = base()
    data["as_of"] = None
    assert validate(data, today=date(2026, 11, 1)) == base()
    with pytest.raises(CaseFileError, match=r"^as_of: is required \(no evaluation date was given\)$"):
        validate(data)


def test_as_of_in_file_wins_over_today() -> None:
    assert validate(base(), today=date(2030, 1, 1))["as_of"] == "2026-11-01"


def test_today_before_birth_is_refused() -> None:
    data = base()
    del data["as_of"]
    with pytest.raises(CaseFileError, match=r"^patient\.birth_date: must not be after the as-of date \(1990-01-01\)$"):
        validate(data, today=date(1990, 1, 1))


def test_dates_after_as_of_are_allowed() -> None:
    data = base()
    data["assessments"].append({"date": "2027-01-05", "sledai2k": {"present": ["rash"]}})
    data["treatments"].append({"drug": "rituximab", "start": "2027-02-01", "dose": 1000, "dose_unit": "mg/dose"})
    validate(data)


def test_birth_on_edges_is_accepted() -> None:
    data = base()
    data["patient"]["birth_date"] = "1900-01-01"
    validate(data)
    data["patient"]["birth_date"] = data["as_of"]
    validate(data)


def test_count_two_allowed_for_items_marked_twice() -> None:
    twice = [code for code, item in vocab.SDI_ITEMS.items() if item.max_count == 2]
    assert "cva" in twice and "cataract" not in twice
    data = base()
    data["damage"][0]["items"] = {code: 2 for code in twice}
    validate(data)


def test_same_code_on_other_date_and_other_code_on_same_date_are_not_duplicates() -> None:
    data = base()
    data["observations"].append({"code": "egfr", "date": "2026-10-16", "value": 60})
    data["conditions"].append({"code": "hiv", "status": "absent", "date": "2026-10-15"})
    data["manifestations"].append({"code": "neuropsychiatric", "date": "2026-03-20", "active": False})
    validate(data)


def test_same_day_course_and_null_values_are_accepted() -> None:
    data = base()
    data["treatments"].append(
        {
            "drug": "rituximab",
            "start": "2026-05-01",
            "end": "2026-05-01",
            "dose": None,
            "dose_unit": "mg/dose",
            "stop_reason": "other",
        }
    )
    data["treatments"].append(
        {"drug": "tacrolimus", "start": "2026-05-01", "end": None, "stop_reason": None, "dose_unit": "mg/day"}
    )
    data["manifestations"].append(
        {"code": "neuropsychiatric", "date": "2026-05-01", "active": True, "biopsy_class": None}
    )
    data["patient"] = {"birth_date": None, "sex": None, "weight_kg": None}
    case = validate(data)
    assert case["treatments"][-2] == {
        "drug": "rituximab",
        "start": "2026-05-01",
        "end": "2026-05-01",
        "dose": None,
        "dose_unit": "mg/dose",
        "stop_reason": "other",
    }
    assert case["treatments"][-1] == {"drug": "tacrolimus", "start": "2026-05-01", "dose": None, "dose_unit": "mg/day"}
    assert case["manifestations"][-1] == {"code": "neuropsychiatric", "date": "2026-05-01", "active": True}
    assert case["patient"] == {"birth_date": None, "sex": None, "weight_kg": None, "sle_attested": False}


def test_drug_catalogue_is_the_callers() -> None:
    data = base()
    data["treatments"].append({"drug": "new_agent", "start": "2026-05-01", "dose": 5, "dose_unit": "mg/week"})
    with pytest.raises(CaseFileError, match=r"^treatments\[5\]\.drug: \"new_agent\" is not a known drug$"):
        validate(data)
    validate_case(data, drugs={**DRUGS, "new_agent": "mg/week"})


def test_empty_lists_are_accepted() -> None:
    data = base()
    for key in ("assessments", "damage", "manifestations", "observations", "treatments", "conditions"):
        data[key] = []
    data["classification"]["criteria"] = []
    data["damage"] = [{"date": "2026-01-01", "items": {}}]
    validate(data)


# --- Normalisation -----------------------------------------------------------------


def minimal() -> dict[str, Any]:
    return {
        "case_id": "min.1",
        "format": vocab.CASE_FORMAT,
        "patient": {},
        "assessments": [{"sledai2k": {}, "date": "2026-10-20", "pga": None, "bilag": {}}],
        "damage": [],
        "manifestations": [],
        "observations": [],
        "treatments": [],
        "conditions": [],
    }


def test_defaults_are_filled() -> None:
    case = validate(minimal(), today=date(2026, 11, 1))
    assert case == {
        "format": vocab.CASE_FORMAT,
        "case_id": "min.1",
        "as_of": "2026-11-01",
        "patient": {"birth_date": None, "sex": None, "weight_kg": None, "sle_attested": False},
        "assessments": [{"date": "2026-10-20", "window_days": 10, "sledai2k": {"present": [], "not_assessed": []}}],
        "damage": [],
        "manifestations": [],
        "observations": [],
        "treatments": [],
        "conditions": [],
    }
    assert list(case) == [
        "format",
        "case_id",
        "as_of",
        "patient",
        "assessments",
        "damage",
        "manifestations",
        "observations",
        "treatments",
        "conditions",
    ]
    assert "classification" not in case


def test_classification_absent_vs_criteria_absent_vs_empty() -> None:
    data = minimal()
    assert "classification" not in validate(data, today=date(2026, 11, 1))
    data["classification"] = {}  # records nothing: same meaning as absent
    assert "classification" not in validate(data, today=date(2026, 11, 1))
    data["classification"] = {"ana_titre": 640}
    assert validate(data, today=date(2026, 11, 1))["classification"] == {"ana_titre": 640}
    data["classification"] = {"criteria": []}
    assert validate(data, today=date(2026, 11, 1))["classification"] == {"ana_titre": None, "criteria": []}
    data["classification"] = {"ana_titre": 0, "criteria": ["fever"]}
    assert validate(data, today=date(2026, 11, 1))["classification"] == {"ana_titre": 0, "criteria": ["fever"]}


def test_normalising_is_idempotent_and_leaves_input_alone() -> None:
    data = minimal()
    data["assessments"][0]["bilag"] = {"renal": "A", "constitutional": "C"}
    data["damage"] = [{"items": {"malignancy": 1, "cataract": 1}, "date": "2026-01-02"}]
    data["observations"] = [{"value": 30.0, "uln": 35.0, "date": "2026-10-20", "code": "alt"}]
    before = copy.deepcopy(data)
    once = validate(data, today=date(2026, 11, 1))
    assert data == before
    twice = validate(once)
    assert twice == once
    assert dump_case(twice) == dump_case(once)
    assert list(once["assessments"][0]["bilag"]) == ["constitutional", "renal"]
    assert list(once["damage"][0]) == ["date", "items"]
    assert list(once["damage"][0]["items"]) == ["cataract", "malignancy"]
    assert once["observations"] == [{"code": "alt", "date": "2026-10-20", "value": 30, "uln": 35}]
    once["patient"]["sex"] = "male"
    assert data == before  # no shared objects


def test_normalised_copy_shares_nothing_with_input() -> None:
    data = base()
    case = validate(data)
    case["assessments"][0]["sledai2k"]["present"].append("fever")
    case["classification"]["criteria"].append("fever")
    assert data == base()


# --- Canonical text ----------------------------------------------------------------


def test_dump_case_canonical_text() -> None:
    text = dump_case(validate(minimal(), today=date(2026, 11, 1)))
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "format": "sle-screening-case/1",\n  "case_id": "min.1",\n  "as_of": "2026-11-01",')
    assert json.loads(text)["as_of"] == "2026-11-01"


def test_dump_accepts_export_values_and_round_trips() -> None:
    exported = {
        "format": vocab.CASE_FORMAT,
        "case_id": "exp",
        "as_of": date(2026, 11, 1),
        "patient": {
            "birth_date": date(1994, 3, 12),
            "sex": "female",
            "weight_kg": Decimal("64.0"),
            "sle_attested": True,
        },
        "classification": {"ana_titre": 640, "criteria": ["fever"]},
        "assessments": [
            {
                "date": date(2026, 10, 20),
                "window_days": 30,
                "sledai2k": {"present": ["rash"], "not_assessed": []},
                "pga": Decimal("1.5"),
            }
        ],
        "damage": [],
        "manifestations": [],
        "observations": [{"code": "egfr", "date": date(2026, 10, 20), "value": Decimal("71.00")}],
        "treatments": [
            {"drug": "prednisone", "start": date(2026, 1, 1), "dose": Decimal("7.5"), "dose_unit": "mg/day"}
        ],
        "conditions": [],
    }
    first = dump_case(exported)
    assert '"weight_kg": 64,' in first and '"value": 71\n' in first and '"dose": 7.5,' in first
    second = dump_case(parse_case(first, drugs=DRUGS))
    third = dump_case(parse_case(second, drugs=DRUGS))
    assert first == second == third


def test_import_export_import_export_is_byte_identical_from_untidy_input() -> None:
    untidy = base()
    untidy = {key: untidy[key] for key in reversed(list(untidy))}
    untidy["treatments"][0] = {
        "dose_unit": "mg/day",
        "dose": 400.0,
        "end": None,
        "start": "2019-02-01",
        "drug": "hydroxychloroquine",
    }
    untidy["assessments"][0]["window_days"] = 10.0
    first = dump_case(validate(untidy))
    second = dump_case(validate(json.loads(first)))
    assert first == second == BASE_FILE.read_text()


def test_dump_refuses_unknown_keys() -> None:
    case = base()
    case["treatments"][0]["route"] = "oral"
    with pytest.raises(CaseFileError, match=r"^treatments\[0\]\.route: unknown field$"):
        dump_case(case)


# --- Errors --------------------------------------------------------------------------


def test_first_error_in_document_order_is_reported() -> None:
    data = base()
    data["conditions"][0]["status"] = "positive"
    data["patient"]["sex"] = "f"
    data["treatments"][0]["drug"] = "aspirin"
    with pytest.raises(CaseFileError) as caught:
        validate(data)
    assert caught.value.field == "patient.sex"  # schema errors first, by path in documented order
    data["patient"]["sex"] = "female"
    data["conditions"][0]["status"] = "absent"
    data["assessments"][0]["sledai2k"]["present"] = ["fever", "fever"]
    with pytest.raises(CaseFileError) as caught:
        validate(data)
    assert caught.value.field == "assessments[0].sledai2k.present[1]"  # then the rules, in document order


def test_schema_errors_come_in_documented_key_order() -> None:
    data = base()
    del data["format"], data["case_id"]
    data["aaa"] = 1
    with pytest.raises(CaseFileError) as caught:
        validate(data)
    assert caught.value.field == "format"
    data["format"] = vocab.CASE_FORMAT
    with pytest.raises(CaseFileError) as caught:
        validate(data)
    assert caught.value.field == "case_id"


def test_unknown_key_with_odd_characters_is_quoted() -> None:
    data = base()
    data["patient"]["body weight"] = 60
    with pytest.raises(CaseFileError) as caught:
        validate(data)
    assert caught.value.field == 'patient["body weight"]'


def test_case_file_error_attributes() -> None:
    err = CaseFileError("treatments[2].end", "before start")
    assert (err.field, err.message, str(err)) == (
        "treatments[2].end",
        "before start",
        "treatments[2].end: before start",
    )


# --- Text input ------------------------------------------------------------------------


def test_parse_case_accepts_bytes_with_bom() -> None:
    assert parse_case(b"\xef\xbb\xbf" + BASE_FILE.read_bytes(), drugs=DRUGS) == base()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": "x", "format": "y"}', 'the key "format" appears twice in one object'),
        ('{"format": NaN}', "is not valid JSON (NaN is not a number in JSON)"),
        ('{"format": ', "is not valid JSON (line 1, column 12: Expecting value)"),
    ],
    ids=["duplicate-key", "nan", "truncated"],
)
def test_parse_case_refuses_bad_json(text: str, message: str) -> None:
    with pytest.raises(CaseFileError) as caught:
        parse_case(text, drugs=DRUGS)
    assert (caught.value.field, caught.value.message) == (ROOT_FIELD, message)


def test_module_does_not_import_django() -> None:
    import clinical.casefile as module

    source = Path(module.__file__).read_text()
    assert not re.search(r"^\s*(import|from)\s+django", source, re.MULTILINE)


def test_absent_lists_mean_empty() -> None:
    """ "Lists may be empty": a file may also leave a list out; it normalises to []."""
    data = base()
    del data["treatments"]
    del data["damage"]
    case = validate_case(data, drugs=DRUGS)
    assert case["treatments"] == [] and case["damage"] == []


def test_a_file_with_no_list_at_all_is_accepted() -> None:
    """Every list may be left out, manifestations and observations too (they once raised a KeyError)."""
    data = {"format": "sle-screening-case/1", "case_id": "bare", "as_of": "2026-11-01", "patient": {}}
    case = validate_case(data, drugs=DRUGS)
    assert all(case[key] == [] for key in LIST_KEYS)
