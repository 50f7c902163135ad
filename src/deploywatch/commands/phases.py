"""``deploywatch phases``: per phase, who reported for a date, who is missing, and whether the data agrees."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from ..checks.validate import load_config
from ..config import COMMAND_SECTIONS
from ..core.durations import format_age
from ..core.errors import UsageError
from ..core.render import console, emit_json, emit_text, markdown_table, status_style, styled, table
from ..core.status import worst
from ..health.completion import PhaseStatus

__all__ = ["PHASES_SCHEMA", "run"]

# Named deploywatch.completion/v1 in 0.1.0, when the command was `deploywatch completion`.
PHASES_SCHEMA = "deploywatch.phases/v1"


def run(*, config_path: Path | None, run_date: date | None, output_format: str | None, now: datetime) -> int:
    """Print every phase's completion for ``run_date`` (today in the warehouse time zone by default), reconciled
    with its data's freshness; the exit code is the worst status's."""
    from ..checks.runner import open_store
    from ..health.completion import default_run_date, phase_statuses

    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    if not loaded.config.phases:
        raise UsageError(f"no phases configured in {loaded.path}: add [phases.NAME] with the processors expected "
                         "to report completion")
    day = run_date or default_run_date(loaded, now)
    with open_store(loaded) as store:
        phases = phase_statuses(loaded, store, day, now=now)
    status = worst(p.status for p in phases)
    fmt = output_format or "table"
    if fmt == "json":
        emit_json({"schema": PHASES_SCHEMA, "date": day.isoformat(), "status": str(status),
                   "phases": [p.as_json() for p in phases]})
    elif fmt == "markdown":
        emit_text(render_markdown(phases, day))
    else:
        render_table(phases, day)
    return status.exit_code


def _freshness(phase: PhaseStatus) -> str:
    if phase.within_seconds is None:
        return "-"
    if phase.age_seconds is None:
        return "unmeasured"
    state = "fresh" if phase.fresh else "stale"
    return f"{format_age(phase.age_seconds)} ({state}, limit {format_age(phase.within_seconds)})"


def _rows(phases: list[PhaseStatus]) -> list[list[str]]:
    return [[p.phase, f"{len(p.recorded)}/{len(p.expected)}", ", ".join(p.missing) or "-", _freshness(p),
             str(p.status), p.summary] for p in phases]


def render_table(phases: list[PhaseStatus], day: date) -> None:
    """One row per phase."""
    rows: list[list[object]] = []
    for phase, row in zip(phases, _rows(phases), strict=True):
        rows.append([*row[:4], styled(row[4], status_style(phase.status)), row[5]])
    columns = [("PHASE", "left"), ("REPORTED", "right"), ("MISSING", "left"), ("FRESHNESS", "left"),
               ("STATUS", "left"), ("WHY", "left")]
    console().print(table(columns, rows, title=f"Phase completion for {day.isoformat()}"))


def render_markdown(phases: list[PhaseStatus], day: date) -> str:
    """The phases as a GitHub-flavoured Markdown table."""
    lines = [f"### Phase completion for {day.isoformat()}", "",
             markdown_table(["Phase", "Reported", "Missing", "Freshness", "Status", "Why"], _rows(phases))]
    return "\n".join(lines) + "\n"
