"""Checks benchmark: ``deploywatch canary`` against hand-written aggregates (the floor), one statement
per check (naive), Soda Core 3.5.6 and Great Expectations 1.x, on the same data and the same checks.

    .venv/bin/python benchmarks/checks.py [--quick] [--runs N] [--scenario wide|many]
                                          [--no-soda] [--no-gx] [--json] [--engine duckdb|spark]

Two scenarios: *wide* (2 tables x 10M rows, 20 checks on whole tables) and *many* (10 tables x 1M rows,
100 checks filtered to one day, 33 failing). Every contender runs as a fresh subprocess, as users run
it; each gets a ratio to a floor measured with the same engine version: deploywatch and naive against
the venv's DuckDB, Soda against its own DuckDB 1.0, Great Expectations against PostgreSQL. Exit code:
0 targets met and values equal, 1 deploywatch missing, failing or disagreeing, 2 a target missed.
``--engine spark`` runs both scenarios on local Spark instead (``_checks_spark_bench``): deploywatch against
hand-written Spark SQL and Soda Core's spark-df package.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _checks_data as data
import _checks_peers as peers
import _checks_report as report
import _checks_run as runs
import _checks_spec as spec
from _checks_run import Contender
from _measure import Timeout, compile_bytecode, run

HERE = Path(__file__).resolve().parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Env:
    """Where every contender comes from."""

    workdir: Path
    duckdb_version: str
    deploywatch: Path
    deploywatch_missing: str | None
    soda: peers.Venv | None
    gx: peers.Venv | None
    soda_home: Path
    postgres_admin: str
    postgres_database: str
    postgres_version: str | None = None


# ------------------------------------------------------------------ set-up


def setup(args: argparse.Namespace) -> Env:
    """Versions, the peers' virtual environments (created once) and Soda's telemetry-free HOME."""
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    version = data.engine_version(Path(sys.executable))
    if version is None:
        raise SystemExit(f"{sys.executable} cannot import duckdb; run with the project's venv")
    soda_home = workdir / "soda-home"
    (soda_home / ".soda").mkdir(parents=True, exist_ok=True)
    (soda_home / ".soda" / "config.yml").write_text("send_anonymous_usage_stats: false\n")
    soda = gx = None
    if not args.no_soda:
        soda = peers.ensure_venv(workdir / "soda-venv", peers.SODA_REQUIREMENTS, ("soda-core", "duckdb"), log)
    if not args.no_gx:
        gx = peers.ensure_venv(workdir / "gx-venv", peers.GX_REQUIREMENTS,
                               ("great_expectations", "sqlalchemy", "duckdb", "duckdb_engine"), log)
    script = Path(sys.executable).parent / "deploywatch"
    log(compile_bytecode("deploywatch"))
    return Env(workdir, version, script, runs.deploywatch_missing(script), soda, gx, soda_home,
               args.postgres_url, args.postgres_database)


def _write_plan(path: Path, plan: dict[str, Any]) -> Path:
    path.write_text(json.dumps(plan, indent=1))
    return path


@dataclass
class Fixture:
    """One scenario made ready: its files, the oracle's values and the thresholds placed from them."""

    scenario: spec.Scenario
    home: Path
    oracle: peers.Values
    bounds: dict[str, spec.Bound]
    contenders: dict[str, Contender]
    gx_on_duckdb: str | None = None
    engine: str = "duckdb"  # or "spark" (_checks_spark_bench)


