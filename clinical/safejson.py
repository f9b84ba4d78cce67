"""JSON from a person or a file, read with bounds: every upload and file the app parses goes through ``load_json``.

``json.loads`` alone reads anything: a file of any size, lists nested ten
thousand deep (which ends in a ``RecursionError`` inside the parser, or in
whatever walks the result), the same key twice (the last one silently wins),
NaN and Infinity. ``load_json`` refuses each of these with a message fit for
the person who sent the file, before the text is parsed:

- larger than ``max_bytes``;
- not UTF-8 (a byte-order mark is allowed);
- objects and lists nested deeper than ``max_depth`` (checked by a scan that
  needs no recursion);
- not valid JSON, with the line and column;
- a key twice in one object, NaN or Infinity.

Plain Python, no Django.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from clinical import limits

__all__ = ["JsonRefused", "load_json"]

# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JsonRefused(ValueError):
    """The text cannot be read as JSON within the bounds; ``message`` says why (it reads after the file's name)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refuse(message: str) -> NoReturn:
    raise JsonRefused(message)


def _check_depth(text: str, max_depth: int) -> None:
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                line = text.count("\n", 0, match.start()) + 1
                _refuse(
                    f"is nested more than {max_depth} levels deep (objects and lists inside each other, "
                    f"line {line}); no valid file is nested this deeply"
                )
        elif token in "]}":
            depth -= 1


def load_json(text: str | bytes, *, max_bytes: int, max_depth: int = limits.JSON_DEPTH) -> Any:
    """Parse JSON text (str, or bytes in UTF-8) within the bounds; JsonRefused says what is wrong."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        _refuse(f"is too large ({limits.megabytes(size)}; at most {limits.megabytes(max_bytes)})")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            _refuse("is not UTF-8 text")
    _check_depth(text, max_depth)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                _refuse(f'the key "{key[:100]}" appears twice in one object')
            obj[key] = value
        return obj

    def constant(name: str) -> NoReturn:
        _refuse(f"is not valid JSON ({name} is not a number in JSON)")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except JsonRefused:
        raise
    except json.JSONDecodeError as err:
        _refuse(f"is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})")
    except ValueError:  # an integer of thousands of digits: Python refuses to convert it
        _refuse("is not valid JSON (a number has too many digits)")
    except RecursionError:  # not reached within max_depth; kept so no parser limit can escape as a crash
        _refuse(f"is nested too deeply (at most {max_depth} levels)")
