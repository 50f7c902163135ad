"""``deploywatch schedule export``: the ``[schedule]`` jobs for another scheduler — crontab, Kubernetes CronJobs,
a GitHub Actions workflow, or systemd timers.

Each export runs the job's command (``deploywatch drift``, ``canary``, ``check``) at the configured times in the
configured time zone, and mirrors the daemon's rules where the target can: no overlapping runs of one job
(``flock -n``, ``concurrencyPolicy: Forbid``, a ``concurrency`` group; systemd never starts a running service),
the ``timeout`` (``timeout``, ``activeDeadlineSeconds``, ``timeout-minutes``, ``TimeoutStartSec``) and
``catch_up`` (systemd ``Persistent=``; a Kubernetes ``startingDeadlineSeconds`` when it is off).

GitHub Actions schedules are UTC only: an expression is converted when the time zone has a fixed UTC offset and
the result is again one cron expression; otherwise (daylight saving time) it is converted with the zone's
standard offset and a ``WARNING`` comment says what happens during DST.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..config import LoadedConfig, load_config
from ..errors import ConfigError

__all__ = ["FORMATS", "crontab", "github_actions", "github_cron", "kubernetes", "on_calendar", "run", "systemd"]

FORMATS = ("crontab", "kubernetes", "github-actions", "systemd")
_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "GMT", "Etc/GMT",
              "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Etc/Greenwich"}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_SYSTEMD_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def run(*, config_path: Path | None, output_format: str) -> int:
    """Print the export; exit 0 (3 with a one-line error when ``[schedule]`` has no jobs)."""
    loaded = load_config(config_path)
    jobs = loaded.config.schedule.jobs()
    if not jobs:
        raise ConfigError("no jobs to export: set drift, canary or check to a cron expression in [schedule]",
                          file=str(loaded.path), key="schedule")
    render = {"crontab": crontab, "kubernetes": kubernetes, "github-actions": github_actions, "systemd": systemd}
    text, warnings = render[output_format](loaded)
    for warning in warnings:
        print(f"deploywatch: warning: {warning}", file=sys.stderr)
    sys.stdout.write(text)
    return 0


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


def _nonstandard(cron: str) -> str | None:
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


# ---------------------------------------------------------------- the exports


def _program() -> list[str]:
    found = shutil.which("deploywatch")
    return [found] if found else [sys.executable, "-m", "deploywatch"]


def _header(loaded: LoadedConfig, fmt: str) -> list[str]:
    schedule = loaded.config.schedule
    return [f"# deploywatch schedule, generated by `deploywatch schedule export --format {fmt}`",
            f"# from {loaded.path} ([schedule] timezone {schedule.timezone}, timeout {schedule.timeout}s).",
            "# Each entry runs the job's command, as `deploywatch serve` would, without the daemon's bookkeeping",
            "# (job_runs, heartbeat); a warning or critical result exits 1 or 2."]


def _warn(message: str, lines: list[str], warnings: list[str]) -> None:
    """``message`` for stderr (``warnings``) and as a ``# WARNING:`` comment in the export."""
    warnings.append(message)
    lines.append(f"# WARNING: {message}")


def crontab(loaded: LoadedConfig) -> tuple[str, list[str]]:
    """Crontab lines with ``CRON_TZ``, each wrapped in ``flock -n`` (no overlap) and ``timeout``."""
    schedule = loaded.config.schedule
    lines = [
        *_header(loaded, "crontab"),
        "# CRON_TZ needs a cron that supports it (cronie: Fedora, RHEL, Arch; busybox); Debian's cron ignores it:",
        "# there, run cron in UTC and convert the times, or use --format systemd.",
        "# catch_up does not apply: cron does not run what it missed while the machine was off.",
        f"CRON_TZ={schedule.timezone}",
    ]
    warnings: list[str] = []
    config = str(loaded.path)
    for job, cron in schedule.jobs().items():
        lock = str(loaded.base_dir / f".deploywatch-{job}.lock")
        command = shlex.join(["flock", "-n", lock, "timeout", f"{schedule.timeout}s", *_program(), job, "--config",
                              config])
        problem = _nonstandard(cron)
        if problem:
            _warn(f"{job}: '{cron}' may not work in crontab: {problem}", lines, warnings)
        lines.append(f"{cron} {command.replace('%', chr(92) + '%')} >/dev/null")
    return "\n".join(lines) + "\n", warnings


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


