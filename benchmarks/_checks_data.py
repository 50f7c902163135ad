"""The checks benchmark's data: generated once inside DuckDB, kept as Parquet, loaded per engine.

Parquet is the one form every contender's engine reads: the deploywatch venv's DuckDB and the Soda
venv's DuckDB 1.0 each load it into their own database file (their storage formats differ), and
PostgreSQL gets it through ``COPY``. Everything is cached under the work directory, keyed by the
generator version and the table's parameters, so reruns start at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from _checks_spec import DAY, REGIONS, VALID_STATUSES, Scenario, Table

GENERATOR_VERSION = 1
DUP_PER_MILLE = 1  # ids: about 0.1 % of rows repeat the previous row's id (each duplicate value occurs twice)
LOAD_TIMEOUT = 3600.0

COLUMNS_POSTGRES = ("id BIGINT, customer_id BIGINT, region TEXT, status TEXT, amount DOUBLE PRECISION, "
                    "email TEXT, event_date DATE, created_at TIMESTAMP, converted_at TIMESTAMP")


def _literal_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def generate_sql(table: Table, path: Path) -> str:
    """One COPY that writes the table as Parquet, every column derived from hash(row number, seed, k).

    Rows are in date order (as a daily append would leave them). A duplicate id repeats the id of
    the row before, so no value occurs more than twice: "duplicate rows", "values that repeat" and
    "rows whose value repeats, halved" all count the same, whichever definition a tool uses.
    """
    s, n, days = table.seed, table.rows, table.days
    first = date.fromordinal(DAY.toordinal() - days + 1).isoformat()
    return f"""
    COPY (
      WITH base AS (
        SELECT i,
               CAST(hash(i, {s}, 2) % {len(REGIONS)} AS INTEGER) AS r,
               CAST(hash(i, {s}, 3) % 1000 AS INTEGER) AS st,
               CAST(hash(i, {s}, 1) % {max(n // 8, 1)} AS BIGINT) AS customer_id,
               DATE '{first}' + CAST(i * {days} // {n} AS INTEGER) AS event_date,
               CAST(hash(i, {s}, 7) % 86400 AS BIGINT) AS second_of_day
        FROM range({n}) t(i)
      )
      SELECT
        CASE WHEN i > 0 AND hash(i, {s}, 0) % 1000 < {DUP_PER_MILLE} THEN i - 1 ELSE i END AS id,
        customer_id,
        {_literal_list(REGIONS)}[r + 1] AS region,
        CASE WHEN st < 10 THEN 'lost' ELSE {_literal_list(VALID_STATUSES)}[st % {len(VALID_STATUSES)} + 1] END
          AS status,
        CASE WHEN hash(i, {s}, 4) % 1000 < 2 THEN NULL
             ELSE CAST(hash(i, {s}, 5) % 100000 AS DOUBLE) / 100 + 1 END AS amount,
        CASE WHEN hash(i, {s}, 6) % 1000 < 20 THEN NULL
             ELSE 'user' || customer_id || '@example.com' END AS email,
        event_date,
        CAST(event_date AS TIMESTAMP) + to_seconds(second_of_day) AS created_at,
        CASE WHEN hash(i, {s}, 8) % 100 < 20 + 5 * r
             THEN CAST(event_date AS TIMESTAMP) + to_seconds(second_of_day + 3600) END AS converted_at
      FROM base
    ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
    """


def scenario_dir(workdir: Path, scenario: Scenario) -> Path:
    rows = "-".join(str(t.rows) for t in scenario.tables[:1])
    return workdir / f"checks-g{GENERATOR_VERSION}" / f"{scenario.name}-t{len(scenario.tables)}-r{rows}"


def parquet_files(workdir: Path, scenario: Scenario, log: Callable[[str], None]) -> dict[str, Path]:
    """The scenario's tables as Parquet files, generated now (in a child process) unless cached."""
    out = scenario_dir(workdir, scenario) / "parquet"
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for table in scenario.tables:
        path = out / f"{table.name}-s{table.seed}-d{table.days}.parquet"
        if not path.is_file():
            started = time.perf_counter()
            partial = path.with_suffix(".partial")
            _child(sys.executable, _GENERATE, generate_sql(table, partial), what=f"generating {path.name}")
            partial.rename(path)
            log(f"  generated {path.name} ({table.rows:,} rows) in {time.perf_counter() - started:.1f}s")
        files[table.name] = path
    return files


def _child(python: str | Path, script: str, *args: str, what: str) -> str:
    """Run ``python -c script args`` and return its stdout.

    Heavy work (DuckDB, psycopg) stays out of this process on purpose: Linux carries a parent's peak
    RSS into the ``ru_maxrss`` of every child it starts (the high-water mark survives fork/vfork +
    exec), so a fat benchmark process would inflate every contender's peak memory.
    """
    proc = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True,
                          timeout=LOAD_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr.strip()[-1500:]}")
    return proc.stdout


_GENERATE = """
import duckdb, sys
with duckdb.connect() as conn:
    conn.execute("SET enable_progress_bar = false")
    conn.execute(sys.argv[1])
"""


_LOAD_DUCKDB = """
import duckdb, json, sys
spec = json.loads(sys.argv[1])
with duckdb.connect(spec["database"]) as conn:
    for name, path in spec["tables"].items():
        conn.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
    conn.execute("CHECKPOINT")
print(duckdb.__version__)
"""


def engine_version(python: Path) -> str | None:
    """The DuckDB version importable by ``python``, or None."""
    proc = subprocess.run([str(python), "-c", "import duckdb; print(duckdb.__version__)"],
                          capture_output=True, text=True, timeout=120, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def duckdb_database(python: Path, version: str, workdir: Path, scenario: Scenario, files: dict[str, Path],
                    log: Callable[[str], None]) -> Path:
    """A DuckDB database file holding the scenario's tables, written by ``python``'s DuckDB (cached)."""
    home = scenario_dir(workdir, scenario) / f"duckdb-{version}"
    home.mkdir(parents=True, exist_ok=True)
    database = home / scenario.database
    if not database.is_file():
        started = time.perf_counter()
        partial = home / f"partial-{scenario.database}"
        partial.unlink(missing_ok=True)
        spec = {"database": str(partial), "tables": {k: str(v) for k, v in files.items()}}
        try:
            _child(python, _LOAD_DUCKDB, json.dumps(spec), what=f"loading {database} with DuckDB {version}")
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from exc
        partial.rename(database)
        log(f"  loaded {database} with DuckDB {version} in {time.perf_counter() - started:.1f}s")
    return database


# ------------------------------------------------------------------ PostgreSQL


def postgres_url(base: str, database: str) -> str:
    """``base`` (a libpq URL ending in a database name) pointed at ``database``."""
    return base.rsplit("/", 1)[0] + "/" + database


def drop_postgres(admin_url: str, database: str) -> None:
    """DROP DATABASE (in a child process, like all PostgreSQL work)."""
    _child(sys.executable, _POSTGRES, "drop", json.dumps({"admin": admin_url, "database": database}),
           what=f"dropping {database}")


def load_postgres(admin_url: str, database: str, tables: dict[str, Path], key: str) -> dict[str, Any]:
    """Create ``database`` (unless it already holds ``key``'s tables) and COPY the Parquet files in
    through CSV; returns {"seconds", "reused", "version", "tables": {name: seconds}}."""
    spec = {"admin": admin_url, "database": database, "key": key, "columns": COLUMNS_POSTGRES,
            "url": postgres_url(admin_url, database), "tables": {k: str(v) for k, v in tables.items()}}
    return dict(json.loads(_child(sys.executable, _POSTGRES, "load", json.dumps(spec),
                                  what=f"loading PostgreSQL database {database}")))


_POSTGRES = '''
import json, os, sys, time
import psycopg

action, spec = sys.argv[1], json.loads(sys.argv[2])


def drop():
    with psycopg.connect(spec["admin"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{spec["database"]}" WITH (FORCE)')


def version(conn):
    return "PostgreSQL " + str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]


def copy_in(conn, duck, name, parquet):
    csv = parquet.rsplit(".", 1)[0] + ".csv"
    duck.execute(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{csv}' (HEADER false)")
    conn.execute(f"CREATE TABLE {name} ({spec['columns']})")
    with conn.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy, open(csv, "rb") as handle:
        while block := handle.read(1 << 20):
            copy.write(block)
    os.unlink(csv)
    conn.execute(f"VACUUM ANALYZE {name}")


def load():
    try:
        with psycopg.connect(spec["url"], autocommit=True) as conn:
            row = conn.execute("SELECT key FROM dwbench_loaded").fetchone()
            if row and row[0] == spec["key"]:
                return {"seconds": 0.0, "reused": True, "version": version(conn), "tables": {}}
    except psycopg.Error:
        pass
    import duckdb

    drop()
    with psycopg.connect(spec["admin"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{spec["database"]}"')
    started, took = time.perf_counter(), {}
    with psycopg.connect(spec["url"], autocommit=True) as conn, duckdb.connect() as duck:
        duck.execute("SET enable_progress_bar = false")
        for name, parquet in spec["tables"].items():
            begun = time.perf_counter()
            copy_in(conn, duck, name, parquet)
            took[name] = time.perf_counter() - begun
        conn.execute("CREATE TABLE dwbench_loaded (key TEXT)")
        conn.execute("INSERT INTO dwbench_loaded VALUES (%s)", (spec["key"],))
        return {"seconds": time.perf_counter() - started, "reused": False, "version": version(conn), "tables": took}


if action == "drop":
    drop()
else:
    print(json.dumps(load()))
'''
