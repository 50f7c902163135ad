"""Warehouses for tests: tables written into a DuckDB file or a PostgreSQL database, and configs that check them.

A :class:`Table` is a name, typed columns and a few rows. :func:`fill_database` writes tables through a
``duckdb:///`` URL (DuckDB's own Python API), the test session's Spark (``sc://``, see ``testing/spark.py``) or
any SQLAlchemy URL (PostgreSQL in practice); :func:`query` runs a hand-written oracle query the same way.
:class:`ScratchWarehouse` gives each test a DuckDB file, a PostgreSQL schema or an emptied Spark of its own.
:func:`write_checks_config` writes a ``deploywatch.toml`` with ``[warehouse]``,
``[store]`` and ``[[checks]]``; :func:`record_statements` records what deploywatch sends to the warehouse.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from sqlglot import exp

from testing import spark

Row = Sequence[Any]
Params = Mapping[str, Any] | None

# SQLAlchemy's own rule for ``:name`` bind parameters (not ``::`` casts, not ``09:00`` inside literals).
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@dataclass(frozen=True)
class Table:
    """A table to create: ``name`` and column names as SQL (``sales.orders``, ``"Order Items"``), column types
    as SQL (``INTEGER``, ``DOUBLE PRECISION``, ``TIMESTAMPTZ`` …) and its rows, in column order."""

    name: str
    columns: Mapping[str, str]
    rows: Sequence[Row] = field(default_factory=list)

    def create_statements(self, dialect: str) -> list[str]:
        """``CREATE SCHEMA IF NOT EXISTS`` (when the name has one) and ``CREATE TABLE``."""
        table = exp.to_table(self.name, dialect=dialect)
        statements = []
        if table.args.get("db"):
            schema = exp.Table(this=table.args["db"], db=table.args.get("catalog"))
            statements.append(f"CREATE SCHEMA IF NOT EXISTS {schema.sql(dialect=dialect)}")
        columns = ", ".join(f"{name} {kind}" for name, kind in self.columns.items())
        statements.append(f"CREATE TABLE {self.name} ({columns})")
        return statements


def _duckdb_path(url: str) -> str | None:
    """The file of a ``duckdb:///path`` URL (``:memory:`` for none); None for any other URL."""
    if not url.startswith("duckdb://"):
        return None
    return url.split("://", 1)[1][1:].split("?", 1)[0] or ":memory:"


@contextmanager
def _duckdb(path: str) -> Iterator[Any]:
    connection = duckdb.connect(path)
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def fill_database(url: str, tables: Iterable[Table]) -> None:
    """Create ``tables`` (and their schemas) in the database at ``url`` and insert their rows."""
    if spark.is_spark(url):
        spark.fill(url, tables)
        return
    path = _duckdb_path(url)
    if path is not None:
        with _duckdb(path) as conn:
            for table in tables:
                for statement in table.create_statements("duckdb"):
                    conn.execute(statement)
                if table.rows:
                    marks = ", ".join("?" for _ in table.columns)
                    conn.executemany(f"INSERT INTO {table.name} VALUES ({marks})", [list(r) for r in table.rows])
        return
    with _engine(url) as engine, engine.begin() as conn:
        dialect = {"postgresql": "postgres"}.get(engine.dialect.name, engine.dialect.name)
        for table in tables:
            for statement in table.create_statements(dialect):
                conn.exec_driver_sql(statement)
            if table.rows:
                marks = ", ".join(f":p{i}" for i in range(len(table.columns)))
                conn.execute(sa.text(f"INSERT INTO {table.name} VALUES ({marks})"),
                             [{f"p{i}": value for i, value in enumerate(row)} for row in table.rows])


def create_duckdb(path: Path, tables: Iterable[Table]) -> str:
    """Write ``tables`` into a new DuckDB file at ``path``; return its ``duckdb:///`` URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"duckdb:///{path}"
    fill_database(url, tables)
    return url


def execute(url: str, *statements: str) -> None:
    """Run ``statements`` (DDL or DML) and commit."""
    if spark.is_spark(url):
        spark.execute(url, statements)
        return
    path = _duckdb_path(url)
    if path is not None:
        with _duckdb(path) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    with _engine(url) as engine, engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def queries(url: str, statements: Sequence[tuple[str, Params]]) -> list[list[tuple[Any, ...]]]:
    """The rows of each hand-written query (the oracles), run on one connection; ``:name`` binds ``params``."""
    if spark.is_spark(url):
        return spark.queries(url, statements)
    path = _duckdb_path(url)
    if path is not None:
        with _duckdb(path) as conn:
            return [[tuple(row) for row in conn.execute(*_duckdb_bind(sql, params)).fetchall()]
                    for sql, params in statements]
    with _engine(url) as engine, engine.connect() as conn:
        return [[tuple(row) for row in conn.execute(sa.text(sql), dict(params or {}))] for sql, params in statements]


def _duckdb_bind(sql: str, params: Params) -> tuple[str, dict[str, Any] | None]:
    """``:name`` binds as DuckDB's ``$name``, passing only the parameters the statement uses (DuckDB insists)."""
    names = set(_BIND.findall(sql))
    if not names:
        return sql, None
    return _BIND.sub(r"$\1", sql), {k: v for k, v in (params or {}).items() if k in names}


