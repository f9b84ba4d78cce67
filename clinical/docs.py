"""The generated parts of ``docs/case-files.md`` and ``docs/rule-sets.md``.

The tables that list fields, codes and the shipped rules are written from the
code and data that define them, so the docs cannot drift from what the app
does: the case-file fields from :func:`clinical.casefile.case_schema`, the code
lists from :mod:`clinical.vocab`, the shipped default rule set and its drug
catalogue from ``screening/data/default-rules.json`` (read as data).

In a doc, a generated block sits between two markers::

    <!-- BEGIN GENERATED sledai: python -m clinical.docs --write -->
    ...
    <!-- END GENERATED sledai -->

``python -m clinical.docs --write`` rewrites every block; ``--check`` exits 1
when a doc is out of date (a test runs it). The prose around the blocks is
written by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from clinical import vocab
from clinical.casefile import DATE_PATTERN, case_schema

__all__ = ["DOCS", "DOCS_DIR", "SHIPPED_RULES", "DocError", "anchor", "main", "render", "stale"]

ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = ROOT / "docs"
SHIPPED_RULES = ROOT / "screening" / "data" / "default-rules.json"
COMMAND = "python -m clinical.docs --write"

_BLOCK = re.compile(
    r"<!-- BEGIN GENERATED (?P<name>[a-z0-9-]+)(?:: [^>]*)? -->\n(?P<body>.*?)<!-- END GENERATED (?P=name) -->",
    re.DOTALL,
)


class DocError(ValueError):
    """A doc's generated blocks do not match the blocks this module writes for it."""


# --- Markdown helpers ----------------------------------------------------------------


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _code(value: object) -> str:
    return f"`{value}`"


def _codes(values: list[Any] | tuple[Any, ...], last: str = "and") -> str:
    words = [_code(v) for v in values]
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {last} " + words[-1]


