"""``checks.py --engine spark``: the wide and many scenarios on local Spark, deploywatch against hand-written Spark
SQL (the floor) and Soda Core's Spark DataFrame package, on the same Parquet files.

A Spark session takes seconds to start, so every contender is a long-lived worker (``_checks_spark.py``) that
starts its session once (the start-up is printed, not timed) and then runs the checks on request; the timed
rounds are rotated as on DuckDB. deploywatch and its floor use the project venv's pyspark (Spark Connect, a
local server); Soda's spark-df package needs pyspark < 4 and a classic session, so it runs in its own venv
against a floor measured with that same pyspark and session kind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import _checks_data as data
import _checks_peers as peers
import _checks_spec as spec
from _checks_run import Contender, ContenderFailed, Outcome, race

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_checks_spark.py"
SODA_SPARK_REQUIREMENTS = ("soda-core-spark-df==3.5.6",)  # pulls pyspark>=3.4,<4 (3.5.x)
# --soda-connect: the same package on the project's pyspark (outside its declared range, hence --no-deps).
SODA_CONNECT_NO_DEPS = ("soda-core-spark-df==3.5.6",)
DEPLOYWATCH_URL = "spark://local[*]"
MASTER = "local[*]"
# The same session settings for every contender: UTC (freshness), no UI, no console progress bar.
CONF = {"spark.sql.session.timeZone": "UTC", "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
STARTUP_TIMEOUT = 600.0
RUN_TIMEOUT = 1800.0


class Worker:
    """One ``_checks_spark.py`` process: started (its session with it) once, asked to ``run`` per timed run."""

    def __init__(self, key: str, python: Path, spec_doc: dict[str, Any], home: Path,
                 env: dict[str, str] | None = None) -> None:
        self.key = key
        spec_path = home / f"spark-{key}.json"
        spec_path.write_text(json.dumps(spec_doc, indent=1))
        self.log = home / f"spark-{key}.log"
        environ = {**os.environ, "TZ": "UTC", "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONWARNINGS": "ignore",
                   **(env or {})}
        with self.log.open("wb") as err:
            # Its own process group: a worker that hangs is killed with the JVM it started, and nothing else.
            self.proc = subprocess.Popen([str(python), str(WORKER), str(spec_path)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, cwd=home, env=environ,
                                         start_new_session=True)
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()
        first = self._read(STARTUP_TIMEOUT)
        self.startup_s = float(first["startup_s"])
        self.version = str(first["version"])

    def _pump(self, stream: IO[bytes] | None) -> None:
        assert stream is not None
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def _tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.is_file() else ""
        lines = [ln for ln in text.splitlines() if ln.strip() and " WARN " not in ln]
        return " | ".join(lines[-3:])[-600:]

    def _read(self, timeout: float) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise ContenderFailed(f"{self.key}: no answer in {timeout:g}s (log {self.log})") from None
        if line is None:
            self.kill()
            raise ContenderFailed(f"{self.key} exited ({self.proc.wait()}): {self._tail()} (log {self.log})")
        doc: dict[str, Any] = json.loads(line)
        if "error" in doc:
            self.close()
            raise ContenderFailed(str(doc["error"]))
        return doc

    def run(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(b"run\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise ContenderFailed(f"{self.key} is gone: {self._tail()}") from None
        return self._read(RUN_TIMEOUT)

    def close(self) -> None:
        """Ask it to stop (it stops its session); kill its process group if it does not within a minute."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.kill()
        self.kill()  # the JVM the worker started, should it outlive it

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)


@dataclass
class SparkEnv:
    """Where every Spark contender comes from (the fields ``_checks_report.build`` reads, and Spark's)."""

    workdir: Path
    pyspark: str
    soda: peers.Venv | None
    soda_home: Path
    deploywatch_missing: str | None = None
    duckdb_version: str = ""
    gx: peers.Venv | None = None
    postgres_version: str | None = None
    soda_connect: peers.Venv | None = None
    workers: list[Worker] = field(default_factory=list)


