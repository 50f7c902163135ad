"""The ``deploywatch`` command group: parse arguments, call a command module, return its exit code.

Heavy modules (pydantic, rich, httpx) are imported inside the commands so ``--help`` starts fast. The options
several commands share are :mod:`deploywatch.commands.options`; how errors become one line and an exit code,
and how the process ends, is :mod:`deploywatch.commands.exits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn

import click

from . import cli_deploy, cli_hooks, cli_init, cli_ledger, cli_remediate, cli_report, cli_rollout
from .commands import exits
from .commands.options import (
    CI_REPORT_FORMATS,
    alert_mode,
    alert_options,
    config_option,
    date_option,
    one_of,
    parse_now,
    report_options,
)

__all__ = ["cli", "entry", "main"]


def _version(ctx: click.Context, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from .core.version import describe

    click.echo(f"deploywatch {describe()}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _, value: _version(ctx, value),
              help="Show the version (and the git checkout it runs from, if any) and exit.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour in tables and reports: auto = on a terminal unless NO_COLOR is set.")
def cli(color: str) -> None:
    """Know that production runs the code you committed.

    Exit codes: 0 ok, 1 warning, 2 critical, 3 unknown or could not run.
    """
    from .core.render import set_color

    set_color(color)


@cli.command()
@click.argument("services", nargs=-1)
@click.option("--max-commits", type=click.IntRange(min=0), default=None,
              help="Relevant commits listed per service (default: 3 in a table or Markdown, 20 in JSON).")
@alert_options
@report_options(CI_REPORT_FORMATS)
def drift(services: tuple[str, ...], max_commits: int | None, config_path: Path | None, output_format: str | None,
          now: datetime, no_alerts: bool, dry_run_alerts: bool) -> int:
    """How far each service's deployed commit is behind the branch, and whether it matters."""
    from .drift.prefetch import Prefetch

    prefetch = Prefetch(config_path, services)  # starts git while the next import builds the config models
    from .commands import drift as command

    return command.run(services, config_path=config_path, output_format=output_format, now=now,
                       max_commits=max_commits, prefetch=prefetch, alert_mode=alert_mode(no_alerts, dry_run_alerts))


