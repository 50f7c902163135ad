"""``deploywatch report``: delivery, drift, data and alert figures of a window, with how each was computed."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from ..core.durations import parse_duration, parse_instant
from ..core.errors import UsageError
from ..core.memory import collector_paused
from ..core.render import console, emit_json, emit_text, markdown_table, markdown_text, table

__all__ = ["REPORT_SECTIONS", "run", "send"]

# What the report reads: the services and their repository, the store, the checks' SLOs, the phases, the links.
REPORT_SECTIONS = frozenset({"repo", "defaults", "services", "store", "checks", "phases", "web"})


def window(since: str, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """``--until`` (an instant or a duration before now; default now) and ``--since`` (a duration before the end,
    or an instant); an empty window is a usage error."""
    end = now if until is None else _instant(until, now, "--until")
    start = _instant(since, end, "--since")
    if start >= end:
        raise UsageError(f"--since ({since}) must be before --until ({until or 'now'})")
    return start, end


def _instant(text: str, before: datetime, option: str) -> datetime:
    try:
        return before - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        return parse_instant(text)
    except ValueError:
        raise UsageError(f"{option}: expected a duration such as 7d or an ISO 8601 time, not {text!r}") from None


def run(services: Sequence[str], *, config_path: Path | None, since: str, until: str | None,
        output_format: str | None, now: datetime, with_commits: bool = False) -> int:
    """Build the report of the window and print it; exit 0, or 3 for a bad argument."""
    with collector_paused():  # a year of runs and deploys: millions of objects, no cycles
        _report(services, config_path=config_path, since=since, until=until, output_format=output_format, now=now,
                with_commits=with_commits)
    return 0


def _report(services: Sequence[str], *, config_path: Path | None, since: str, until: str | None,
            output_format: str | None, now: datetime, with_commits: bool) -> None:
    from ..checks.runner import open_store
    from ..config import load_config
    from ..drift.workspace import workspace_for
    from ..report.document import ReportInput, build_report

    start, end = window(since, until, now)
    loaded = load_config(config_path, sections=REPORT_SECTIONS)
    workspace = workspace_for(loaded)
    names = workspace.select(list(dict.fromkeys(services)))
    tip = workspace.tip()
    with open_store(loaded) as store:
        stored = store.window(start, end)
    document = build_report(ReportInput(loaded, workspace.repo, tip, names, start, end, stored, with_commits), now=now)
    fmt = output_format or "table"
    if fmt == "json":
        emit_json(document)
    elif fmt == "html":
        from ..report.html import render_html

        emit_text(render_html(document))
    else:
        _print_text(document, markdown=fmt == "markdown")


def send(*, config_path: Path | None, now: datetime) -> int:
    """Send the report of the latest ``[schedule] report`` slot to the alert sinks (once per slot); print what
    happened; exit 0, 1 when a sink refused it (a dead letter), 3 when it cannot be sent."""
    from ..config import load_config
    from ..report.scheduled import send_report

    loaded = load_config(config_path, sections=REPORT_SECTIONS | {"schedule", "alerts"})
    sent = send_report(loaded, now=now)
    print(f"deploywatch: {sent.summary}", file=sys.stderr)
    return 1 if sent.failed else 0


def _print_text(document: dict[str, object], *, markdown: bool) -> None:
    from ..core.text import printable
    from ..report.sections import sections

    heading = f"deploywatch report: {document['since']} to {document['until']}"
    if markdown:
        parts = [f"# {heading}"]
        for section in sections(document):
            parts.append(f"## {section.title}")
            parts.append(markdown_table(section.headers, [[printable(c) for c in row] for row in section.rows])
                         if section.rows else "_nothing in this window_")
            parts.extend(f"- {markdown_text(note)}" for note in section.notes)
        emit_text("\n\n".join(parts))
        return
    out = console()
    out.print(heading)
    for section in sections(document):
        out.print(table([(h, "left") for h in section.headers], [[printable(c) for c in row] for row in section.rows],
                        title=section.title))
        for note in section.notes:
            out.print(f"  {note}", markup=False, highlight=False)
