"""Deny windows: open at a moment (boundaries, several, overlapping slots, midnight, DST) and next to open.

The oracle at the end walks weeks around DST changes minute by minute and asks cronsim itself whether each
minute is a slot (forward only, a fresh start each time), against core.cron's reverse search.
"""

from __future__ import annotations

import bisect
import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from deploywatch.config.deploy import DenyWindow
from deploywatch.deploy.windows import OpenWindow, next_window, open_window

BERLIN = "Europe/Berlin"
LA = "America/Los_Angeles"
HOUR = 3600


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def deny(cron: str, hours: float, reason: str = "nightly batch") -> DenyWindow:
    return DenyWindow(cron=cron, duration=int(hours * HOUR), reason=reason)


def span(window: OpenWindow | None) -> tuple[datetime, datetime] | None:
    return None if window is None else (window.opened_at, window.closes_at)


# ---------------------------------------------------------------- one window, its boundaries


def test_a_window_is_open_from_its_slot_inclusive_to_its_close_exclusive() -> None:
    nightly = [deny("0 2 * * *", 6)]
    opened, closes = utc("2026-05-01T02:00:00"), utc("2026-05-01T08:00:00")

    assert open_window(nightly, "UTC", utc("2026-05-01T01:59:59.999999")) is None
    assert span(open_window(nightly, "UTC", opened)) == (opened, closes)
    assert span(open_window(nightly, "UTC", utc("2026-05-01T05:00:00"))) == (opened, closes)
    assert span(open_window(nightly, "UTC", utc("2026-05-01T07:59:59.999999"))) == (opened, closes)
    assert open_window(nightly, "UTC", closes) is None
    assert open_window(nightly, "UTC", utc("2026-05-01T12:00:00")) is None


def test_the_window_found_carries_its_reason_cron_and_zone() -> None:
    found = open_window([deny("0 2 * * *", 6)], BERLIN, utc("2026-12-03T03:00:00"))
    assert found == OpenWindow(reason="nightly batch", cron="0 2 * * *", opened_at=utc("2026-12-03T01:00:00"),
                               closes_at=utc("2026-12-03T07:00:00"), timezone=BERLIN)


def test_describe_says_until_when_in_utc_and_local_time_why_and_the_rule() -> None:
    found = open_window([deny("0 2 * * *", 6)], BERLIN, utc("2026-12-03T03:00:00"))
    assert found is not None
    assert found.describe() == ("deploys are denied until 2026-12-03 07:00 UTC (2026-12-03 08:00 Europe/Berlin): "
                                "nightly batch (cron '0 2 * * *', 6h)")


def test_no_windows_means_nothing_open_and_nothing_next() -> None:
    assert open_window([], "UTC", utc("2026-05-01T00:00:00")) is None
    assert next_window([], "UTC", utc("2026-05-01T00:00:00")) is None


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        open_window([deny("0 2 * * *", 6)], "UTC", datetime(2026, 5, 1, 3))


def test_a_window_spanning_midnight_is_open_on_both_sides_of_it() -> None:
    late = [deny("0 22 * * *", 4, "backups")]
    expected = (utc("2026-05-01T22:00:00"), utc("2026-05-02T02:00:00"))
    assert span(open_window(late, "UTC", utc("2026-05-01T23:59:59"))) == expected
    assert span(open_window(late, "UTC", utc("2026-05-02T00:00:00"))) == expected
    assert span(open_window(late, "UTC", utc("2026-05-02T01:59:59"))) == expected
    assert open_window(late, "UTC", utc("2026-05-02T02:00:00")) is None


