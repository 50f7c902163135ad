"""The drift benchmark's report: one dict (printed as JSON with ``--json``) rendered as text tables."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import _oracle
from _measure import Summary

if TYPE_CHECKING:
    from drift import Fixture, Race

REPORT_SCHEMA = "deploywatch.bench.drift/v1"
TARGET_VS_FLOOR = 1.5
TARGET_WARM_VS_FLOOR = 0.2
TARGET_VS_NAIVE = 5.0
TARGET_HELP_SECONDS = 0.25
TARGET_SCALE_RSS_MIB = 1024.0  # the scale row: deploywatch's peak RSS, 1 GiB


def environment(load_before: tuple[float, ...], load_after: tuple[float, ...]) -> dict[str, Any]:
    """Versions and machine facts that explain the numbers (load shows concurrent work)."""
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, timeout=30, check=False)
    return {"python": platform.python_version(), "git": git.stdout.strip().removeprefix("git version "),
            "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_1min": [round(load_before[0], 2), round(load_after[0], 2)]}


def _timing(label: str, samples: Sequence[Any]) -> dict[str, Any]:
    wall = Summary.of([s.wall for s in samples])
    return {"label": label, "median_s": round(wall.median, 4), "min_s": round(wall.minimum, 4),
            "samples_s": [round(x, 4) for x in wall.samples],
            "cpu_median_s": round(statistics.median(s.cpu for s in samples), 4),
            "peak_rss_mib": round(max(s.max_rss_kib for s in samples) / 1024, 1)}


def _target(name: str, value: float, target: float, *, at_most: bool, unit: str) -> dict[str, Any]:
    ok = value <= target if at_most else value >= target
    return {"name": name, "value": round(value, 3), "target": target, "unit": unit,
            "comparison": "<=" if at_most else ">=", "pass": ok,
            "margin": round(value / target, 3)}


def build(fx: Fixture, wanted: list[_oracle.Expected], race: Race, verdicts: list[_oracle.Verdict],
          startup: dict[str, Summary], missing: str | None, self_rss_kib: int | None, *, environment: dict[str, Any],
          imports: list[tuple[str, float]], scale: bool = False) -> dict[str, Any]:
    """Assemble the report and its exit code from everything measured (``scale``: the scale row's targets)."""
    n = len(wanted)
    prefix = "scale: " if scale else ""
    labels = {"deploywatch": "deploywatch drift --format json (cold cache)",
              "daemon_warm": "in-process (daemon), warm: its run before in-process, new commits",
              "warm": "deploywatch drift, warm cache, new commits",
              "daemon_cold": "in-process (daemon), empty cache",
              "floor": "floor: git log --name-only OLDEST..main",
              "naive": f"naive: {n} x git rev-list --count -- paths"}
    timings = {k: _timing(labels[k], v) for k, v in race.samples.items()}
    if "deploywatch" in timings:
        timings["deploywatch"]["python_only_peak_rss_mib"] = (
            round(self_rss_kib / 1024, 1) if self_rss_kib is not None else None)
    targets: list[dict[str, Any]] = []
    if "deploywatch" in timings:
        dw, floor = timings["deploywatch"]["median_s"], timings["floor"]["median_s"]
        targets.append(_target(prefix + "deploywatch / floor", dw / floor, TARGET_VS_FLOOR, at_most=True, unit="x"))
        if "naive" in timings:
            targets.append(_target("naive / deploywatch", timings["naive"]["median_s"] / dw, TARGET_VS_NAIVE,
                                   at_most=False, unit="x"))
        if scale:  # the larger of: the process or a git it waited for (timed runs), the Python process alone
            own = timings["deploywatch"]["python_only_peak_rss_mib"]
            peak = max(timings["deploywatch"]["peak_rss_mib"], own if own is not None else float("inf"))
            targets.append(_target("scale: peak RSS", peak, TARGET_SCALE_RSS_MIB, at_most=True, unit=" MiB"))
    if "daemon_warm" in timings:  # the daemon's case; the CLI's adds start-up and imports (information)
        floor = timings["floor"]["median_s"]
        targets.append(_target("in-process warm / floor", timings["daemon_warm"]["median_s"] / floor,
                               TARGET_WARM_VS_FLOOR, at_most=True, unit="x"))
        targets.append({**_target("CLI warm / floor", timings["warm"]["median_s"] / floor, TARGET_WARM_VS_FLOOR,
                                  at_most=True, unit="x"), "info": True})
        targets.append({**_target("in-process cold / floor", timings["daemon_cold"]["median_s"] / floor,
                                  TARGET_VS_FLOOR, at_most=True, unit="x"), "info": True})
    for name, summary in startup.items():
        if "deploywatch" in name:
            targets.append(_target(name, summary.median, TARGET_HELP_SECONDS, at_most=True, unit="s"))
    problems = list(dict.fromkeys(p for v in verdicts for p in v.problems))
    correct = missing is None and bool(verdicts) and not problems and all(v.ok for v in verdicts)
    first = {s.get("name"): s for s in race.documents[0].get("services", [])} if race.documents else {}
    code = 1 if not correct else (2 if not all(t["pass"] for t in targets if not t.get("info")) else 0)
    return {
        "schema": REPORT_SCHEMA, "exit_code": code, "environment": environment,
        "repo": {"home": str(fx.home), "path": str(fx.repo), "config": str(fx.config),
                 "commits": fx.info.commits, "services": len(fx.deployed), "merges": fx.info.merges,
                 "files": fx.info.files,
                 "build_seconds": fx.info.build_seconds, "cached": fx.info.cached,
                 "oldest_deployed": fx.oldest, "oldest_back": fx.widest,
                 "widest_range_commits": max(e.commits_behind for e in wanted)},
        "deploywatch_missing": missing, "timings": timings, "targets": targets,
        "scale": scale,
        "correctness": {"pass": correct, "services": n, "runs_checked": len(verdicts), "problems": problems},
        "start_up": {k: {"median_s": round(v.median, 4), "min_s": round(v.minimum, 4)} for k, v in startup.items()},
        "slowest_imports": [{"module": m, "cumulative_s": round(s, 4)} for m, s in imports],
        "services": [{"name": e.name, "deployed": e.deployed, "back": e.back,
                      "commits_behind": e.commits_behind, "relevant_git": len(e.relevant),
                      "relevant_naive": e.naive_count,
                      "relevant_deploywatch": first.get(e.name, {}).get("relevant_commits_behind"),
                      "oldest_relevant_at": _oracle.iso(e.oldest_relevant_at),
                      "status_deploywatch": first.get(e.name, {}).get("status")} for e in wanted],
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  ") -> str:
    """Left-aligned first column, right-aligned others."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))]
        lines.append(indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def _value(t: dict[str, Any]) -> str:
    if t["unit"] == "x":
        return f"{t['value']:.2f}x"
    return f"{t['value']:.3f}s" if t["unit"] == "s" else f"{t['value']:.1f}{t['unit']}"


def render(report: dict[str, Any], *, per_service: bool = False) -> str:
    """The report as text for people."""
    env, repo = report["environment"], report["repo"]
    built = "cached" if repo["cached"] else "built now"
    out = ["deploywatch drift benchmark", "",
           f"  repo     {repo['path']}",
           f"           {repo['commits']} commits ({repo['merges']} merges), {repo['files']} files; "
           f"fast-import build {repo['build_seconds']:.1f}s ({built})",
           f"  deployed {repo['services']} services at distinct first-parent commits 0-{repo['oldest_back']}"
           f" back; widest range {repo['widest_range_commits']} commits (OLDEST={repo['oldest_deployed'][:12]})",
           f"  machine  Python {env['python']}, git {env['git']}, {env['cpus']} CPUs, "
           f"load(1m) {env['load_1min'][0]} -> {env['load_1min'][1]}", ""]
    if report["deploywatch_missing"]:
        out += [f"  deploywatch drift NOT AVAILABLE: {report['deploywatch_missing']}", ""]
    rounds = len(next(iter(report["timings"].values()))["samples_s"])
    rows = [[t["label"], f"{t['median_s']:.3f}s", f"{t['min_s']:.3f}s", f"{t['cpu_median_s']:.3f}s",
             f"{t['peak_rss_mib']:.1f} MiB"] for t in report["timings"].values()]
    out += [f"drift: {rounds} timed runs each, order rotated per round",
            table(["contender", "median", "min", "cpu(med)", "peak RSS"], rows)]
    own = report["timings"].get("deploywatch", {}).get("python_only_peak_rss_mib")
    if own is not None:
        out.append(f"  (peak RSS covers a process and the children it waited for; deploywatch's Python "
                   f"process alone: {own:.1f} MiB)")
    out.append("")
    if report["start_up"]:
        rows = [[k, f"{v['median_s']:.3f}s", f"{v['min_s']:.3f}s"] for k, v in report["start_up"].items()]
        out += ["start-up (after one warm-up run)", table(["command", "median", "min"], rows), ""]
    corr = report["correctness"]
    rows = [[t["name"], _value(t), f"{t['comparison']} {t['target']:g}{t['unit']}",
             ("PASS" if t["pass"] else "FAIL") + (" (info)" if t.get("info") else "")] for t in report["targets"]]
    agreeing = corr["services"] - len({p.split(" ", 1)[0] for p in corr["problems"]})
    shown = f"{agreeing}/{corr['services']}" if corr["runs_checked"] else "not run"
    sampled = f", {corr['services']} of {repo['services']} services" if corr["services"] < repo["services"] else ""
    rows.append([f"{'scale: ' if report['scale'] else ''}counts identical to git ({corr['runs_checked']} runs"
                 f"{sampled})", shown, "all",
                 "PASS" if corr["pass"] else "FAIL"])
    out += ["targets", table(["check", "value", "target", "result"], rows)]
    if corr["problems"]:
        out += ["", f"disagreements with git (repo {repo['path']}):", *(f"  - {p}" for p in corr["problems"])]
    if report["slowest_imports"]:
        rows = [[i["module"], f"{i['cumulative_s']:.3f}s"] for i in report["slowest_imports"]]
        out += ["", "slowest imports of deploywatch --help (-X importtime, cumulative)",
                table(["module", "time"], rows)]
    if per_service:
        rows = [[s["name"], s["back"], s["commits_behind"], s["relevant_git"], s["relevant_naive"],
                 s["relevant_deploywatch"], s["oldest_relevant_at"] or "-", s["status_deploywatch"] or "-"]
                for s in report["services"]]
        out += ["", table(["service", "back", "behind", "relevant(git)", "naive", "deploywatch",
                           "oldest relevant", "status"], rows)]
    out += ["", f"exit code {report['exit_code']}"]
    return "\n".join(out)