@cli.command()
@click.argument("commit")
@report_options()
def contains(commit: str, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Is COMMIT (or a cherry-pick of it) deployed, and where?"""
    from .commands import contains as command

    return command.run(commit, config_path=config_path, output_format=output_format, now=now)


@cli.command()
@click.option("--base", help="The revision the change is based on (e.g. origin/main).")
@click.option("--since", type=click.Choice(["deployed"]), default=None,
              help="Per service, the commit it runs now as the base: what deploying --head now would ship.")
@click.option("--head", default="HEAD", show_default=True, help="The revision with the change.")
@click.option("--staged", is_flag=True, help="Use the files staged in the index instead of a revision range.")
@click.option("--files", "use_files", is_flag=True,
              help="Use the PATH arguments instead of git: --files a.py b.py (or --files a.py --files b.py).")
@click.argument("paths", nargs=-1, metavar="[--files PATH...]")
@report_options(("lines", "json", "github", "table", "markdown"))
def affected(base: str | None, since: str | None, head: str, staged: bool, use_files: bool, paths: tuple[str, ...],
             config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Which services a change touches, and which glob matched each file."""
    # --files is a flag and the paths are arguments: click options take a fixed number of values, and this
    # way `--files a b` and `--files a --files b` both read as documented.
    from .commands import affected as command

    return command.run(base=base, head=head, staged=staged, files=paths, use_files=use_files,
                       config_path=config_path, output_format=output_format, since=since)


@cli.command()
@click.argument("groups", nargs=-1)
@report_options()
def skew(groups: tuple[str, ...], config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Services in one group whose deployed commits differ in code they share."""
    from .commands import skew as command

    return command.run(groups, config_path=config_path, output_format=output_format, now=now)


@cli.command()
@click.option("--phase", "phases", multiple=True, metavar="PHASE", help="Only checks of this phase (repeatable).")
@click.option("--check", "patterns", multiple=True, metavar="GLOB",
              help="Only checks whose name matches this glob, or whose phase is this name (repeatable).")
@date_option()
@click.option("--explain", is_flag=True, help="Print the SQL statements instead of running them.")
@alert_options
@report_options(CI_REPORT_FORMATS)
def canary(phases: tuple[str, ...], patterns: tuple[str, ...], run_date: date | None, explain: bool,
           config_path: Path | None, output_format: str | None, now: datetime, no_alerts: bool,
           dry_run_alerts: bool) -> int:
    """Run data checks in the warehouse: one statement per table and filter, results stored with history."""
    from .commands import canary as command

    return command.run(config_path=config_path, phases=phases, patterns=patterns, run_date=run_date,
                       output_format=output_format, now=now, explain=explain,
                       alert_mode=alert_mode(no_alerts, dry_run_alerts))


@cli.command()
@click.argument("name")
@date_option()
@alert_options
@report_options(CI_REPORT_FORMATS)
def gate(name: str, run_date: date | None, config_path: Path | None, output_format: str | None,
         now: datetime, no_alerts: bool, dry_run_alerts: bool) -> int:
    """Should the next pipeline phase run? PROCEED (0), PROCEED_WITH_WARNING (1), FAIL (2)."""
    from .commands import gate as command

    return command.run(name, config_path=config_path, run_date=run_date, output_format=output_format, now=now,
                       alert_mode=alert_mode(no_alerts, dry_run_alerts))


@cli.command()
@date_option()
@click.option("--fail-fast-on-drift", is_flag=True,
              help="Stop after drift when a service is critically drifted (its data is not worth validating).")
@alert_options
@report_options(CI_REPORT_FORMATS)
def check(run_date: date | None, fail_fast_on_drift: bool, config_path: Path | None, output_format: str | None,
          now: datetime, no_alerts: bool, dry_run_alerts: bool) -> int:
    """The unified health check: drift, data checks, phase completion and probes as one score (0-100)."""
    from .commands import check as command

    return command.run(config_path=config_path, output_format=output_format, now=now, run_date=run_date,
                       fail_fast_on_drift=fail_fast_on_drift, alert_mode=alert_mode(no_alerts, dry_run_alerts))


@cli.command()
@click.argument("check")
@click.option("--group", default=None, help="Only this group of a grouped check.")
@click.option("--limit", type=click.IntRange(min=1), default=30, show_default=True, help="How many values.")
@report_options()
def history(check: str, group: str | None, limit: int, config_path: Path | None, output_format: str | None,
            now: datetime) -> int:
    """A check's recent values from the store, newest first."""
    from .commands import history as command

    return command.run(check, config_path=config_path, group=group, limit=limit, output_format=output_format)


@cli.group()
def alerts() -> None:
    """Try the alert sinks, and look into or deliver the outbox."""


@alerts.command("test")
@click.argument("sinks", nargs=-1)
@report_options(("table", "json"))
def alerts_test(sinks: tuple[str, ...], config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Send a test message to every sink (or the SINKS named); exit 0 when every one confirmed."""
    from .commands import alerts as command

    return command.test(sinks, config_path=config_path, output_format=output_format, now=now)


@alerts.command("pending")
@click.option("--delivered", is_flag=True, help="Include delivered messages.")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="How many rows.")
@report_options(("table", "json"))
def alerts_pending(delivered: bool, limit: int, config_path: Path | None, output_format: str | None,
                   now: datetime) -> int:
    """The outbox: messages waiting for delivery and dead letters (exit 0 empty, 1 pending, 2 dead)."""
    from .commands import alerts as command

    return command.pending(config_path=config_path, output_format=output_format, now=now, delivered=delivered,
                           limit=limit)


@alerts.command("flush")
@click.option("--retry-dead", is_flag=True, help="Try dead letters again too.")
@click.option("--no-wait", "no_wait", is_flag=True, help="One attempt per message, no retries.")
@report_options(("table", "json"))
def alerts_flush(retry_dead: bool, no_wait: bool, config_path: Path | None, output_format: str | None,
                 now: datetime) -> int:
    """Deliver every pending message now, whatever its backoff."""
    from .commands import alerts as command

    return command.flush(config_path=config_path, output_format=output_format, retry_dead=retry_dead,
                         wait=not no_wait)


@cli.group()
def silence() -> None:
    """Silence findings for a while: recorded, not sent."""


@silence.command("add")
@click.option("--match", "matchers", multiple=True, metavar="NAME=VALUE", required=True,
              help="A matcher on kind, subject or a label (=, !=, =~, !~); repeat to require several.")
@click.option("--for", "duration", default="2h", show_default=True, metavar="DURATION", help="How long.")
@click.option("--comment", required=True, help="Why (shown with the silence).")
@click.option("--author", default=None, help="Who (default: $DEPLOYWATCH_USER or the login name).")
@report_options(("table", "json"))
def silence_add(matchers: tuple[str, ...], duration: str, comment: str, author: str | None,
                config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Add a silence, e.g. --match service=prediction-worker --for 4h --comment "deploy in progress"."""
    from .commands import silence as command

    return command.add(matchers, duration=duration, comment=comment, author=author, config_path=config_path,
                       output_format=output_format, now=now)


@silence.command("list")
@click.option("--all", "include_expired", is_flag=True, help="Include expired silences.")
@report_options(("table", "json"))
def silence_list(include_expired: bool, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """The active silences (or all of them)."""
    from .commands import silence as command

    return command.list_silences(config_path=config_path, output_format=output_format, now=now,
                                 include_expired=include_expired)


@silence.command("expire")
@click.argument("silence_id", metavar="ID")
@report_options(("table",))
def silence_expire(silence_id: str, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """End silence ID now."""
    from .commands import silence as command

    return command.expire(silence_id, config_path=config_path, now=now)


@cli.command()
@click.argument("phase")
@click.argument("processor")
@date_option("The date the processor finished")
@report_options(("table", "json"))
def complete(phase: str, processor: str, run_date: date | None, config_path: Path | None,
             output_format: str | None, now: datetime) -> int:
    """Record that PROCESSOR finished PHASE; the last expected one runs the phase's on_complete, once."""
    from .commands import complete as command

    return command.run(phase, processor, config_path=config_path, run_date=run_date, output_format=output_format,
                       now=now)


@cli.command()
@date_option("The date to look at")
@report_options()
def phases(run_date: date | None, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Phase completion: which processors reported each phase, who is missing, and whether the data agrees."""
    from .commands import phases as command

    return command.run(config_path=config_path, run_date=run_date, output_format=output_format, now=now)


SHELLS = ("bash", "zsh", "fish")


@cli.command()
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL", required=False)
@click.pass_context
def completion(ctx: click.Context, shell: str | None) -> int:
    """Print the shell completion script for SHELL, e.g. source <(deploywatch completion bash)."""
    from .commands import completion as command

    if shell is None:  # click's own message lists the choices on several lines
        raise click.UsageError(f"missing SHELL: {one_of(SHELLS)} (e.g. deploywatch completion bash)")

    return command.run(ctx.find_root().command, shell)


@cli.command()
@config_option
@click.option("--listen", metavar="HOST:PORT", default=None,
              help="Address of the HTTP API (default: [server] listen, else 127.0.0.1:8080).")
@click.option("--once", is_flag=True,
              help="Run every job whose latest scheduled time has not run yet, wait for them, and exit "
                   "(no HTTP server; exit code: the worst result).")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True, metavar="SECONDS",
              help="On SIGTERM/SIGINT, how long a running job may take to finish before it is recorded cancelled.")
def serve(config_path: Path | None, listen: str | None, once: bool, grace: float) -> int:
    """The daemon: run drift, canary and check on the [schedule], serve the HTTP API and /metrics."""
    from .commands import serve as command

    return command.run(config_path=config_path, listen=listen, once=once, grace=grace)


EXPORT_FORMATS = ("crontab", "kubernetes", "kubernetes-deployment", "github-actions", "systemd")


@cli.group()
def schedule() -> None:
    """The [schedule] for other schedulers."""


@schedule.command("export")
@click.option("--format", "output_format", type=click.Choice(EXPORT_FORMATS),
              help="What to write (required): crontab lines, Kubernetes CronJobs, a GitHub Actions workflow, "
                   "systemd units, or the daemon itself as a Kubernetes Deployment of replicas "
                   "(kubernetes-deployment).")
@click.option("--image", metavar="NAME", default=None,
              help="kubernetes, kubernetes-deployment: the image the pods run, built from deploywatch's Dockerfile "
                   "(default: deploywatch:VERSION).")
@click.option("--repo-url", metavar="URL", default=None,
              help="kubernetes*: the repository URL the container clones (default: the repository's origin remote).")
@click.option("--install", metavar="REQUIREMENT", default=None,
              help="github-actions: the pip requirement the workflow installs deploywatch from (default: where "
                   "this deploywatch was installed from, e.g. 'deploywatch @ git+https://…@COMMIT').")
@config_option
def schedule_export(output_format: str | None, image: str | None, repo_url: str | None, install: str | None,
                    config_path: Path | None) -> int:
    """Print the [schedule] jobs for crontab, Kubernetes (CronJobs or serve's Deployment), GitHub Actions or systemd."""
    from .commands import schedule as command

    if output_format is None:  # required, but click's own message lists the choices on several lines
        raise click.UsageError(f"missing --format: {one_of(EXPORT_FORMATS)}")
    if output_format == "kubernetes-deployment":
        from .commands import schedule_deployment

        return schedule_deployment.run(config_path=config_path, options=command.ExportOptions(image, repo_url))
    return command.run(config_path=config_path, output_format=output_format,
                       options=command.ExportOptions(image=image, repo_url=repo_url, install=install))


@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@date_option("The run date check templates are rendered for")
@click.option("--probe-sources", is_flag=True,
              help="Read each service's deployed source once and show what it said; warn when a preset's CLI is "
                   "not on PATH.")
@report_options(("table", "json"))
def config_check(run_date: date | None, probe_sources: bool, config_path: Path | None, output_format: str | None,
                 now: datetime) -> int:
    """Validate the config and explain the effective settings of every service."""
    from .commands import config_check as command

    return command.run(config_path=config_path, output_format=output_format, now=now, run_date=run_date,
                       probe_sources=probe_sources)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--now", callback=parse_now, metavar="ISO8601", help="Build the demo as of this time.")
@click.option("--webhook", metavar="URL", help="Send the demo's findings to this URL as JSON (a generic webhook).")
@click.option("--slack-webhook", metavar="URL", help="Send the demo's findings to this Slack incoming webhook.")
def demo(directory: Path | None, now: datetime, webhook: str | None, slack_webhook: str | None) -> int:
    """Build a demo workspace in DIRECTORY (default ./deploywatch-demo) and run drift and canaries on it."""
    from .commands import demo as command

    return command.run(directory or Path("deploywatch-demo"), now=now, webhook=webhook, slack_webhook=slack_webhook)


for _command in (*cli_deploy.COMMANDS, *cli_hooks.COMMANDS, *cli_init.COMMANDS, *cli_ledger.COMMANDS,
                 *cli_remediate.COMMANDS, *cli_report.COMMANDS, *cli_rollout.COMMANDS):
    cli.add_command(_command)


def entry() -> NoReturn:
    """The ``deploywatch`` console script (and ``python -m deploywatch``): :func:`main`, then exit at once
    (:func:`~deploywatch.commands.exits.exit_now`: no interpreter teardown once the output is flushed)."""
    exits.exit_now(main())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising ``SystemExit``
    (:func:`~deploywatch.commands.exits.run`: every error one line)."""
    return exits.run(cli, argv)
