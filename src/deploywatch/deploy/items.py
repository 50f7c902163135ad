"""A preflight check's result (``Item``) and the composition line of what a deploy ships."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.redact import mask
from ..core.status import Status
from ..core.text import plural

__all__ = ["CONVENTIONAL_TYPES", "Item", "commit_type", "composition"]

# Conventional Commits types; a subject without one counts as "other".
CONVENTIONAL_TYPES = ("feat", "fix", "perf", "refactor", "revert", "docs", "test", "build", "ci", "chore", "style")
_CONVENTIONAL = re.compile(r"([a-z]+)(\([^)]*\))?!?:\s", re.IGNORECASE)


@dataclass(frozen=True)
class Item:
    """One preflight check: its name, title, status and one-line reason (masked when made), with details."""

    name: str
    title: str
    status: Status
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", mask(" ".join(self.reason.split())))

    def to_json(self) -> dict[str, Any]:
        """A ``checks[]`` item of ``deploywatch.preflight/v1``."""
        return {"name": self.name, "title": self.title, "status": str(self.status), "reason": self.reason}


def commit_type(subject: str) -> str:
    """The Conventional Commits type of a subject (``feat``, ``fix`` …), or ``other``."""
    match = _CONVENTIONAL.match(subject)
    kind = match[1].lower() if match else ""
    return kind if kind in CONVENTIONAL_TYPES else "other"


def composition(subjects: Sequence[str]) -> str:
    """``12 commits: 3 feat, 2 fix, 7 other`` (most first, ``other`` last); ``no commits`` when empty."""
    if not subjects:
        return "no commits"
    counts = Counter(commit_type(s) for s in subjects)
    order = sorted((k for k in counts if k != "other"), key=lambda k: (-counts[k], CONVENTIONAL_TYPES.index(k)))
    if "other" in counts:
        order.append("other")
    return f"{plural(len(subjects), 'commit')}: " + ", ".join(f"{counts[k]} {k}" for k in order)
