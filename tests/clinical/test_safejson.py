"""JSON read within bounds (clinical/safejson.py): size, encoding, nesting, duplicates, NaN, huge numbers."""

from __future__ import annotations

import pytest

from clinical import limits
from clinical.safejson import JsonRefused, load_json


def refused(text: str | bytes, **bounds: int) -> str:
    with pytest.raises(JsonRefused) as caught:
        load_json(text, **{"max_bytes": 10_000, **bounds})
    return caught.value.message


def test_valid_json_is_read() -> None:
    assert load_json('{"a": [1, 2.5, "x", null, true]}', max_bytes=100) == {"a": [1, 2.5, "x", None, True]}
    assert load_json(b'\xef\xbb\xbf{"a": 1}', max_bytes=100) == {"a": 1}  # a byte-order mark is allowed
    assert load_json("[]", max_bytes=2) == [] and load_json("null", max_bytes=4) is None


def test_size_is_checked_before_anything_else() -> None:
    assert load_json(" " * 5 + "1", max_bytes=6) == 1
    assert refused(" " * 6 + "1", max_bytes=6) == "is too large (1 KB; at most 1 KB)"
    assert refused("x" * (3 * 1024 * 1024), max_bytes=2 * 1024 * 1024) == "is too large (3 MB; at most 2 MB)"
    assert refused("é" * 6, max_bytes=11).startswith("is too large")  # counted in UTF-8 bytes, not characters


@pytest.mark.parametrize("levels", [limits.JSON_DEPTH + 1, 10_000, 1_000_000])
def test_nesting_beyond_the_limit_is_refused_without_recursion(levels: int) -> None:
    text = "[" * levels + "]" * levels
    assert refused(text, max_bytes=len(text)).startswith(f"is nested more than {limits.JSON_DEPTH} levels deep")


def test_nesting_at_the_limit_is_read_and_brackets_in_strings_do_not_count() -> None:
    text = "[" * limits.JSON_DEPTH + "]" * limits.JSON_DEPTH
    assert load_json(text, max_bytes=1000) is not None
    inside = '{"a": "' + "[" * 500 + '\\"{{{"}'
    assert load_json(inside, max_bytes=1000) == {"a": "[" * 500 + '"{{{'}
    objects = '{"a":' * 65 + "1" + "}" * 65
    assert "line 1" in refused(objects)


@pytest.mark.parametrize(
    "text,message",
    [
        (b"\xff\xfe{}", "is not UTF-8 text"),
        ("{", "is not valid JSON (line 1, column 2: Expecting property name enclosed in double quotes)"),
        ("", "is not valid JSON (line 1, column 1: Expecting value)"),
        ('{"a": 1, "a": 2}', 'the key "a" appears twice in one object'),
        ('{"a": NaN}', "is not valid JSON (NaN is not a number in JSON)"),
        ("[-Infinity]", "is not valid JSON (-Infinity is not a number in JSON)"),
        ("9" * 5000, "is not valid JSON (a number has too many digits)"),
    ],
    ids=["not-utf8", "truncated", "empty", "duplicate", "nan", "infinity", "huge-integer"],
)
def test_bad_text_is_refused_with_a_message(text: str | bytes, message: str) -> None:
    assert refused(text) == message


def test_a_long_duplicate_key_is_shortened_in_the_message() -> None:
    key = "k" * 5000
    assert (
        refused('{"' + key + '": 1, "' + key + '": 2}', max_bytes=20_000)
        == f'the key "{"k" * 100}" appears twice in one object'
    )
