"""Label matchers, as Alertmanager writes them: ``name=value``, ``name!=value``, ``name=~regex``, ``name!~regex``.

A finding's labels for matching are its own labels plus ``kind`` and ``subject``. Regular expressions
are anchored at both ends, as in Alertmanager.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..core.errors import DeploywatchError

__all__ = ["Matcher", "finding_labels", "matches_all", "parse_matcher"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)(.*)", re.S)


@dataclass(frozen=True)
class Matcher:
    """One condition on one label."""

    name: str
    op: str  # =, !=, =~, !~
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label is the empty string, as in Alertmanager)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def as_json(self) -> dict[str, str]:
        """``{"name", "op", "value"}``."""
        return {"name": self.name, "op": self.op, "value": self.value}

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """Parse ``name=value`` (or ``!=``, ``=~``, ``!~``); quotes around the value are dropped."""
    found = _FORM.fullmatch(text)
    if not found:
        raise DeploywatchError(f"invalid matcher {text!r}: expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or "
                               "NAME!~REGEX, e.g. service=prediction-worker")
    name, op, value = found.group(1), found.group(2), found.group(3).strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise DeploywatchError(f"invalid matcher {text!r}: bad regular expression: {exc}") from None
    return Matcher(name, op, value)


def matcher_from_json(data: Mapping[str, str]) -> Matcher:
    """Read back :meth:`Matcher.as_json`."""
    return Matcher(str(data["name"]), str(data["op"]), str(data["value"]))


def finding_labels(kind: str, subject: str, labels: Mapping[str, str]) -> dict[str, str]:
    """What matchers see: the finding's labels with ``kind`` and ``subject``."""
    return {**labels, "kind": kind, "subject": subject}


def matches_all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (and there is at least one)."""
    return bool(matchers) and all(m.matches(labels) for m in matchers)
