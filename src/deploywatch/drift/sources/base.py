"""The :class:`Reading` a source returns, the :class:`Source` interface, and output parsing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Protocol

from ...core.redact import mask

__all__ = ["Reading", "Source", "parse_revision", "parse_version_document"]

_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@+-]{0,199}")
_EMPTY_WORDS = frozenset({"none", "null", "<none>", "<no value>"})


@dataclass(frozen=True)
class Reading:
    """What one deployed source said: ``value`` (a revision to resolve) or ``error`` (why not)."""

    source: str
    value: str | None
    error: str | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.error is None):
            raise ValueError("a Reading has exactly one of value and error")


class Source(Protocol):
    """Learns the commit one service runs; ``read`` must not raise and must respect a timeout."""

    @property
    def description(self) -> str:
        """A short human description, safe to print (secrets masked)."""
        ...

    def read(self) -> Reading:
        """Ask the source now."""
        ...


def parse_revision(text: str) -> str:
    """The single revision (SHA, abbreviated SHA or tag) in ``text``; ``ValueError`` for anything else."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty output, expected a commit SHA")
    if len(lines) > 1:
        raise ValueError(f"expected one commit SHA, got {len(lines)} lines: {_preview(lines[0])}")
    value = lines[0].strip("'\"")
    if value.lower() in _EMPTY_WORDS:
        raise ValueError(f"the source reported no value ({value!r}); is the commit label or tag set?")
    if not _REVISION.fullmatch(value) or ".." in value:
        raise ValueError(f"expected a commit SHA or tag, got {_preview(value)}")
    return value


def parse_version_document(text: str, field: str) -> str:
    """The revision at ``field`` (dotted for nesting) of a Dockerflow ``version.json`` document."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at line {exc.lineno})") from None
    node: object = document
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            keys = ", ".join(sorted(document)) if isinstance(document, dict) else type(document).__name__
            raise ValueError(f"JSON has no {field!r} field (has: {_preview(keys)})")
        node = node[part]
    if not isinstance(node, str):
        raise ValueError(f"JSON field {field!r} is {type(node).__name__}, expected a string")
    return parse_revision(node)


def _preview(text: str, limit: int = 60) -> str:
    text = mask(text)
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