def setup(args: argparse.Namespace, log: Callable[[str], None]) -> SparkEnv:
    """pyspark in the project venv, Soda's own venv (created once) and its telemetry-free HOME."""
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", "import pyspark; print(pyspark.__version__)"], capture_output=True,
                          text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{sys.executable} cannot import pyspark: pip install 'pyspark[connect]' (the spark extra)")
    soda_home = workdir / "soda-home"
    (soda_home / ".soda").mkdir(parents=True, exist_ok=True)
    (soda_home / ".soda" / "config.yml").write_text("send_anonymous_usage_stats: false\n")
    soda = None
    if not args.no_soda:
        soda = peers.ensure_venv(workdir / "soda-spark-venv", SODA_SPARK_REQUIREMENTS, ("soda-core", "pyspark"), log)
    pyspark = proc.stdout.strip()
    soda_connect = None
    if args.soda_connect and not args.no_soda:
        wanted = (f"pyspark[connect]=={pyspark}", "pandas<3", "soda-core-spark==3.5.6")
        soda_connect = peers.ensure_venv(workdir / "soda-connect-venv", wanted, ("soda-core", "pyspark"), log,
                                         no_deps=SODA_CONNECT_NO_DEPS)
    return SparkEnv(workdir, pyspark, soda, soda_home, soda_connect=soda_connect)


def table_folders(home: Path, files: dict[str, Path]) -> dict[str, str]:
    """A folder per table holding its Parquet file (a hard link): what ``CREATE TABLE … LOCATION`` names."""
    out = {}
    for name, path in files.items():
        folder = home / "tables" / name
        folder.mkdir(parents=True, exist_ok=True)
        linked = folder / path.name
        if not linked.exists():
            for stale in folder.iterdir():
                stale.unlink()
            try:
                os.link(path, linked)
            except OSError:
                linked.symlink_to(path)
        out[name] = str(folder)
    return out


def _floor_outcome(doc: dict[str, Any]) -> Outcome:
    return Outcome(doc["wall"], doc["cpu"], doc["rss_kib"], doc["values"])


