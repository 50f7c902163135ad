"""Deny windows: whether a ``[[deploy.deny]]`` window is open at a moment, and when the next one opens.

A window opens at each slot ``s`` of its cron expression (in ``[schedule] timezone``, with the DST rules of
:mod:`deploywatch.core.cron`: a wall-clock time that does not exist moves to the first one after it, a repeated
one opens once, at its first occurrence) and is open while ``s <= now < s + duration``; the duration is real
elapsed time, so a window that spans a DST change ends an hour earlier or later by the wall clock.

For one window the latest slot at or before ``now`` is the only one to look at, even when slots come more often
than the duration (every hour, open 6h): the duration is the same for every slot, so an earlier slot's window
closes no later than the latest one's. If any slot's window holds ``now``, the latest one's does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ..config.deploy import DenyWindow
from ..core.cron import latest_at_or_before, next_after
from ..core.durations import format_duration

__all__ = ["OpenWindow", "next_window", "open_window"]


@dataclass(frozen=True)
class OpenWindow:
    """One opening of a deny window: from ``opened_at`` (inclusive) to ``closes_at`` (exclusive), both UTC."""

    reason: str
    cron: str
    opened_at: datetime
    closes_at: datetime
    timezone: str = "UTC"  # the zone the cron expression is read in, for the local time in describe()

    def describe(self) -> str:
        """One line for people: until when deploys are denied (UTC and local), why, and the window's rule."""
        local = self.closes_at.astimezone(ZoneInfo(self.timezone))
        duration = format_duration(int((self.closes_at - self.opened_at).total_seconds()))
        return (f"deploys are denied until {self.closes_at:%Y-%m-%d %H:%M} UTC "
                f"({local:%Y-%m-%d %H:%M} {self.timezone}): {self.reason} (cron '{self.cron}', {duration})")


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _opening(window: DenyWindow, timezone: str, slot: datetime) -> OpenWindow:
    return OpenWindow(reason=window.reason, cron=window.cron, opened_at=slot,
                      closes_at=slot + timedelta(seconds=window.duration), timezone=timezone)


def open_window(deny: Sequence[DenyWindow], timezone: str, now: datetime) -> OpenWindow | None:
    """The deny window in force at ``now``, or None; when several are open, the one that closes last (the first
    listed of those that close together)."""
    now = _utc(now)
    found: OpenWindow | None = None
    for window in deny:
        slot = latest_at_or_before(window.cron, timezone, now)
        if slot is None:
            continue
        opening = _opening(window, timezone, slot)
        if now < opening.closes_at and (found is None or opening.closes_at > found.closes_at):
            found = opening
    return found


def next_window(deny: Sequence[DenyWindow], timezone: str, now: datetime) -> OpenWindow | None:
    """The next deny window to open strictly after ``now``, or None when there is none; of several opening at
    the same instant, the one that closes last. A window open at ``now`` is not it (see :func:`open_window`)."""
    now = _utc(now)
    found: OpenWindow | None = None
    for window in deny:
        slot = next_after(window.cron, timezone, now)
        if slot is None:
            continue
        opening = _opening(window, timezone, slot)
        if found is None or opening.opened_at < found.opened_at or (
                opening.opened_at == found.opened_at and opening.closes_at > found.closes_at):
            found = opening
    return found
