"""Choosing checks: by phase, by glob over names, or by a gate's list of both."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.errors import UsageError

if TYPE_CHECKING:
    from ..config.checks import CheckConfig

__all__ = ["matches", "select_checks"]


def matches(pattern: str, check: CheckConfig) -> bool:
    """True when ``pattern`` is the check's phase or a glob (``*``, ``?``, ``[…]``) matching its name."""
    return pattern == check.phase or fnmatch.fnmatchcase(check.name, pattern)


def select_checks(checks: Sequence[CheckConfig], *, phases: Sequence[str] = (),
                  patterns: Sequence[str] = ()) -> list[CheckConfig]:
    """The checks in the given phases and matching any of the patterns (all when neither is given),
    in config order; a phase or pattern that selects nothing is a :class:`UsageError`."""
    if not checks:
        raise UsageError("no checks are configured (add [[checks]] to the config)")
    known_phases = sorted({c.phase for c in checks if c.phase})
    for phase in phases:
        if phase not in known_phases:
            listed = ", ".join(known_phases) or "none are set"
            raise UsageError(f"no check has phase {phase!r} (phases: {listed})")
    for pattern in patterns:
        if not any(matches(pattern, c) for c in checks):
            raise UsageError(f"--check {pattern!r} matches no check name or phase")
    return [c for c in checks
            if (not phases or c.phase in phases) and (not patterns or any(matches(p, c) for p in patterns))]
