"""Durations such as ``"90s"``, ``"2h"`` or ``"1h30m"``, and the compact form they take in output.

The units are ``s``, ``m``, ``h``, ``d`` and ``w``, alone (``"30m"``, ``"1w"``) or combined (``"1h30m"``); output uses
the compact form (``"26h"``, ``"3d 4h"``)."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

__all__ = ["format_age", "format_duration", "format_timestamp", "parse_duration", "parse_instant"]

MAX_DURATION = 10 * 365 * 86400
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"(?:\d+[smhdw])+")


def parse_duration(text: str) -> int:
    """Seconds in ``text``; raise ``ValueError`` naming the accepted forms when it is malformed."""
    compact = text.strip().lower().replace(" ", "")
    if not _WHOLE.fullmatch(compact):
        raise ValueError(f"invalid duration {text!r}: expected a number with a unit s, m, h, d or w, "
                         "such as '30m', '2h', '1d' or '1h30m'")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(compact))
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: must be longer than zero")
    if seconds > MAX_DURATION:
        raise ValueError(f"invalid duration {text!r}: must be at most 10 years")
    return seconds


def format_age(seconds: float | None) -> str:
    """A short human form: ``45s``, ``12m``, ``26h``, ``3d 4h``; ``-`` when there is no age."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 48 * 3600:
        return f"{s // 3600}h" + (f" {s % 3600 // 60}m" if s < 6 * 3600 and s % 3600 >= 60 else "")
    days, rest = divmod(s, 86400)
    return f"{days}d" + (f" {rest // 3600}h" if rest >= 3600 else "")


def format_duration(seconds: int) -> str:
    """The exact, compact form of a configured duration: ``90s``, ``1h30m``, ``1d``."""
    parts = []
    rest = int(seconds)
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 timestamp; one without a zone is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"invalid timestamp {text!r}: expected ISO 8601 such as 2026-11-23T08:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_timestamp(value: datetime | float) -> str:
    """UTC ISO 8601 with a ``Z`` and whole seconds (the form every JSON output uses)."""
    if not isinstance(value, datetime):
        return _format_epoch(int(value))
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=4096)
def _format_epoch(seconds: int) -> str:
    # many listed commits share a time: the merge that brought them onto the branch
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
