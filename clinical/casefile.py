"""Case files: schema, validation and canonical text (no Django import).

The format (``sle-screening-case/1``) is described in ``docs/case-files.md``,
whose field and code tables are generated from here and from
:mod:`clinical.vocab` (``python -m clinical.docs``). Every code list comes from
:mod:`clinical.vocab`; the drug catalogue (drug code -> dose unit) is passed in
by the caller, because admins may edit it.

- :func:`case_schema` is the published JSON Schema (draft 2020-12). Regenerate
  ``docs/case-file.schema.json`` with ``python -m clinical.casefile --write-schema``.
- :func:`validate_case` checks a parsed file (schema first, then the rules a
  schema cannot say) and returns a normalised copy, or raises
  :class:`CaseFileError` naming the first bad field.
- :func:`dump_case` writes the canonical text used by export.
- :func:`parse_case` is JSON text -> :func:`validate_case`, read with the
  bounds of :mod:`clinical.safejson` (size, nesting, duplicate keys,
  NaN/Infinity, which ``json.loads`` would accept silently).

Beyond the format, every date of a case file lies from 1900-01-01 to
2199-12-31 and each list holds at most ``limits.CASE_MAX_ENTRIES`` entries (a
file that screens must not overflow the calendar, nor cost minutes to read).
The plausibility rules of the record forms (no entry before the birth date or
after today, observation values within their code's range:
:func:`clinical.plausibility.stored_case`) apply when a case file is imported
into the clinical record (``patients.casefiles``).

Normalised form (what :func:`validate_case` returns and :func:`dump_case`
writes): keys in the documented order; ``as_of`` filled in (from ``today``
when the file has none); ``patient`` with all four keys (``null`` = not
recorded, ``sle_attested`` false by default); ``classification`` absent when it
records nothing, else ``ana_titre`` (maybe ``null``) and ``criteria`` only when
given (absent = not assessed, ``[]`` = assessed, none present); every
assessment with ``window_days`` (default 10) and both SLEDAI-2K lists (default
empty); every treatment with ``dose`` (maybe ``null``); the other optional
entry values (``pga``, ``bilag``, ``biopsy_class``, ``uln``, ``end``,
``stop_reason``) present only when recorded; ``bilag`` and damage ``items`` in
vocabulary order; whole numbers written without a decimal point.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from clinical import limits, plausibility, vocab
from clinical.safejson import JsonRefused, load_json

__all__ = [
    "LIST_KEYS",
    "ROOT_FIELD",
    "SCHEMA_PATH",
    "CaseFileError",
    "case_schema",
    "dump_case",
    "parse_case",
    "schema_text",
    "validate_case",
]

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "case-file.schema.json"
ROOT_FIELD = "(top level)"  # the field named when the file as a whole is wrong

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
CASE_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
DRUG_CODE_PATTERN = r"^[a-z0-9_]+$"
EARLIEST_BIRTH = limits.EARLIEST_DATE
LIST_KEYS = ("assessments", "damage", "manifestations", "observations", "treatments", "conditions")

# Python's ``re`` lets ``$`` match before a final newline and ``\d`` match
# non-ASCII digits, so the schema patterns are re-checked strictly.
_STRICT_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_STRICT_CASE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_STRICT_DRUG_CODE = re.compile(r"[a-z0-9_]+")
_LONG_ENUM = 8  # longer code lists are not spelt out in messages


class CaseFileError(ValueError):
    """A case file broke a rule; ``field`` is a path such as ``treatments[2].end``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- Schema -------------------------------------------------------------------


def _nullable(type_: str, nullable: bool) -> str | list[str]:
    return [type_, "null"] if nullable else type_


def _date_schema(description: str, *, nullable: bool = False) -> dict[str, Any]:
    return {"type": _nullable("string", nullable), "pattern": DATE_PATTERN, "description": description}


def _code_schema(codes: Any, title: str, description: str | None = None, *, nullable: bool = False) -> dict[str, Any]:
    values: list[Any] = list(codes)
    schema: dict[str, Any] = {"title": title, "type": _nullable("string", nullable)}
    if description:
        schema["description"] = description
    schema["enum"] = values + [None] if nullable else values
    return schema


