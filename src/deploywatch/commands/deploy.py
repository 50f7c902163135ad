"""``deploywatch deploy`` and ``deploywatch rollback``: run the guarded deploy, show its steps, print the result.

The steps and the deploy command's output go to the terminal as they happen (to stderr when stdout carries JSON
or Markdown); on a terminal a wait shows a spinner with the elapsed time. Every line is masked and printable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..config import DEPLOY_SECTIONS
from ..core.durations import format_age
from ..core.redact import mask
from ..core.render import emit_json, emit_text, markdown_table, markdown_text, short
from ..core.status import Status
from ..core.text import printable
from ..deploy.outcome import DeployReport, ServiceOutcome
from ..deploy.verify import Step

if TYPE_CHECKING:
    from ..deploy.steps import Context
    from ..notify.model import AlertMode

__all__ = ["TerminalProgress", "emit_deploy_report", "notify_outcomes", "open_context", "render_markdown",
           "render_text", "run_deploy", "run_rollback"]

_MARKS = {Status.OK: "✓", Status.WARNING: "!", Status.UNKNOWN: "?", Status.CRITICAL: "✗"}
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class TerminalProgress:
    """Shows a deploy's steps as lines on ``stream``; the command's output indented under its step."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.partial: dict[str, bytes] = {}

    def _line(self, text: str) -> None:
        self.stream.write(printable(mask(text)) + "\n")
        self.stream.flush()

    def begin(self, service: str, step: str, text: str) -> None:
        """``▸ service step: text``."""
        self._line(f"▸ {service} {step}: {text}")

    def end(self, service: str, step: Step) -> None:
        """``  ✓ step ok: detail``."""
        self._flush(service)
        self._line(f"  {_MARKS[step.status]} {step.name} {step.status}: {step.detail}")

    def output(self, service: str, chunk: bytes) -> None:
        """Whole lines of the command's output, indented."""
        data = self.partial.get(service, b"") + chunk
        *lines, rest = data.split(b"\n")
        self.partial[service] = rest[-4096:]
        for line in lines:
            self._line("    │ " + line.decode("utf-8", errors="replace").rstrip())

    def _flush(self, service: str) -> None:
        rest = self.partial.pop(service, b"")
        if rest.strip():
            self._line("    │ " + rest.decode("utf-8", errors="replace").rstrip())

    def wait(self, what: str, seconds: float, tick: Callable[[], None]) -> None:
        """Sleep ``seconds``, ticking; on a terminal a spinner and the time waited."""
        started = time.monotonic()
        deadline = started + seconds
        frame = 0
        while (left := deadline - time.monotonic()) > 0:
            tick()
            if self.live:
                shown = printable(mask(what))[:100]
                self.stream.write(f"\r  {_SPINNER[frame % len(_SPINNER)]} {shown} "
                                  f"{time.monotonic() - started:4.0f}s\x1b[K")
                self.stream.flush()
                frame += 1
            time.sleep(min(0.25 if self.live else 0.5, left))
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def open_context(config_path: Path | None, output_format: str | None, by: str | None, *,
                 sections: Collection[str] = DEPLOY_SECTIONS) -> Context:
    """The deploy context: the workspace (its config read for ``sections``), the store (abandoned deploys reaped),
    progress on the terminal."""
    from ..checks.runner import open_store
    from ..checks.validate import load_config
    from ..deploy.ledger import who
    from ..deploy.steps import Context
    from ..drift.workspace import workspace_for

    workspace = workspace_for(load_config(config_path, sections=sections))
    store = open_store(workspace.loaded)
    store.reap_deployments(datetime.now(UTC))
    stream = sys.stdout if (output_format or "table") == "table" else sys.stderr
    return Context(workspace, store, TerminalProgress(stream), lambda: datetime.now(UTC), by or who(workspace.repo),
                   float(workspace.loaded.config.deploy.lease))


def run_deploy(services: tuple[str, ...], *, group: str | None, revision: str | None, yes: bool, dry_run: bool,
               no_rollback: bool, force: bool, reason: str | None, allow_downgrade: bool, by: str | None,
               config_path: Path | None, output_format: str | None, now: datetime, alerts: AlertMode) -> int:
    """Deploy; print the report; its exit code (0 ok, 1 warnings, 2 failed, 3 could not start)."""
    from ..deploy.engine import DeployRequest, deploy

    context = open_context(config_path, output_format, by)
    with context.store:
        request = DeployRequest(services, group, revision, yes, dry_run, no_rollback, force, reason, allow_downgrade)
        report = deploy(context, request, now=now)
        if not dry_run and not report.blocked:
            notify_outcomes(context, report, alerts)
    emit_deploy_report(report, output_format)
    return report.exit_code


