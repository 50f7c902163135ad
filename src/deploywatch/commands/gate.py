"""``deploywatch gate NAME``: PROCEED (0), PROCEED_WITH_WARNING (1) or FAIL (2) for the next pipeline phase."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..checks.gate import FAIL, PROCEED, GateResult
from ..checks.results import group_label
from ..render import console, emit_json, markdown_table, status_style, styled, table

if TYPE_CHECKING:
    from ..checks.plan import Plan
    from ..notify.model import AlertMode

__all__ = ["run"]

_STYLE = {PROCEED: "green", FAIL: "bold red"}


def run(name: str, *, config_path: Path | None, run_date: date | None, output_format: str | None,
        now: datetime, alert_mode: AlertMode | None = None) -> int:
    """Run the gate's checks and print the verdict; the exit code is the verdict's.

    As with ``canary``, a plan kept from an earlier run of this gate on the same config runs directly.
    """
    from ..checks import plancache
    from ..checks.gate import gate_checks, run_gate_plan
    from ..checks.runner import RunTarget, compile_checks

    fmt = output_format or "table"
    entry = plancache.entry_for(config_path, ["gate", name])
    if entry is not None:
        config = entry.config

        def recompile() -> Plan:
            from ..config import load_config

            loaded = load_config(config)
            return compile_checks(loaded, gate_checks(loaded, name)[0], now=now, run_date=run_date)[0]

        kept = plancache.lookup(entry, now=now, run_date=run_date, recompile=recompile)
        if kept is not None:
            result = run_gate_plan(name, kept.target, kept.plan, kept.day, min_score=kept.extra.get("min_score"),
                                   now=now, alert_mode=alert_mode)
            return _show(result, fmt)
    from ..config import load_config

    started = (time.perf_counter(), datetime.now(UTC))
    loaded = load_config(config_path)
    checks, min_score = gate_checks(loaded, name)
    plan, day = compile_checks(loaded, checks, now=now, run_date=run_date)
    target = RunTarget.of(loaded)
    if entry is not None:
        plancache.save(entry, loaded, plan, target, now=now, run_date=run_date, extra={"min_score": min_score})
    return _show(run_gate_plan(name, target, plan, day, min_score=min_score, now=now, alert_mode=alert_mode,
                               started=started), fmt)


def _show(result: GateResult, fmt: str) -> int:
    if fmt == "json":
        emit_json(result.as_json())
    elif fmt == "markdown":
        print(render_markdown(result))
    else:
        render_table(result)
    return result.exit_code


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
