"""The checks benchmark's report: one dict (printed as JSON with ``--json``) rendered as text tables.

Correctness is judged against the oracle (the floor on the deploywatch venv's DuckDB): every
contender's values in deploywatch's units, check by check and group by group, with a tolerance only
where arithmetic differs (summation order, Soda's two-decimal percentages, whole seconds).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
from typing import TYPE_CHECKING, Any

from _checks_spec import PERCENT_METRICS, Check, Scenario
from _report import table

if TYPE_CHECKING:
    import argparse

    from _checks_run import Contender

    from checks import Env, Fixture

REPORT_SCHEMA = "deploywatch.bench.checks/v1"
TARGET_VS_FLOOR = 1.1
TARGET_PEAK_MB = 150.0
PEERS = {"soda": "Soda Core", "soda_connect": "Soda Core on Spark Connect", "gx": "Great Expectations"}
SHORT = {"deploywatch": "deploywatch", "naive": "naive", "soda": "Soda", "soda_connect": "Soda (Connect)", "gx": "GX",
         "soda_floor": "floor on Soda's engine", "pg_floor": "floor on PostgreSQL"}


def scalar(value: Any, check: Check) -> float:
    """A number to place a threshold from (the largest group value for a per-group check)."""
    if isinstance(value, dict):
        return max(float(v) for v in value.values())
    if value is None:
        raise SystemExit(f"the floor computed no value for {check.name}")
    return float(value)


# ------------------------------------------------------------------ correctness


def _same(check: Check, expected: Any, got: Any, contender: str) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    if not isinstance(expected, int | float) or not isinstance(got, int | float):
        return bool(expected == got)
    tolerance = 1e-9
    if check.metric == "freshness":
        tolerance = 1.0
    elif contender in ("soda", "soda_connect") and check.metric in PERCENT_METRICS:
        tolerance = 0.005 + 1e-9  # Soda rounds percentages to two decimals
    return math.isclose(float(expected), float(got), rel_tol=1e-9, abs_tol=tolerance)


def compare(scenario: Scenario, oracle: dict[str, Any], values: dict[str, Any], contender: str) -> list[str]:
    """One line per check (or group) whose value differs from the oracle's."""
    problems = []
    for check in scenario.checks:
        expected, got = oracle.get(check.name), values.get(check.name)
        if check.group_by:
            expected = expected if isinstance(expected, dict) else {}
            got = got if isinstance(got, dict) else {}
            for group in sorted(set(expected) | set(got)):
                if not _same(check, expected.get(group), got.get(group), contender):
                    problems.append(f"{check.name} [{group}]: floor {expected.get(group)!r}, "
                                    f"{SHORT.get(contender, contender)} {got.get(group)!r}")
        elif not _same(check, expected, got, contender):
            problems.append(f"{check.name}: floor {expected!r}, {SHORT.get(contender, contender)} {got!r}")
    return problems


def _failing(fx: Fixture, statuses: dict[str, str] | None) -> int | None:
    if statuses is None:
        return None
    return sum(statuses.get(c.name) == "critical" for c in fx.scenario.checks)


def _floor_failing(fx: Fixture) -> int:
    count = 0
    for check in fx.scenario.checks:
        value = fx.oracle[check.name]
        values = value.values() if isinstance(value, dict) else [value]
        count += any(fx.bounds[check.name].violated_by(float(v)) for v in values)
    return count


# ------------------------------------------------------------------ building


def _timing(c: Contender, floors: dict[str, float], contenders: dict[str, Contender]) -> dict[str, Any]:
    row: dict[str, Any] = {"key": c.key, "label": c.label, "engine": c.engine, "floor": c.floor, "error": c.error,
                           "runs": len(c.timed)}
    if c.startup_s is not None:
        row["startup_s"] = round(c.startup_s, 2)
    if c.timed:
        walls = [o.wall for o in c.timed]
        row.update(median_s=round(statistics.median(walls), 4), min_s=round(min(walls), 4),
                   samples_s=[round(w, 4) for w in walls],
                   cpu_median_s=round(statistics.median(o.cpu for o in c.timed), 4),
                   peak_rss_mb=round(max(o.max_rss_kib for o in c.timed) * 1024 / 1e6, 1),
                   notes=sorted({n for o in c.timed for n in o.notes}))
        queries = [o.query_seconds for o in c.timed if o.query_seconds is not None]
        if queries:
            row["in_process_median_s"] = round(statistics.median(queries), 4)
        base = floors.get(c.floor or c.key)
        if base:
            row["vs_floor"] = round(row["median_s"] / base, 3)
        floor = contenders.get(c.floor or "")
        if floor is not None and len(floor.timed) == len(c.timed):
            # Round by round (the two ran minutes apart at most): steadier than a ratio of medians
            # when the machine's load drifts during the run.
            row["vs_floor_paired"] = round(statistics.median(o.wall / f.wall for o, f in zip(c.timed, floor.timed,
                                                                                             strict=True)), 3)
    return row


