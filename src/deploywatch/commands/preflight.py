"""``deploywatch preflight SERVICE``: may this service be deployed now? Eight checks, the worst is the exit code."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..config import DRIFT_SECTIONS, load_config
from ..core.redact import mask
from ..core.render import (
    console,
    emit_json,
    emit_text,
    markdown_table,
    markdown_text,
    short,
    status_counts,
    status_style,
    styled,
    table,
)
from ..core.text import plural
from ..deploy.preflight import PreflightReport, run_preflight
from ..drift.workspace import workspace_for

__all__ = ["render_markdown", "render_table", "run"]

SHOWN_COMMITS = 10  # in a table or Markdown; JSON lists up to JSON_COMMITS
JSON_COMMITS = 500
SECTIONS = DRIFT_SECTIONS | {"probes", "health", "warehouse", "checks"}


def run(service: str, *, revision: str | None, allow_downgrade: bool, config_path: Path | None,
        output_format: str | None, now: datetime) -> int:
    """Run the preflight of ``service`` and print it; the exit code is the worst check's."""
    workspace = workspace_for(load_config(config_path, sections=SECTIONS))
    report = run_preflight(workspace, service, revision=revision, allow_downgrade=allow_downgrade, now=now)
    if output_format == "json":
        emit_json(report.to_json(max_commits=JSON_COMMITS))
    elif output_format == "markdown":
        emit_text(render_markdown(report))
    else:
        render_table(report)
    return report.status.exit_code


def _heading(report: PreflightReport) -> str:
    deployed = short(report.deployed_commit or report.deployed_value) if report.deployed_value else "unknown"
    return (f"Preflight of {report.service}: {report.target_revision} @ {short(report.target)}, deployed {deployed} "
            f"({mask(report.deployed_source)})")


def _summary(report: PreflightReport) -> str:
    statuses = [i.status for i in report.items]
    return (f"{plural(len(statuses), 'check')}: {status_counts(statuses)} → {report.status.value} "
            f"(exit {report.status.exit_code})")


def render_table(report: PreflightReport, *, shown: int = SHOWN_COMMITS) -> None:
    """Print the checks as a table, the commits the deploy ships, the runbook and the verdict."""
    out = console()
    rows = [[item.title, styled(item.status.value, status_style(item.status)), styled(item.reason, "")]
            for item in report.items]
    out.print(table([("CHECK", "left"), ("STATUS", "left"), ("REASON", "left")], rows, title=_heading(report)))
    if report.shipped:
        out.print(styled(f"  ships {report.composition}:", "bold"), soft_wrap=True)
        for commit in report.shipped[:shown]:
            out.print(styled(f"    {short(commit.sha)} {commit.subject} ({commit.author})", ""), soft_wrap=True)
        if len(report.shipped) > shown:
            out.print(f"    …and {len(report.shipped) - shown} more")
    if report.runbook:
        out.print(styled(mask(f"  runbook: {report.runbook}"), "dim"), soft_wrap=True)
    out.print(_summary(report))


def render_markdown(report: PreflightReport, *, shown: int = SHOWN_COMMITS) -> str:
    """The preflight as GitHub-flavoured Markdown."""
    rows = [[item.title, f"**{item.status.value}**" if item.status.value != "ok" else "ok",
             markdown_text(item.reason)] for item in report.items]
    lines = [f"### {markdown_text(_heading(report))}: **{report.status.value}**", "",
             markdown_table(["Check", "Status", "Reason"], rows), ""]
    if report.shipped:
        lines.append(f"Ships {markdown_text(report.composition or '')}:")
        lines += [f"- `{short(c.sha)}` {markdown_text(c.subject)} ({markdown_text(c.author)})"
                  for c in report.shipped[:shown]]
        if len(report.shipped) > shown:
            lines.append(f"- …and {len(report.shipped) - shown} more")
        lines.append("")
    if report.runbook:
        lines += [f"Runbook: {mask(report.runbook)}", ""]
    lines.append(_summary(report))
    return "\n".join(lines)