def test_a_non_utc_zone_reads_the_cron_in_local_time() -> None:
    # 09:00 in Tokyo (UTC+9, no DST) is 00:00 UTC; weekdays only: 2026-05-02 is a Saturday.
    market = [deny("0 9 * * 1-5", 1, "market open")]
    assert span(open_window(market, "Asia/Tokyo", utc("2026-05-01T00:30:00"))) == (
        utc("2026-05-01T00:00:00"), utc("2026-05-01T01:00:00"))
    assert open_window(market, "Asia/Tokyo", utc("2026-05-02T00:30:00")) is None
    assert span(next_window(market, "Asia/Tokyo", utc("2026-05-01T00:30:00"))) == (
        utc("2026-05-04T00:00:00"), utc("2026-05-04T01:00:00"))


# ---------------------------------------------------------------- several windows, overlapping slots


def test_of_several_open_windows_the_one_that_closes_last_is_in_force() -> None:
    windows = [deny("0 1 * * *", 2, "short"), deny("0 0 * * *", 8, "long"), deny("0 12 * * *", 1, "noon")]
    assert open_window(windows, "UTC", utc("2026-05-01T01:30:00")).reason == "long"  # type: ignore[union-attr]
    assert open_window(windows, "UTC", utc("2026-05-01T12:30:00")).reason == "noon"  # type: ignore[union-attr]
    assert open_window(windows, "UTC", utc("2026-05-01T10:00:00")) is None


def test_windows_closing_together_give_the_first_listed() -> None:
    windows = [deny("0 2 * * *", 2, "first"), deny("0 1 * * *", 3, "second")]
    assert open_window(windows, "UTC", utc("2026-05-01T02:30:00")).reason == "first"  # type: ignore[union-attr]


def test_with_overlapping_slots_the_latest_slot_gives_the_window_that_closes_last() -> None:
    # Every hour, open 6h: at 10:30 the slots 05:00 .. 10:00 all hold a window open; the latest closes last.
    hourly = [deny("0 * * * *", 6)]
    now = utc("2026-05-01T10:30:00")
    slots = [utc("2026-05-01T00:00:00") + timedelta(hours=h) for h in range(11)]
    holding = [slot for slot in slots if slot <= now < slot + timedelta(hours=6)]
    assert holding == [utc(f"2026-05-01T{h:02}:00:00") for h in range(5, 11)]

    found = open_window(hourly, "UTC", now)

    assert span(found) == (holding[-1], max(slot + timedelta(hours=6) for slot in holding))
    assert span(found) == (utc("2026-05-01T10:00:00"), utc("2026-05-01T16:00:00"))


# ---------------------------------------------------------------- DST


@pytest.mark.parametrize(("zone", "day", "opened"), [
    (BERLIN, "2026-03-29", "2026-03-29T01:00:00"),  # 02:00 CET does not exist; 03:00 CEST is 01:00 UTC
    (LA, "2026-03-08", "2026-03-08T10:00:00"),  # 02:00 PST does not exist; 03:00 PDT is 10:00 UTC
])  # fmt: skip
def test_a_2am_window_on_the_spring_forward_day_opens_at_3am(zone: str, day: str, opened: str) -> None:
    """02:00 does not exist that night: cronsim (and so core.cron) moves the slot to the first instant after the
    gap, 03:00 local daylight time. The window still lasts 6h of real time, so it closes at 09:00 by the wall clock
    (not 08:00), and it does not open at all before 03:00."""
    nightly = [deny("0 2 * * *", 6)]
    start, closes = utc(opened), utc(opened) + timedelta(hours=6)

    assert open_window(nightly, zone, start - timedelta(microseconds=1)) is None
    assert span(open_window(nightly, zone, start)) == (start, closes)
    assert open_window(nightly, zone, closes) is None
    assert closes.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "09:00"
    assert span(next_window(nightly, zone, utc(f"{day}T00:00:00") - timedelta(hours=12))) == (start, closes)