def prepare(scenario: spec.Scenario, env: Env, args: argparse.Namespace) -> Fixture:
    """Data for every engine, the oracle run (untimed; warms the cache), every tool's configuration."""
    files = data.parquet_files(env.workdir, scenario, log)
    home = data.scenario_dir(env.workdir, scenario)
    main_db = data.duckdb_database(Path(sys.executable), env.duckdb_version, env.workdir, scenario, files, log)
    duck = f"DuckDB {env.duckdb_version}"
    floor_plan = _write_plan(home / "floor-duckdb.json", {"engine": "duckdb", "database": str(main_db),
                                                          "now": spec.NOW_ISO,
                                                          "statements": spec.floor_statements(scenario)})
    naive_plan = _write_plan(home / "naive-duckdb.json", {"engine": "duckdb", "database": str(main_db),
                                                          "now": spec.NOW_ISO,
                                                          "statements": spec.naive_statements(scenario)})
    oracle = runs.run_floor(Path(sys.executable), floor_plan).values
    bounds = {c.name: spec.place_bound(c, report.scalar(oracle[c.name], c)) for c in scenario.checks}
    n_floor, n_checks = len(scenario.statements()), len(scenario.checks)
    contenders: dict[str, Contender] = {}
    env.deploywatch_missing = runs.deploywatch_missing(env.deploywatch)
    if env.deploywatch_missing is None:
        config = peers.write_deploywatch_config(scenario, bounds, main_db)
        contenders["deploywatch"] = Contender("deploywatch", "deploywatch canary --format json", duck, "floor",
                                              lambda: runs.run_deploywatch(env.deploywatch, config))
        contenders["cold"] = Contender("cold", "  (the same without its kept plan)", duck, "floor",
                                       lambda: runs.run_deploywatch(env.deploywatch, config, keep_plan=False))
        contenders["explain"] = Contender("explain", "  (deploywatch canary --explain: no query)", duck, "floor",
                                          lambda: runs.run_deploywatch_explain(env.deploywatch, config),
                                          checked=False)
    contenders["floor"] = Contender("floor", f"floor: {n_floor} aggregate statements", duck, None,
                                    lambda: runs.run_floor(Path(sys.executable), floor_plan))
    contenders["naive"] = Contender("naive", f"naive: {n_checks} statements, one per check", duck, "floor",
                                    lambda: runs.run_floor(Path(sys.executable), naive_plan, "naive"))
    if env.soda and env.soda.python:
        soda_python, soda_version = env.soda.python, env.soda.versions["duckdb"]
        soda_db = data.duckdb_database(soda_python, soda_version, env.workdir, scenario, files, log)
        soda_config, soda_checks = peers.write_soda_files(scenario, bounds, soda_db)
        soda_floor = _write_plan(soda_db.parent / "floor-duckdb.json",
                                 {"engine": "duckdb", "database": str(soda_db), "now": spec.NOW_ISO,
                                  "statements": spec.floor_statements(scenario)})
        engine = f"DuckDB {soda_version}"
        soda_bin = soda_python.parent / "soda"
        soda_home = env.soda_home
        contenders["soda"] = Contender("soda", f"Soda Core {env.soda.versions['soda-core']} (soda scan)", engine,
                                       "soda_floor",
                                       lambda: runs.run_soda(soda_bin, soda_home, scenario, soda_config, soda_checks))
        contenders["soda_floor"] = Contender("soda_floor", f"floor: {n_floor} aggregate statements", engine, None,
                                             lambda: runs.run_floor(soda_python, soda_floor))
    if env.gx and env.gx.python and env.postgres_version:
        gx_python = env.gx.python
        url = data.postgres_url(env.postgres_admin, env.postgres_database)
        gx_plan = peers.gx_plan(scenario, bounds, oracle, url.replace("postgresql://", "postgresql+psycopg2://", 1))
        gx_plan_path = _write_plan(home / "gx-postgres.json", gx_plan)
        pg_floor = _write_plan(home / "floor-postgres.json", {"engine": "postgres", "database": url,
                                                              "now": spec.NOW_ISO,
                                                              "statements": spec.floor_statements(scenario)})
        pg = env.postgres_version
        contenders["gx"] = Contender("gx", f"Great Expectations {env.gx.versions['great_expectations']}", pg,
                                     "pg_floor", lambda: runs.run_gx(gx_python, scenario, gx_plan_path, gx_plan))
        contenders["pg_floor"] = Contender("pg_floor", f"floor: {n_floor} aggregate statements (psycopg)", pg, None,
                                           lambda: runs.run_floor(Path(sys.executable), pg_floor))
    fx = Fixture(scenario, home, oracle, bounds, contenders)
    if env.gx and env.gx.python and not args.no_gx_duckdb:
        fx.gx_on_duckdb = gx_on_duckdb(env, scenario, files, home)
    return fx


