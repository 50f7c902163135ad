"""Plurals and printable text."""

from __future__ import annotations

import pytest

from deploywatch.core.text import json_text, plural, printable


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain text, ünïcode and emoji 🚀", "plain text, ünïcode and emoji 🚀"),
    ("two\nlines\tand a tab", "two\nlines\tand a tab"),
    ("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"),
    ("over\rwrite", "over\\x0dwrite"),
    ("nul\x00 del\x7f c1\x9b csi\x85", "nul\\x00 del\\x7f c1\\x9b csi\\x85"),
    ("abc\u202edcba\u2066x\u2069 \u200f", "abc\\u202edcba\\u2066x\\u2069 \\u200f"),
    ("line\u2028separator", "line\\u2028separator"),
])
def test_printable_shows_controls_as_escapes(raw: str, shown: str) -> None:
    assert printable(raw) == shown


@pytest.mark.parametrize(("count", "expected"), [(0, "0 services"), (1, "1 service"), (2, "2 services")])
def test_plural(count: int, expected: str) -> None:
    assert plural(count, "service") == expected


def test_irregular_plural_and_the_word_alone() -> None:
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(3, "entry", "entries") == "3 entries"
    assert plural(1, "file", with_count=False) == "file"
    assert plural(2, "file", with_count=False) == "files"


def test_json_text_escapes_what_json_leaves_raw() -> None:
    import json

    value = {"subject": "a\x1b[2J \x9b1m \u202eb\u2028c é"}
    text = json_text(json.dumps(value, ensure_ascii=False))
    assert text == '{"subject": "a\\u001b[2J \\u009b1m \\u202eb\\u2028c é"}'
    assert json.loads(text) == value