def _target(name: str, value: float, target: float, *, at_most: bool, unit: str,
            strict: bool = False) -> dict[str, Any]:
    ok = (value < target if strict else value <= target) if at_most else value >= target
    comparison = ("<" if strict else "<=") if at_most else ">="
    return {"name": name, "value": round(value, 3), "target": target, "unit": unit, "comparison": comparison,
            "pass": ok}


def _scenario(fx: Fixture) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
    cs = fx.contenders
    floors = {k: statistics.median(o.wall for o in c.timed) for k, c in cs.items() if c.floor is None and c.timed}
    timings = [_timing(c, floors, cs) for c in cs.values()]
    correctness: dict[str, Any] = {}
    failing: dict[str, Any] = {"designed": sum(c.fails for c in fx.scenario.checks), "floor": _floor_failing(fx)}
    for key, c in cs.items():
        if key == "floor" or not c.timed or not c.checked:
            continue
        checked = c.timed if key == "deploywatch" else c.timed[:1]
        problems = list(dict.fromkeys(p for o in checked for p in compare(fx.scenario, fx.oracle, o.values, key)))
        wrong = {p.split(":", 1)[0].split(" [", 1)[0] for p in problems}
        correctness[key] = {"agree": len(fx.scenario.checks) - len(wrong), "total": len(fx.scenario.checks),
                            "runs_checked": len(checked), "problems": problems}
        if c.timed[0].statuses is not None:
            failing[key] = _failing(fx, c.timed[0].statuses)
    name = fx.scenario.name
    targets: list[dict[str, Any]] = []
    dw = next((t for t in timings if t["key"] == "deploywatch" and "median_s" in t), None)
    dw_ok = dw is not None and not cs["deploywatch"].error and not correctness["deploywatch"]["problems"]
    if dw is not None:
        targets.append(_target(f"{name}: deploywatch / floor ({dw['engine']})", dw["vs_floor"], TARGET_VS_FLOOR,
                               at_most=True, unit="x"))
        for t in timings:
            if t["key"] in PEERS and "median_s" in t:
                targets.append(_target(f"{name}: deploywatch / {PEERS[t['key']]} (wall time)",
                                       dw["median_s"] / t["median_s"], 1.0, at_most=True, unit="x", strict=True))
                targets.append(_target(f"{name}: deploywatch / {PEERS[t['key']]} (each / own floor)",
                                       dw["vs_floor"] / t["vs_floor"], 1.0, at_most=True, unit="x", strict=True))
        if fx.engine == "duckdb":  # on Spark the figure is the JVM's heap, not deploywatch's
            targets.append(_target(f"{name}: deploywatch peak RSS", dw["peak_rss_mb"], TARGET_PEAK_MB, at_most=True,
                                   unit="MB"))
    out = {"name": name, "title": fx.scenario.title, "data": str(fx.home), "statements": len(fx.scenario.statements()),
           "checks": len(fx.scenario.checks), "timings": timings, "correctness": correctness, "failing": failing,
           "gx_on_duckdb": fx.gx_on_duckdb, "engine": fx.engine}
    return out, targets, dw_ok


