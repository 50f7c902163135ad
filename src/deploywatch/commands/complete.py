"""``deploywatch complete PHASE PROCESSOR``: a processor reports that it finished a phase for a date."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from ..checks.validate import load_config
from ..config import COMMAND_SECTIONS
from ..core.render import emit_json, emit_text

__all__ = ["COMPLETE_SCHEMA", "run"]

COMPLETE_SCHEMA = "deploywatch.complete/v1"


def run(phase: str, processor: str, *, config_path: Path | None, run_date: date | None, output_format: str | None,
        now: datetime) -> int:
    """Record the report (running ``on_complete`` when it completes the phase); exit 0, or 3 when the phase or
    processor is unknown."""
    from ..checks.runner import open_store
    from ..health.completion import default_run_date, record_completion

    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    day = run_date or default_run_date(loaded, now)
    with open_store(loaded) as store:
        recorded = record_completion(loaded, store, phase, processor, day, source="cli", now=now)
    if (output_format or "table") == "json":
        emit_json({"schema": COMPLETE_SCHEMA, **recorded.as_json()})
        return 0
    what = f"{phase}/{processor} for {day.isoformat()}"
    counted = f"{recorded.recorded}/{recorded.expected}"
    if recorded.duplicate:
        emit_text(f"{what} already recorded (duplicate): {counted}")
    else:
        emit_text(f"recorded {what}: {counted}")
    if recorded.triggered:
        emit_text(f"{phase} complete: on_complete ran: {recorded.trigger_outcome}")
    return 0
