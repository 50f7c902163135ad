"""The ``remediate`` group (a dry run or ``--apply``; ``status``, ``pause``, ``resume``, ``reset``) and ``audit``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from .commands.options import alert_mode, alert_options, config_option, parse_now, report_options

__all__ = ["COMMANDS", "audit", "remediate"]


@click.group(invoke_without_command=True)
@click.option("--apply", "apply_", is_flag=True, help="Act: deploy and run rules (default: a dry run).")
@click.option("--service", "services", multiple=True, metavar="NAME", help="Only this service (repeatable).")
@click.option("--all", "all_", is_flag=True,
              help="Allow every service to be remediated at once (refused without it).")
@click.option("--by", default=None, metavar="WHO", help="Who remediates (default: git's user.name, else $USER).")
@alert_options
@report_options()
@click.pass_context
def remediate(ctx: click.Context, apply_: bool, services: tuple[str, ...], all_: bool, by: str | None,
              no_alerts: bool, dry_run_alerts: bool, config_path: Path | None, output_format: str | None,
              now: datetime) -> int:
    """Redeploy drifted services and run rules through the guarded deploy, under guardrails (a dry run unless
    --apply)."""
    if ctx.invoked_subcommand is not None:
        return 0
    from .commands import remediate as command

    return command.run(services, all_services=all_, apply=apply_, by=by, config_path=config_path,
                       output_format=output_format, now=now, alerts=alert_mode(no_alerts, dry_run_alerts))


@remediate.command("status")
@report_options(("table", "json"))
def remediate_status(config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Is remediation enabled, paused, its breaker tripped; each service's failures and backoff."""
    from .commands import remediate as command

    return command.status(config_path=config_path, output_format=output_format, now=now)


def _switch(name: str, about: str) -> click.Command:
    @click.option("--reason", default="", metavar="TEXT", help="Why; kept in the audit log.")
    @click.option("--by", default=None, metavar="WHO", help="Who (default: git's user.name, else $USER).")
    @click.option("--now", callback=parse_now, metavar="ISO8601", help="Fix 'now'.")
    @config_option
    def switch(reason: str, by: str | None, now: datetime, config_path: Path | None) -> int:
        from .commands import remediate as command

        return command.switch(name, reason=reason, by=by, config_path=config_path, now=now)

    switch.__doc__ = about
    return remediate.command(name)(switch)


_switch("pause", "Stop every remediation (the kill switch) until resume.")
_switch("resume", "End a pause.")
_switch("reset", "Reset a tripped breaker.")


@click.command()
@click.option("--since", default=None, metavar="WHEN", help="Only entries since then: ISO8601 or an age ('7d').")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100000), help="At most this many.")
@report_options(("table", "json"))
def audit(since: str | None, limit: int, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """The remediation audit log: every decision (acted, skipped and why), oldest first."""
    from .commands import remediate as command

    return command.audit(since=since, limit=limit, config_path=config_path, output_format=output_format, now=now)


COMMANDS = (remediate, audit)