def anchor(heading: str) -> str:
    """The anchor GitHub and most Markdown viewers give a heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return "#" + slug.replace(" ", "-")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- Case files: code lists ----------------------------------------------------------

# Headings of the code tables, and the schema titles whose codes they list.
SLEDAI_HEADING = "SLEDAI-2K descriptors"
EULAR_HEADING = "2019 EULAR/ACR classification criteria"
SDI_HEADING = "SLICC/ACR damage index items"
MANIFESTATION_HEADING = "Manifestation codes"
OBSERVATION_HEADING = "Observation codes and units"
CONDITION_HEADING = "Condition codes"
STOP_REASON_HEADING = "Stop reasons"
DRUG_CATALOGUE_LINK = "rule-sets.md#the-shipped-drug-catalogue"

_TABLE_OF_TITLE = {
    "SLEDAI-2K descriptor": SLEDAI_HEADING,
    "2019 EULAR/ACR criterion": EULAR_HEADING,
    "SLICC/ACR damage index item": SDI_HEADING,
    "manifestation code": MANIFESTATION_HEADING,
    "observation code": OBSERVATION_HEADING,
    "condition code": CONDITION_HEADING,
    "stop reason": STOP_REASON_HEADING,
}


def _words(code: str) -> str:
    return code.replace("_", " ")


def sledai_block() -> str:
    rows: list[tuple[object, ...]] = [
        (_code(code), item.label, item.weight, "no" if code in vocab.SLEDAI_SEROLOGICAL else "yes")
        for code, item in vocab.SLEDAI_ITEMS.items()
    ]
    return "\n\n".join(
        [
            f"### {SLEDAI_HEADING}",
            _table(("code", "descriptor", "weight", "in the clinical SLEDAI-2K"), rows),
            f"The score is the sum of the weights of the descriptors present (0 to "
            f"{sum(item.weight for item in vocab.SLEDAI_ITEMS.values())}). The clinical SLEDAI-2K "
            f"(cSLEDAI) leaves out the serological descriptors "
            f"{_codes(sorted(vocab.SLEDAI_SEROLOGICAL))}.",
        ]
    )


def eular_block() -> str:
    rows: list[tuple[object, ...]] = [
        (_code(code), c.label, _words(c.domain), "clinical" if c.clinical else "immunological", c.weight)
        for code, c in vocab.EULAR_CRITERIA.items()
    ]
    return "\n\n".join(
        [
            f"### {EULAR_HEADING}",
            _table(("code", "criterion", "domain", "kind", "weight"), rows),
            "Only the highest weight of each domain counts towards the score.",
        ]
    )


def sdi_block() -> str:
    rows: list[tuple[object, ...]] = [
        (_code(code), item.label, _words(item.system), item.points, "1 or 2" if item.max_count == 2 else "1")
        for code, item in vocab.SDI_ITEMS.items()
    ]
    esrd = vocab.SDI_ITEMS["esrd"]
    return "\n\n".join(
        [
            f"### {SDI_HEADING}",
            _table(("code", "item", "organ system", "points", "count"), rows),
            f"The score is the sum of points × count. A count of 2 records an item that happened twice. "
            f"When `esrd` is recorded it scores {esrd.points} points and "
            f"{_codes(sorted(vocab.SDI_SUPPRESSED_BY_ESRD))} do not score as well.",
        ]
    )


def manifestation_block() -> str:
    rows: list[tuple[object, ...]] = [(_code(code), label) for code, label in vocab.MANIFESTATION_CODES.items()]
    return "\n\n".join(
        [
            f"### {MANIFESTATION_HEADING}",
            _table(("code", "meaning"), rows),
            f"Biopsy classes (ISN/RPS), for `lupus_nephritis` only: {_codes(vocab.LN_CLASSES, 'or')}.",
        ]
    )


def observation_block() -> str:
    rows: list[tuple[object, ...]] = [
        (_code(code), obs.label, obs.unit, obs.loinc or "—", f"{_number(obs.low)}–{_number(obs.high)}")
        for code, obs in vocab.OBSERVATIONS.items()
    ]
    return "\n\n".join(
        [
            f"### {OBSERVATION_HEADING}",
            "Every value is in the unit of its code (convert before writing the file). On import, a value "
            "outside its code's plausible range is refused, as the lab form refuses it; an upper limit of "
            "normal is above 0 and at most the range's top.",
            _table(("code", "test", "unit", "LOINC", "plausible range"), rows),
        ]
    )


def condition_block() -> str:
    rows: list[tuple[object, ...]] = [(_code(code), label) for code, label in vocab.CONDITION_CODES.items()]
    return "\n\n".join(
        [
            f"### {CONDITION_HEADING}",
            _table(("code", "meaning"), rows),
            f"Status: {_codes(vocab.CONDITION_STATUSES, 'or')}.",
        ]
    )


def other_codes_block() -> str:
    rows: list[tuple[object, ...]] = [(_code(code), label) for code, label in vocab.STOP_REASONS.items()]
    return "\n\n".join(
        [
            f"### {STOP_REASON_HEADING}",
            _table(("code", "meaning"), rows),
            "### BILAG-2004",
            f"Systems: {_codes(vocab.BILAG_SYSTEMS)}. Grades: {_codes(vocab.BILAG_GRADES, 'or')}.",
        ]
    )


# --- Case files: fields, from the JSON Schema --------------------------------------


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _range(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f" {_number(low)}–{_number(high)}"
    if low is not None:
        return f" ≥ {_number(low)}"
    if schema.get("exclusiveMinimum") is not None:
        return f" > {_number(schema['exclusiveMinimum'])}"
    return ""


def _kind(schema: Mapping[str, Any]) -> str:
    """A field's type in words: "date or null", "whole number 20–300", "a code (table)", ..."""
    types = _types(schema)
    nullable = "null" in types
    or_null = " or null" if nullable else ""
    if "const" in schema:
        return f"exactly {_code(schema['const'])}"
    if "enum" in schema:
        values = [v for v in schema["enum"] if v is not None]
        title = schema.get("title", "")
        if title in _TABLE_OF_TITLE:
            heading = _TABLE_OF_TITLE[title]
            return f"a code from [{heading}]({anchor(heading)}){or_null}"
        return _codes(values, "or") + or_null
    kinds = [t for t in types if t != "null"]
    if kinds == ["string"] and schema.get("pattern") == DATE_PATTERN:
        return "date" + or_null
    if kinds == ["array"]:
        items = schema["items"]
        if items.get("type") == "object":
            return "list of objects"
        return "list of " + _kind(items).replace("a code from", "codes from")
    if kinds == ["object"]:
        names = schema.get("propertyNames")
        if names is not None:
            value_schema = next(iter(schema["properties"].values()))
            return f"object: {_kind(names).removeprefix('a ')} → {_kind(value_schema)}"
        return "object"
    words = {"string": "text", "number": "number", "integer": "whole number", "boolean": "true or false"}
    return " or ".join(words[t] for t in kinds) + _range(schema) + or_null


