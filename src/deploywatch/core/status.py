"""Statuses and exit codes (Nagios convention): ok 0, warning 1, critical 2, unknown 3.

Severity, worst last: ok < warning < unknown < critical. Missing data is never ``ok``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = ["Status", "worst"]


class Status(StrEnum):
    """A finding's status; compare with :attr:`severity`, exit with :attr:`exit_code`."""

    OK = "ok"
    WARNING = "warning"
    UNKNOWN = "unknown"
    CRITICAL = "critical"

    @property
    def severity(self) -> int:
        """Rank for "worst wins": ok 0, warning 1, unknown 2, critical 3."""
        return _SEVERITY[self]

    @property
    def exit_code(self) -> int:
        """The process exit code: ok 0, warning 1, critical 2, unknown 3."""
        return _EXIT[self]


_SEVERITY = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}
_EXIT = {Status.OK: 0, Status.WARNING: 1, Status.CRITICAL: 2, Status.UNKNOWN: 3}


def worst(statuses: Iterable[Status], *, empty: Status = Status.UNKNOWN) -> Status:
    """The most severe status; ``empty`` (unknown by default: no data is not ok) when there are none."""
    found = list(statuses)
    return max(found, key=lambda s: s.severity) if found else empty
