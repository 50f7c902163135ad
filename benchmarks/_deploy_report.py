"""The deploy benchmark's report: one dict (printed as JSON with ``--json``) rendered as text tables."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from _report import environment, table

if TYPE_CHECKING:
    from deploy import Breakdown, Fixture

REPORT_SCHEMA = "deploywatch.bench.deploy/v1"
TARGET_ONE = 0.5  # seconds of overhead, one service (issue 12)
TARGET_GROUP = 1.0  # seconds of overhead, a 5-service group
__all__ = ["build", "environment", "render"]

PARTS = ("config + store open", "preflight", "lock/ledger", "command", "verify", "post_deploy")


def _median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def _breakdown(runs: Sequence[Breakdown]) -> dict[str, float]:
    """Median seconds per part over the runs, and ``other`` (engine code between the parts)."""
    names = [p for p in PARTS if any(p in r.parts for r in runs)]
    names += sorted({p for r in runs for p in r.parts} - set(names))
    return {name: round(_median([r.parts.get(name, 0.0) for r in runs]), 4) for name in names}


def build(walls: dict[str, list[float]], breakdowns: dict[str, list[Breakdown]], startup: dict[str, list[float]],
          *, fx: Fixture, environment: dict[str, Any]) -> dict[str, Any]:
    """Medians, overheads (deploy - bare command), ratios and the targets; the exit code (0 or 2)."""
    med = {name: _median(w) for name, w in walls.items()}
    timings = {name: {"median_s": round(m, 4), "min_s": round(min(walls[name]), 4),
                      "samples_s": [round(x, 4) for x in walls[name]]} for name, m in med.items()}
    rows: list[dict[str, Any]] = []
    for name, baseline, target in (("in-process", "bare", TARGET_ONE), ("in-process group", "bare x5", TARGET_GROUP),
                                   ("cold CLI", "bare", TARGET_ONE), ("cold CLI group", "bare x5", TARGET_GROUP)):
        overhead = med[name] - med[baseline]
        rows.append({"name": name, "services": 5 if "group" in name else 1, "median_s": round(med[name], 4),
                     "bare_s": round(med[baseline], 4), "overhead_s": round(overhead, 4),
                     "ratio": round(med[name] / med[baseline], 1), "target_s": target,
                     "pass": overhead <= target, "gating": name.startswith("in-process")})
        if name in breakdowns:
            parts = _breakdown(breakdowns[name])
            parts["other (engine, between parts)"] = round(med[name] - sum(parts.values()), 4)
            rows[-1]["breakdown_s"] = parts
    code = 0 if all(r["pass"] for r in rows if r["gating"]) else 2
    return {"schema": REPORT_SCHEMA, "exit_code": code, "environment": environment,
            "fixture": {"repo": str(fx.repo), "config": str(fx.config), "commits": list(fx.commits)},
            "timings": timings, "overheads": rows,
            "start_up": {k: {"median_s": round(_median(v), 4), "min_s": round(min(v), 4)} for k, v in startup.items()}}


def render(report: dict[str, Any]) -> str:
    """The report as text for people."""
    env = report["environment"]
    runs = len(next(iter(report["timings"].values()))["samples_s"])
    out = ["deploywatch deploy benchmark", "",
           f"  config   {report['fixture']['config']}",
           f"  machine  Python {env['python']}, git {env['git']}, {env['cpus']} CPUs, "
           f"load(1m) {env['load_1min'][0]} -> {env['load_1min'][1]}", "",
           f"timings: {runs} runs each after one warm-up, order rotated per round",
           table(["contender", "median", "min"], [[n, f"{t['median_s']:.3f}s", f"{t['min_s']:.3f}s"]
                                                 for n, t in report["timings"].items()]), ""]
    if report["start_up"]:
        out += ["start-up of a fresh process (part of every cold CLI run)",
                table(["command", "median", "min"], [[k, f"{v['median_s']:.3f}s", f"{v['min_s']:.3f}s"]
                                                     for k, v in report["start_up"].items()]), ""]
    for row in report["overheads"]:
        if "breakdown_s" in row:
            out += [f"where the {row['name']} time goes (median seconds per part; parts timed inside the engine)",
                    table(["part", "seconds"], [[k, f"{v:.3f}s"] for k, v in row["breakdown_s"].items()]), ""]
    rows = [[f"{r['name']} overhead ({r['services']} service{'s' if r['services'] > 1 else ''})",
             f"{r['overhead_s']:.3f}s", f"{r['ratio']:.1f}x", f"<= {r['target_s']:g}s",
             ("PASS" if r["pass"] else "FAIL") + ("" if r["gating"] else " (info)")] for r in report["overheads"]]
    out += ["targets: overhead = deploy − bare command (median); ratio = deploy / bare command",
            table(["check", "overhead", "ratio", "target", "result"], rows)]
    if report.get("slowest_imports"):
        out += ["", "slowest imports of a cold deploywatch deploy (-X importtime, self time)",
                table(["module", "time"], [[i["module"], f"{i['self_s']:.3f}s"] for i in report["slowest_imports"]])]
    if report.get("profile"):
        out += ["", "cProfile of in-process group deploys", report["profile"].rstrip()]
    out += ["", f"exit code {report['exit_code']}"]
    return "\n".join(out)