def _field_rows(schema: Mapping[str, Any], prefix: str, rows: list[tuple[object, ...]]) -> None:
    required = schema.get("required", [])
    for name, field in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        label = path + "[]" if field.get("type") == "array" and field["items"].get("type") == "object" else path
        note = field.get("description", "")
        if name == "drug":
            note += f" See [the shipped drug catalogue]({DRUG_CATALOGUE_LINK})."
        rows.append((_code(label), _kind(field), "yes" if name in required else "no", note))
        if field.get("type") == "object" and "propertyNames" not in field:
            _field_rows(field, path + ".", rows)
        elif field.get("type") == "array" and field["items"].get("type") == "object":
            _field_rows(field["items"], label + ".", rows)


def fields_block(*keys: str) -> Callable[[], str]:
    """The field table of some top-level keys of a case file (and everything under them)."""

    def render() -> str:
        schema = case_schema()
        top = {**schema, "properties": {key: schema["properties"][key] for key in keys}}
        rows: list[tuple[object, ...]] = []
        _field_rows(top, "", rows)
        return _table(("field", "type", "required", "meaning and rules"), rows)

    return render


# --- Rule sets: the shipped default rule set --------------------------------------


def _shipped_rules() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SHIPPED_RULES.read_text(encoding="utf-8"))
    return data


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _criterion(node: Mapping[str, Any]) -> str:
    params = ", ".join(f"{name} {_value(value)}" for name, value in node["params"].items())
    source = f" (source {node['source']})" if node.get("source") else ""
    return f"`{node['type']}`: {params}{source}"


