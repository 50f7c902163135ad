"""The deploy commands for the click group: ``preflight``, ``deploy`` and ``rollback`` (registered by ``cli.py``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from .commands.options import alert_mode, alert_options, report_options

__all__ = ["COMMANDS", "deploy", "preflight", "rollback"]


@click.command()
@click.argument("service")
@click.option("--commit", "revision", metavar="REV", default=None,
              help="The commit to deploy (any revision git understands; default: HEAD).")
@click.option("--allow-downgrade", is_flag=True,
              help="A downgrade or a move to diverged or unrelated history is a warning, not critical.")
@report_options()
def preflight(service: str, revision: str | None, allow_downgrade: bool, config_path: Path | None,
              output_format: str | None, now: datetime) -> int:
    """May SERVICE be deployed now? Tree, branch, remote, what ships, schema, tests, the move, health."""
    from .commands import preflight as command

    return command.run(service, revision=revision, allow_downgrade=allow_downgrade, config_path=config_path,
                       output_format=output_format, now=now)



@click.command()
@click.argument("services", nargs=-1)
@click.option("--group", default=None, metavar="GROUP", help="Deploy every service of GROUP, in its deploy_order.")
@click.option("--commit", "revision", metavar="REV", default=None,
              help="The commit to deploy (any revision git understands; default: HEAD).")
@click.option("--yes", is_flag=True, help="Go on when preflight has warnings or unknown items (not critical ones).")
@click.option("--dry-run", is_flag=True, help="Print what would run, in order, and change nothing.")
@click.option("--no-rollback", is_flag=True, help="On a failure leave the service as it is and alert (no rollback).")
@click.option("--force", is_flag=True,
              help="Deploy through a deny window, a critical preflight or another deploy's lock (needs --reason).")
@click.option("--reason", default=None, metavar="TEXT", help="Why (required with --force); kept in the ledger.")
@click.option("--allow-downgrade", is_flag=True,
              help="A downgrade or a move to diverged history is a preflight warning, not critical.")
@click.option("--by", default=None, metavar="WHO", help="Who deploys (default: git's user.name, else $USER).")
@alert_options
@report_options()
def deploy(services: tuple[str, ...], group: str | None, revision: str | None, yes: bool, dry_run: bool,
           no_rollback: bool, force: bool, reason: str | None, allow_downgrade: bool, by: str | None,
           config_path: Path | None, output_format: str | None, now: datetime, no_alerts: bool,
           dry_run_alerts: bool) -> int:
    """Deploy SERVICES (or --group): preflight, lock, deploy, verify, post-deploy checks, rollback on failure."""
    from .commands import deploy as command

    return command.run_deploy(services, group=group, revision=revision, yes=yes, dry_run=dry_run,
                              no_rollback=no_rollback, force=force, reason=reason, allow_downgrade=allow_downgrade,
                              by=by, config_path=config_path, output_format=output_format, now=now,
                              alerts=alert_mode(no_alerts, dry_run_alerts))


@click.command()
@click.argument("service")
@click.option("--to", default=None, metavar="REV",
              help="The commit to return to (default: the last succeeded deploy before the current one).")
@click.option("--reason", default=None, metavar="TEXT", help="Why; kept in the ledger.")
@click.option("--force", is_flag=True, help="Take over the lock of a deploy still running.")
@click.option("--by", default=None, metavar="WHO", help="Who rolls back (default: git's user.name, else $USER).")
@alert_options
@report_options()
def rollback(service: str, to: str | None, reason: str | None, force: bool, by: str | None,
             config_path: Path | None, output_format: str | None, now: datetime, no_alerts: bool,
             dry_run_alerts: bool) -> int:
    """Return SERVICE to an earlier commit: rollback command, then verify (no soak, no preflight)."""
    from .commands import deploy as command

    return command.run_rollback(service, to=to, reason=reason, force=force, by=by, config_path=config_path,
                                output_format=output_format, now=now, alerts=alert_mode(no_alerts, dry_run_alerts))


COMMANDS = (preflight, deploy, rollback)
