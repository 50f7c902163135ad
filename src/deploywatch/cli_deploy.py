"""The deploy commands for the click group: ``preflight``, ``deploy`` and ``rollback`` (registered by ``cli.py``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from .commands.options import report_options

__all__ = ["COMMANDS", "preflight"]


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


COMMANDS = (preflight,)
