"""The click definition of ``report``, added to the group by ``cli.py``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from .commands.options import report_options

__all__ = ["COMMANDS", "report"]


@click.command()
@click.option("--since", default="7d", show_default=True, metavar="DURATION|ISO8601",
              help="The window's start: a duration before its end (7d), or an instant.")
@click.option("--until", default=None, metavar="DURATION|ISO8601",
              help="The window's end: an instant, or a duration before now (default: now).")
@click.option("--service", "services", multiple=True, metavar="NAME",
              help="Only this service (repeat for more; default: every service).")
@click.option("--commits", "with_commits", is_flag=True,
              help="In JSON, list every commit behind each deploy's lead times (large for long windows).")
@click.option("--send", is_flag=True,
              help="Send the report of the latest [schedule] report time (since the time before) to the alert "
                   "sinks, once per time, instead of printing it.")
@report_options(("table", "markdown", "html", "json"))
def report(since: str, until: str | None, services: tuple[str, ...], with_commits: bool, send: bool,
           config_path: Path | None,
           output_format: str | None, now: datetime) -> int:
    """Delivery (DORA), drift, data and alert figures of a window, each with how it was computed."""
    from .commands import report as command

    if send:
        return command.send(config_path=config_path, now=now)
    return command.run(services, config_path=config_path, since=since, until=until, output_format=output_format,
                       now=now, with_commits=with_commits)


COMMANDS = (report,)
