"""The cron arithmetic (deploywatch.core.cron): cronsim's slots, DST rules, at-or-before and strictly-after."""

from __future__ import annotations

from datetime import UTC, datetime

from deploywatch.core.cron import latest_at_or_before, next_after

NY = "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_cron_helpers_follow_cronsim_and_run_an_ambiguous_time_once() -> None:
    # Spring forward (2026-03-08, 02:00 EST -> 03:00 EDT): a daily 02:30 is shifted to 03:00.
    assert next_after("30 2 * * *", NY, utc("2026-03-07T12:00:00")) == utc("2026-03-08T07:00:00")
    # Fall back (2026-11-01, 02:00 EDT -> 01:00 EST): 01:30 happens twice; the second one is not a slot.
    assert next_after("30 * * * *", NY, utc("2026-11-01T05:30:00")) == utc("2026-11-01T07:30:00")
    assert latest_at_or_before("30 * * * *", NY, utc("2026-11-01T07:00:00")) == utc("2026-11-01T05:30:00")
    # Every second or minute: the whole repeated hour is skipped, in both directions.
    assert next_after("* * * * * *", NY, utc("2026-11-01T05:59:59")) == utc("2026-11-01T07:00:00")
    assert next_after("* * * * *", NY, utc("2026-11-01T05:59:00")) == utc("2026-11-01T07:00:00")
    assert latest_at_or_before("* * * * *", NY, utc("2026-11-01T06:59:30")) == utc("2026-11-01T05:59:00")
    # At-or-before includes the moment itself, next-after excludes it.
    assert latest_at_or_before("0 8 * * *", "UTC", utc("2026-05-01T08:00:00")) == utc("2026-05-01T08:00:00")
    assert latest_at_or_before("0 8 * * *", "UTC", utc("2026-05-01T07:59:59.999")) == utc("2026-04-30T08:00:00")
    assert next_after("0 8 * * *", "UTC", utc("2026-05-01T08:00:00")) == utc("2026-05-02T08:00:00")
    assert next_after("0 8 * * *", "UTC", utc("2026-05-01T07:59:59.5")) == utc("2026-05-01T08:00:00")
    # A time zone east of UTC: 08:00 in Tokyo is 23:00 UTC the day before.
    assert next_after("0 8 * * *", "Asia/Tokyo", utc("2026-05-01T00:00:00")) == utc("2026-05-01T23:00:00")


def test_latest_slot_from_inside_a_repeated_hour_is_the_first_occurrence_that_already_ran() -> None:
    # Berlin falls back at 03:00 CEST (01:00 UTC) to 02:00 CET: at 02:10 CET, 02:30 CEST (00:30 UTC) already ran.
    berlin = "Europe/Berlin"
    assert latest_at_or_before("30 2 * * *", berlin, utc("2026-10-25T01:10:00")) == utc("2026-10-25T00:30:00")
    assert latest_at_or_before("30 2 * * *", berlin, utc("2026-10-25T01:00:00")) == utc("2026-10-25T00:30:00")
    assert latest_at_or_before("30 2 * * *", berlin, utc("2026-10-25T01:45:00")) == utc("2026-10-25T00:30:00")
    assert latest_at_or_before("0 * * * *", berlin, utc("2026-10-25T01:10:00")) == utc("2026-10-25T00:00:00")
