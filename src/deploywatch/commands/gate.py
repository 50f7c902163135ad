"""``deploywatch gate NAME``: PROCEED (0), PROCEED_WITH_WARNING (1) or FAIL (2) for the next pipeline phase."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks.gate import FAIL, PROCEED, GateResult
from ..checks.results import group_label
from ..core.ci import CiCase
from ..core.render import console, emit_report, markdown_table, status_style, styled, table

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.checks import CheckConfig
    from ..notify.model import AlertMode

__all__ = ["ci_cases", "run"]

_STYLE = {PROCEED: "green", FAIL: "bold red"}


def run(name: str, *, config_path: Path | None, run_date: date | None, output_format: str | None,
        now: datetime, alert_mode: AlertMode | None = None) -> int:
    """Run the gate's checks and print the verdict; the exit code is the verdict's.

    As with ``canary``, a plan kept from an earlier run of this gate on the same config runs directly.
    """
    from ..checks import plancache
    from ..checks.gate import gate_checks, run_gate_plan

    def select(loaded: LoadedConfig) -> tuple[list[CheckConfig], dict[str, Any]]:
        checks, min_score = gate_checks(loaded, name)
        return checks, {"min_score": min_score}

    started = (time.perf_counter(), datetime.now(UTC))
    ready = plancache.plan_for(config_path, ["gate", name], select, now=now, run_date=run_date)
    result = run_gate_plan(name, ready.target, ready.plan, ready.day, min_score=ready.extra.get("min_score"),
                           now=now, alert_mode=alert_mode, started=started)
    emit_report(output_format, result, as_json=GateResult.as_json, markdown=render_markdown, text=render_table,
                ci=ci_cases, now=now)
    return result.exit_code


def ci_cases(result: GateResult) -> tuple[str, list[CiCase]]:
    """The verdict as a case of its own (FAIL a failure, PROCEED_WITH_WARNING a warning), then one per check."""
    suite = f"gate {result.gate}"
    verdict = result.finding()
    cases = [CiCase(suite, "verdict", verdict.status, f"gate {result.gate}: {result.status} "
                    f"(score {result.score:g}/100): {result.message}", "\n".join(result.issues))]
    cases += [CiCase(suite, c.subject, c.status, f"{c.subject}: {c.reason or c.shown_value}",
                     f"value {c.shown_value}") for c in result.checks]
    return "deploywatch gate", cases


def render_table(result: GateResult) -> None:
    """The verdict line, the issues, and each check's status."""
    out = console()
    rows = [[c.name, group_label(c.group) or "", c.shown_value, styled(str(c.status), status_style(c.status)),
             c.reason or ""] for c in result.checks]
    out.print(table([("CHECK", "left"), ("GROUP", "left"), ("VALUE", "right"), ("STATUS", "left"), ("WHY", "left")],
                    rows, title=f"Gate {result.gate}"))
    out.print()
    out.print(styled(f"{result.status}  score {result.score:g}/100", _STYLE.get(result.status, "yellow")))
    out.print(result.message, markup=False)
    for issue in result.issues:
        out.print(f"  - {issue}", markup=False)


def render_markdown(result: GateResult) -> str:
    """The verdict and the checks as GitHub-flavoured Markdown."""
    rows = [[c.name, group_label(c.group) or "", c.shown_value, str(c.status), c.reason or ""] for c in result.checks]
    lines = [f"### Gate `{result.gate}`: **{result.status}** (score {result.score:g}/100)", "", result.message, ""]
    lines += [f"- {issue}" for issue in result.issues]
    lines += ["", markdown_table(["Check", "Group", "Value", "Status", "Why"], rows)]
    return "\n".join(lines) + "\n"