def build(env: Env, fixtures: list[Fixture], args: argparse.Namespace, *, pg_load: float | None,
          load: tuple[tuple[float, ...], tuple[float, ...]], seconds: float, own_rss_kib: int) -> dict[str, Any]:
    """Assemble the report and its exit code from everything measured."""
    scenarios, targets, all_ok = [], [], True
    for fx in fixtures:
        s, t, ok = _scenario(fx)
        scenarios.append(s)
        targets += t
        all_ok = all_ok and ok
        if "deploywatch" in s["correctness"]:
            c = s["correctness"]["deploywatch"]
            label = f"{fx.scenario.name}: deploywatch values equal the floor's ({c['runs_checked']} runs)"
            targets.append({"name": label,
                            "value": f"{c['agree']}/{c['total']}", "target": "all", "unit": "", "comparison": "",
                            "pass": not c["problems"]})
    correct = env.deploywatch_missing is None and bool(fixtures) and all_ok
    code = 1 if not correct else (2 if not all(t["pass"] for t in targets) else 0)
    peers = {name: (venv.versions if venv.python else {"error": venv.error})
             for name, venv in (("soda", env.soda), ("soda_connect", getattr(env, "soda_connect", None)),
                                ("gx", env.gx)) if venv is not None}
    spark = {"pyspark": env.pyspark} if hasattr(env, "pyspark") else None
    return {"schema": REPORT_SCHEMA, "exit_code": code, "engine": "spark" if spark else "duckdb", "spark": spark,
            "environment": {"python": platform.python_version(), "duckdb": env.duckdb_version, "cpus": os.cpu_count(),
                            "postgres": env.postgres_version, "peers": peers, "platform": platform.platform(),
                            "load_1min": [round(load[0][0], 2), round(load[1][0], 2)]},
            "benchmark_peak_rss_mb": round(own_rss_kib * 1024 / 1e6, 1),
            "runs": args.runs, "quick": args.quick, "seconds": round(seconds, 1), "workdir": str(env.workdir),
            "postgres_load_s": None if pg_load is None else round(pg_load, 1),
            "deploywatch_missing": env.deploywatch_missing, "scenarios": scenarios, "targets": targets}


# ------------------------------------------------------------------ rendering


def _peer_line(report: dict[str, Any]) -> str:
    parts = []
    for name, versions in report["environment"]["peers"].items():
        if "error" in versions:
            parts.append(f"{PEERS[name]}: NOT AVAILABLE ({versions['error']})")
        elif name == "soda_connect":
            parts.append(f"Soda Core {versions['soda-core']} on pyspark {versions['pyspark']} Spark Connect "
                         "(installed --no-deps)")
        elif name == "soda" and "pyspark" in versions:
            parts.append(f"Soda Core {versions['soda-core']} (soda-core-spark-df, pyspark {versions['pyspark']})")
        elif name == "soda":
            parts.append(f"Soda Core {versions['soda-core']} (DuckDB {versions['duckdb']})")
        else:
            parts.append(f"Great Expectations {versions['great_expectations']} (SQLAlchemy {versions['sqlalchemy']})")
    return "; ".join(parts) or "none (--no-soda --no-gx)"