def _tree(node: Mapping[str, Any], depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    if "all" in node or "any" in node:
        op = "all" if "all" in node else "any"
        lines.append(f"{indent}- `{node['id']}`: **{op}** of")
        for child in node[op]:
            _tree(child, depth + 1, lines)
    else:
        lines.append(f"{indent}- `{node['id']}`: {_criterion(node)}")


def _inline(node: Mapping[str, Any]) -> str:
    if "all" in node or "any" in node:
        op = "all" if "all" in node else "any"
        return f"**{op}** of: " + "; ".join(_inline(child) for child in node[op])
    return _criterion(node)


def default_pathways_block() -> str:
    rules = _shipped_rules()
    parts = [f"Shipped version: **{rules['name']} {rules['version']}**."]
    for pathway in rules["pathways"]:
        lines: list[str] = []
        _tree(pathway["inclusion"], 0, lines)
        parts.append(f"**Pathway `{pathway['id']}`** ({pathway['label']}):\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


def default_cautions_block() -> str:
    rules = _shipped_rules()
    pathway_ids = [p["id"] for p in rules["pathways"]]
    rows: list[tuple[object, ...]] = [
        (
            _code(c["id"]),
            _inline(c["criterion"]),
            *(c["severity"].get(pid) or "—" for pid in pathway_ids),
            c["source"],
        )
        for c in rules["cautions"]
    ]
    table = _table(("caution", "checks", *pathway_ids, "source"), rows)
    return table + "\n\n“—”: the caution does not apply to that pathway and is not listed for it."


def default_drugs_block() -> str:
    def unset(value: Any) -> str:
        return "—" if value is None else _value(value)

    rows: list[tuple[object, ...]] = [
        (
            _code(d["drug"]),
            _code(d["agent"]),
            d["class"],
            d["dose_unit"],
            unset(d["min_days"]),
            unset(d["min_dose"]),
            unset(d["min_dose_per_kg"]),
            unset(d["prednisone_factor"]),
        )
        for d in _shipped_rules()["drugs"]
    ]
    header = ("drug", "agent", "class", "dose_unit", "min_days", "min_dose", "min_dose_per_kg", "prednisone_factor")
    return _table(header, rows) + "\n\n“—”: null in the file (no threshold, or no factor)."


# --- The docs and their blocks ----------------------------------------------------

DOCS: Mapping[str, Mapping[str, Callable[[], str]]] = {
    "case-files.md": {
        "fields-top": fields_block("format", "case_id", "as_of"),
        "fields-patient": fields_block("patient", "classification"),
        "fields-records": fields_block(
            "assessments", "damage", "manifestations", "observations", "treatments", "conditions"
        ),
        "sledai": sledai_block,
        "eular": eular_block,
        "sdi": sdi_block,
        "manifestations": manifestation_block,
        "observations": observation_block,
        "conditions": condition_block,
        "other-codes": other_codes_block,
    },
    "rule-sets.md": {
        "default-pathways": default_pathways_block,
        "default-cautions": default_cautions_block,
        "default-drugs": default_drugs_block,
    },
}


def render(text: str, blocks: Mapping[str, Callable[[], str]]) -> str:
    """The doc's text with every generated block rewritten; DocError if the blocks do not match."""
    found = [match.group("name") for match in _BLOCK.finditer(text)]
    doubled = sorted({name for name in found if found.count(name) > 1})
    if doubled:
        raise DocError(f"generated block(s) appear twice: {', '.join(doubled)}")
    unknown = sorted(set(found) - set(blocks))
    if unknown:
        raise DocError(f"unknown generated block(s): {', '.join(unknown)}")
    missing = [name for name in blocks if name not in found]
    if missing:
        raise DocError(f"generated block(s) missing: {', '.join(missing)}")

    def body(match: re.Match[str]) -> str:
        name = match.group("name")
        return f"<!-- BEGIN GENERATED {name}: {COMMAND} -->\n{blocks[name]().rstrip()}\n<!-- END GENERATED {name} -->"

    return _BLOCK.sub(body, text)


def stale(docs_dir: Path = DOCS_DIR) -> list[str]:
    """Names of the docs whose generated blocks are out of date (or wrong)."""
    out = []
    for name, blocks in DOCS.items():
        path = docs_dir / name
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        try:
            if render(text, blocks) != text:
                out.append(name)
        except DocError as err:
            out.append(f"{name} ({err})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clinical.docs", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the generated blocks of the docs")
    action.add_argument("--check", action="store_true", help="exit 1 if a doc's generated blocks are out of date")
    parser.add_argument("--docs-dir", type=Path, default=DOCS_DIR, help="folder of the docs (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale(args.docs_dir)
        for name in out_of_date:
            print(f"{args.docs_dir / name} is out of date: run {COMMAND}", file=sys.stderr)
        return 1 if out_of_date else 0
    for name, blocks in DOCS.items():
        path = args.docs_dir / name
        try:
            text = render(path.read_text(encoding="utf-8"), blocks)
        except (OSError, DocError) as err:
            print(f"{path}: {err}", file=sys.stderr)
            return 1
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
