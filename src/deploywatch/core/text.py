"""Words and characters for people: plurals, and text from outside made safe to show.

Commit subjects, author names, warehouse values and check names come from people and systems deploywatch
does not control. :func:`printable` is applied to them in every output for people (tables, Markdown, Slack,
GitHub issues, Alertmanager annotations) so that they cannot move the cursor, clear or retitle a terminal,
ring its bell or reorder what a reader sees. JSON output keeps the values as they are; :func:`json_text` writes
the controls JSON itself leaves unescaped as ``\\uXXXX``.
"""

from __future__ import annotations

import re

__all__ = ["cut", "json_text", "plural", "printable"]

# C0 controls except newline and tab, DEL and the C1 controls (ESC, BEL, CR, the 8-bit CSI/OSC …), the
# bidirectional overrides, embeddings, isolates and marks ("Trojan Source"), and the line and paragraph
# separators that some terminals and viewers treat as line breaks.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    r"""``text`` with every control character shown as an escape (``\x1b``, ``\x07``, ``\u202e``) instead of
    acting on the reader's terminal or viewer; newlines and tabs stay."""
    return _UNSAFE.sub(_escape, text)


def json_text(document: str) -> str:
    """A JSON text with the controls JSON leaves as they are (C1, bidirectional formatting, line separators)
    written as ``\\uXXXX`` escapes: the same values for a program, nothing that acts on a terminal."""
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", document)


def cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when it was longer. Masks nothing: text that may
    hold a secret goes through :func:`deploywatch.core.redact.clip`, which masks first."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def plural(count: int, singular: str, plural_form: str | None = None, *, with_count: bool = True) -> str:
    """``1 service``, ``2 services``, ``0 services`` (``plural_form`` for irregular words: ``1 entry``,
    ``3 entries``); only the word when ``with_count`` is false."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}" if with_count else word
