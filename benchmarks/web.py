"""Web benchmark: dashboard latency under load and ``report --since 365d`` on a year-old, 100-service store.

    .venv/bin/python benchmarks/web.py [--duration 10] [--connections 50] [--report-runs 3] [--json]

Builds (or reuses, per day) a synthetic monorepo, a config with 100 services and five data checks, and a SQLite
store with one year of 30-minute drift runs (a finding per service), daily canary runs with metrics, daily health
scores and 5,000 ledger entries (see ``_web_store.py``). Starts ``deploywatch serve`` on a free port and loads
``/``, a service page and a check page with ``wrk`` (a second process; ``apt-get install -y wrk``): a warm-up, then
``--duration`` seconds at ``--connections`` connections each, closed loop. Then times ``deploywatch report --since
365d --format json`` in fresh processes, beside its floor (``git log --name-only`` of the branch: the history walk a
year's lead times need). Targets (issue 13): p95 ≤ 50 ms per page, report ≤ 2 s (median). Prints the database size
and the server's peak RSS (VmHWM). Exit code: 0 all met, 1 something failed, 2 a target missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import _web_store
from _measure import compile_bytecode, run
from _report import table

SCHEMA = "deploywatch.bench.web/v1"
TARGET_P95_MS = 50.0
TARGET_REPORT_S = 2.0
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"errors":%d,"non2xx":%d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vm_hwm_kib(pid: int) -> int | None:
    """The process's peak resident set (``VmHWM`` in /proc/PID/status), KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Server:
    """``deploywatch serve`` as a subprocess on a free port."""

    def __init__(self, config: Path, cwd: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.errors = cwd / "serve.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deploywatch", "serve", "--config", str(config), "--listen",
             f"127.0.0.1:{self.port}"], cwd=cwd, stdout=subprocess.DEVNULL, stderr=self.errors.open("w"))

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"deploywatch serve exited {self.proc.returncode}: "
                                 f"{self.errors.read_text()[-1500:]}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as answer:
                    if answer.status < 500:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"deploywatch serve did not answer within {timeout:.0f}s")

    def get(self, path: str) -> tuple[int, int, float]:
        started = time.perf_counter()
        with urllib.request.urlopen(self.base + path, timeout=60) as answer:
            body = answer.read()
            return answer.status, len(body), time.perf_counter() - started

    def stop(self) -> int | None:
        peak = vm_hwm_kib(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        return peak


def wrk(url: str, *, connections: int, duration: float, threads: int, script: Path) -> dict[str, Any]:
    """One ``wrk`` run; its summary (latencies in microseconds) and requests per second."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "30s", "-s", str(script), url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120, check=False)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    return result


def time_report(config: Path, cwd: Path, runs: int) -> tuple[list[float], int, str]:
    """Wall seconds of ``deploywatch report --since 365d --format json`` (one warm-up), its exit code and schema."""
    cmd = [sys.executable, "-m", "deploywatch", "report", "--config", str(config), "--since", "365d",
           "--format", "json"]
    samples, code, schema = [], 0, ""
    for k in range(runs + 1):
        m = run(cmd, timeout=600, cwd=cwd)
        code = m.returncode
        try:
            schema = json.loads(m.stdout).get("schema", "")
        except ValueError:
            schema = f"not JSON: {m.stderr[-300:].decode(errors='replace')}"
        if k:
            samples.append(m.wall)
    return samples, code, schema


def git_walk_floor(config: Path, cwd: Path, runs: int) -> float:
    """Median wall seconds of ``git log --name-only`` over the branch: the history walk a year's lead times need
    (a floor of the report, printed beside it)."""
    import tomllib

    repo_section = tomllib.loads(config.read_text())["repo"]
    repo = (cwd / repo_section["path"]).resolve()
    cmd = ["git", "-C", str(repo), "log", "--topo-order", "-z", "--name-only", "--no-renames", "--root",
           "--format=%H %P", repo_section.get("branch", "main"), "--"]
    return statistics.median(run(cmd, timeout=600, keep_stdout=False).wall for _ in range(max(1, runs)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per page (10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up load per page (3)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--report-runs", type=int, default=3, help="timed report runs after a warm-up (3)")
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--ledger", type=int, default=5000, help="ledger entries (5000)")
    parser.add_argument("--commits", type=int, default=100_000, help="commits of the synthetic repository")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / ".work")
    parser.add_argument("--json", action="store_true", help=f"print the report as JSON ({SCHEMA})")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        log("wrk is not installed (apt-get install -y wrk)")
        return 1
    log(compile_bytecode("deploywatch"))
    fx = _web_store.build(args.workdir.resolve(), services=args.services, commits=args.commits, days=args.days,
                          ledger=args.ledger, seed=args.seed, log=sys.stderr)
    log(f"store {fx.database} ({'cached' if fx.cached else f'built in {fx.build_seconds}s'})")
    db_bytes = sum(p.stat().st_size for p in fx.database.parent.glob(fx.database.name + "*"))
    service = fx.services[len(fx.services) // 2]
    pages = {"/": "overview", f"/services/{service}": "service page", f"/checks/{fx.checks[2]}": "check page"}
    script = fx.home / "p95.lua"
    script.write_text(WRK_SCRIPT)
    load_before = os.getloadavg()
    server = Server(fx.config, fx.home)
    loads: dict[str, dict[str, Any]] = {}
    try:
        server.wait_ready()
        for path, label in pages.items():
            status, size, single = server.get(path)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}")
            log(f"{label}: {size} bytes, one request {single * 1000:.0f} ms; warm-up {args.warmup:g}s …")
            wrk(server.base + path, connections=args.connections, duration=args.warmup, threads=args.threads,
                script=script)
            result = wrk(server.base + path, connections=args.connections, duration=args.duration,
                         threads=args.threads, script=script)
            loads[path] = {"label": label, "bytes": size, "single_ms": round(single * 1000, 1), **result}
    finally:
        peak = server.stop()
    log(f"report --since {args.days}d …")
    samples, report_code, schema = time_report(fx.config, fx.home, args.report_runs)
    report_median = statistics.median(samples)
    floor = git_walk_floor(fx.config, fx.home, args.report_runs)
    targets = [{"name": f"p95 {v['label']} ({p})", "value": v["p95_us"] / 1000, "target": TARGET_P95_MS, "unit": "ms",
                # no request answered within the run (every one timed out) is a failure, never a 0 ms pass
                "pass": v["requests"] > 0 and v["p95_us"] / 1000 <= TARGET_P95_MS and v["errors"] == 0
                and v["non2xx"] == 0}
               for p, v in loads.items()]
    targets.append({"name": "report --since 365d (median)", "value": report_median, "target": TARGET_REPORT_S,
                    "unit": "s", "pass": report_median <= TARGET_REPORT_S})
    failed = report_code not in (0, 1, 2) or schema != "deploywatch.report/v1"
    code = 1 if failed else (0 if all(t["pass"] for t in targets) else 2)
    report = {"schema": SCHEMA, "exit_code": code,
              "environment": {"python": platform.python_version(), "cpus": os.cpu_count(),
                              "load_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]},
              "store": {"path": str(fx.database), "bytes": db_bytes, "runs": fx.runs, "findings": fx.findings,
                        "metrics": fx.metrics, "ledger": fx.ledger, "services": len(fx.services),
                        "cached": fx.cached, "build_seconds": fx.build_seconds},
              "load": {"connections": args.connections, "threads": args.threads, "duration_s": args.duration,
                       "pages": loads},
              "server_peak_rss_mib": round(peak / 1024, 1) if peak else None,
              "report": {"samples_s": [round(s, 3) for s in samples], "median_s": round(report_median, 3),
                         "exit_code": report_code, "schema": schema, "git_walk_floor_s": round(floor, 3),
                         "ratio_to_floor": round(report_median / floor, 2) if floor > 0 else None},
              "targets": targets}
    print(json.dumps(report, indent=2) if args.json else render(report))
    return code


def render(report: dict[str, Any]) -> str:
    """The report as text for people."""
    st, load = report["store"], report["load"]
    out = ["deploywatch web benchmark", "",
           f"  store    {st['path']}",
           f"           {st['bytes'] / 2**20:.0f} MiB on disk; {st['runs']} runs, {st['findings']} findings, "
           f"{st['metrics']} metrics, {st['ledger']} ledger entries, {st['services']} services "
           f"({'cached' if st['cached'] else 'built in ' + str(st['build_seconds']) + 's'})",
           f"  machine  Python {report['environment']['python']}, {report['environment']['cpus']} CPUs, "
           f"load(1m) {report['environment']['load_1min'][0]} -> {report['environment']['load_1min'][1]}", "",
           f"pages: wrk, {load['connections']} connections, {load['threads']} threads, {load['duration_s']:g}s each "
           "after a warm-up (closed loop)"]
    rows = [[f"{v['label']} {p}", f"{v['p50_us'] / 1000:.1f}", f"{v['p95_us'] / 1000:.1f}",
             f"{v['p99_us'] / 1000:.1f}", f"{v['rps']:.1f}", f"{v['bytes'] / 1024:.0f} KiB",
             str(v["errors"] + v["non2xx"])] for p, v in load["pages"].items()]
    out += [table(["page", "p50 ms", "p95 ms", "p99 ms", "req/s", "size", "errors"], rows),
            f"  server peak RSS (VmHWM): {report['server_peak_rss_mib']} MiB", ""]
    rep = report["report"]
    out += [f"report --since 365d --format json: median {rep['median_s']:.3f}s of "
            f"{', '.join(f'{s:.3f}' for s in rep['samples_s'])} (exit {rep['exit_code']}, {rep['schema']})",
            f"  floor: git log --name-only of the branch (the walk a year's lead times need) "
            f"{rep['git_walk_floor_s']:.3f}s; report / floor = {rep['ratio_to_floor']}x", ""]
    rows = [[t["name"], f"{t['value']:.1f}{t['unit']}" if t["unit"] == "ms" else f"{t['value']:.3f}s",
             f"<= {t['target']:g}{t['unit']}", "PASS" if t["pass"] else "FAIL"] for t in report["targets"]]
    out += ["targets", table(["check", "value", "target", "result"], rows), "", f"exit code {report['exit_code']}"]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