def to_yaml(value: Any, indent: int = 0) -> list[str]:
    """Block YAML for dicts, lists and scalars (strings always double-quoted)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines += to_yaml(item, indent + 2)
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(item) if not isinstance(item, dict | list) else '{}'}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                nested = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines += nested[1:]
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        lines.append(f"{pad}{_yaml_scalar(value)}")
    return lines


def kubernetes(loaded: LoadedConfig) -> tuple[str, list[str]]:
    """One ``batch/v1`` CronJob per job, with ``timeZone``, ``concurrencyPolicy: Forbid`` and the timeout."""
    from .. import __version__

    schedule = loaded.config.schedule
    mount = "/etc/deploywatch"
    lines = [
        *_header(loaded, "kubernetes"),
        f"# Edit the image, and put {loaded.path.name} in the ConfigMap deploywatch-config (mounted at {mount}).",
        "# Every run must reach the same store: a PostgreSQL [store] url, or a persistent volume for SQLite.",
        "# A non-zero exit (warning or critical findings) marks the Job failed.",
    ]
    warnings: list[str] = []
    for job, cron in schedule.jobs().items():
        labels = {"app.kubernetes.io/name": "deploywatch", "app.kubernetes.io/component": job}
        spec: dict[str, Any] = {"schedule": cron, "timeZone": schedule.timezone, "concurrencyPolicy": "Forbid"}
        if not schedule.catch_up:
            spec["startingDeadlineSeconds"] = 60  # a run that could not start within a minute is not made up
        spec.update({"successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3, "jobTemplate": {"spec": {
            "backoffLimit": 0, "activeDeadlineSeconds": int(schedule.timeout), "template": {
                "metadata": {"labels": labels},
                "spec": {"restartPolicy": "Never", "containers": [{
                    "name": "deploywatch", "image": f"deploywatch:{__version__}",
                    "args": [job, "--config", f"{mount}/{loaded.path.name}"],
                    "volumeMounts": [{"name": "config", "mountPath": mount, "readOnly": True}]}],
                    "volumes": [{"name": "config", "configMap": {"name": "deploywatch-config"}}]}}}}})
        document = {"apiVersion": "batch/v1", "kind": "CronJob",
                    "metadata": {"name": f"deploywatch-{job}", "labels": labels}, "spec": spec}
        lines.append("---")
        problem = _nonstandard(cron)
        if problem:
            _warn(f"{job}: '{cron}' may not work in a CronJob: {problem}", lines, warnings)
        lines += to_yaml(document)
    return "\n".join(lines) + "\n", warnings


def _config_in_repo(loaded: LoadedConfig) -> str:
    try:
        return loaded.path.relative_to(loaded.repo_path).as_posix()
    except ValueError:
        return loaded.path.name


def github_actions(loaded: LoadedConfig) -> tuple[str, list[str]]:
    """A workflow with ``on: schedule:`` (converted to UTC, see :func:`github_cron`) and one job per job."""
    schedule = loaded.config.schedule
    jobs = schedule.jobs()
    converted = {job: github_cron(cron, schedule.timezone) for job, cron in jobs.items()}
    warnings = [f"{job}: {note[len('WARNING: '):]}" for job, (_, notes) in converted.items() for note in notes
                if note.startswith("WARNING: ")]
    config = _config_in_repo(loaded)
    lines = [
        *_header(loaded, "github-actions"),
        "# Save as .github/workflows/deploywatch.yml. Runners are ephemeral: give [store] a PostgreSQL url (a",
        "# secret) so that history and alert state persist between runs.",
        "name: deploywatch",
        "on:",
        "  schedule:",
    ]
    listed: set[str] = set()
    for job, (cron, notes) in converted.items():
        lines += [f"    # {job}: {note}" for note in notes]
        if cron not in listed:
            listed.add(cron)
            lines.append(f"    - cron: {json.dumps(cron)}")
    lines += ["  workflow_dispatch: {}", "jobs:"]
    for job, (cron, _) in converted.items():
        lines += [
            f"  {job}:",
            f"    if: github.event_name == 'workflow_dispatch' || github.event.schedule == '{cron}'",
            "    runs-on: ubuntu-latest",
            f"    timeout-minutes: {max(1, math.ceil(schedule.timeout / 60))}",
            "    concurrency:",
            f"      group: deploywatch-{job}",
            "      cancel-in-progress: false",
            "    steps:",
            "      - uses: actions/checkout@v4",
            "        with:",
            "          fetch-depth: 0",
            "      - uses: actions/setup-python@v5",
            "        with:",
            "          python-version: \"3.12\"",
            "      - run: pip install deploywatch",
            f"      - run: {json.dumps(shlex.join(['deploywatch', job, '--config', config]))}",
        ]
    return "\n".join(lines) + "\n", warnings


def _systemd_quote(argv: Sequence[str]) -> str:
    return shlex.join(argv).replace("%", "%%").replace("$", "$$")


def systemd(loaded: LoadedConfig) -> tuple[str, list[str]]:
    """A ``.service`` and a ``.timer`` unit per job; ``OnCalendar=`` in the time zone, ``Persistent=`` from
    ``catch_up``. Files are separated by ``### FILE`` lines."""
    schedule = loaded.config.schedule
    lines = [
        *_header(loaded, "systemd"),
        "# Save each unit below its '### FILE' line in /etc/systemd/system (or ~/.config/systemd/user), then",
        "# `systemctl daemon-reload && systemctl enable --now deploywatch-JOB.timer`. OnCalendar= with a time",
        "# zone needs systemd 235 or newer. systemd never starts a service that is still running: no overlap.",
    ]
    warnings: list[str] = []
    for job, cron in schedule.jobs().items():
        calendar = on_calendar(cron, schedule.timezone)
        lines += ["", f"### deploywatch-{job}.service", "[Unit]", f"Description=deploywatch {job}",
                  "Wants=network-online.target", "After=network-online.target", "", "[Service]", "Type=oneshot",
                  f"WorkingDirectory={_systemd_quote([str(loaded.base_dir)])}",
                  f"ExecStart={_systemd_quote([*_program(), job, '--config', str(loaded.path)])}",
                  f"TimeoutStartSec={schedule.timeout}", "",
                  f"### deploywatch-{job}.timer", "[Unit]",
                  f"Description=deploywatch {job} on schedule ({cron}, {schedule.timezone})", "", "[Timer]"]
        if calendar is None:
            _warn(f"{job}: '{cron}' uses cron syntax systemd cannot express (L, W, #); write OnCalendar= by hand",
                  lines, warnings)
        else:
            lines += [f"OnCalendar={value}" for value in calendar]
        lines += [f"Persistent={'true' if schedule.catch_up else 'false'}", "AccuracySec=1s",
                  f"Unit=deploywatch-{job}.service", "", "[Install]", "WantedBy=timers.target"]
    return "\n".join(lines) + "\n", warnings
