"""The options the CLI's commands share (``--config``, ``--format``, ``--now``, ``--date``, the alert flags).

Each is a click decorator with the callback that parses its value; ``deploywatch.cli`` puts them on its
commands. Only click is imported here, so ``deploywatch --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..notify.model import AlertMode

__all__ = ["CI_REPORT_FORMATS", "FORMATS", "alert_mode", "alert_options", "config_option", "date_option", "one_of",
           "parse_date", "parse_now", "report_options"]

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "markdown")
CI_REPORT_FORMATS = (*FORMATS, "junit", "github")  # see deploywatch.core.ci


def parse_now(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime:
    """``--now ISO8601`` as a tz-aware instant (the current time when not given)."""
    if value is None:
        return datetime.now(UTC)
    from ..core.durations import parse_instant

    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    envvar="DEPLOYWATCH_CONFIG", help="Config file (default: deploywatch.toml found by walking up from here).")


def report_options(formats: Sequence[str] = FORMATS) -> Callable[[F], F]:
    """``--config``, ``--format`` and ``--now``, shared by every report command."""

    def decorate(fn: F) -> F:
        fn = click.option("--now", callback=parse_now, metavar="ISO8601",
                          help="Fix 'now' (e.g. 2026-11-23T08:00:00Z) for reproducible output.")(fn)
        fn = click.option("--format", "output_format", type=click.Choice(list(formats)), default=None,
                          help=f"Output format (default: {formats[0]}).")(fn)
        return config_option(fn)

    return decorate


def alert_options(fn: F) -> F:
    """``--no-alerts`` and ``--dry-run-alerts``, given to the command as ``alert_mode``."""

    fn = click.option("--dry-run-alerts", "dry_run_alerts", is_flag=True,
                      help="Show the notifications that are due instead of sending them (nothing is changed).")(fn)
    fn = click.option("--no-alerts", "no_alerts", is_flag=True,
                      help="Record the run but route and send no notifications.")(fn)
    return fn


def alert_mode(no_alerts: bool, dry_run_alerts: bool) -> AlertMode:
    """The two alert flags as the ``AlertMode`` a command takes; both at once is a usage error."""
    from ..notify.model import AlertMode

    if no_alerts and dry_run_alerts:
        raise click.UsageError("--no-alerts and --dry-run-alerts cannot be combined")
    return AlertMode(enabled=not no_alerts, dry_run=dry_run_alerts)


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """``--date YYYY-MM-DD`` as a date (None when not given)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"invalid date {value!r}: expected YYYY-MM-DD") from None


def date_option(about: str = "The run date the checks are about") -> Callable[[F], F]:
    """``--date YYYY-MM-DD`` as ``run_date`` (None when not given)."""
    return click.option("--date", "run_date", callback=parse_date, metavar="YYYY-MM-DD",
                        help=f"{about} (default: today in the warehouse time zone).")


def one_of(choices: Sequence[str]) -> str:
    """``a, b or c``: the choices of a missing argument, on one line (click's own message takes several)."""
    return f"{', '.join(choices[:-1])} or {choices[-1]}"
