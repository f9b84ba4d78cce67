"""The criterion catalogue in plain words, written from the declarations (``docs/criteria.md``).

    python -m screening.engine.catalogue_doc            print the document
    python -m screening.engine.catalogue_doc --write    write docs/criteria.md
    python -m screening.engine.catalogue_doc --check    exit 1 if docs/criteria.md is stale

Every word about a type or a parameter comes from ``criterion_types`` (the one
place they are declared), so the document cannot drift from the code: a test
fails when the committed file differs from what this module writes.
"""

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from clinical import vocab
from screening.engine.criterion_types import (
    AGENT_VOCABULARY,
    CRITERION_TYPES,
    UNSET,
    VOCABULARIES,
    WINDOW_NULL,
    CriterionType,
    ParamSpec,
    ParamValue,
)

DOC_PATH: Final = Path(__file__).resolve().parents[2] / "docs" / "criteria.md"
COMMAND: Final = "python -m screening.engine.catalogue_doc --write"

INTRO: Final = f"""\
# Criterion catalogue

<!-- Written by `{COMMAND}` from screening/engine/criterion_types.py. Do not edit by hand. -->

These are the criterion types a rule set is built from. Rules admins choose
among them when they add a criterion to a draft, and set its parameters in a
form made from the declarations listed here.

Every criterion is judged as of a date (as-of) and gives one of three results:
**met**, **not met** or **unknown**. Unknown means that the data recorded
cannot settle it; the result then says which data would. Records dated after
as-of are not read.

How to read the parameter tables:

- In a rule-set file every parameter of a criterion is present; it is null
  only where the table allows it. A parameter added after files were
  written may be left out; the table says what a file without it reads.
- A window of N days runs from N days before as-of to as-of, both days
  included. A null window means {WINDOW_NULL}.
- "Offered" is the value the form fills in for a new criterion; "—" means the
  admin has to choose one.
- Codes are listed under [Vocabularies](#vocabularies).
"""


def _code(text: object) -> str:
    return f"`{text}`"


def _prose(text: str, ctype: CriterionType) -> str:
    """Declared words with the type's parameter names set as code (only names with "_": "value" stays a word)."""
    names = [spec.name for spec in ctype.params if "_" in spec.name]
    return re.sub(rf"\b({'|'.join(names)})\b", r"`\1`", text) if names else text