def query(url: str, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
    """The rows of one hand-written query."""
    return queries(url, [(sql, params)])[0]


def scalars(url: str, statements: Sequence[tuple[str, Params]]) -> list[Any]:
    """The single value of each of many one-row, one-column queries, run on one connection."""
    if spark.is_spark(url):
        return spark.scalars(url, statements)
    values = []
    for (sql, _), rows in zip(statements, queries(url, statements), strict=True):
        assert len(rows) == 1 and len(rows[0]) == 1, f"expected one value from {sql!r}, got {rows!r}"
        values.append(rows[0][0])
    return values


def scalar(url: str, sql: str, params: Params = None) -> Any:
    """The single value of a one-row, one-column query."""
    return scalars(url, [(sql, params)])[0]


# ---------------------------------------------------------------- config


def toml_value(value: Any) -> str:
    """``value`` as a TOML value: strings, numbers, booleans, lists and (inline) tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        assert math.isfinite(value), value
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def checks_toml(url: str, checks: Sequence[Mapping[str, Any]], *, warehouse: Mapping[str, Any] | None = None,
                store: str | None = "sqlite:///state.db", extra: str = "") -> str:
    """The text of a ``deploywatch.toml`` with ``[warehouse] url`` (plus ``warehouse`` settings), ``[store]``
    and one ``[[checks]]`` table per mapping; ``extra`` is appended as written (gates, services …)."""
    lines = ["[warehouse]", f"url = {toml_value(url)}"]
    lines += [f"{_key(k)} = {toml_value(v)}" for k, v in (warehouse or {}).items()]
    if store is not None:
        lines += ["", "[store]", f"url = {toml_value(store)}"]
    for check in checks:
        lines += ["", "[[checks]]", *(f"{_key(k)} = {toml_value(v)}" for k, v in check.items())]
    return "\n".join(lines) + "\n" + (f"\n{extra.strip()}\n" if extra.strip() else "")


def write_checks_config(directory: Path, url: str, checks: Sequence[Mapping[str, Any]], *,
                        warehouse: Mapping[str, Any] | None = None, store: str | None = "sqlite:///state.db",
                        extra: str = "") -> Path:
    """Write :func:`checks_toml` as ``directory/deploywatch.toml``; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "deploywatch.toml"
    path.write_text(checks_toml(url, checks, warehouse=warehouse, store=store, extra=extra), encoding="utf-8")
    return path


# ---------------------------------------------------------------- a warehouse per test


class ScratchWarehouse:
    """A warehouse one test fills and checks: a DuckDB file of its own, a schema of its own in a PostgreSQL
    database (the URL sets ``search_path``, so unqualified table names land there and resolve there), or the test
    session's Spark with its ``default`` database emptied (tests run one at a time)."""

    def __init__(self, backend: str, url: str, directory: Path) -> None:
        self.backend = backend  # "duckdb", "postgres" or "spark"
        self.url = url
        self.directory = directory

    @classmethod
    def duckdb(cls, directory: Path, name: str = "warehouse.duckdb") -> ScratchWarehouse:
        """An empty DuckDB file ``directory/name``."""
        return cls("duckdb", create_duckdb(directory / name, []), directory)

    @classmethod
    def postgres(cls, database_url: str, directory: Path) -> ScratchWarehouse:
        """A new, empty schema with a unique name in the PostgreSQL database at ``database_url``."""
        schema = f"t_{uuid.uuid4().hex[:12]}"
        execute(database_url, f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in database_url else "?"
        return cls("postgres", f"{database_url}{separator}options=-csearch_path%3D{schema}", directory)

    @classmethod
    def spark(cls, server: spark.SparkServer, directory: Path) -> ScratchWarehouse:
        """The test session's Spark (an ``sc://`` URL), its ``default`` database emptied."""
        spark.reset(server.url)
        return cls("spark", server.url, directory)

    @property
    def dialect(self) -> str:
        """sqlglot's name for the backend."""
        return self.backend

    def create(self, *tables: Table) -> None:
        """Create ``tables`` with their rows."""
        fill_database(self.url, tables)

    def query(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """The rows of a hand-written query."""
        return query(self.url, sql, params)

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The one value of a hand-written query."""
        return scalar(self.url, sql, params)

    def scalars(self, statements: Sequence[tuple[str, Params]]) -> list[Any]:
        """The one value of each of many hand-written queries, on one connection."""
        return scalars(self.url, statements)

    def write_config(self, checks: Sequence[Mapping[str, Any]], *, directory: Path | None = None,
                     **settings: Any) -> Path:
        """A ``deploywatch.toml`` checking this warehouse (see :func:`write_checks_config` for ``settings``)."""
        return write_checks_config(directory or self.directory / "config", self.url, checks, **settings)


# ---------------------------------------------------------------- watching what runs


@dataclass(frozen=True)
class Executed:
    """One statement deploywatch sent to the warehouse, and the thread that sent it."""

    statement: str
    thread: int


class Recording(list[Executed]):
    """The statements recorded by :func:`record_statements`; ``max_in_flight`` is the most that were being
    started at once (meaningful with a ``delay``)."""

    max_in_flight: int = 0


@contextmanager
def record_statements(*, delay: float = 0.0) -> Iterator[Recording]:
    """Record every statement deploywatch's warehouse runs while the block runs, through
    ``Warehouse.listeners`` (called in the executing thread just before each statement, on every backend).

    ``delay`` holds each statement back that long, so that statements started concurrently overlap and
    ``max_in_flight`` shows how many threads were running statements at once.
    """
    from deploywatch.checks.warehouse import Warehouse

    recording = Recording()
    lock = threading.Lock()
    in_flight = 0

    def listener(statement: str) -> None:
        nonlocal in_flight
        with lock:
            recording.append(Executed(statement, threading.get_ident()))
            in_flight += 1
            recording.max_in_flight = max(recording.max_in_flight, in_flight)
        time.sleep(delay)
        with lock:
            in_flight -= 1

    Warehouse.listeners.append(listener)
    try:
        yield recording
    finally:
        Warehouse.listeners.remove(listener)
