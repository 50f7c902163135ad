"""Cron arithmetic: the slots of a cron expression in a time zone, for the scheduler and the deploy windows.

The slots are those :mod:`cronsim` computes, with a wall-clock time that happens twice (fall back) counted once (its
first occurrence). It lives in ``core`` because two domains use it: ``daemon`` runs jobs on the slots and ``deploy``
opens deny windows on them, and ``deploy`` sits below ``daemon``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

__all__ = ["latest_at_or_before", "next_after"]


def _second_occurrence(moment: datetime, zone: ZoneInfo) -> bool:
    """True when ``moment`` is the later of two instants with the same wall-clock time (a fall-back repeat)."""
    local = moment.astimezone(zone)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def _repeat_window(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """For a second occurrence: the UTC instants where the repeated wall-clock period starts and ends."""
    local = moment.astimezone(zone)
    delta = (local.replace(fold=0).utcoffset() or timedelta(0)) - (local.utcoffset() or timedelta(0))
    wall = local.replace(tzinfo=None, second=0, microsecond=0, fold=0)
    for _ in range(48 * 60):  # the first wall-clock minute that is not ambiguous any more
        wall += timedelta(minutes=1)
        if wall.replace(tzinfo=zone, fold=0).utcoffset() == wall.replace(tzinfo=zone, fold=1).utcoffset():
            break
    end = wall.replace(tzinfo=zone).astimezone(UTC)
    return end - delta, end


def next_after(cron: str, timezone: str, moment: datetime) -> datetime | None:
    """The first slot of ``cron`` (in ``timezone``) strictly after ``moment``, in UTC; None when there is none.

    A slot at the second occurrence of a wall-clock time (fall back) is not a slot: that time already ran.
    """
    zone = ZoneInfo(timezone)
    start = moment
    for _ in range(10):
        try:
            found = next(CronSim(cron, start.astimezone(zone)))
        except StopIteration:
            return None
        if found <= start:  # cronsim ignores ``fold``: from a repeated time it answers a first occurrence already past
            found = found.replace(fold=1)
        if not _second_occurrence(found, zone):
            return found.astimezone(UTC)
        start = _repeat_window(found, zone)[1] - timedelta(seconds=1)  # go on after the repeated period
    return None


def latest_at_or_before(cron: str, timezone: str, moment: datetime) -> datetime | None:
    """The most recent slot of ``cron`` (in ``timezone``) at or before ``moment``, in UTC; None when there is none."""
    zone = ZoneInfo(timezone)
    if _second_occurrence(moment, zone):
        # Every time since the fall-back change is a repeat (no slot), and a reverse search from a repeated time would
        # miss the first occurrence of a later wall-clock time (at 02:10 CET, the 02:30 CEST that already ran).
        moment = _repeat_window(moment, zone)[0] - timedelta(seconds=1)
    # Slots fall on whole seconds: start one second after the floor of ``moment``; the first reverse tick
    # brings it back to that floor, which may itself be a slot. The second is added on the wall clock, so a start
    # just before a fall-back change stays a first occurrence (cronsim reads wall-clock times and ignores ``fold``).
    start = moment.replace(microsecond=0).astimezone(zone) + timedelta(seconds=1)
    for _ in range(10):
        slots = CronSim(cron, start, reverse=True)
        try:
            found = next(slots)
            while found > moment:
                found = next(slots)
        except StopIteration:
            return None
        if not _second_occurrence(found, zone):
            return found.astimezone(UTC)
        start = _repeat_window(found, zone)[0].astimezone(zone)  # go on before the repeated period
    return None