def _object(properties: dict[str, Any], required: list[str], description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    if description:
        schema["description"] = description
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    schema["properties"] = properties
    return schema


def _list(items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "description": description, "items": items}


def case_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a case file, built from :mod:`clinical.vocab`.

    A fresh dict on every call. Rules beyond a schema (real calendar dates,
    duplicates, the drug catalogue, ...) are listed in its description and
    checked by :func:`validate_case`.
    """
    sledai = list(vocab.SLEDAI_ITEMS)
    twice = [code for code, item in vocab.SDI_ITEMS.items() if item.max_count == 2]
    patient = _object(
        {
            "birth_date": _date_schema(
                "Date of birth; not after as_of, not before 1900-01-01; null or absent = not recorded.",
                nullable=True,
            ),
            "sex": _code_schema(
                vocab.SEXES,
                "sex",
                "Sex recorded for clinical equations (eGFR) and sex-specific checks; null = not recorded.",
                nullable=True,
            ),
            "weight_kg": {
                "type": ["number", "null"],
                "description": "Current weight in kg; null = not recorded.",
                "minimum": 20,
                "maximum": 300,
            },
            "sle_attested": {
                "type": "boolean",
                "description": "A specialist attests the SLE diagnosis. Default false.",
            },
        },
        [],
        "The patient's undated facts.",
    )
    classification = _object(
        {
            "ana_titre": {
                "type": ["integer", "null"],
                "description": "Reciprocal of the highest ANA titre ever (640 for 1:640); 0 = negative; null = not recorded.",
                "minimum": 0,
            },
            "criteria": _list(
                _code_schema(vocab.EULAR_CRITERIA, "2019 EULAR/ACR criterion"),
                "2019 EULAR/ACR criteria ever present; no duplicates. Absent = criteria not assessed; "
                "an empty list = assessed, none present.",
            ),
        },
        [],
        "Optional; absent = neither ANA nor criteria recorded.",
    )
    assessment = _object(
        {
            "date": _date_schema("Date of the visit; one assessment per date."),
            "window_days": {
                "type": "integer",
                "description": "Look-back window in days the assessor used for SLEDAI-2K. Default 10. Recorded for reading; screening does not use it.",
                "enum": list(vocab.SLEDAI_WINDOWS),
            },
            "sledai2k": _object(
                {
                    "present": _list(
                        _code_schema(sledai, "SLEDAI-2K descriptor"),
                        "Descriptors present; no duplicates. Default empty.",
                    ),
                    "not_assessed": _list(
                        _code_schema(sledai, "SLEDAI-2K descriptor"),
                        "Descriptors not assessed; no duplicates, none also present. Default empty. "
                        "Every other descriptor is absent.",
                    ),
                },
                [],
                "The SLEDAI-2K record of the visit.",
            ),
            "pga": {
                "type": ["number", "null"],
                "description": "Physician Global Assessment; null or absent = not recorded.",
                "minimum": 0,
                "maximum": 3,
            },
            "bilag": _object(
                {system: _code_schema(vocab.BILAG_GRADES, "BILAG-2004 grade") for system in vocab.BILAG_SYSTEMS},
                [],
                "Optional BILAG-2004 grade per system.",
            )
            | {"propertyNames": _code_schema(vocab.BILAG_SYSTEMS, "BILAG-2004 system")},
        },
        ["date", "sledai2k"],
        "One visit's disease-activity assessment.",
    )
    damage = _object(
        {
            "date": _date_schema("Date of the damage index; one entry per date."),
            "items": _object(
                {
                    code: {
                        "type": "integer",
                        "description": f"{item.label}: count 1" + (" or 2" if item.max_count == 2 else "") + ".",
                        "minimum": 1,
                        "maximum": 2,
                    }
                    for code, item in vocab.SDI_ITEMS.items()
                },
                [],
                "Item code → count: 1, or 2 only for " + ", ".join(twice) + ".",
            )
            | {"propertyNames": _code_schema(vocab.SDI_ITEMS, "SLICC/ACR damage index item")},
        },
        ["date", "items"],
        "A SLICC/ACR damage index.",
    )
    manifestation = _object(
        {
            "code": _code_schema(vocab.MANIFESTATION_CODES, "manifestation code", "What is involved."),
            "date": _date_schema("Date of the entry; one entry per code and date."),
            "active": {"type": "boolean", "description": "Whether the manifestation is active."},
            "biopsy_class": _code_schema(
                vocab.LN_CLASSES,
                "ISN/RPS biopsy class",
                "ISN/RPS class of a renal biopsy; only for lupus_nephritis; null or absent = no biopsy.",
                nullable=True,
            ),
        },
        ["code", "date", "active"],
        "Organ involvement recorded by the specialist.",
    )
    observation = _object(
        {
            "code": _code_schema(
                vocab.OBSERVATIONS,
                "observation code",
                "What was measured. Units: "
                + "; ".join(f"{code} {obs.unit}" for code, obs in vocab.OBSERVATIONS.items())
                + ".",
            ),
            "date": _date_schema("Date of the observation; one entry per code and date."),
            "value": {"type": "number", "minimum": 0, "description": "Value in the code's canonical unit."},
            "uln": {
                "type": ["number", "null"],
                "description": "Upper limit of normal, same unit; needed by rules that compare with a multiple of it (×ULN); null or absent = not recorded.",
                "exclusiveMinimum": 0,
            },
        },
        ["code", "date", "value"],
        "A laboratory or function-test result.",
    )
    treatment = _object(
        {
            "drug": {
                "type": "string",
                "description": "Drug code of the rule set's drug catalogue (checked by the app, not by this schema: admins may edit the catalogue).",
                "pattern": DRUG_CODE_PATTERN,
            },
            "start": _date_schema("First day of the course."),
            "end": _date_schema("Last day of the course; not before start; null or absent = ongoing.", nullable=True),
            "dose": {
                "type": ["number", "null"],
                "description": "Dose in dose_unit; null or absent = not recorded.",
                "minimum": 0,
            },
            "dose_unit": {
                "type": "string",
                "description": "Must equal the catalogue's dose unit of the drug.",
            },
            "stop_reason": _code_schema(
                vocab.STOP_REASONS,
                "stop reason",
                "Only with an end date; null or absent = not recorded.",
                nullable=True,
            ),
        },
        ["drug", "start", "dose_unit"],
        "A treatment course.",
    )
    condition = _object(
        {
            "code": _code_schema(vocab.CONDITION_CODES, "condition code", "What the status is about."),
            "status": _code_schema(
                vocab.CONDITION_STATUSES, "condition status", "Whether it was present or absent then."
            ),
            "date": _date_schema("Date the status was observed; one entry per code and date."),
        },
        ["code", "status", "date"],
        "A safety-relevant status.",
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": "Generated by clinical.casefile.case_schema(); regenerate with "
        "`python -m clinical.casefile --write-schema`, do not edit by hand.",
        "title": "SLE screening case file (" + vocab.CASE_FORMAT + ")",
        "description": (
            "One patient's screening-relevant record (docs/case-files.md). Also checked beyond this schema: "
            "dates are real calendar dates from "
            + limits.EARLIEST_DATE.isoformat()
            + " to "
            + limits.LATEST_DATE.isoformat()
            + "; birth_date is not after as_of; "
            "a treatment's end is not before its start and stop_reason needs an end; the drug is in the "
            "rule set's drug catalogue and dose_unit is that drug's unit; the SLEDAI-2K lists hold no "
            "duplicates and do not overlap; criteria hold no duplicates; a damage count of 2 only for "
            + ", ".join(twice)
            + "; biopsy_class only on lupus_nephritis; no two assessments or damage entries on one date, "
            "no two observations, manifestations or conditions with the same code and date; each list holds at most "
            + str(limits.CASE_MAX_ENTRIES)
            + " entries; numbers are finite."
        ),
        "type": "object",
        "required": ["format", "case_id", "patient"],
        "additionalProperties": False,
        "properties": {
            "format": {"type": "string", "description": "The format and its version.", "const": vocab.CASE_FORMAT},
            "case_id": {
                "type": "string",
                "description": "1 to 64 characters, each a letter (A-Z, a-z), digit, dot, underscore or hyphen; on import, the patient's identifier within the site.",
                "pattern": CASE_ID_PATTERN,
            },
            "as_of": _date_schema("Evaluation date; null or absent = today.", nullable=True),
            "patient": patient,
            "classification": classification,
            "assessments": _list(assessment, "Disease-activity assessments."),
            "damage": _list(damage, "SLICC/ACR damage index entries."),
            "manifestations": _list(manifestation, "Organ involvement entries."),
            "observations": _list(observation, "Laboratory and function-test results."),
            "treatments": _list(treatment, "Treatment courses (a complete list: what is not listed was not given)."),
            "conditions": _list(condition, "Safety-relevant statuses."),
        },
    }


def schema_text() -> str:
    """The text of ``docs/case-file.schema.json``."""
    return json.dumps(case_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    """:func:`case_schema`, built once (never mutated)."""
    return case_schema()


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = _schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


# --- Schema errors in plain words ----------------------------------------------------


def _field(path: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_]+", part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out or ROOT_FIELD


def _fail(path: tuple[Any, ...] | list[Any], message: str) -> NoReturn:
    raise CaseFileError(_field(path), message)


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, str):
        return f"the text {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, list):
        return "a list"
    return "an object"


_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object (named fields in braces)",
    "null": "null",
}
_PATTERN_WORDS = {
    DATE_PATTERN: "must be a date written YYYY-MM-DD",
    CASE_ID_PATTERN: "must be 1 to 64 characters, each a letter, digit, dot, underscore or hyphen",
    DRUG_CODE_PATTERN: "must be a code of lower-case letters, digits and underscores",
}


def _error_parts(err: ValidationError) -> tuple[str, Any, Mapping[str, Any], Any]:
    """The failing keyword, its value in the schema, the schema holding it and the instance, typed plainly
    (jsonschema types them as possibly unset: an error raised by validation always has them)."""
    schema = err.schema if isinstance(err.schema, Mapping) else {}
    value: Any = err.validator_value
    return str(err.validator), value, schema, err.instance


def _words(err: ValidationError) -> str:
    kind, value, schema, instance = _error_parts(err)
    if kind == "type":
        types = [value] if isinstance(value, str) else list(value)
        if not err.path:
            return f"must be a JSON object holding one case, not {_kind(instance)}"
        if "enum" in schema:
            options = [v for v in schema["enum"] if v is not None]
            if len(options) <= _LONG_ENUM:
                return "must be one of: " + ", ".join(_number_text(v) for v in options)
            return f"must be a {schema.get('title', 'code')}, not {_kind(instance)}"
        if schema.get("pattern") == DATE_PATTERN:
            expected = "a date written YYYY-MM-DD"
        else:
            expected = " or ".join(_TYPE_WORDS[t] for t in types if t != "null")
        if "null" in types:
            expected += " or null"
        return f"must be {expected}, not {_kind(instance)}"
    if kind == "enum":
        options = [v for v in value if v is not None]
        title = schema.get("title")
        if title and len(options) > _LONG_ENUM:
            return f"{json.dumps(instance, ensure_ascii=False)} is not a known {title}"
        return "must be one of: " + ", ".join(_number_text(v) for v in options)
    if kind == "const":
        return f'must be exactly "{value}"'
    if kind == "pattern":
        return _PATTERN_WORDS.get(value, "is not written the expected way")
    if kind in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            if schema.get("type") == "integer" and high - low == 1:
                return f"must be {_number_text(low)} or {_number_text(high)}"
            return f"must be between {_number_text(low)} and {_number_text(high)}"
        if kind == "minimum":
            return f"must be at least {_number_text(value)}"
        return f"must be at most {_number_text(value)}"
    if kind == "exclusiveMinimum":
        return f"must be greater than {_number_text(value)}"
    return "is not valid here"  # not reached with this schema


# Among errors on one field: a bad key name, then a wrong type, then the rest.
_RANK = {"propertyNames": 0, "type": 1, "required": 2, "additionalProperties": 3}


def _explain(err: ValidationError) -> Iterator[tuple[tuple[Any, ...], int, str]]:
    """(path of the field, rank, message) for one jsonschema error."""
    path = tuple(err.absolute_path)
    kind, value, schema, instance = _error_parts(err)
    if kind == "required":
        for key in value:
            if key not in instance:
                yield path + (key,), _RANK["required"], "is required"
    elif kind == "additionalProperties":
        known = schema.get("properties", {})
        for key in instance:
            if key not in known:
                yield path + (key,), _RANK["additionalProperties"], "unknown field"
    elif "propertyNames" in err.absolute_schema_path:
        title = schema.get("title")
        message = f"is not a known {title}" if kind == "enum" and title else _words(err)
        yield path + (instance,), _RANK["propertyNames"], message
    else:
        yield path, _RANK.get(kind, 9), _words(err)


def _path_key(path: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """Sort key of a field path: list indices by number, keys in documented order, unknown keys last."""
    schema: Any = _schema()
    key: list[tuple[int, Any]] = []
    for part in path:
        if isinstance(part, int):
            key.append((0, part))
            schema = schema.get("items", {}) if isinstance(schema, dict) else {}
            continue
        properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
        if part in properties:
            key.append((0, list(properties).index(part)))
            schema = properties[part]
        else:
            key.append((1, str(part)))
            schema = {}
    return tuple(key)


def _check_schema(data: object) -> None:
    found = [item for err in _validator().iter_errors(data) for item in _explain(err)]
    if found:
        path, _rank, message = min(found, key=lambda item: (_path_key(item[0]), item[1], item[2]))
        _fail(path, message)


# --- Rules beyond the schema ---------------------------------------------------------


def _check_finite(value: Any, path: tuple[Any, ...]) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        _fail(path, "must be a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_finite(item, path + (index,))


def _date(value: str, path: tuple[Any, ...]) -> date:
    if not _STRICT_DATE.fullmatch(value):
        _fail(path, _PATTERN_WORDS[DATE_PATTERN])
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(path, f"{value} is not a real calendar date")


def _record_date(value: str, path: tuple[Any, ...]) -> date:
    """An entry's date: a real date within the calendar the app reads."""
    day = _date(value, path)
    if problem := plausibility.calendar_date(day):
        _fail(path, problem)
    return day


def _check_sizes(data: object) -> None:
    """Each list within limits.CASE_MAX_ENTRIES, before the schema walks them (a larger file costs minutes)."""
    if not isinstance(data, dict):
        return
    for key in LIST_KEYS:
        entries = data.get(key)
        if isinstance(entries, list) and len(entries) > limits.CASE_MAX_ENTRIES:
            _fail((key,), f"holds {len(entries)} entries; a case file holds at most {limits.CASE_MAX_ENTRIES} per list")


def _no_duplicate_codes(
    codes: list[str], path: tuple[Any, ...], also: set[str] | None = None, also_name: str = ""
) -> None:
    seen: set[str] = set()
    for index, code in enumerate(codes):
        if code in seen:
            _fail(path + (index,), f"duplicate: {code} is already listed")
        if also is not None and code in also:
            _fail(path + (index,), f"{code} is also listed as {also_name}")
        seen.add(code)


def _check_rules(data: dict[str, Any], drugs: Mapping[str, str], today: date | None) -> str:
    """The rules a schema cannot say, in document order; returns the as-of date."""
    _check_finite(data, ())
    if not _STRICT_CASE_ID.fullmatch(data["case_id"]):
        _fail(("case_id",), _PATTERN_WORDS[CASE_ID_PATTERN])

    if data.get("as_of") is not None:
        as_of = _date(data["as_of"], ("as_of",))
        if problem := plausibility.calendar_date(as_of):
            _fail(("as_of",), problem)
    elif today is not None:
        as_of = today
    else:
        _fail(("as_of",), "is required (no evaluation date was given)")

    birth_date = data["patient"].get("birth_date")
    if birth_date is not None:
        born = _date(birth_date, ("patient", "birth_date"))
        if born > as_of:
            _fail(("patient", "birth_date"), f"must not be after the as-of date ({as_of.isoformat()})")
        if problem := plausibility.birth_date(born):
            _fail(("patient", "birth_date"), problem)

    classification = data.get("classification") or {}
    if "criteria" in classification:
        _no_duplicate_codes(classification["criteria"], ("classification", "criteria"))

    seen_dates: set[date] = set()
    for index, entry in enumerate(data.get("assessments") or []):
        path: tuple[Any, ...] = ("assessments", index)
        day = _record_date(entry["date"], path + ("date",))
        if day in seen_dates:
            _fail(path, f"duplicate: another assessment on {day.isoformat()}")
        seen_dates.add(day)
        sledai = entry["sledai2k"]
        present = sledai.get("present", [])
        _no_duplicate_codes(present, path + ("sledai2k", "present"))
        _no_duplicate_codes(
            sledai.get("not_assessed", []), path + ("sledai2k", "not_assessed"), set(present), "present"
        )

    seen_dates = set()
    for index, entry in enumerate(data.get("damage") or []):
        path = ("damage", index)
        day = _record_date(entry["date"], path + ("date",))
        if day in seen_dates:
            _fail(path, f"duplicate: another damage index on {day.isoformat()}")
        seen_dates.add(day)
        for code, count in entry["items"].items():
            if count > vocab.SDI_ITEMS[code].max_count:
                _fail(path + ("items", code), f"must be 1 ({code} cannot be counted twice)")

    for key in ("manifestations", "observations"):
        seen_codes: set[tuple[str, date]] = set()
        for index, entry in enumerate(data.get(key) or []):
            path = (key, index)
            day = _record_date(entry["date"], path + ("date",))
            if (entry["code"], day) in seen_codes:
                _fail(path, f"duplicate: another {entry['code']} on {day.isoformat()}")
            seen_codes.add((entry["code"], day))
            if key == "manifestations" and entry.get("biopsy_class") is not None and entry["code"] != "lupus_nephritis":
                _fail(path + ("biopsy_class",), "is allowed only for lupus_nephritis")

    for index, entry in enumerate(data.get("treatments") or []):
        path = ("treatments", index)
        drug = entry["drug"]
        if not _STRICT_DRUG_CODE.fullmatch(drug):
            _fail(path + ("drug",), _PATTERN_WORDS[DRUG_CODE_PATTERN])
        if drug not in drugs:
            _fail(path + ("drug",), f'"{drug}" is not a known drug')
        start = _record_date(entry["start"], path + ("start",))
        if entry.get("end") is not None:
            end = _record_date(entry["end"], path + ("end",))
            if end < start:
                _fail(path + ("end",), "before start")
        if entry["dose_unit"] != drugs[drug]:
            _fail(path + ("dose_unit",), f"must be {drugs[drug]} for {drug}")
        if entry.get("stop_reason") is not None and entry.get("end") is None:
            _fail(path + ("stop_reason",), "is allowed only for a course that has an end date")

    seen_codes = set()
    for index, entry in enumerate(data.get("conditions") or []):
        path = ("conditions", index)
        day = _record_date(entry["date"], path + ("date",))
        if (entry["code"], day) in seen_codes:
            _fail(path, f"duplicate: another {entry['code']} on {day.isoformat()}")
        seen_codes.add((entry["code"], day))

    return as_of.isoformat()


# --- Normalised form -----------------------------------------------------------------


def _num(value: Any) -> Any:
    """Whole numbers as int, others as float (Decimal accepted, for export)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _fields(obj: Mapping[str, Any], known: tuple[str, ...], path: tuple[Any, ...]) -> Mapping[str, Any]:
    for key in obj:
        if key not in known:
            _fail(path + (key,), "unknown field")
    return obj


def _canonical(case: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict in the normalised form (see the module docstring); input untouched."""
    case = _fields(case, ("format", "case_id", "as_of", "patient", "classification", *LIST_KEYS), ())
    out: dict[str, Any] = {"format": case["format"], "case_id": case["case_id"]}
    if case.get("as_of") is not None:
        out["as_of"] = _text(case["as_of"])
    patient = _fields(case.get("patient") or {}, ("birth_date", "sex", "weight_kg", "sle_attested"), ("patient",))
    out["patient"] = {
        "birth_date": _text(patient.get("birth_date")),
        "sex": patient.get("sex"),
        "weight_kg": _num(patient.get("weight_kg")),
        "sle_attested": bool(patient.get("sle_attested", False)),
    }
    classification = _fields(case.get("classification") or {}, ("ana_titre", "criteria"), ("classification",))
    if classification.get("ana_titre") is not None or classification.get("criteria") is not None:
        out["classification"] = {"ana_titre": _num(classification.get("ana_titre"))}
        if classification.get("criteria") is not None:
            out["classification"]["criteria"] = list(classification["criteria"])

    out["assessments"] = []
    for index, entry in enumerate(case.get("assessments") or []):
        path: tuple[Any, ...] = ("assessments", index)
        entry = _fields(entry, ("date", "window_days", "sledai2k", "pga", "bilag"), path)
        sledai = _fields(entry.get("sledai2k") or {}, ("present", "not_assessed"), path + ("sledai2k",))
        item: dict[str, Any] = {
            "date": _text(entry["date"]),
            "window_days": _num(entry.get("window_days", 10)),
            "sledai2k": {
                "present": list(sledai.get("present") or []),
                "not_assessed": list(sledai.get("not_assessed") or []),
            },
        }
        if entry.get("pga") is not None:
            item["pga"] = _num(entry["pga"])
        bilag = _fields(entry.get("bilag") or {}, vocab.BILAG_SYSTEMS, path + ("bilag",))
        if bilag:
            item["bilag"] = {system: bilag[system] for system in vocab.BILAG_SYSTEMS if system in bilag}
        out["assessments"].append(item)

    out["damage"] = []
    for index, entry in enumerate(case.get("damage") or []):
        path = ("damage", index)
        entry = _fields(entry, ("date", "items"), path)
        items = _fields(entry.get("items") or {}, tuple(vocab.SDI_ITEMS), path + ("items",))
        out["damage"].append(
            {
                "date": _text(entry["date"]),
                "items": {code: _num(items[code]) for code in vocab.SDI_ITEMS if code in items},
            }
        )

    out["manifestations"] = []
    for index, entry in enumerate(case.get("manifestations") or []):
        entry = _fields(entry, ("code", "date", "active", "biopsy_class"), ("manifestations", index))
        item = {"code": entry["code"], "date": _text(entry["date"]), "active": entry["active"]}
        if entry.get("biopsy_class") is not None:
            item["biopsy_class"] = entry["biopsy_class"]
        out["manifestations"].append(item)

    out["observations"] = []
    for index, entry in enumerate(case.get("observations") or []):
        entry = _fields(entry, ("code", "date", "value", "uln"), ("observations", index))
        item = {"code": entry["code"], "date": _text(entry["date"]), "value": _num(entry["value"])}
        if entry.get("uln") is not None:
            item["uln"] = _num(entry["uln"])
        out["observations"].append(item)

    out["treatments"] = []
    for index, entry in enumerate(case.get("treatments") or []):
        entry = _fields(entry, ("drug", "start", "end", "dose", "dose_unit", "stop_reason"), ("treatments", index))
        item = {"drug": entry["drug"], "start": _text(entry["start"])}
        if entry.get("end") is not None:
            item["end"] = _text(entry["end"])
        item["dose"] = _num(entry.get("dose"))
        item["dose_unit"] = entry["dose_unit"]
        if entry.get("stop_reason") is not None:
            item["stop_reason"] = entry["stop_reason"]
        out["treatments"].append(item)

    out["conditions"] = []
    for index, entry in enumerate(case.get("conditions") or []):
        entry = _fields(entry, ("code", "status", "date"), ("conditions", index))
        out["conditions"].append({"code": entry["code"], "status": entry["status"], "date": _text(entry["date"])})
    return out


# --- Public API ----------------------------------------------------------------------


def validate_case(data: object, *, drugs: Mapping[str, str], today: date | None = None) -> dict[str, Any]:
    """Check a parsed case file and return its normalised copy.

    ``drugs`` maps each catalogue drug code to its dose unit. ``today`` is the
    as-of date of a file without ``as_of`` (such a file is refused when it is
    None). Raises :class:`CaseFileError` for the first problem: schema errors
    first (sorted by field path), then the other rules in document order.
    """
    _check_sizes(data)
    _check_schema(data)
    assert isinstance(data, dict)  # the schema says so
    as_of = _check_rules(data, drugs, today)
    return _canonical({**data, "as_of": as_of})


def dump_case(case: Mapping[str, Any]) -> str:
    """Canonical JSON text of a case (normalised form, indent 2, trailing newline).

    Accepts a validated case or one built by export (``date`` and ``Decimal``
    values allowed); raises :class:`CaseFileError` on a key the format does not
    know rather than dropping it.
    """
    return json.dumps(_canonical(case), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def parse_case(text: str | bytes, *, drugs: Mapping[str, str], today: date | None = None) -> dict[str, Any]:
    """JSON text -> :func:`validate_case`; refuses a file larger than ``limits.CASE_FILE_BYTES``, nested
    deeper than ``limits.JSON_DEPTH``, duplicate keys, NaN and Infinity (:func:`clinical.safejson.load_json`)."""
    try:
        data = load_json(text, max_bytes=limits.CASE_FILE_BYTES)
    except JsonRefused as err:
        _fail((), err.message)
    return validate_case(data, drugs=drugs, today=today)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clinical.casefile", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write-schema", action="store_true", help=f"write {SCHEMA_PATH.name} from case_schema()")
    action.add_argument("--check-schema", action="store_true", help="exit 1 if the schema file is out of date")
    parser.add_argument("--path", type=Path, default=SCHEMA_PATH, help="schema file (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.write_schema:
        args.path.parent.mkdir(parents=True, exist_ok=True)
        args.path.write_text(schema_text(), encoding="utf-8")
        print(f"wrote {args.path}")
        return 0
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if current != schema_text():
        print(f"{args.path} is out of date: run python -m clinical.casefile --write-schema", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
