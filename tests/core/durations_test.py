"""Durations in the config (``"1h30m"``), ages in output (``"3d 4h"``) and ``--now`` timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deploywatch.core.durations import MAX_DURATION, format_age, format_timestamp, parse_duration, parse_instant

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("1h30m", 5400),
    ("1d12h", 129600), ("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5), ("0h30m", 1800),
    ("2H", 7200), ("  45m ", 2700), ("1h 30m", 5400), ("007m", 420), ("100000s", 100000),
])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "2 hours", "h", "", "   ", "30", "-1h", "+1h", "1.5h", "1y", "1ms", "m30", "1h-30m", "1h,30m", "PT1H", "∞h",
])
def test_parse_duration_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected a number with a unit s, m, h, d or w") as caught:
        parse_duration(text)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text", ["0m", "0s", "0h0m", "00d"])
def test_parse_duration_rejects_zero(text: str) -> None:
    with pytest.raises(ValueError, match="must be longer than zero"):
        parse_duration(text)


@given(st.dictionaries(st.sampled_from(list(UNITS)), st.integers(min_value=0, max_value=10_000), min_size=1))
def test_parse_duration_sums_its_parts(parts: dict[str, int]) -> None:
    text = "".join(f"{n}{unit}" for unit, n in parts.items())
    total = sum(n * UNITS[unit] for unit, n in parts.items())
    if total == 0:
        with pytest.raises(ValueError, match="longer than zero"):
            parse_duration(text)
    elif total > MAX_DURATION:
        with pytest.raises(ValueError, match="at most 10 years"):
            parse_duration(text)
    else:
        assert parse_duration(text) == total


@pytest.mark.parametrize(("seconds", "shown"), [
    (None, "-"), (0, "0s"), (-5, "0s"), (59, "59s"), (59.9, "59s"), (60, "1m"), (3599, "59m"),
    (3600, "1h"), (3659, "1h"), (3660, "1h 1m"), (5400, "1h 30m"), (6 * 3600 - 60, "5h 59m"),
    (6 * 3600, "6h"), (6 * 3600 + 1800, "6h"), (26 * 3600, "26h"), (48 * 3600 - 1, "47h"),
    (48 * 3600, "2d"), (48 * 3600 + 1800, "2d"), (49 * 3600, "2d 1h"), (3 * 86400 + 4 * 3600 + 59, "3d 4h"),
    (400 * 86400, "400d"),
])
def test_format_age(seconds: float | None, shown: str) -> None:
    assert format_age(seconds) == shown


@pytest.mark.parametrize("text", ["45s", "30m", "2h", "3d", "1w", "3d4h"])
def test_format_age_reads_back_for_whole_units(text: str) -> None:
    assert parse_duration(format_age(parse_duration(text)).replace(" ", "")) == parse_duration(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-23T08:00:00Z", datetime(2026, 11, 23, 8, tzinfo=UTC)),
    ("2026-11-23T08:00:00z", datetime(2026, 11, 23, 8, tzinfo=UTC)),
    ("2026-11-23T08:00:00+00:00", datetime(2026, 11, 23, 8, tzinfo=UTC)),
    (" 2026-11-23T08:00:00Z\n", datetime(2026, 11, 23, 8, tzinfo=UTC)),
    ("2026-11-23T08:00:00", datetime(2026, 11, 23, 8, tzinfo=UTC)),
    ("2026-11-23 08:00", datetime(2026, 11, 23, 8, tzinfo=UTC)),
    ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
    ("2026-11-23T08:00:00.250Z", datetime(2026, 11, 23, 8, 0, 0, 250000, tzinfo=UTC)),
])
def test_parse_instant_utc(text: str, expected: datetime) -> None:
    value = parse_instant(text)

    assert value == expected
    assert value.utcoffset() == timedelta(0)


def test_parse_instant_keeps_an_explicit_offset() -> None:
    value = parse_instant("2026-11-23T10:00:00+02:00")

    assert value.utcoffset() == timedelta(hours=2)
    assert value == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert format_timestamp(value) == "2026-11-23T08:00:00Z"


@pytest.mark.parametrize("text", ["garbage", "", "2026-13-01", "2026-11-31T00:00:00Z", "1790000000",
                                  "yesterday", "2026-11-23T25:00:00Z"])
def test_parse_instant_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected ISO 8601 such as 2026-11-23T08:00:00Z") as caught:
        parse_instant(text)
    assert repr(text) in str(caught.value)


def test_format_timestamp() -> None:
    assert format_timestamp(1_790_000_000) == "2026-09-21T14:13:20Z"
    assert format_timestamp(1_790_000_000.9) == "2026-09-21T14:13:20Z"
    eastern = datetime(2026, 11, 23, 3, 0, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert format_timestamp(eastern) == "2026-11-23T08:00:00Z"


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_timestamp_round_trip(moment: datetime) -> None:
    whole = moment.replace(microsecond=0, tzinfo=UTC)

    assert parse_instant(format_timestamp(whole)) == whole
