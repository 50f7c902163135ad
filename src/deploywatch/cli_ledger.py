"""The deploy ledger's commands for the click group: ``record`` and ``deployments`` (registered by ``cli.py``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from .commands.options import report_options

__all__ = ["COMMANDS", "deployments", "record"]


@click.command()
@click.argument("service")
@click.argument("commit")
@click.option("--status", type=click.Choice(["succeeded", "failed"]), default="succeeded", show_default=True,
              help="How the deploy ended.")
@click.option("--url", default=None, metavar="URL", help="Where it ran (the CI job or build), shown masked.")
@click.option("--by", default=None, metavar="WHO", help="Who deployed (default: git's user.name, else $USER).")
@click.option("--reason", default=None, metavar="TEXT", help="Why, or what went wrong.")
@report_options(("table", "json"))
def record(service: str, commit: str, status: str, url: str | None, by: str | None, reason: str | None,
           config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Record in the ledger that SERVICE was deployed at COMMIT elsewhere (CI, Argo CD, by hand)."""
    from .commands import record as command

    return command.run(service, commit, config_path=config_path, status=status, url=url, by=by, reason=reason,
                       output_format=output_format, now=now)


@click.command()
@click.argument("services", nargs=-1)
@click.option("--since", default="30d", show_default=True, metavar="DURATION",
              help="Only entries started this long ago or since.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="How many entries.")
@report_options()
def deployments(services: tuple[str, ...], since: str, limit: int, config_path: Path | None,
                output_format: str | None, now: datetime) -> int:
    """The deploy ledger, newest first: who deployed what, when, from which commit, and how it ended."""
    from .commands import deployments as command

    return command.run(services, config_path=config_path, since=since, limit=limit, output_format=output_format,
                       now=now)


COMMANDS = (record, deployments)