@pytest.mark.parametrize(("zone", "opened", "closes_local"), [
    (BERLIN, "2026-03-28T23:00:00", "2026-03-29 07:00 CEST"),  # spring forward inside the window: 7h by the wall
    (BERLIN, "2026-10-24T22:00:00", "2026-10-25 05:00 CET"),  # fall back inside the window: 5h by the wall
    (LA, "2026-03-08T08:00:00", "2026-03-08 07:00 PDT"),
    (LA, "2026-11-01T07:00:00", "2026-11-01 05:00 PST"),
])  # fmt: skip
def test_a_window_spanning_a_dst_change_lasts_its_duration_in_real_time(zone: str, opened: str,
                                                                         closes_local: str) -> None:
    midnight = [deny("0 0 * * *", 6)]
    start = utc(opened)
    found = open_window(midnight, zone, start + timedelta(hours=5, minutes=59))
    assert span(found) == (start, start + timedelta(hours=6))
    assert found is not None
    assert found.closes_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z") == closes_local
    assert open_window(midnight, zone, start + timedelta(hours=6)) is None


def test_a_window_at_a_repeated_time_opens_once_at_its_first_occurrence() -> None:
    # Berlin falls back at 03:00 CEST -> 02:00 CET on 2026-10-25: 02:30 happens at 00:30 and at 01:30 UTC.
    nightly = [deny("30 2 * * *", 0.5)]
    first = (utc("2026-10-25T00:30:00"), utc("2026-10-25T01:00:00"))
    assert span(open_window(nightly, BERLIN, utc("2026-10-25T00:45:00"))) == first
    assert open_window(nightly, BERLIN, utc("2026-10-25T01:45:00")) is None  # the second 02:30 opens nothing
    assert span(next_window(nightly, BERLIN, utc("2026-10-25T00:30:00"))) == (
        utc("2026-10-26T01:30:00"), utc("2026-10-26T02:00:00"))


def test_an_hourly_window_skips_the_repeated_hour() -> None:
    """cronsim itself yields 02:00 CEST and then 02:00 CET (an hour later) for ``0 * * * *``; core.cron counts a
    repeated wall-clock time once, so the second 02:00 opens no window and the next one opens at 03:00 CET."""
    hourly = [deny("0 * * * *", 0.5)]
    assert span(open_window(hourly, BERLIN, utc("2026-10-25T00:10:00"))) == (
        utc("2026-10-25T00:00:00"), utc("2026-10-25T00:30:00"))
    assert open_window(hourly, BERLIN, utc("2026-10-25T01:10:00")) is None
    assert span(next_window(hourly, BERLIN, utc("2026-10-25T00:00:00"))) == (
        utc("2026-10-25T02:00:00"), utc("2026-10-25T02:30:00"))


# ---------------------------------------------------------------- next window


def test_the_next_window_is_the_first_to_open_strictly_after_now() -> None:
    windows = [deny("0 2 * * *", 6, "nightly"), deny("0 18 * * 5", 60, "weekend")]  # 2026-05-01 is a Friday
    assert next_window(windows, "UTC", utc("2026-05-01T12:00:00")).reason == "weekend"  # type: ignore[union-attr]
    found = next_window(windows, "UTC", utc("2026-05-01T02:00:00"))  # the nightly one opening now is not next
    assert found is not None
    assert (found.reason, found.opened_at) == ("weekend", utc("2026-05-01T18:00:00"))
    assert span(next_window(windows, "UTC", utc("2026-05-01T18:00:00"))) == (
        utc("2026-05-02T02:00:00"), utc("2026-05-02T08:00:00"))


def test_of_windows_opening_together_the_next_is_the_one_that_closes_last() -> None:
    windows = [deny("0 2 * * *", 1, "short"), deny("0 2 * * *", 3, "long")]
    assert next_window(windows, "UTC", utc("2026-05-01T00:00:00")).reason == "long"  # type: ignore[union-attr]


# ---------------------------------------------------------------- oracle: cronsim, minute by minute