def prepare(scenario: spec.Scenario, env: SparkEnv, args: argparse.Namespace,
            log: Callable[[str], None]) -> Any:
    """The tables, the floor's first run (the oracle: every value is compared with it), the thresholds placed
    from it, every contender's worker started."""
    from checks import Fixture

    files = data.parquet_files(env.workdir, scenario, log)
    home = data.scenario_dir(env.workdir, scenario) / "spark"
    home.mkdir(parents=True, exist_ok=True)
    tables = table_folders(home, files)
    base = {"master": MASTER, "conf": CONF, "tables": tables, "now": spec.NOW_ISO}
    statements = spec.floor_statements(scenario, "spark")
    (home / "floor-spark.json").write_text(json.dumps(statements, indent=1))
    n_floor = len(scenario.statements())
    contenders: dict[str, Contender] = {}

    def start(key: str, python: Path, doc: dict[str, Any], environ: dict[str, str] | None = None) -> Worker:
        log(f"  starting {key} (Spark session) …")
        worker = Worker(key, python, {**base, **doc}, home, environ)
        env.workers.append(worker)
        log(f"  {key} ready in {worker.startup_s:.1f}s: {worker.version}")
        return worker

    floor = start("floor", Path(sys.executable), {"mode": "floor", "session": "connect", "statements": statements})
    engine = f"Spark {env.pyspark} (Connect)"
    oracle = floor.run()["values"]  # also the floor's warm-up run
    bounds = {c.name: spec.place_bound(c, _scalar(oracle[c.name], c)) for c in scenario.checks}
    config = peers.write_deploywatch_config(scenario, bounds, home / "warehouse", url=DEPLOYWATCH_URL, schema=None)
    try:
        dw = start("deploywatch", Path(sys.executable), {"mode": "deploywatch", "session": "connect",
                                                         "config": str(config)})
    except ContenderFailed as exc:
        env.deploywatch_missing = f"the Spark engine did not start: {exc}"
        log(f"  deploywatch on Spark is not available: {exc}")
    else:
        env.deploywatch_missing = None
        contenders["deploywatch"] = Contender(
            "deploywatch", "deploywatch runner (in-process, as the daemon)", engine, "floor",
            lambda: _dw_outcome(dw.run()), startup_s=dw.startup_s)
    contenders["floor"] = Contender("floor", f"floor: {n_floor} Spark SQL statements", engine, None,
                                    lambda: _floor_outcome(floor.run()), startup_s=floor.startup_s)
    if env.soda is not None and env.soda.python is not None:
        soda_python, soda_pyspark = env.soda.python, env.soda.versions["pyspark"]
        soda_engine = f"Spark {soda_pyspark} (classic)"
        try:
            soda = start("soda", soda_python, {"mode": "soda", "session": "classic",
                                               "sodacl": peers.sodacl(scenario, bounds, spark=True),
                                               "variables": {"NOW": spec.NOW.isoformat()}},
                         {"HOME": str(env.soda_home)})
            soda_floor = start("soda_floor", soda_python, {"mode": "floor", "session": "classic",
                                                           "statements": statements})
        except ContenderFailed as exc:
            log(f"  Soda on Spark is not available: {exc}")
            env.soda = peers.Venv(None, env.soda.versions, f"its Spark session did not start: {exc}")
        else:
            contenders["soda"] = Contender(
                "soda", f"Soda Core {env.soda.versions['soda-core']} (spark-df scan)", soda_engine, "soda_floor",
                lambda: _soda_outcome(scenario, soda.run()), startup_s=soda.startup_s)
            contenders["soda_floor"] = Contender("soda_floor", f"floor: {n_floor} Spark SQL statements", soda_engine,
                                                 None, lambda: _floor_outcome(soda_floor.run()),
                                                 startup_s=soda_floor.startup_s)
    if env.soda_connect is not None and env.soda_connect.python is not None:
        try:
            soda_c = start("soda_connect", env.soda_connect.python,
                           {"mode": "soda", "session": "connect", "sodacl": peers.sodacl(scenario, bounds, spark=True),
                            "variables": {"NOW": spec.NOW.isoformat()}}, {"HOME": str(env.soda_home)})
        except ContenderFailed as exc:
            log(f"  Soda on Spark Connect is not available: {exc}")
            env.soda_connect = peers.Venv(None, env.soda_connect.versions, f"did not start: {exc}")
        else:
            contenders["soda_connect"] = Contender(
                "soda_connect", f"Soda Core {env.soda_connect.versions['soda-core']} (spark-df, Connect)", engine,
                "floor", lambda: _soda_outcome(scenario, soda_c.run()), startup_s=soda_c.startup_s)
    return Fixture(scenario, home, oracle, bounds, contenders, engine="spark")


def _scalar(value: Any, check: spec.Check) -> float:
    from _checks_report import scalar

    return scalar(value, check)


def _dw_outcome(doc: dict[str, Any]) -> Outcome:
    document = doc["document"]
    if document.get("schema") != "deploywatch.canary/v1":
        raise ContenderFailed(f"deploywatch answered {str(document)[:300]}")
    values, statuses = peers.deploywatch_values(document)
    return Outcome(doc["wall"], doc["cpu"], doc["rss_kib"], values, statuses)


def _soda_outcome(scenario: spec.Scenario, doc: dict[str, Any]) -> Outcome:
    values, statuses = peers.soda_values(scenario, doc["results"])
    notes = [f"{len(doc['results'].get('queries', []))} queries"] + [f"error: {e[:200]}" for e in doc["errors"]]
    return Outcome(doc["wall"], doc["cpu"], doc["rss_kib"], values, statuses, notes=notes)


def run_scenarios(args: argparse.Namespace, scenarios: list[spec.Scenario],
                  log: Callable[[str], None]) -> tuple[SparkEnv, list[Any]]:
    """Set up, then per scenario: prepare, race, stop its workers (their JVMs go with them)."""
    env = setup(args, log)
    fixtures = []
    for scenario in scenarios:
        log(f"{scenario.title} on Spark: preparing …")
        try:
            fx = prepare(scenario, env, args, log)
            log(f"{scenario.name}: timing {', '.join(fx.contenders)} ({args.runs} runs each) …")
            race(fx.contenders, args.runs, log)
            fixtures.append(fx)
        finally:
            for worker in env.workers:
                worker.close()
            env.workers.clear()
    return env, fixtures