def gx_on_duckdb(env: Env, scenario: spec.Scenario, files: dict[str, Path], home: Path) -> str:
    """Try GX once on DuckDB (a row count on 100,000 rows of the first table) and say what happened."""
    assert env.gx is not None and env.gx.python is not None
    table = scenario.tables[0].name
    database = home / "gx-duckdb.duckdb"
    database.unlink(missing_ok=True)
    plan = {"connection_string": f"duckdb:///{database}", "assets": [{"name": table, "table": table}],
            "prepare_duckdb": {"database": str(database), "tables": {table: str(files[table])}, "limit": 100_000},
            "expectations": [{"asset": table, "check": f"{table}.rows", "type": "ExpectTableRowCountToBeBetween",
                              "kwargs": {"min_value": 1}}]}
    try:
        m = run([str(env.gx.python), str(runs.GX_SCRIPT), str(_write_plan(home / "gx-duckdb.json", plan))], timeout=600)
        out = json.loads(m.stdout)
    except (Timeout, ValueError) as exc:
        return f"could not run: {exc}"
    finally:
        database.unlink(missing_ok=True)
    if "error" in out:
        return f"raised {out['error']}"
    result = out["results"][0] or {}
    if result.get("exception"):
        return f"row count not computed: {result['exception']}"
    return f"worked (row count {result.get('observed_value')}) with GX {out.get('version')}"