# (zone, the week's start, an instant near which to look closely: the week's DST change)
WEEKS = [(BERLIN, utc("2026-03-25T00:00:00"), utc("2026-03-29T01:00:00")),
         (BERLIN, utc("2026-10-21T00:00:00"), utc("2026-10-25T01:00:00")),
         (LA, utc("2026-03-04T00:00:00"), utc("2026-03-08T10:00:00")),
         (LA, utc("2026-10-28T00:00:00"), utc("2026-11-01T09:00:00")),
         ("UTC", utc("2026-05-01T00:00:00"), utc("2026-05-04T00:00:00"))]
CRONS = ["0 2 * * *", "30 2 * * *", "*/20 1-3 * * *", "0 * * * *", "15 22 * * 1-5"]
MAX_HOURS = 10


def _second_occurrence(minute: datetime, zone: ZoneInfo) -> bool:
    """A wall-clock time that happened once already (fall back): the rule core.cron documents, counted once."""
    local = minute.astimezone(zone)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


@functools.cache
def slot_minutes(cron: str, timezone: str, week: datetime) -> list[datetime]:
    """Every minute from a day before ``week`` to nine days after it that cronsim names a slot of ``cron``.

    Minute ``m`` is a slot when cronsim, started one second before it, answers ``m``. When it answers a later
    minute ``n``, it gives every minute up to ``n`` that same answer, so the walk goes on from ``n``.
    """
    zone = ZoneInfo(timezone)
    minute, end, found = week - timedelta(days=1), week + timedelta(days=9), []
    while minute < end:
        answer = next(CronSim(cron, (minute - timedelta(seconds=1)).astimezone(zone))).astimezone(UTC)
        if answer == minute and not _second_occurrence(minute, zone):
            found.append(minute)
        minute = max(answer, minute + timedelta(minutes=1))
    return found


def brute_force(windows: list[DenyWindow], timezone: str, week: datetime, now: datetime) -> tuple[
        tuple[datetime, datetime, str] | None, tuple[datetime, datetime, str] | None]:
    open_now, upcoming = [], []
    for window in windows:
        slots = slot_minutes(window.cron, timezone, week)
        duration = timedelta(seconds=window.duration)
        open_now += [(slot, slot + duration, window.reason) for slot in slots if slot <= now < slot + duration]
        after = bisect.bisect_right(slots, now)
        if after < len(slots):
            upcoming.append((slots[after], slots[after] + duration, window.reason))
    # the one that closes last (first listed on a tie); the first to open (then the one that closes last)
    in_force = max(open_now, key=lambda found: found[1], default=None)
    first = min(upcoming, key=lambda found: (found[0], -found[1].timestamp()), default=None)
    return in_force, first


def as_tuple(window: OpenWindow | None) -> tuple[datetime, datetime, str] | None:
    return None if window is None else (window.opened_at, window.closes_at, window.reason)


@settings(max_examples=300, deadline=None)
@given(week=st.sampled_from(WEEKS),
       rules=st.lists(st.tuples(st.sampled_from(CRONS), st.integers(1, MAX_HOURS * HOUR)), min_size=1, max_size=3),
       anywhere=st.integers(0, 7 * 86400 * 1000 - 1),
       near_change=st.one_of(st.none(), st.integers(-3 * HOUR, 3 * HOUR)))
def test_open_and_next_window_agree_with_cronsim_minute_by_minute(
        week: tuple[str, datetime, datetime], rules: list[tuple[str, int]], anywhere: int,
        near_change: int | None) -> None:
    timezone, start, change = week
    windows = [DenyWindow(cron=cron, duration=duration, reason=f"rule {index}")
               for index, (cron, duration) in enumerate(rules)]
    # half the moments fall within 3h of the DST change (to the second), where the rules differ; the rest anywhere
    now = start + timedelta(milliseconds=anywhere) if near_change is None else change + timedelta(seconds=near_change)

    in_force, first = brute_force(windows, timezone, start, now)

    assert as_tuple(open_window(windows, timezone, now)) == in_force
    assert as_tuple(next_window(windows, timezone, now)) == first