def run_rollback(service: str, *, to: str | None, reason: str | None, force: bool, by: str | None,
                 config_path: Path | None, output_format: str | None, now: datetime, alerts: AlertMode) -> int:
    """Roll back; print the report; its exit code (0 ok, 2 failed, 3 could not start)."""
    from ..deploy.rollback import rollback

    context = open_context(config_path, output_format, by)
    with context.store:
        report = rollback(context, service, to=to, reason=reason, force=force, now=now)
        if not report.blocked:
            notify_outcomes(context, report, alerts)
    emit_deploy_report(report, output_format)
    return report.exit_code


def notify_outcomes(context: Context, report: DeployReport, alerts: AlertMode) -> None:
    """The outcomes as findings of one run (command ``deploy``), routed to the alert sinks."""
    import uuid

    from ..deploy.outcome import findings
    from ..notify.dispatch import record_and_notify
    from ..store.records import RunRecord

    found = findings(report.outcomes)
    if not found:
        return
    worst_status = max((f.status for f in found), key=lambda s: s.severity)
    run = RunRecord(uuid.uuid4().hex, "deploy", report.generated_at, context.clock(), None, str(worst_status),
                    report.exit_code, details={"group": report.group, "target": report.commit})
    record_and_notify(context.store, run, found, (), context.workspace.loaded.config.alerts, alerts,
                      now=context.clock())


def emit_deploy_report(report: DeployReport, output_format: str | None) -> None:
    """Print ``report`` as JSON, Markdown or text."""
    if output_format == "json":
        emit_json(report.as_json())
    elif output_format == "markdown":
        emit_text(render_markdown(report))
    else:
        render_text(report)


def _result(outcome: ServiceOutcome) -> str:
    took = f" in {format_age(outcome.duration_seconds)}" if outcome.duration_seconds else ""
    return f"{outcome.status}{' (with warnings)' if outcome.warnings else ''}{took}"


def render_text(report: DeployReport) -> None:
    """The result for people: one block per service, then the verdict."""
    lines: list[str] = []
    for blocked in report.blocked:
        lines.append(f"cannot start: {blocked}")
    for outcome in report.outcomes:
        entry = f" (ledger #{outcome.entry_id})" if outcome.entry_id else ""
        lines.append(f"{outcome.service}: {outcome.how} {short(outcome.from_commit) if outcome.from_commit else '?'}"
                     f" → {short(outcome.to_commit)}: {_result(outcome)}{entry}")
        if outcome.reason and outcome.status != "succeeded":
            lines.append(f"  why: {outcome.reason}")
        for step in outcome.plan:
            lines.append(f"  would {step['step']}: {step['detail']}")
        if outcome.rollback is not None:
            back = outcome.rollback
            lines.append(f"  rollback to {short(back.to_commit)}: {_result(back)}"
                         + (f" at {back.step}: {back.reason}" if back.status != "succeeded" else ""))
        if outcome.runbook and outcome.status not in ("succeeded", "planned"):
            lines.append(f"  runbook: {outcome.runbook}")
    verdict = report.status.replace("_", " ")
    lines.append(f"{'dry run: ' if report.dry_run else ''}{verdict} (exit {report.exit_code})")
    emit_text(mask("\n".join(lines)))


def render_markdown(report: DeployReport) -> str:
    """The result as GitHub-flavoured Markdown."""
    rows = [[o.service, o.how, short(o.from_commit) if o.from_commit else "-", short(o.to_commit), _result(o),
             o.step or "-", markdown_text(o.reason or "-")] for o in report.outcomes]
    how = "rollback" if report.outcomes and report.outcomes[0].how == "rollback" else "deploy"
    lines = [f"### deploywatch {how}{' (dry run)' if report.dry_run else ''}: **{report.status}**", ""]
    lines += [f"- cannot start: {markdown_text(b)}" for b in report.blocked]
    if report.blocked:
        lines.append("")
    lines.append(markdown_table(["Service", "How", "From", "To", "Result", "Step", "Reason"], rows))
    return mask("\n".join(lines))
