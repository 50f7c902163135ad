"""``deploywatch canary``: run data checks in the warehouse; per-phase results, stored with their history."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks.plan import Plan
from ..checks.results import CanaryReport, CheckResult, format_value, group_label
from ..core.ci import CiCase
from ..core.render import (
    console,
    emit_json,
    emit_report,
    emit_text,
    markdown_table,
    status_counts,
    status_style,
    styled,
    table,
)
from ..core.status import Status
from ..core.text import plural

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.checks import CheckConfig
    from ..notify.model import AlertMode

__all__ = ["ci_cases", "explain_json", "render_explain", "render_markdown", "render_table", "run"]

EXPLAIN_SCHEMA = "deploywatch.explain/v1"


def run(*, config_path: Path | None, phases: Sequence[str], patterns: Sequence[str], run_date: date | None,
        output_format: str | None, now: datetime, explain: bool, alert_mode: AlertMode | None = None) -> int:
    """Run (or with ``explain``, only compile) the selected checks and print them; exit with the worst status.

    A plan kept from an earlier run of the same config and selection (:mod:`deploywatch.checks.plancache`)
    runs without loading the config models or the SQL compiler.
    """
    from ..checks import plancache
    from ..checks.runner import run_plan

    def select(loaded: LoadedConfig) -> tuple[list[CheckConfig], dict[str, Any]]:
        from ..checks.selection import select_checks

        return select_checks(loaded.config.checks, phases=phases, patterns=patterns), {}

    if explain:
        plan = plancache.compile_selected(config_path, select, now=now, run_date=run_date)[1]
        if output_format == "json":
            emit_json(explain_json(plan))
        else:
            emit_text(render_explain(plan))
        return 0
    started = (time.perf_counter(), datetime.now(UTC))
    ready = plancache.plan_for(config_path, ["canary", list(phases), list(patterns)], select, now=now,
                               run_date=run_date)
    report = run_plan(ready.target, ready.plan, ready.day, now=now, alert_mode=alert_mode, started=started)
    emit_report(output_format, report, as_json=CanaryReport.as_json, markdown=render_markdown, text=render_table,
                ci=ci_cases, now=now)
    return report.status.exit_code


def ci_cases(report: CanaryReport) -> tuple[str, list[CiCase]]:
    """One case per check (per group of a grouped check), in a suite per phase, for ``--format junit``/``github``."""
    return "deploywatch canary", [_case(r) for r in report.results]


def _case(result: CheckResult) -> CiCase:
    detail = f"value {result.shown_value}; thresholds {_thresholds(result)}"
    return CiCase(result.phase or "(no phase)", result.subject, result.status,
                  f"{result.subject}: {result.reason or result.shown_value}", detail)


def explain_json(plan: Plan) -> dict[str, Any]:
    """The statements a run would execute, as ``deploywatch.explain/v1``."""
    return {"schema": EXPLAIN_SCHEMA, "dialect": plan.dialect,
            "statements": [{"id": s.id, "kind": s.kind, "table": s.table, "where": s.where,
                            "group_by": list(s.group_by) or None, "checks": [c.config.name for c in s.checks],
                            "sql": s.statement} for s in plan.scans]}


def render_explain(plan: Plan) -> str:
    """The statements as SQL with a comment naming the checks each one serves."""
    blocks = []
    for scan in plan.scans:
        names = ", ".join(c.config.name for c in scan.checks)
        blocks.append(f"-- {scan.id}: {plural(len(scan.checks), 'check')} ({names})\n{scan.statement};")
    checks = len(plan.checks)
    header = f"-- {plural(checks, 'check')} in {plural(len(plan.scans), 'statement')} ({plan.dialect})"
    return "\n\n".join([header, *blocks])


def _phases(report: CanaryReport) -> dict[str, list[CheckResult]]:
    grouped: dict[str, list[CheckResult]] = {}
    for result in report.results:
        grouped.setdefault(result.phase or "(no phase)", []).append(result)
    return grouped


def _thresholds(result: CheckResult) -> str:
    parts = [f"warn {result.warn}" if result.warn else "", f"crit {result.critical}" if result.critical else ""]
    if result.anomaly is not None:
        parts.append("anomaly")
    return ", ".join(p for p in parts if p) or "-"


def _rows(results: list[CheckResult]) -> list[list[Any]]:
    """Table rows: a grouped check's ok groups become one row ("11 groups ok" and the range of their values);
    groups that are not ok keep their own rows."""
    by_name: dict[str, list[CheckResult]] = {}
    for result in results:
        by_name.setdefault(result.name, []).append(result)
    rows: list[list[Any]] = []
    for name, group in by_name.items():
        fine = [r for r in group if r.group is not None and r.status is Status.OK]
        shown = [r for r in group if r not in fine] if len(fine) > 1 else group
        if len(fine) > 1:
            values = [r.value for r in fine if r.value is not None]
            low, high = format_value(min(values), fine[0].unit), format_value(max(values), fine[0].unit)
            rows.append([name, f"{plural(len(fine), 'group')} ok", low if low == high else f"{low} – {high}",
                         _thresholds(fine[0]), styled("ok", status_style(Status.OK)), ""])
        rows += [[r.name, group_label(r.group) or "", r.shown_value, _thresholds(r),
                  styled(str(r.status), status_style(r.status)), r.reason or ""] for r in shown]
    return rows


def render_table(report: CanaryReport) -> None:
    """Print one table per phase, then the totals."""
    out = console()
    columns = [("CHECK", "left"), ("GROUP", "left"), ("VALUE", "right"), ("THRESHOLDS", "left"),
               ("STATUS", "left"), ("WHY", "left")]
    for phase, results in _phases(report).items():
        worst_status = max((r.status for r in results), key=lambda s: s.severity)
        out.print(table(columns, _rows(results), title=f"{phase}: {worst_status}"))
        out.print()
    statements = plural(report.statements, "statement")
    out.print(f"{plural(len(report.results), 'result')} for {report.run_date.isoformat()}: "
              f"{status_counts([r.status for r in report.results])} → {report.status} "
              f"(exit {report.status.exit_code}); {statements}")


def render_markdown(report: CanaryReport) -> str:
    """The results as GitHub-flavoured Markdown, one table per phase."""
    lines = [f"### Canaries for {report.run_date.isoformat()}: **{report.status}**", ""]
    for phase, results in _phases(report).items():
        rows = [[r.name, group_label(r.group) or "", r.shown_value, _thresholds(r),
                 f"**{r.status}**" if str(r.status) != "ok" else "ok", r.reason or ""] for r in results]
        lines += [f"#### {phase}", "", markdown_table(["Check", "Group", "Value", "Thresholds", "Status", "Why"],
                                                      rows), ""]
    return "\n".join(lines).rstrip() + "\n"
