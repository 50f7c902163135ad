"""A long-lived contender of the checks benchmark on Spark: starts its Spark session once, then runs on request.

    python _checks_spark.py SPEC.json

Run by whichever Python owns the contender (the project venv: pyspark 4 and deploywatch; the Soda venv:
pyspark 3.5 and soda-core-spark-df). A Spark session takes seconds to start (a JVM), so the benchmark
starts each contender once, leaves that start-up out of the timed runs and prints it. Uses only the
standard library at import; pyspark, Soda or deploywatch are imported by the mode that needs them.

SPEC: {"mode": "floor"|"soda"|"deploywatch", "session": "connect"|"classic", "master": "local[*]",
"conf": {key: value}, "tables": {name: folder of Parquet files}, "now": ISO, and per mode "statements"
(as ``_checks_floor.py``), "sodacl" (the checks as YAML text) or "config" (a deploywatch.toml whose
``[warehouse] url`` is a Spark URL)}.

Protocol: prints one JSON line once ready ({"ready": true, "startup_s", "version"} or {"error"}), then per
line ``run`` on stdin one JSON line {"wall", "cpu", "rss_kib", and "values" (floor), "results" (Soda's
scan results) or "document" (``deploywatch.canary/v1``)}; ``quit`` or end of input stops it. ``cpu`` is
user+system time of this process and its children (the JVM) during the run; ``rss_kib`` the sum of
their peak resident sets (VmHWM) so far.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _checks_floor import _value

TICK = os.sysconf("SC_CLK_TCK")


def _tree() -> list[int]:
    """This process and every descendant (the JVM pyspark started, its children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def tree_cpu() -> float:
    """User+system seconds of this process and its live descendants."""
    total = 0
    for pid in _tree():
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / TICK


def tree_peak_rss_kib() -> int:
    """The sum of the peak resident sets of this process and its live descendants."""
    total = 0
    for pid in _tree():
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
                total += next((int(line.split()[1]) for line in handle if line.startswith("VmHWM:")), 0)
        except (OSError, ValueError):
            continue
    return total


def session(spec: dict[str, Any]) -> Any:
    """A Spark session as the spec says: ``connect`` = Spark Connect to a local server in a child JVM, started
    the way deploywatch's ``spark://local[*]`` starts it when deploywatch is importable (the same kind of
    session), else by ``remote("local[*]")``; ``classic`` = the py4j session Soda's spark-df package needs."""
    from pyspark.sql import SparkSession

    if spec["session"] == "connect":
        try:
            from deploywatch.checks.spark import acquire_local
        except ImportError:
            pass
        else:
            from pyspark.sql.connect.session import SparkSession as ConnectSession

            server = acquire_local(spec["master"], spec.get("conf", {}), Path.cwd())
            return ConnectSession(connection=server.url)
    builder = SparkSession.builder
    builder = builder.remote(spec["master"]) if spec["session"] == "connect" else builder.master(spec["master"])
    for key, value in spec.get("conf", {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def table_ddl(tables: dict[str, str]) -> list[str]:
    """The catalog entries every contender reads: tables over the same Parquet folders (no copy)."""
    return [f"CREATE TABLE IF NOT EXISTS {name} USING parquet LOCATION '{folder}'" for name, folder in tables.items()]


class Floor:
    """Hand-written Spark SQL, one statement per (table, filter, group), run in turn on one session."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spark = session(spec)
        for ddl in table_ddl(spec["tables"]):
            self.spark.sql(ddl).collect()
        self.statements = spec["statements"]
        self.now = datetime.fromisoformat(spec["now"].replace("Z", "+00:00"))
        self.version = f"pyspark {self.spark.version} ({spec['session']})"

    def run(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for statement in self.statements:
            rows = self.spark.sql(statement["sql"]).collect()
            outputs = statement["outputs"]
            if statement["grouped"]:
                for row in rows:
                    for out, raw in zip(outputs, list(row)[1:], strict=True):
                        values.setdefault(out["check"], {})[str(row[0])] = _value(raw, out["freshness"], self.now)
            else:
                for out, raw in zip(outputs, list(rows[0]), strict=True):
                    values[out["check"]] = _value(raw, out["freshness"], self.now)
        return {"values": values}


class Soda:
    """Soda Core's programmatic scan on a Spark session (soda-core-spark-df), one fresh ``Scan`` per run."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from importlib.metadata import version

        from soda.scan import Scan  # noqa: F401  (imported before the clock starts, like a CLI's imports)

        self.spark = session(spec)
        for ddl in table_ddl(spec["tables"]):
            self.spark.sql(ddl).collect()
        self.sodacl = spec["sodacl"]
        self.variables = spec.get("variables", {})
        self.version = f"soda-core {version('soda-core')}, pyspark {self.spark.version} ({spec['session']})"

    def run(self) -> dict[str, Any]:
        from soda.scan import Scan

        scan = Scan()
        scan.set_scan_definition_name("dwbench")
        scan.set_data_source_name("spark_df")
        scan.add_spark_session(self.spark, data_source_name="spark_df")
        scan.add_variables(self.variables)
        scan.add_sodacl_yaml_str(self.sodacl)
        scan.execute()
        results = scan.get_scan_results()
        errors = [str(e) for e in scan.get_error_logs()] if scan.has_error_logs() else []
        return {"results": {"checks": results.get("checks", []), "queries": results.get("queries", [])},
                "errors": errors[:5]}


class Deploywatch:
    """deploywatch's runner as the daemon drives it: config loaded and compiled once, the warehouse (its Spark
    session) opened once and kept; per run ``run_plan`` (scans, judging, the store) as ``canary`` does."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from importlib.metadata import version

        from deploywatch.checks import plancache
        from deploywatch.checks.runner import RunTarget, open_warehouse
        from deploywatch.checks.selection import select_checks

        self.now = datetime.fromisoformat(spec["now"].replace("Z", "+00:00"))

        def select(loaded: Any) -> tuple[list[Any], dict[str, Any]]:
            return select_checks(loaded.config.checks, phases=(), patterns=()), {}

        loaded, self.plan, self.day, _ = plancache.compile_selected(Path(spec["config"]), select, now=self.now,
                                                                    run_date=None)
        self.target = RunTarget.of(loaded)
        self.warehouse = open_warehouse(self.target)
        for ddl in table_ddl(spec["tables"]):  # through deploywatch's own connection: the same Spark server
            _, error, _ = self.warehouse._execute(ddl, 600.0)
            if error is not None:
                raise RuntimeError(f"{ddl}: {error}")
        self.version = f"deploywatch {version('deploywatch')}, {self.warehouse.shown}"

    def run(self) -> dict[str, Any]:
        from deploywatch.checks.runner import run_plan

        report = run_plan(self.target, self.plan, self.day, now=self.now, warehouse=self.warehouse)
        return {"document": report.as_json()}


MODES = {"floor": Floor, "soda": Soda, "deploywatch": Deploywatch}


def _say(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, default=str) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    started = time.perf_counter()
    try:
        contender = MODES[spec["mode"]](spec)
    except Exception as exc:  # reported to the benchmark, which prints it and leaves the row out
        lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
        _say({"error": f"{type(exc).__name__}: {lines[0] if lines else ''}"[:800]})
        return 1
    _say({"ready": True, "startup_s": time.perf_counter() - started, "version": contender.version})
    for line in sys.stdin:
        if line.strip() != "run":
            break
        cpu, wall = tree_cpu(), time.perf_counter()
        try:
            out = contender.run()
        except Exception as exc:
            _say({"error": f"{type(exc).__name__}: {str(exc).strip()[:800]}"})
            return 1
        wall, cpu = time.perf_counter() - wall, tree_cpu() - cpu
        _say({"wall": wall, "cpu": cpu, "rss_kib": tree_peak_rss_kib(), **out})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