def _rows(timings: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for t in timings:
        if "median_s" not in t:
            rows.append([t["label"], t["engine"], "FAILED", "", "", "", "", ""])
            continue
        ratio = f"{t['vs_floor']:.2f}x" if "vs_floor" in t else ""
        paired = f"{t['vs_floor_paired']:.2f}x" if "vs_floor_paired" in t else ""
        rows.append([t["label"], t["engine"], f"{t['median_s']:.3f}s", f"{t['min_s']:.3f}s",
                     f"{t['cpu_median_s']:.3f}s", f"{t['peak_rss_mb']:.0f} MB", ratio, paired])
    return rows


def _value(t: dict[str, Any]) -> str:
    if isinstance(t["value"], str):
        return t["value"]
    return f"{t['value']:.2f}x" if t["unit"] == "x" else f"{t['value']:.0f} {t['unit']}"


def _duckdb_header(report: dict[str, Any]) -> list[str]:
    env = report["environment"]
    pg = f"; {env['postgres']} for Great Expectations" if env["postgres"] else ""
    if env["postgres"] and report["postgres_load_s"]:
        pg += f" (throwaway database, loaded in {report['postgres_load_s']:.0f}s, dropped after)"
    return ["deploywatch checks benchmark" + (" (--quick)" if report["quick"] else ""), "",
            f"  data     {report['workdir']}: Parquet generated once, loaded into each engine's own database",
            f"  engines  DuckDB {env['duckdb']} (deploywatch venv){pg}",
            f"  peers    {_peer_line(report)}",
            f"  machine  Python {env['python']}, {env['cpus']} CPUs, load(1m) {env['load_1min'][0]} -> "
            f"{env['load_1min'][1]}; total {report['seconds']:.0f}s",
            f"  timing   {report['runs']} timed runs each after one warm-up, order rotated per round; wall time of",
            "           the whole process, start to exit (interpreter start-up and imports included for every",
            "           contender, floors too); 'vs floor' divides the median by the median of the floor run",
            "           with the same engine version; 'paired' is the median of that ratio taken round by round;",
            "           deploywatch's modules compiled to bytecode first (as pip does installing a wheel); the",
            "           warm-up run keeps its compiled plan (in the user's cache), which the timed runs use; the",
            "           row 'without its kept plan' is a run after the config changed (validated, compiled afresh)",
            "  memory   peak RSS = ru_maxrss from wait4: the process and any child it waited for (MB = 10^6 bytes;",
            f"           never below this script's own {report['benchmark_peak_rss_mb']:.0f} MB, which Linux "
            "carries into its children)", ""]


def _spark_header(report: dict[str, Any]) -> list[str]:
    env = report["environment"]
    return ["deploywatch checks benchmark on Spark" + (" (--quick)" if report["quick"] else ""), "",
            f"  data     {report['workdir']}: Parquet generated once; every contender's session registers the",
            "           same files as tables (CREATE TABLE … USING parquet LOCATION)",
            f"  engines  pyspark {report['spark']['pyspark']} (project venv), Spark Connect to a local server "
            "(local[*]) for deploywatch and its floor",
            f"  peers    {_peer_line(report)}, a classic local[*] session (the package needs pyspark < 4)",
            f"  machine  Python {env['python']}, {env['cpus']} CPUs, load(1m) {env['load_1min'][0]} -> "
            f"{env['load_1min'][1]}; total {report['seconds']:.0f}s",
            f"  timing   {report['runs']} timed runs each after one warm-up, order rotated per round; each contender",
            "           is one long-lived process that started its Spark session once (start-up printed below,",
            "           not timed); a run is its checks on that session, timed inside it: deploywatch's runner as",
            "           the daemon calls it (compiled plan, open warehouse; scans, judging, the store), Soda's",
            "           programmatic scan, the floor's statements in turn. 'vs floor' divides the median by the",
            "           median of the floor on the same pyspark and session kind; 'paired' is round by round",
            "  cpu/mem  cpu = user+system of the worker and its JVM during the run; peak RSS = the sum of their",
            "           VmHWM (mostly the JVM's heap; no memory target on Spark)", ""]


def render(report: dict[str, Any]) -> str:
    """The report as text for people."""
    out = _spark_header(report) if report.get("engine") == "spark" else _duckdb_header(report)
    if report["deploywatch_missing"]:
        out += [f"  deploywatch canary NOT AVAILABLE: {report['deploywatch_missing']}", ""]
    for s in report["scenarios"]:
        out += [s["title"], table(["contender", "engine", "median", "min", "cpu(med)", "peak RSS", "vs floor",
                                   "paired"], _rows(s["timings"]))]
        inproc = [f"{t['engine']} {t['in_process_median_s']:.3f}s" for t in s["timings"]
                  if t["floor"] is None and "in_process_median_s" in t]
        if inproc:
            out.append(f"  floors' connect+query time inside the process (no start-up): {', '.join(inproc)}")
        startups = [f"{SHORT.get(t['key'], t['key'])} {t['startup_s']:.1f}s" for t in s["timings"] if "startup_s" in t]
        if startups:
            out.append(f"  Spark session start-up, once per contender (not timed): {', '.join(startups)}")
        for t in s["timings"]:
            if t["error"]:
                out.append(f"  {t['label']} ({t['engine']}) FAILED after {t['runs']} timed runs: {t['error']}")
            if t["key"] in PEERS and t.get("notes"):
                out.append(f"  {t['label']}: {'; '.join(t['notes'][:6])}")
        if s["gx_on_duckdb"]:
            out.append(f"  Great Expectations on DuckDB (tried once, not timed): {s['gx_on_duckdb']}")
        agree = [f"{SHORT.get(k, k)} {c['agree']}/{c['total']}" for k, c in s["correctness"].items()]
        out.append(f"  values equal to the floor's: {', '.join(agree) or 'nothing to compare'}")
        fails = s["failing"]
        out.append("  failing (critical) checks: " + ", ".join(f"{SHORT.get(k, k)} {v}" for k, v in fails.items()))
        for key, c in s["correctness"].items():
            for problem in c["problems"][:15]:
                out.append(f"    mismatch ({SHORT.get(key, key)}) {problem}")
            if len(c["problems"]) > 15:
                out.append(f"    … and {len(c['problems']) - 15} more for {SHORT.get(key, key)}")
        out.append("")
    if report["targets"]:
        rows = [[t["name"], _value(t), f"{t['comparison']} {t['target']:g}{t['unit']}" if t["comparison"] else "all",
                 "PASS" if t["pass"] else "FAIL"] for t in report["targets"]]
        out += ["targets", table(["check", "value", "target", "result"], rows), ""]
    out.append(f"exit code {report['exit_code']}")
    return "\n".join(out)