# ------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: wide 2 x 1M rows, many 10 x 100k rows, 3 runs (Spark: 200k, 20k, 1 run)")
    parser.add_argument("--runs", type=int, default=None,
                        help="timed runs of each contender (default 5, quick 3; on Spark 3, quick 1)")
    parser.add_argument("--scenario", choices=("wide", "many", "all"), default="all")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="duckdb (with Soda on DuckDB, GX on PostgreSQL) or spark (local Spark: deploywatch, "
                             "hand-written Spark SQL and Soda's spark-df package)")
    parser.add_argument("--wide-rows", type=int, default=None,
                        help="rows per wide table (default 10,000,000; on Spark 2,000,000)")
    parser.add_argument("--many-rows", type=int, default=None,
                        help="rows per many table (default 1,000,000; on Spark 200,000)")
    parser.add_argument("--workdir", type=Path, default=HERE / ".work",
                        help="where data, databases and the peers' venvs are cached (default benchmarks/.work)")
    parser.add_argument("--no-soda", action="store_true", help="leave Soda Core out")
    parser.add_argument("--soda-connect", action="store_true",
                        help="on Spark, also Soda on the project's pyspark (Spark Connect; installed --no-deps)")
    parser.add_argument("--no-gx", action="store_true", help="leave Great Expectations (and PostgreSQL) out")
    parser.add_argument("--no-gx-duckdb", action="store_true", help="skip the one Great Expectations try on DuckDB")
    parser.add_argument("--postgres-url", default=os.environ.get("DEPLOYWATCH_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
                        help="an existing database to connect to for CREATE/DROP DATABASE")
    parser.add_argument("--postgres-database", default="dwbench_checks",
                        help="the throwaway database loaded for GX and its floor (default dwbench_checks)")
    parser.add_argument("--keep-postgres", action="store_true",
                        help="keep the loaded PostgreSQL database for the next run instead of dropping it")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    args = parser.parse_args(argv)
    if args.engine == "spark":  # Spark's cost is mostly per statement and per stage; Soda needs ~4x the floor
        args.runs = args.runs if args.runs is not None else (1 if args.quick else 3)
        args.wide_rows = args.wide_rows or (200_000 if args.quick else 2_000_000)
        args.many_rows = args.many_rows or (20_000 if args.quick else 200_000)
    args.runs = args.runs if args.runs is not None else (3 if args.quick else 5)
    args.wide_rows = args.wide_rows or (1_000_000 if args.quick else 10_000_000)
    args.many_rows = args.many_rows or (100_000 if args.quick else 1_000_000)
    if args.runs < 1 or args.wide_rows < 1000 or args.many_rows < 1000:
        parser.error("need --runs >= 1 and at least 1000 rows per table")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the report; return 0, 1 (deploywatch wrong or absent) or 2 (a target missed)."""
    args = parse_args(argv)
    load_before = os.getloadavg()
    started = time.perf_counter()
    scenarios = [s for s in (spec.wide(args.wide_rows), spec.many(args.many_rows))
                 if args.scenario in ("all", s.name)]
    if args.engine == "spark":
        return _spark(args, scenarios, load_before, started)
    log("setting up …")
    env = setup(args)
    if env.deploywatch_missing:
        log(f"deploywatch canary is not available ({env.deploywatch_missing}); timing the others")
    fixtures: list[Fixture] = []
    pg_load = None
    with_postgres = bool(env.gx and env.gx.python)
    try:
        if with_postgres:
            pg_load = load_postgres(env, scenarios)
        for scenario in scenarios:
            log(f"{scenario.title}: preparing …")
            fx = prepare(scenario, env, args)
            log(f"{scenario.name}: timing {', '.join(fx.contenders)} ({args.runs} runs each) …")
            runs.race(fx.contenders, args.runs, log)
            fixtures.append(fx)
    finally:
        if with_postgres and not args.keep_postgres:
            try:
                data.drop_postgres(env.postgres_admin, env.postgres_database)
                log(f"dropped PostgreSQL database {env.postgres_database}")
            except RuntimeError as exc:  # the server went away: say so, keep the report
                log(f"could not drop PostgreSQL database {env.postgres_database}: {exc}")
    built = report.build(env, fixtures, args, pg_load=pg_load, load=(load_before, os.getloadavg()),
                         seconds=time.perf_counter() - started,
                         own_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print(json.dumps(built, indent=2) if args.json else report.render(built))
    return int(built["exit_code"])


def _spark(args: argparse.Namespace, scenarios: list[spec.Scenario], load_before: tuple[float, ...],
           started: float) -> int:
    """``--engine spark``: the same scenarios on local Spark (``_checks_spark_bench``), the same report."""
    import _checks_spark_bench as spark

    log("setting up (Spark) …")
    env, fixtures = spark.run_scenarios(args, scenarios, log)
    built = report.build(env, fixtures, args, pg_load=None, load=(load_before, os.getloadavg()),  # type: ignore[arg-type]
                         seconds=time.perf_counter() - started,
                         own_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print(json.dumps(built, indent=2) if args.json else report.render(built))
    return int(built["exit_code"])


def load_postgres(env: Env, scenarios: list[spec.Scenario]) -> float | None:
    """Every scenario's tables into one throwaway PostgreSQL database (reused with --keep-postgres)."""
    tables: dict[str, Path] = {}
    keys = []
    for scenario in scenarios:
        tables.update(data.parquet_files(env.workdir, scenario, log))
        keys.append(data.scenario_dir(env.workdir, scenario).name)
    log(f"loading PostgreSQL database {env.postgres_database} …")
    try:
        loaded = data.load_postgres(env.postgres_admin, env.postgres_database, tables, "+".join(keys))
    except RuntimeError as exc:  # no server, no rights: report GX as not run, time the rest
        log(f"PostgreSQL unavailable ({exc}); Great Expectations is left out")
        env.gx = peers.Venv(None, {}, f"PostgreSQL unavailable: {str(exc)[-300:]}")
        return None
    env.postgres_version = loaded["version"]
    for name, seconds in loaded["tables"].items():
        log(f"  loaded {name} into PostgreSQL in {seconds:.1f}s")
    if loaded["reused"]:
        log(f"  reusing PostgreSQL database {env.postgres_database} (--keep-postgres)")
    return float(loaded["seconds"])


if __name__ == "__main__":
    sys.exit(main())
