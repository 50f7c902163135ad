"""The ``rollout`` command group (``status``, ``resume``, ``abort``, ``promote``), registered by ``cli.py``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from .commands.options import alert_mode, alert_options, report_options

__all__ = ["COMMANDS", "rollout"]


@click.group()
def rollout() -> None:
    """A service's progressive rollout: its state, and resume, abort or promote it."""


@rollout.command("status")
@click.argument("service")
@report_options(("table", "json"))
def rollout_status(service: str, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Where SERVICE's newest rollout is: state, step, weight, the lock, and every verdict with its reasons."""
    from .commands import rollout as command

    return command.run_status(service, config_path=config_path, output_format=output_format, now=now)


@rollout.command("resume")
@click.argument("service")
@click.option("--by", default=None, metavar="WHO", help="Who resumes (default: git's user.name, else $USER).")
@alert_options
@report_options()
def rollout_resume(service: str, by: str | None, config_path: Path | None, output_format: str | None,
                   now: datetime, no_alerts: bool, dry_run_alerts: bool) -> int:
    """Continue SERVICE's paused rollout at the step it paused on."""
    from .commands import rollout as command

    return command.run_resume(service, by=by, config_path=config_path, output_format=output_format, now=now,
                              alerts=alert_mode(no_alerts, dry_run_alerts))


@rollout.command("abort")
@click.argument("service")
@click.option("--reason", default=None, metavar="TEXT", help="Why; kept in the ledger.")
@click.option("--by", default=None, metavar="WHO", help="Who aborts (default: git's user.name, else $USER).")
@alert_options
@report_options()
def rollout_abort(service: str, reason: str | None, by: str | None, config_path: Path | None,
                  output_format: str | None, now: datetime, no_alerts: bool, dry_run_alerts: bool) -> int:
    """Abort SERVICE's rollout, running or paused: weight 0, roll back, end the entry, release the lock."""
    from .commands import rollout as command

    return command.run_abort(service, reason=reason, by=by, config_path=config_path, output_format=output_format,
                             now=now, alerts=alert_mode(no_alerts, dry_run_alerts))


@rollout.command("promote")
@click.argument("service")
@click.option("--reason", required=True, metavar="TEXT", help="Why the remaining steps are skipped; kept.")
@click.option("--by", default=None, metavar="WHO", help="Who promotes (default: git's user.name, else $USER).")
@alert_options
@report_options()
def rollout_promote(service: str, reason: str, by: str | None, config_path: Path | None,
                    output_format: str | None, now: datetime, no_alerts: bool, dry_run_alerts: bool) -> int:
    """Skip SERVICE's remaining rollout steps: weight 100 now (a running rollout does it before its next step)."""
    from .commands import rollout as command

    return command.run_promote(service, reason=reason, by=by, config_path=config_path, output_format=output_format,
                               now=now, alerts=alert_mode(no_alerts, dry_run_alerts))


COMMANDS = (rollout,)