def _value(value: ParamValue) -> str:
    """A parameter value as it is written in a rule-set file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ", ".join(_code(v) for v in value) or "(empty list)"
    if isinstance(value, str):
        return _code(value)
    return str(value)


def _range(spec: ParamSpec) -> str:
    bounds: list[str] = []
    if spec.minimum is not None and spec.maximum is not None:
        bounds.append(f"{spec.minimum} to {spec.maximum}")
    elif spec.minimum is not None:
        bounds.append(f"at least {spec.minimum}")
    elif spec.maximum is not None:
        bounds.append(f"at most {spec.maximum}")
    if spec.at_least is not None:
        bounds.append(f"not below {_code(spec.at_least)}")
    return ", ".join(bounds) or "any value"


def _allowed(spec: ParamSpec) -> str:
    """The values a parameter takes, in words."""
    unit = f" ({spec.unit})" if spec.unit else ""
    if spec.kind == "integer":
        return f"whole number, {_range(spec)}{unit}"
    if spec.kind == "number":
        return f"number, {_range(spec)}{unit}"
    if spec.kind == "boolean":
        return "true or false"
    if spec.kind == "choice":
        return ("one of " if len(spec.choices) > 1 else "") + ", ".join(_code(c) for c in spec.choices)
    noun = VOCABULARIES[spec.vocabulary or ""].noun
    link = f"[{noun}](#{noun.replace(' ', '-')})"
    if spec.kind == "code":
        return f"one {link} code"
    return f"list of {link} codes, " + ("may be empty" if spec.allow_empty else "at least one")


def _param_row(spec: ParamSpec, ctype: CriterionType) -> str:
    null = f"allowed: {spec.null_means}" if spec.nullable else "no"
    offered = "—" if spec.default is UNSET else _value(spec.default)
    allowed = _allowed(spec)
    if spec.if_absent is not UNSET:
        allowed += f"; a file without it reads {_value(spec.if_absent)}"
    return f"| {_code(spec.name)} ({spec.label}) | {_prose(spec.help, ctype)} | {allowed} | {null} | {offered} |"


def _section(ctype: CriterionType) -> str:
    lines = [
        f"## {_code(ctype.name)}",
        "",
        f"**{ctype.label}**",
        "",
        f"- **Met**: {_prose(ctype.met_when, ctype)}.",
        f"- **Not met**: {_prose(ctype.not_met_when, ctype)}.",
    ]
    if ctype.unknown_when is None:
        lines.append("- **Never unknown**: the data recorded always settles it.")
    else:
        lines.append(f"- **Unknown**: {_prose(ctype.unknown_when, ctype)}.")
        lines.append(f"- **Missing data it reports** when unknown: {_prose(ctype.missing or '', ctype)}.")
    lines.append("")
    for note in ctype.notes:
        lines += [_prose(note, ctype), ""]
    lines += ["| Parameter | What it sets | Values | Null | Offered |", "|---|---|---|---|---|"]
    lines += [_param_row(spec, ctype) for spec in ctype.params]
    return "\n".join(lines) + "\n"


def _vocabulary(name: str) -> list[str]:
    vocabulary = VOCABULARIES[name]
    lines = [f"### {vocabulary.noun.capitalize()}", ""]
    if name == AGENT_VOCABULARY:
        lines.append(
            "The agents of the rule set's own drug catalogue (its `drugs` list). Each drug names its agent; "
            "drugs of one agent (say an oral and an intravenous form) count as one agent."
        )
    elif name == "observation":
        lines += ["| Code | Observation | Unit |", "|---|---|---|"]
        lines += [f"| {_code(code)} | {o.label} | {o.unit} |" for code, o in vocab.OBSERVATIONS.items()]
    elif any(label != code for code, label in vocabulary.labels.items()):
        lines += ["| Code | Meaning |", "|---|---|"]
        lines += [f"| {_code(code)} | {label} |" for code, label in vocabulary.labels.items()]
    else:
        lines.append(", ".join(_code(code) for code in vocabulary.labels) + ".")
    return [*lines, ""]


def _vocabularies() -> str:
    used = {spec.vocabulary for ctype in CRITERION_TYPES.values() for spec in ctype.params}
    lines = ["## Vocabularies", ""]
    for name in [name for name in VOCABULARIES if name in used]:
        lines += _vocabulary(name)
    return "\n".join(lines)


def render() -> str:
    """The whole document."""
    contents = ["## Types", "", "| Type | Label | Can be unknown |", "|---|---|---|"]
    contents += [
        f"| [{_code(t.name)}](#{t.name}) | {t.label} | {'yes' if t.can_be_unknown else 'no'} |"
        for t in CRITERION_TYPES.values()
    ]
    parts = [INTRO, "\n".join(contents) + "\n", *(_section(t) for t in CRITERION_TYPES.values()), _vocabularies()]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None, doc_path: Path = DOC_PATH) -> int:
    parser = argparse.ArgumentParser(description="The criterion catalogue document, from the declarations.")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--write", action="store_true", help=f"write {doc_path.name}")
    what.add_argument("--check", action="store_true", help=f"exit 1 if {doc_path.name} is not what --write writes")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        doc_path.write_text(text, encoding="utf-8")
        print(f"wrote {doc_path}")
        return 0
    if args.check:
        current = doc_path.read_text(encoding="utf-8") if doc_path.exists() else ""
        if current != text:
            print(f"{doc_path} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
