"""The cross-engine guard: every golden file's SQL, transpiled back to DuckDB, gives the native DuckDB plan's values.

BigQuery, Snowflake and Trino have no engine in the test run, only golden SQL (tests/checks/dialects_test.py).
Each golden statement is read in its dialect and written as DuckDB SQL by sqlglot, run on DuckDB over
``EDGE_TABLES`` (NULLs, empty strings, midnight, DST and month-end timestamps, large and negative numbers,
duplicates, groups), and compared metric by metric and group by group with ``golden/duckdb.sql``, the plan
compiled for DuckDB. A spelling that changes meaning on the way out (a LEAST that stops skipping NULLs, epoch
seconds that lose their fraction, a date difference in other units or argument order) comes back as different
SQL and a different value.

Where sqlglot reads a dialect's SQL back with another meaning than the engine documents, the tree it reads is
corrected first (``READ_AS_DOCUMENTED``, each with the documented meaning). What it cannot see: an error sqlglot
makes the same way in both directions (a function the target engine does not have, read back as the DuckDB
function it was written from) round-trips to the same SQL. Those are found by reading the engine's
documentation, not here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from testing.golden_checks import EDGE_TABLES, GOLDEN, golden_statements

NATIVE = "duckdb"
# The dialects with no engine in the test run, whose golden files this guard is for. Every other golden file goes
# through it too (PostgreSQL costs milliseconds), unless it is checked on its own engine and named here with why.
GOLDEN_ONLY = {"bigquery", "snowflake", "trino"}
CHECKED_ELSEWHERE = {
    # sqlglot reads Spark's DATEDIFF(HOUR, a, b) back as a difference of CAST(… AS DATE)s, which is not what
    # Spark computes (whole hours elapsed); Spark's metric values are compared with Spark SQL on Spark itself.
    "spark": "runs on a local Spark session",
}
ROUND_TRIPPED = sorted(p.stem for p in GOLDEN.glob("*.sql") if p.stem != NATIVE and p.stem not in CHECKED_ELSEWHERE)

# Metrics compared with a tolerance, by the function that makes them approximate. On these few rows DuckDB's
# approx_quantile (a T-Digest) and approx_count_distinct (HyperLogLog) are exact, but a dialect's approximate
# spelling may come back as another approximate function (BigQuery's APPROX_QUANTILES(x, 2)[1]), and two
# approximations of one quantile may legitimately differ: within 1% of the value's magnitude is the same answer.
APPROXIMATE = ("APPROX_QUANTILE", "APPROX_COUNT_DISTINCT")
APPROXIMATE_TOLERANCE = 0.01

Result = dict[tuple[Any, ...], dict[str, Any]]  # group values -> metric alias -> value


def _bigquery_day_of_week(node: exp.Expr) -> exp.Expr:
    # BigQuery documents EXTRACT(DAYOFWEEK …) as 1 … 7 from Sunday; sqlglot reads it back as DuckDB's
    # EXTRACT(DAYOFWEEK …), 0 … 6 from Sunday. DuckDB's is one less.
    if isinstance(node, exp.Extract) and node.this.name.upper() == "DAYOFWEEK":
        return exp.paren(exp.Add(this=node.copy(), expression=exp.Literal.number(1)), copy=False)
    return node


# Where sqlglot reads a dialect's SQL back with another meaning than the engine documents (the forward SQL is
# right, its reading is not): rewrites of the tree sqlglot reads, before it is written as DuckDB SQL.
READ_AS_DOCUMENTED: dict[str, list[Callable[[exp.Expr], exp.Expr]]] = {"bigquery": [_bigquery_day_of_week]}


def read_back(sql: str, dialect: str) -> str:
    """``sql`` of ``dialect`` as DuckDB SQL, failing on what sqlglot cannot write for DuckDB (and would drop)."""
    tree = sqlglot.parse_one(sql, read=dialect)
    for documented in READ_AS_DOCUMENTED.get(dialect, []):
        tree = tree.transform(documented)
    return tree.sql(dialect=NATIVE, unsupported_level=ErrorLevel.RAISE)


@pytest.fixture(scope="module")
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    for table in EDGE_TABLES:
        for statement in table.create_statements("duckdb"):
            connection.execute(statement)
        marks = ", ".join("?" for _ in table.columns)
        connection.executemany(f"INSERT INTO {table.name} VALUES ({marks})", [list(r) for r in table.rows])
    yield connection
    connection.close()


def run(connection: duckdb.DuckDBPyConnection, sql: str) -> Result:
    """The statement's rows keyed by their group columns (``g0``, ``g1`` …); a custom query's one value as ``m0``."""
    cursor = connection.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if not any(n.startswith("g") for n in names) and not any(n.startswith("m") for n in names):
        names = ["m0"]  # a custom query names its value as it likes
    result: Result = {}
    for row in rows:
        values = dict(zip(names, row, strict=True))
        key = tuple(v for n, v in values.items() if n.startswith("g"))
        assert key not in result, f"two rows for group {key!r} from {sql}"
        result[key] = {n: v for n, v in values.items() if n.startswith("m")}
    return result


def native_results(connection: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, Result]]:
    """Statement id -> (its SQL, its values) of the plan compiled for DuckDB."""
    return {sid: (sql, run(connection, sql)) for sid, _, sql in golden_statements(NATIVE)}


def approximate(native_sql: str) -> set[str]:
    """The metric columns of a native statement computed by an approximate aggregate (in any of its sub-selects:
    DuckDB's plan aggregates DISTINCT arguments apart and selects ``p0.m4`` … from them)."""
    return {alias.alias for alias in sqlglot.parse_one(native_sql, read=NATIVE).find_all(exp.Alias)
            if alias.this.sql(dialect=NATIVE).upper().startswith(APPROXIMATE)}


def same(expected: Any, got: Any, *, tolerance: float) -> bool:
    if isinstance(expected, float) or isinstance(got, float):
        if expected is None or got is None:
            return expected is got
        return math.isclose(float(expected), float(got), rel_tol=tolerance, abs_tol=0.0) or (
            math.isnan(float(expected)) and math.isnan(float(got)))
    return bool(expected == got)


def test_the_golden_only_dialects_are_all_guarded() -> None:
    # The parametrisation below is the golden directory itself: a golden file added for any dialect is guarded
    # from the moment it exists; this fails if one of the three were renamed, removed or excused instead.
    assert set(ROUND_TRIPPED) >= GOLDEN_ONLY
    assert not GOLDEN_ONLY & set(CHECKED_ELSEWHERE)
    assert (GOLDEN / f"{NATIVE}.sql").exists()
    assert set(CHECKED_ELSEWHERE) <= {p.stem for p in GOLDEN.glob("*.sql")}, "an excuse for a file that is gone"


@pytest.mark.parametrize("dialect", ROUND_TRIPPED)
def test_golden_sql_transpiled_back_gives_the_native_values(dialect: str,
                                                            warehouse: duckdb.DuckDBPyConnection) -> None:
    native = native_results(warehouse)
    statements = golden_statements(dialect)
    assert [sid for sid, _, _ in statements] == list(native), "the golden files place checks differently"
    differences = []
    for sid, kind, sql in statements:
        native_sql, expected = native[sid]
        back = read_back(sql, dialect)
        got = run(warehouse, back)
        assert set(got) == set(expected), f"{dialect} {sid}: groups {sorted(got, key=repr)} != " \
                                          f"{sorted(expected, key=repr)}\n{back}"
        approximated = approximate(native_sql) if kind == "scan" else set()
        for group, metrics in expected.items():
            for alias, value in metrics.items():
                tolerance = APPROXIMATE_TOLERANCE if alias in approximated else 0.0
                if not same(value, got[group][alias], tolerance=tolerance):
                    differences.append(f"{sid}.{alias} group {group!r}: duckdb {value!r}, "
                                       f"{dialect} {got[group][alias]!r}\n    {dialect}: {sql}\n    back: {back}")
    assert not differences, f"{len(differences)} metric values differ:\n" + "\n".join(differences)


# What checks/portable.py rewrites, as sqlglot alone writes it: the edge rows must tell each from DuckDB's value,
# or the guard would pass without seeing it. When a case fails here, sqlglot writes it right by itself: drop the
# rewrite from portable.py and the case from this list.
SQLGLOT_ALONE_DIFFERS = [
    ("bigquery", "sum(least(parcels, 3))"), ("trino", "sum(least(parcels, 3))"),
    ("snowflake", "sum(epoch(delivered_at))"),
    ("bigquery", "sum(date_diff('week', shipped_on, delivered_on))"),
    ("snowflake", "sum(date_diff('week', shipped_on, delivered_on))"),
    ("postgres", "sum(date_diff('week', shipped_at, delivered_at))"),
    ("trino", "sum(dayofweek(delivered_on))"), ("bigquery", "sum(dayofweek(delivered_on))"),
    ("snowflake", "count_if(signed)"), ("postgres", "count_if(signed)"),
]


@pytest.mark.parametrize(("dialect", "metric"), SQLGLOT_ALONE_DIFFERS)
def test_the_edge_rows_show_what_sqlglot_alone_gets_wrong(dialect: str, metric: str,
                                                          warehouse: duckdb.DuckDBPyConnection) -> None:
    sql = f"SELECT carrier AS g0, {metric} AS m0 FROM sales.shipments GROUP BY carrier"
    forward = sqlglot.parse_one(sql, read=NATIVE).sql(dialect=dialect)  # without checks/portable.py
    assert run(warehouse, read_back(forward, dialect)) != run(warehouse, sql), forward
