"""``deploywatch check``: the unified health check — drift, data checks, completion, probes — as one score."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks.validate import load_config
from ..config import COMMAND_SECTIONS
from ..core.ci import CiCase
from ..core.render import console, emit_report, markdown_table, status_style, styled
from ..core.status import Status
from ..health import HealthReport, run_health

if TYPE_CHECKING:
    from ..notify.model import AlertMode

__all__ = ["ci_cases", "render_markdown", "render_text", "run"]

_VERDICT_STYLE = {"OK": "bold green", "DEGRADED": "bold yellow", "CRITICAL": "bold red"}
_LABELS = {"drift": "deployment drift", "checks": "data checks", "completion": "phase completion",
           "probes": "probes"}


def run(*, config_path: Path | None, output_format: str | None, now: datetime, run_date: date | None,
        fail_fast_on_drift: bool, alert_mode: AlertMode | None = None) -> int:
    """Run the unified check, print it; exit with the verdict (0 OK, 1 DEGRADED, 2 CRITICAL)."""
    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    fmt = output_format or "table"
    if fmt == "table" and sys.stdout.isatty():
        report = _with_progress(loaded, now, run_date, fail_fast_on_drift, alert_mode)
    else:
        report = run_health(loaded, now=now, run_date=run_date, alert_mode=alert_mode,
                            fail_fast_on_drift=fail_fast_on_drift)
    emit_report(fmt, report, as_json=HealthReport.as_json, markdown=render_markdown, text=render_text,
                ci=ci_cases, now=now)
    return report.exit_code


def ci_cases(report: HealthReport) -> tuple[str, list[CiCase]]:
    """One case per item of the check (a service's drift, a data check, a phase, a probe), suites by kind."""
    return "deploywatch check", [CiCase(item.kind, item.name, item.status, f"{item.name}: {item.summary}",
                                        seconds=item.duration_seconds) for item in report.items]


def _with_progress(loaded: Any, now: datetime, run_date: date | None, fail_fast: bool,
                   alert_mode: AlertMode | None) -> HealthReport:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..health import collectors_for

    names = collectors_for(loaded)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  transient=True, console=console()) as bar:
        overall = bar.add_task("health check", total=len(names))
        tasks = {name: bar.add_task(f"  {_LABELS[name]}", total=1, start=False) for name in names}

        def progress(name: str, event: str) -> None:
            if event == "start":
                bar.start_task(tasks[name])
            else:
                bar.update(tasks[name], completed=1)
                bar.advance(overall)

        return run_health(loaded, now=now, run_date=run_date, alert_mode=alert_mode,
                          fail_fast_on_drift=fail_fast, progress=progress)


def _counts(report: HealthReport) -> str:
    passed = sum(1 for i in report.items if i.status is Status.OK)
    critical = sum(1 for i in report.items if i.status is Status.CRITICAL)
    return f"checks passed {passed}/{len(report.items)}, critical failures {critical}"


def render_text(report: HealthReport) -> None:
    """``[1/5] Deployment drift ........ CRITICAL  prediction-worker 11 behind (4 relevant, 26h)`` per item,
    then the score and verdict."""
    out = console()
    total = len(report.items)
    width = max([len(i.name) for i in report.items] + [20]) + 3
    for n, item in enumerate(report.items, 1):
        prefix = f"[{n}/{total}]".ljust(len(f"[{total}/{total}]") + 1)
        dots = f"{item.name} ".ljust(width, ".")
        line = styled(f"{prefix}{dots} ", "")
        line.append(f"{str(item.status).upper():<9}", style=status_style(item.status))
        line.append(f" {item.summary}")
        out.print(line, soft_wrap=True)
    if report.stopped_early:
        out.print(styled("stopped after drift (--fail-fast-on-drift): a service is critically drifted, so the "
                         "data it produced was not validated", "yellow"), soft_wrap=True)
    verdict = styled(f"Health score {report.score:g}/100 — ", "bold")
    verdict.append(report.verdict, style=_VERDICT_STYLE[report.verdict])
    verdict.append(f"   ({_counts(report)})")
    out.print()
    out.print(verdict, soft_wrap=True)


def render_markdown(report: HealthReport) -> str:
    """The check as GitHub-flavoured Markdown."""
    rows = [[str(n), item.name, item.kind, f"**{item.status}**" if item.status is not Status.OK else "ok",
             item.summary] for n, item in enumerate(report.items, 1)]
    return "\n".join([f"### Health score {report.score:g}/100 — **{report.verdict}**", "",
                      f"{_counts(report)}; run date {report.run_date.isoformat()}", "",
                      markdown_table(["#", "Item", "Kind", "Status", "Summary"], rows)]) + "\n"



