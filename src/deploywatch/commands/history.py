"""``deploywatch history CHECK``: a check's recent values from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checks.validate import load_config
from ..config import COMMAND_SECTIONS
from ..core.durations import format_timestamp
from ..core.errors import UsageError
from ..core.render import console, emit_json, emit_text, markdown_table, table

__all__ = ["HISTORY_SCHEMA", "run"]

HISTORY_SCHEMA = "deploywatch.history/v1"


def run(check: str, *, config_path: Path | None, group: str | None, limit: int, output_format: str | None) -> int:
    """Print the newest ``limit`` stored values of ``check`` (optionally one group); exit 0, or 3 when none."""
    from ..checks.compiler import compile_check_metric
    from ..checks.results import format_value
    from ..checks.runner import open_store
    from ..checks.validate import dialects_of

    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    configured = {c.name: c for c in loaded.config.checks}
    with open_store(loaded) as store:
        names = store.check_names()
        if check not in names:
            known = ", ".join(names[:10]) + (" …" if len(names) > 10 else "") if names else "nothing stored yet"
            hint = " (configured, but not run yet: run deploywatch canary)" if check in configured else ""
            raise UsageError(f"no stored values for check {check!r}{hint}; stored checks: {known}")
        points = store.measurements(check, group=group if group is not None else ..., limit=limit)
    unit = "number"
    if check in configured and configured[check].query is None:
        unit = compile_check_metric(configured[check], dialects_of(loaded.config)[1]).unit
    entries: list[dict[str, Any]] = [
        {"run_id": p.run_id, "run_date": p.run_date.isoformat(), "measured_at": format_timestamp(p.measured_at),
         "group": p.group, "value": p.value, "status": p.status, "anomalous": p.anomalous} for p in points]
    fmt = output_format or "table"
    if fmt == "json":
        emit_json({"schema": HISTORY_SCHEMA, "check": check, "values": entries})
        return 0
    rows = [[e["run_date"], e["measured_at"], e["group"] or "", format_value(e["value"], unit), e["status"],
             "anomaly" if e["anomalous"] else ""] for e in entries]
    headers = ["RUN DATE", "MEASURED AT", "GROUP", "VALUE", "STATUS", "NOTE"]
    if fmt == "markdown":
        emit_text(markdown_table([h.title() for h in headers], rows))
    else:
        console().print(table([(h, "right" if h == "VALUE" else "left") for h in headers], rows,
                              title=f"History of {check} (newest first)"))
    return 0
