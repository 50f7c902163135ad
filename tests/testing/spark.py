"""A local Spark for tests: one per test session, tables written into it, hand-written Spark SQL run on it.

:class:`SparkServer` is deploywatch's own local Spark (``checks/spark.py``: a Spark Connect server on an
ephemeral port with a token) held open for the whole test session, so that every ``sc://`` warehouse a test opens
(and every ``spark://local`` one in this process) reaches it without a 10-second start each. Tables are managed
tables in its ``default`` database (a ``spark-warehouse`` under the session's temporary folder), visible to every
Spark Connect session of the server; :func:`reset` empties the database between tests.

Without PySpark or Java the Spark tests skip, except in CI (``CI=true``), where that fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

# The column types the tests write (PostgreSQL's spelling) as Spark's: TIMESTAMP is a wall-clock time there
# (TIMESTAMP_NTZ), TIMESTAMPTZ an instant (Spark's TIMESTAMP).
SPARK_TYPES = {"INTEGER": "INT", "BIGINT": "BIGINT", "VARCHAR": "STRING", "TEXT": "STRING",
               "DOUBLE PRECISION": "DOUBLE", "DOUBLE": "DOUBLE", "BOOLEAN": "BOOLEAN", "DATE": "DATE",
               "TIMESTAMP": "TIMESTAMP_NTZ", "TIMESTAMPTZ": "TIMESTAMP", "NUMERIC": "DECIMAL(38, 10)"}

_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")  # as testing/warehouse.py binds ``:name``


def require_spark() -> None:
    """Skip the test without PySpark's Spark Connect client or Java; in CI, fail instead."""
    missing = [name for name in ("pyspark", "grpc", "pyarrow", "pandas") if importlib.util.find_spec(name) is None]
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        missing.append("java")
    if not missing:
        return
    if IN_CI:
        pytest.fail(f"the Spark tests need {', '.join(missing)} (pip install -e '.[dev]'; Java 17+); "
                    "CI never skips them")
    pytest.skip(f"no {', '.join(missing)}: the Spark tests are skipped (CI runs them)")


class SparkServer:
    """The test session's local Spark and a Spark Connect session on it that writes tables and runs oracles."""

    def __init__(self, directory: Path) -> None:
        from pyspark.sql.connect.session import SparkSession

        from deploywatch.checks.spark import acquire_local

        settings = {"spark.sql.session.timeZone": "UTC", "spark.sql.shuffle.partitions": "2",
                    "spark.default.parallelism": "2", "spark.sql.warehouse.dir": str(directory / "spark-warehouse")}
        self.local = acquire_local("local[2]", settings, directory)
        self.url = self.local.url
        self.session: Any = SparkSession(connection=self.url)
        _servers[self.url] = self

    def close(self) -> None:
        from deploywatch.checks.spark import release_local

        _servers.pop(self.url, None)
        try:
            self.session.stop()
        finally:
            release_local(self.local)


_servers: dict[str, SparkServer] = {}


def is_spark(url: str) -> bool:
    """Whether ``url`` is the test session's Spark (``sc://…``)."""
    return url.startswith("sc://")


def _session(url: str) -> Any:
    return _servers[url].session


def reset(url: str) -> None:
    """Drop every table and view of the ``default`` database (what the last test left)."""
    session = _session(url)
    for row in session.sql("SHOW TABLES IN default").collect():
        if not row.isTemporary:
            kind = "VIEW" if session.catalog.getTable(f"default.{row.tableName}").tableType == "VIEW" else "TABLE"
            session.sql(f"DROP {kind} IF EXISTS default.`{row.tableName}`").collect()


def fill(url: str, tables: Iterable[Any]) -> None:
    """Write each :class:`~testing.warehouse.Table` as a managed table (column types as :data:`SPARK_TYPES`)."""
    session = _session(url)
    for table in tables:
        schema = ", ".join(f"`{name}` {SPARK_TYPES[kind.upper()]}" for name, kind in table.columns.items())
        frame = session.createDataFrame([tuple(row) for row in table.rows], schema=schema)
        frame.write.mode("overwrite").saveAsTable(table.name)


def execute(url: str, statements: Sequence[str]) -> None:
    """Run ``statements`` (DDL, DML)."""
    for statement in statements:
        _session(url).sql(statement).collect()


def queries(url: str, statements: Sequence[tuple[str, Mapping[str, Any] | None]]) -> list[list[tuple[Any, ...]]]:
    """The rows of each hand-written Spark SQL query; ``:name`` binds a parameter (Spark's own named markers)."""
    session = _session(url)
    results = []
    for sql, params in statements:
        names = set(_BIND.findall(sql))
        args = {k: v for k, v in (params or {}).items() if k in names} or None
        table = session.sql(sql, args=args).toArrow()
        results.append(list(zip(*(column.to_pylist() for column in table.columns), strict=True)))
    return results


def scalars(url: str, statements: Sequence[tuple[str, Mapping[str, Any] | None]], *, batch: int = 40) -> list[Any]:
    """The one value of each one-row, one-column query, asked ``batch`` at a time as the scalar subqueries of one
    ``SELECT`` (each Spark statement costs a round of planning and scheduling; the queries are unchanged)."""
    values: list[Any] = []
    for start in range(0, len(statements), batch):
        chunk = statements[start:start + batch]
        args: dict[str, Any] = {}
        columns = []
        for i, (sql, params) in enumerate(chunk):
            for name in set(_BIND.findall(sql)):
                args[f"{name}_{i}"] = (params or {})[name]
            columns.append(f"({_BIND.sub(lambda m, i=i: f':{m.group(1)}_{i}', sql)}) AS v{i}")
        table = _session(url).sql(f"SELECT {', '.join(columns)}", args=args or None).toArrow()
        assert table.num_rows == 1, table
        values.extend(column[0].as_py() for column in table.columns)
    return values
