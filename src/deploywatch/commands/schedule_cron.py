"""Cron expressions converted for other schedulers, each firing at the same instants as the original.

They cover the values a field matches, POSIX cron compatibility, GitHub Actions' UTC-only schedules and systemd
``OnCalendar=`` values.

GitHub Actions schedules are UTC only: an expression is converted when the time zone has a fixed UTC offset and
the result is again one cron expression; otherwise (daylight saving time) it is converted with the zone's
standard offset and a ``WARNING`` note says what happens during DST.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["expand", "github_cron", "nonstandard", "on_calendar"]

_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "GMT", "Etc/GMT",
              "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Etc/Greenwich"}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_SYSTEMD_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


# ---------------------------------------------------------------- cron fields


def _number(text: str, names: Sequence[str], lo: int) -> int:
    upper = text.upper()
    if upper in names:
        return names.index(upper) + lo
    return int(text)


def expand(field: str, lo: int, hi: int, names: Sequence[str] = ()) -> set[int] | None:
    """The values a numeric cron field matches (``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n``, ``a/n``, lists, names);
    None for syntax it does not cover (``L``, ``W``, ``#``, ``?``)."""
    found: set[int] = set()
    for item in field.split(","):
        base, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = lo, hi
            elif "-" in base:
                first, last = base.split("-", 1)
                start, end = _number(first, names, lo), _number(last, names, lo)
            else:
                start = _number(base, names, lo)
                end = hi if step_text else start
        except ValueError:
            return None
        if step < 1 or not lo <= start <= hi or not lo <= end <= hi or start > end:
            return None
        found.update(range(start, end + 1, step))
    return found


def _fields(cron: str) -> tuple[str, list[str]]:
    """(seconds, [minute, hour, day of month, month, day of week])."""
    parts = cron.split()
    return (parts[0], parts[1:]) if len(parts) == 6 else ("0", parts)


def _days_of_week(field: str) -> set[int] | None:
    days = expand(field, 0, 7, _DAYS)
    return None if days is None else {d % 7 for d in days}


def nonstandard(cron: str) -> str | None:
    """Why a POSIX-style cron would not understand ``cron``, or None."""
    if len(cron.split()) == 6:
        return "it has a seconds field"
    minute, hour, dom, month, dow = _fields(cron)[1]
    if None in (expand(minute, 0, 59), expand(hour, 0, 23), expand(dom, 1, 31), expand(month, 1, 12, _MONTHS),
                _days_of_week(dow)):
        return "it uses L, W, # or ?"
    return None


def _list(values: Iterable[int], lo: int, hi: int, width: int = 0) -> str:
    ordered = sorted(set(values))
    if ordered == list(range(lo, hi + 1)):
        return "*"
    return ",".join(f"{v:0{width}d}" for v in ordered)


# ---------------------------------------------------------------- time zones


def _offsets(timezone: str) -> tuple[set[timedelta], timedelta]:
    """Every UTC offset ``timezone`` uses from 2025 to 2030, and its standard (non-DST) offset."""
    zone = ZoneInfo(timezone)
    seen: set[timedelta] = set()
    standard: timedelta | None = None
    moment = datetime(2025, 1, 1, 12, tzinfo=UTC)
    while moment.year < 2031:
        local = moment.astimezone(zone)
        offset = local.utcoffset() or timedelta(0)
        seen.add(offset)
        if standard is None and not local.dst():
            standard = offset
        moment += timedelta(days=7)
    return seen, standard if standard is not None else min(seen)


def _utc(timezone: str) -> bool:
    return timezone in _UTC_NAMES or _offsets(timezone)[0] == {timedelta(0)}


def _shift(cron: str, offset: timedelta) -> str | None:
    """``cron`` (5 fields, local time at UTC ``offset``) as one UTC expression, or None when there is none."""
    minute, hour, dom, month, dow = _fields(cron)[1]
    minutes, hours = expand(minute, 0, 59), expand(hour, 0, 23)
    if minutes is None or hours is None:
        return None
    shift = int(offset.total_seconds()) // 60
    moved = [h * 60 + m - shift for h in hours for m in minutes]
    times = {t % 1440 for t in moved}
    day_moves = {t // 1440 for t in moved}
    new_hours, new_minutes = {t // 60 for t in times}, {t % 60 for t in times}
    if {h * 60 + m for h in new_hours for m in new_minutes} != times:
        return None  # not a product of minutes and hours any more
    any_day = dom == "*" and month == "*" and dow in ("*", "?")
    if not any_day and day_moves != {0}:
        days = _days_of_week(dow)
        if len(day_moves) != 1 or dom != "*" or month != "*" or days is None:
            return None
        move = day_moves.pop()
        dow = _list(((d + move) % 7 for d in days), 0, 6)
    minute_text = minute if new_minutes == minutes else _list(new_minutes, 0, 59)
    hour_text = hour if new_hours == hours else _list(new_hours, 0, 23)
    return " ".join((minute_text, hour_text, dom, month, dow))


def github_cron(cron: str, timezone: str) -> tuple[str, list[str]]:
    """The GitHub Actions (UTC) expression for ``cron`` in ``timezone``, and comment lines explaining it."""
    seconds, fields = _fields(cron)
    notes: list[str] = []
    five = " ".join(fields)
    if len(cron.split()) == 6:
        if seconds != "0":
            notes.append(f"WARNING: GitHub Actions cron has no seconds field: seconds '{seconds}' dropped")
        cron = five
    if _utc(timezone):
        return cron, [*notes, f"{cron} in {timezone}: GitHub Actions schedules are UTC too"]
    offsets, standard = _offsets(timezone)
    each = {_shift(cron, offset) for offset in offsets}
    if len(each) == 1 and None not in each:  # the same UTC expression whatever the offset (e.g. */30 * * * *)
        converted = each.pop()
        assert converted is not None
        which = f"UTC{_offset_text(standard)} all year" if len(offsets) == 1 else "the same in UTC all year"
        return converted, [*notes, f"{cron} in {timezone} ({which})"]
    if len(offsets) == 1:
        return cron, [*notes, f"WARNING: {cron} in {timezone} (UTC{_offset_text(standard)}) is not one UTC cron "
                              "expression: left as is, so it runs at these times in UTC; convert it by hand"]
    converted = _shift(cron, standard)
    others = sorted(offsets - {standard})
    alternatives = "; ".join(f"during DST (UTC{_offset_text(o)}) use '{_shift(cron, o) or 'no single expression'}'"
                             for o in others)
    if converted is None:
        return cron, [*notes, f"WARNING: {cron} in {timezone} is not one UTC cron expression (the zone changes "
                              "its UTC offset): left as is, so it runs at these times in UTC; convert it by hand"]
    return converted, [*notes, f"WARNING: {cron} in {timezone} converted with standard time "
                               f"(UTC{_offset_text(standard)}): GitHub Actions schedules are UTC only, so during "
                               f"daylight saving time it runs an hour off; {alternatives}"]


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# ---------------------------------------------------------------- systemd calendar


def on_calendar(cron: str, timezone: str) -> list[str] | None:
    """``OnCalendar=`` values for ``cron`` in ``timezone`` (two when cron ORs day of month and day of week);
    None when it uses syntax systemd cannot express."""
    seconds, (minute, hour, dom, month, dow) = _fields(cron)
    values = [expand(seconds, 0, 59), expand(minute, 0, 59), expand(hour, 0, 23), expand(dom, 1, 31),
              expand(month, 1, 12, _MONTHS), _days_of_week(dow)]
    if any(v is None for v in values):
        return None
    secs, mins, hours, days, months, weekdays = (v or set() for v in values)
    clock = f"{_list(hours, 0, 23, 2)}:{_list(mins, 0, 59, 2)}:{_list(secs, 0, 59, 2)}"

    def spec(with_days: bool, with_weekdays: bool) -> str:
        day_text = _list(days, 1, 31, 2) if with_days else "*"
        week = ",".join(_SYSTEMD_DAYS[d] for d in sorted(weekdays)) + " " if with_weekdays else ""
        return f"{week}*-{_list(months, 1, 12, 2)}-{day_text} {clock} {timezone}"

    dom_any, dow_any = len(days) == 31, len(weekdays) == 7
    # cron (as cronsim): both restricted and neither starting with '*' means either day matches; else both must.
    if not dom_any and not dow_any and not dom.startswith("*") and not dow.startswith("*"):
        return [spec(True, False), spec(False, True)]
    return [spec(not dom_any, not dow_any)]
