"""Run hand-written aggregate statements and print each check's value as JSON (the floor, and naive).

    python _checks_floor.py PLAN.json

Run as a fresh subprocess by whichever Python owns the engine under test (the deploywatch venv's
DuckDB, the Soda venv's DuckDB 1.0, or psycopg for PostgreSQL), so interpreter start-up and driver
import are paid exactly as a checker's CLI pays them. Uses only the standard library and the driver.

PLAN: {"engine": "duckdb"|"postgres", "database": path or conninfo, "now": ISO, "statements":
[{"sql", "grouped", "outputs": [{"check", "freshness"}]}]}. A grouped statement's first column is the
group key. Prints {"values": {check: value | {group: value}}, "query_seconds", "engine_version"}.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def _value(raw: Any, freshness: bool, now: datetime) -> Any:
    if raw is None:
        return None
    if freshness:
        if isinstance(raw, datetime):
            stamp = raw if raw.tzinfo else raw.replace(tzinfo=UTC)
        elif isinstance(raw, date):
            stamp = datetime(raw.year, raw.month, raw.day, tzinfo=UTC)
        else:
            raise TypeError(f"freshness needs a timestamp, got {type(raw).__name__}")
        return (now - stamp).total_seconds()
    if isinstance(raw, Decimal):
        return float(raw)
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    return raw


def _connect(engine: str, database: str) -> tuple[Any, str]:
    if engine == "duckdb":
        import duckdb

        return duckdb.connect(database, read_only=True), duckdb.__version__
    import psycopg

    conn = psycopg.connect(database, autocommit=True)
    version = conn.execute("SHOW server_version").fetchone()
    return conn, f"PostgreSQL {version[0] if version else '?'} (psycopg {psycopg.__version__})"


def run(plan: dict[str, Any]) -> dict[str, Any]:
    """Execute every statement of the plan in order and collect the values by check name."""
    now = datetime.fromisoformat(plan["now"].replace("Z", "+00:00"))
    __import__("duckdb" if plan["engine"] == "duckdb" else "psycopg")  # so the clock below starts at connect
    started = time.perf_counter()
    conn, version = _connect(plan["engine"], plan["database"])
    values: dict[str, Any] = {}
    for statement in plan["statements"]:
        rows = conn.execute(statement["sql"]).fetchall()
        outputs = statement["outputs"]
        if statement["grouped"]:
            for row in rows:
                for out, raw in zip(outputs, row[1:], strict=True):
                    values.setdefault(out["check"], {})[str(row[0])] = _value(raw, out["freshness"], now)
        else:
            for out, raw in zip(outputs, rows[0], strict=True):
                values[out["check"]] = _value(raw, out["freshness"], now)
    conn.close()
    return {"values": values, "query_seconds": time.perf_counter() - started, "engine_version": version}


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        plan = json.load(handle)
    json.dump(run(plan), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
