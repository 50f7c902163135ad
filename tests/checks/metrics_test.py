"""Every metric against a hand-written SQL oracle on the same rows, on DuckDB, a real PostgreSQL and a local Spark.

Each oracle is written differently from what the compiler generates (``COUNT(1) … WHERE col IS NULL`` for
``missing_count``, a ``GROUP BY`` subquery for ``duplicate_count``, ``ORDER BY … LIMIT 1`` for ``min`` …) and runs
over the same selection: the whole table, the rows the ``where`` keeps, or one group's rows. An oracle that is
NULL means the check must be ``unknown`` with a reason, never ``ok``.

Spark runs the same oracles except where its SQL differs (:data:`SPARK_ORACLES`, :func:`seconds_before`: it has
no ``EXTRACT(EPOCH …)``), hand-written in Spark SQL; ``TIMESTAMP`` columns are Spark's ``TIMESTAMP_NTZ`` there.

NaN, as the backends treat it (what test_nan_is_never_an_ok_value measures, on DuckDB, PostgreSQL and Spark alike):
``NaN = NaN`` is true and NaN sorts above every number, ``+Infinity`` included, so ``max``, ``avg``, ``sum`` and
``stddev`` of a column holding NaN are NaN, ``min`` skips it (unless every value is NaN), ``percent(x > 0)`` counts
it as greater and ``distinct_count`` counts all NaNs as one value. Where they differ: PostgreSQL also has a NaN
``NUMERIC`` (returned as ``Decimal('NaN')``), DuckDB's ``DECIMAL`` has none. deploywatch reports a NaN or
infinite metric as ``unknown``, whatever the backend.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import deploywatch
from deploywatch import load_config
from deploywatch.checks.results import NULL_GROUP, CanaryReport, CheckResult
from deploywatch.core.errors import ConfigError
from deploywatch.core.status import Status
from testing.postgres import database_for_test
from testing.warehouse import ScratchWarehouse, Table

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
NOW_SQL = "TIMESTAMP '2026-11-23 09:00:00'"  # NOW as a naive UTC timestamp literal, for the oracles
WHERE = "day >= DATE '{{ yesterday }}' - INTERVAL '3 days'"
WHERE_RENDERED = "day >= DATE '2026-11-22' - INTERVAL '3 days'"  # yesterday of NOW, written out by hand

ORDERS_COLUMNS = {"id": "INTEGER", "region": "VARCHAR", "customer": "VARCHAR", "amount": "DOUBLE PRECISION",
                  "quantity": "INTEGER", "created_at": "TIMESTAMP", "day": "DATE"}

# (metric = "…" or sql = "…", the text, an oracle over {rows}: a table or a parenthesised subquery).
METRICS: list[tuple[str, str, str]] = [
    ("metric", "row_count", "SELECT COUNT(1) FROM {rows} AS a"),
    ("metric", "missing_count(customer)", "SELECT COUNT(1) FROM {rows} AS a WHERE customer IS NULL"),
    ("metric", "missing_percent(customer)",
     "SELECT 100.0 * (SELECT COUNT(1) FROM {rows} AS a WHERE customer IS NULL) "
     "/ NULLIF((SELECT COUNT(1) FROM {rows} AS b), 0)"),
    ("metric", "percent(amount > 50 AND quantity >= 2)",
     "SELECT 100.0 * (SELECT COUNT(1) FROM {rows} AS a WHERE amount > 50 AND quantity >= 2) "
     "/ NULLIF((SELECT COUNT(1) FROM {rows} AS b), 0)"),
    ("metric", "ratio(count(customer), row_count)",
     "SELECT 1.0 * (SELECT COUNT(1) FROM {rows} AS a WHERE customer IS NOT NULL) "
     "/ NULLIF((SELECT COUNT(1) FROM {rows} AS b), 0)"),
    ("metric", "ratio(sum(amount), sum(quantity))",
     "SELECT (SELECT SUM(amount) FROM {rows} AS a) / NULLIF((SELECT SUM(quantity) FROM {rows} AS b), 0)"),
    ("metric", "duplicate_count(customer)",
     "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT customer, COUNT(1) AS n FROM {rows} AS a "
     "WHERE customer IS NOT NULL GROUP BY customer) AS d"),
    ("metric", "distinct_count(customer)",
     "SELECT COUNT(1) FROM (SELECT customer FROM {rows} AS a WHERE customer IS NOT NULL GROUP BY customer) AS d"),
    ("metric", "min(amount)",
     "SELECT (SELECT amount FROM {rows} AS a WHERE amount IS NOT NULL ORDER BY amount LIMIT 1)"),
    ("metric", "max(quantity)",
     "SELECT (SELECT quantity FROM {rows} AS a WHERE quantity IS NOT NULL ORDER BY quantity DESC LIMIT 1)"),
    ("metric", "avg(amount)", "SELECT SUM(amount) / NULLIF(COUNT(amount), 0) FROM {rows} AS a"),
    ("metric", "sum(quantity)", "SELECT SUM(quantity) FROM {rows} AS a"),
    ("metric", "stddev(amount)",
     "SELECT SQRT(SUM((amount - m) * (amount - m)) / NULLIF(COUNT(amount) - 1, 0)) "
     "FROM {rows} AS a, (SELECT AVG(amount) AS m FROM {rows} AS b) AS mean"),
    ("metric", "freshness(created_at)", f"SELECT EXTRACT(EPOCH FROM ({NOW_SQL} - MAX(created_at))) FROM {{rows}} AS a"),
    ("metric", "freshness(day)",
     f"SELECT EXTRACT(EPOCH FROM ({NOW_SQL} - CAST(MAX(day) AS TIMESTAMP))) FROM {{rows}} AS a"),
    ("sql", "sum(amount * quantity) / nullif(count(distinct region), 0)",
     "SELECT (SELECT SUM(amount * quantity) FROM {rows} AS a) / NULLIF((SELECT COUNT(1) FROM (SELECT region "
     "FROM {rows} AS b WHERE region IS NOT NULL GROUP BY region) AS c), 0)"),
]

# Spark's spelling of the oracles it cannot run as written: seconds between instants as microseconds apart.
SPARK_ORACLES = {
    "freshness(created_at)": "SELECT (unix_micros(TIMESTAMP '2026-11-23 09:00:00') "
                             "- unix_micros(CAST(MAX(created_at) AS TIMESTAMP))) / 1000000.0 FROM {rows} AS a",
    "freshness(day)": "SELECT (unix_micros(TIMESTAMP '2026-11-23 09:00:00') "
                      "- unix_micros(CAST(MAX(day) AS TIMESTAMP))) / 1000000.0 FROM {rows} AS a",
}


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def postgres_database(request: pytest.FixtureRequest) -> str:
    """One throwaway database for the module; each test gets a schema of its own (creating a database per
    test would cost a third of a second each)."""
    return database_for_test(request)


@pytest.fixture(params=["duckdb", "postgres", pytest.param("spark", marks=pytest.mark.spark)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> ScratchWarehouse:
    """An empty warehouse: a DuckDB file, a fresh schema in the real PostgreSQL, or the test session's Spark."""
    if request.param == "duckdb":
        return ScratchWarehouse.duckdb(tmp_path)
    if request.param == "spark":
        return ScratchWarehouse.spark(request.getfixturevalue("spark_server"), tmp_path)
    return ScratchWarehouse.postgres(request.getfixturevalue("postgres_database"), tmp_path)


def oracles(warehouse: ScratchWarehouse) -> list[str]:
    """The oracle of each of :data:`METRICS`, in the warehouse's SQL."""
    spark = warehouse.backend == "spark"
    return [SPARK_ORACLES.get(text, template) if spark else template for _, text, template in METRICS]


def seconds_before(warehouse: ScratchWarehouse, now: str, newest: str) -> str:
    """SQL for the seconds from ``newest`` (a timestamp or a date) to the timestamp ``now``, in the warehouse's SQL."""
    if warehouse.backend == "spark":
        return f"(unix_micros({now}) - unix_micros(CAST({newest} AS TIMESTAMP))) / 1000000.0"
    return f"EXTRACT(EPOCH FROM ({now} - {newest}))"


def orders_rows(count: int = 60) -> list[tuple[Any, ...]]:
    """Orders with NULLs, duplicate customers, a NULL region and timestamps over the six days before NOW."""
    rng = random.Random(20261123)
    rows = []
    for order_id in range(1, count + 1):
        created_at = dt.datetime(2026, 11, 23, 9) - dt.timedelta(minutes=rng.randint(30, 6 * 24 * 60))
        rows.append((order_id, rng.choice(["east", "east", "west", "north", None]),
                     rng.choice(["ann", "bob", "cy", "dee", "eve", "fay", None]),
                     None if rng.random() < 0.15 else round(rng.uniform(1, 100), 2), rng.randint(0, 6),
                     created_at, created_at.date()))
    return rows


def run(config: Path, **kwargs: Any) -> CanaryReport:
    return deploywatch.run_canary(config=config, now=NOW, record=False, **kwargs)


def by_name(report: CanaryReport) -> dict[str, list[CheckResult]]:
    found: dict[str, list[CheckResult]] = {}
    for result in report.results:
        found.setdefault(result.name, []).append(result)
    return found


def one(report: CanaryReport, name: str) -> CheckResult:
    (result,) = by_name(report)[name]
    return result


def number(value: Any) -> float | None:
    """An oracle value as a float (PostgreSQL returns NUMERIC as Decimal); None stays None."""
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | int | float) else value


def mismatch(result: CheckResult, expected: float | None) -> str | None:
    """Why ``result`` does not agree with the oracle's ``expected`` value (None when it does)."""
    if expected is None:
        if result.status is not Status.UNKNOWN or result.value is not None or not result.reason:
            return f"{result.subject}: oracle is NULL, got {result.status} {result.value!r} ({result.reason!r})"
        return None
    if result.status is Status.UNKNOWN or result.value is None:
        return f"{result.subject}: oracle {expected!r}, got {result.status}: {result.reason}"
    if result.value != pytest.approx(expected, rel=1e-9, abs=1e-9):
        return f"{result.subject}: oracle {expected!r}, got {result.value!r}"
    return None


def metric_checks(table: str, **common: Any) -> list[dict[str, Any]]:
    return [{"name": f"c{i:02d}", "table": table, kind: text, **common} for i, (kind, text, _) in enumerate(METRICS)]


# ---------------------------------------------------------------- every metric, every selection


@pytest.mark.parametrize("selection", ["table", "where", "group_by", "where+group_by"])
def test_every_metric_matches_a_hand_written_query(warehouse: ScratchWarehouse, selection: str) -> None:
    warehouse.create(Table("orders", ORDERS_COLUMNS, orders_rows()))
    filtered = "where" in selection
    grouped = "group_by" in selection
    common: dict[str, Any] = {}
    if filtered:
        common["where"] = WHERE
    if grouped:
        common["group_by"] = "region"
    report = run(warehouse.write_config(metric_checks("orders", **common)))
    base = f"(SELECT * FROM orders WHERE {WHERE_RENDERED})" if filtered else "orders"
    if filtered:  # the filter really filters
        assert 0 < warehouse.scalar(f"SELECT COUNT(1) FROM {base} AS a") < len(orders_rows())

    results = by_name(report)
    pairs: list[tuple[CheckResult, tuple[str, dict[str, Any] | None]]] = []
    groups = [g for (g,) in warehouse.query(f"SELECT region FROM {base} AS a GROUP BY region")]
    assert None in groups and len(groups) >= 3
    for i, ((_, text, _), template) in enumerate(zip(METRICS, oracles(warehouse), strict=True)):
        name = f"c{i:02d}"
        if not grouped:
            (result,) = results[name]
            pairs.append((result, (template.format(rows=base), None)))
            continue
        got = {r.group: r for r in results[name]}
        assert sorted(got, key=str) == sorted((NULL_GROUP if g is None else g for g in groups), key=str), text
        for group in groups:
            condition = "region IS NULL" if group is None else "region = :g"
            rows = f"(SELECT * FROM {base} AS s WHERE {condition})"
            pairs.append((got[NULL_GROUP if group is None else group], (template.format(rows=rows), {"g": group})))
    expected = warehouse.scalars([query for _, query in pairs])
    problems = [mismatch(result, number(value)) for (result, _), value in zip(pairs, expected, strict=True)]
    assert [p for p in problems if p] == []


def test_group_by_two_columns_matches_a_hand_written_group_by(warehouse: ScratchWarehouse) -> None:
    rows = orders_rows()
    warehouse.create(Table("orders", ORDERS_COLUMNS, rows))
    checks = [{"name": "count", "table": "orders", "group_by": ["region", "customer"], "metric": "row_count"},
              {"name": "mean", "table": "orders", "group_by": ["region", "customer"], "metric": "avg(quantity)"}]
    report = run(warehouse.write_config(checks))
    expected = warehouse.query("SELECT region, customer, COUNT(1), SUM(quantity) * 1.0 / COUNT(quantity) "
                               "FROM orders GROUP BY region, customer")
    assert len(expected) > 10

    def key(region: Any, customer: Any) -> tuple[str, str]:
        return (NULL_GROUP if region is None else region, NULL_GROUP if customer is None else customer)

    counts = {key(r.group["region"], r.group["customer"]): r.value for r in by_name(report)["count"]}
    means = {key(r.group["region"], r.group["customer"]): r.value for r in by_name(report)["mean"]}
    assert counts == {key(region, customer): n for region, customer, n, _ in expected}
    assert means == pytest.approx({key(region, customer): float(m) for region, customer, _, m in expected})


# ---------------------------------------------------------------- edge cases of the data


def test_empty_table_counts_are_values_and_everything_else_is_unknown(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("orders", ORDERS_COLUMNS, []))
    checks = [*metric_checks("orders"), {"name": "at_least_one", "table": "orders", "metric": "row_count",
                                         "critical": "< 1"}]
    report = run(warehouse.write_config(checks))
    expected = warehouse.scalars([(template.format(rows="orders"), None) for template in oracles(warehouse)])
    problems = [mismatch(one(report, f"c{i:02d}"), number(value)) for i, value in enumerate(expected)]
    assert [p for p in problems if p] == []
    # Counts of nothing are 0; percent, ratio, avg, min … of nothing have no value, and are never ok.
    valued = {text for (_, text, _), value in zip(METRICS, expected, strict=True) if value is not None}
    assert valued == {"row_count", "missing_count(customer)", "duplicate_count(customer)", "distinct_count(customer)"}
    for i, (_, text, _) in enumerate(METRICS):
        result = one(report, f"c{i:02d}")
        if text not in valued:
            assert "NULL" in result.reason or "no rows" in result.reason, result.reason
    rows = one(report, "at_least_one")
    assert (rows.value, rows.status, rows.reason) == (0, Status.CRITICAL, "0 < 1")


def test_all_null_column(warehouse: ScratchWarehouse) -> None:
    rows = [(i, "east", None, None, None, None, None) for i in range(1, 8)]
    warehouse.create(Table("orders", ORDERS_COLUMNS, rows))
    report = run(warehouse.write_config(metric_checks("orders")))
    expected = warehouse.scalars([(template.format(rows="orders"), None) for template in oracles(warehouse)])
    problems = [mismatch(one(report, f"c{i:02d}"), number(value)) for i, value in enumerate(expected)]
    assert [p for p in problems if p] == []
    # The oracles agree that counting NULLs gives numbers and aggregating them gives nothing.
    assert one(report, "c01").value == 7  # missing_count
    assert one(report, "c02").value == 100  # missing_percent
    assert one(report, "c10").status is Status.UNKNOWN  # avg
    assert one(report, "c13").status is Status.UNKNOWN  # freshness


NAN_METRICS = ["min(x)", "max(x)", "avg(x)", "sum(x)", "stddev(x)", "percent(x > 0)", "distinct_count(x)",
               "duplicate_count(x)", "ratio(sum(x), row_count)"]
NAN_ORACLES = ["SELECT x FROM samples WHERE x IS NOT NULL ORDER BY x LIMIT 1",
               "SELECT x FROM samples WHERE x IS NOT NULL ORDER BY x DESC LIMIT 1",
               "SELECT SUM(x) / COUNT(x) FROM samples", "SELECT SUM(x) FROM samples",
               "SELECT STDDEV_SAMP(x) FROM samples",
               "SELECT 100.0 * SUM(CASE WHEN x > 0 THEN 1 ELSE 0 END) / COUNT(1) FROM samples",
               "SELECT COUNT(1) FROM (SELECT x FROM samples WHERE x IS NOT NULL GROUP BY x) AS d",
               "SELECT COUNT(x) - (SELECT COUNT(1) FROM (SELECT x FROM samples WHERE x IS NOT NULL GROUP BY x) AS d) "
               "FROM samples",
               "SELECT SUM(x) / COUNT(1) FROM samples"]


def test_nan_is_never_an_ok_value(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("samples", {"x": "DOUBLE PRECISION"},
                           [(math.nan,), (math.nan,), (1.5,), (-1.0,), (None,)]))
    checks = [{"name": f"n{i}", "table": "samples", "metric": m} for i, m in enumerate(NAN_METRICS)]
    report = run(warehouse.write_config(checks))
    nan_results = 0
    for i, sql in enumerate(NAN_ORACLES):
        result = one(report, f"n{i}")
        expected = number(warehouse.scalar(sql))
        assert result.value is None or math.isfinite(result.value), result
        if expected is not None and math.isnan(expected):
            nan_results += 1
            assert (result.status, result.value) == (Status.UNKNOWN, None), result
            assert "NaN" in result.reason
        else:
            assert mismatch(result, expected) is None
    # What both backends do (see the module docstring): NaN poisons max, avg, sum, stddev and the ratio.
    assert nan_results == 5
    assert one(report, "n0").value == -1.0  # min skips NaN
    assert one(report, "n5").value == pytest.approx(100 * 3 / 5)  # NaN > 0 holds, twice
    assert one(report, "n6").value == 3  # the two NaNs are one distinct value


def test_postgres_numeric_nan_and_infinity_are_unknown(postgres_database: str, tmp_path: Path) -> None:
    warehouse = ScratchWarehouse.postgres(postgres_database, tmp_path)
    warehouse.create(Table("samples", {"n": "NUMERIC", "f": "DOUBLE PRECISION"},
                           [(Decimal("NaN"), 1.0), (Decimal("2.5"), math.inf)]))
    checks = [{"name": "numeric_sum", "table": "samples", "metric": "sum(n)"},
              {"name": "numeric_min", "table": "samples", "metric": "min(n)"},
              {"name": "float_max", "table": "samples", "metric": "max(f)"},
              {"name": "float_min", "table": "samples", "metric": "min(f)"}]
    report = run(warehouse.write_config(checks))
    assert warehouse.scalar("SELECT SUM(n) FROM samples").is_nan()
    assert (one(report, "numeric_sum").status, one(report, "numeric_sum").value) == (Status.UNKNOWN, None)
    assert "NaN" in one(report, "numeric_sum").reason
    assert one(report, "numeric_min").value == 2.5
    assert (one(report, "float_max").status, one(report, "float_max").value) == (Status.UNKNOWN, None)
    assert "infinite" in one(report, "float_max").reason
    assert (one(report, "float_min").status, one(report, "float_min").value) == (Status.OK, 1.0)


# ---------------------------------------------------------------- what is missing


def test_missing_table_and_missing_column_only_fail_their_checks(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("orders", ORDERS_COLUMNS, orders_rows()))
    checks = [{"name": "rows", "table": "orders", "metric": "row_count"},
              {"name": "typo", "table": "orders", "metric": "avg(amout)"},
              {"name": "spend", "table": "orders", "metric": "sum(amount)"},
              {"name": "buyers", "table": "orders", "metric": "distinct_count(customer)"},
              {"name": "ghost.rows", "table": "ghost", "metric": "row_count"},
              {"name": "ghost.mean", "table": "ghost", "metric": "avg(x)"}]
    report = run(warehouse.write_config(checks))
    assert one(report, "rows").value == warehouse.scalar("SELECT COUNT(1) FROM orders")
    assert one(report, "spend").value == pytest.approx(number(warehouse.scalar("SELECT SUM(amount) FROM orders")))
    assert one(report, "buyers").value == warehouse.scalar(
        "SELECT COUNT(1) FROM (SELECT DISTINCT customer FROM orders WHERE customer IS NOT NULL) AS d")
    assert {one(report, n).status for n in ("rows", "spend", "buyers")} == {Status.OK}
    typo = one(report, "typo")
    assert (typo.status, typo.value) == (Status.UNKNOWN, None)
    assert "amout" in typo.reason
    for name in ("ghost.rows", "ghost.mean"):
        ghost = one(report, name)
        assert (ghost.status, ghost.value) == (Status.UNKNOWN, None)
        assert "ghost" in ghost.reason
    assert report.status is Status.UNKNOWN


def test_on_missing_critical(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("orders", ORDERS_COLUMNS, orders_rows()), Table("empty", ORDERS_COLUMNS, []))
    critical = {"on_missing": "critical"}
    checks = [{"name": "typo", "table": "orders", "metric": "avg(amout)", **critical},
              {"name": "typo.default", "table": "orders", "metric": "max(amout)"},
              {"name": "ghost", "table": "ghost", "metric": "row_count", **critical},
              {"name": "empty.avg", "table": "empty", "metric": "avg(amount)", **critical},
              {"name": "empty.rows", "table": "empty", "metric": "row_count", **critical},
              {"name": "regions", "table": "orders", "metric": "row_count", "group_by": "region",
               "expect_groups": ["east", "south"], **critical}]
    report = run(warehouse.write_config(checks))
    for name in ("typo", "ghost", "empty.avg"):
        assert (one(report, name).status, one(report, name).value) == (Status.CRITICAL, None), name
        assert one(report, name).reason
    assert one(report, "typo.default").status is Status.UNKNOWN
    assert (one(report, "empty.rows").status, one(report, "empty.rows").value) == (Status.OK, 0)
    regions = {r.group: r for r in by_name(report)["regions"]}
    assert regions["south"].status is Status.CRITICAL
    assert regions["east"].status is Status.OK
    assert report.status is Status.CRITICAL


def test_expect_groups_reports_the_missing_group(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("orders", ORDERS_COLUMNS, orders_rows()))
    checks = [{"name": "by_region", "table": "orders", "group_by": "region", "metric": "row_count",
               "expect_groups": ["east", "west", "south"]}]
    report = run(warehouse.write_config(checks))
    present = {g for (g,) in warehouse.query("SELECT DISTINCT region FROM orders")}
    assert "south" not in present and {"east", "west"} <= present
    results = {r.group: r for r in report.results}
    assert set(results) == {NULL_GROUP if g is None else g for g in present} | {"south"}
    south = results["south"]
    assert (south.status, south.value) == (Status.UNKNOWN, None)
    assert "south" in south.reason
    assert all(r.status is Status.OK for g, r in results.items() if g != "south")


# ---------------------------------------------------------------- freshness


def test_freshness_of_timestamp_timestamptz_and_date_columns(warehouse: ScratchWarehouse) -> None:
    columns = {"ts": "TIMESTAMP", "tstz": "TIMESTAMPTZ", "d": "DATE"}
    eastern = dt.timezone(dt.timedelta(hours=-5))
    rows = [(dt.datetime(2026, 11, 22, 21, 15), dt.datetime(2026, 11, 23, 5, 30, tzinfo=dt.UTC), dt.date(2026, 11, 21)),
            (dt.datetime(2026, 11, 20, 3, 0), dt.datetime(2026, 11, 23, 1, 0, tzinfo=eastern), dt.date(2026, 11, 22))]
    warehouse.create(Table("events", columns, rows))
    checks = [{"name": f"fresh.{c}", "table": "events", "metric": f"freshness({c})"} for c in columns]
    report = run(warehouse.write_config(checks))
    now_tz = "TIMESTAMP '2026-11-23 09:00:00+00:00'" if warehouse.backend == "spark" else \
        "TIMESTAMPTZ '2026-11-23 09:00:00+00'"
    ages = {
        "ts": f"SELECT {seconds_before(warehouse, NOW_SQL, 'MAX(ts)')} FROM events",
        "tstz": f"SELECT {seconds_before(warehouse, now_tz, 'MAX(tstz)')} FROM events",
        "d": f"SELECT {seconds_before(warehouse, NOW_SQL, 'CAST(MAX(d) AS TIMESTAMP)')} FROM events",
    }
    problems = [mismatch(one(report, f"fresh.{c}"), number(warehouse.scalar(sql))) for c, sql in ages.items()]
    assert [p for p in problems if p] == []
    assert one(report, "fresh.tstz").value == 3 * 3600  # 01:00-05:00 is 06:00Z, newer than 05:30Z


def test_freshness_reads_naive_timestamps_in_the_warehouse_time_zone(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("events", {"ts": "TIMESTAMP"}, [(dt.datetime(2026, 11, 22, 23, 0),)]))
    checks = [{"name": "fresh", "table": "events", "metric": "freshness(ts)"}]
    utc = run(warehouse.write_config(checks))
    new_york = run(warehouse.write_config(checks, directory=warehouse.directory / "ny",
                                          warehouse={"timezone": "America/New_York"}))
    # NOW is 04:00 in New York (EST, UTC-5): the same naive timestamp is 5 hours older in UTC's reading.
    assert one(utc, "fresh").value == number(warehouse.scalar(
        f"SELECT {seconds_before(warehouse, NOW_SQL, 'MAX(ts)')} FROM events"))
    four_in_new_york = "TIMESTAMP '2026-11-23 04:00:00'"
    assert one(new_york, "fresh").value == number(warehouse.scalar(
        f"SELECT {seconds_before(warehouse, four_in_new_york, 'MAX(ts)')} FROM events"))


def test_freshness_of_an_empty_table_is_unknown(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("events", {"ts": "TIMESTAMP"}, []))
    checks = [{"name": "fresh", "table": "events", "metric": "freshness(ts)", "warn": "> 6h"}]
    result = one(run(warehouse.write_config(checks)), "fresh")
    assert (result.status, result.value) == (Status.UNKNOWN, None)
    assert "no rows" in result.reason and "events" in result.reason


def test_freshness_of_an_all_null_column_says_the_values_are_null(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("events", {"id": "INTEGER", "ts": "TIMESTAMP"}, [(1, None), (2, None)]))
    checks = [{"name": "fresh", "table": "events", "metric": "freshness(ts)"}]
    result = one(run(warehouse.write_config(checks)), "fresh")
    assert (result.status, result.value) == (Status.UNKNOWN, None)
    assert warehouse.scalar("SELECT COUNT(1) FROM events") == 2
    # Two rows matched: the reason must not send whoever reads it looking for a missing load.
    assert "NULL" in result.reason, result.reason


def test_freshness_thresholds_are_durations(warehouse: ScratchWarehouse) -> None:
    ages = {"east": 5, "west": 7, "north": 30}  # hours before NOW of each region's newest row
    rows = [(region, dt.datetime(2026, 11, 23, 9) - dt.timedelta(hours=hours + extra))
            for region, hours in ages.items() for extra in (0, 20)]
    warehouse.create(Table("events", {"region": "VARCHAR", "ts": "TIMESTAMP"}, rows))
    checks = [{"name": "fresh", "table": "events", "group_by": "region", "metric": "freshness(ts)",
               "warn": "> 6h", "critical": "> 1d"}]
    report = run(warehouse.write_config(checks))
    got = {r.group: r for r in report.results}
    for (region, age) in warehouse.query(f"SELECT region, {seconds_before(warehouse, NOW_SQL, 'MAX(ts)')} "
                                         "FROM events GROUP BY region"):
        seconds = float(age)
        expected = Status.CRITICAL if seconds > 86400 else Status.WARNING if seconds > 6 * 3600 else Status.OK
        assert (got[region].value, got[region].status) == (pytest.approx(seconds), expected), region
    assert [got[r].status for r in ("east", "west", "north")] == [Status.OK, Status.WARNING, Status.CRITICAL]


# ---------------------------------------------------------------- thresholds on ratios and percents


def test_percentage_thresholds_mean_a_fraction_on_ratios_and_points_on_percents(warehouse: ScratchWarehouse) -> None:
    delivered = {"a": (9, 10), "b": (3, 4), "c": (1, 100)}  # delivered of shipped: 0.9, 0.75, 0.01
    rows = [(carrier, i < done) for carrier, (done, total) in delivered.items() for i in range(total)]
    warehouse.create(Table("shipments", {"carrier": "VARCHAR", "delivered": "BOOLEAN"}, rows))
    checks = [{"name": "ratio", "table": "shipments", "group_by": "carrier",
               "metric": "ratio(count(CASE WHEN delivered THEN 1 END), row_count)", "critical": "< 80%"},
              {"name": "percent", "table": "shipments", "group_by": "carrier", "metric": "percent(delivered)",
               "critical": "< 80%"}]
    report = run(warehouse.write_config(checks))
    oracle_rows = warehouse.query("SELECT carrier, SUM(CASE WHEN delivered THEN 1 ELSE 0 END) * 1.0 / COUNT(1) "
                                  "FROM shipments GROUP BY carrier")
    fractions = {carrier: float(f) for carrier, f in oracle_rows}
    results = by_name(report)
    ratios = {r.group: r for r in results["ratio"]}
    percents = {r.group: r for r in results["percent"]}
    for carrier, fraction in fractions.items():
        expected = Status.CRITICAL if fraction < 0.8 else Status.OK
        assert (ratios[carrier].value, ratios[carrier].status) == (pytest.approx(fraction), expected)
        assert (percents[carrier].value, percents[carrier].status) == (pytest.approx(100 * fraction), expected)
    # 0.9 would breach "< 80" and 0.75 would pass "< 0.008": the scale decides, both ways.
    assert ratios["a"].status is Status.OK and ratios["b"].status is Status.CRITICAL


# ---------------------------------------------------------------- custom queries


def test_query_returning_one_number(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("orders", ORDERS_COLUMNS, orders_rows()))
    checks = [{"name": "big", "query": "SELECT COUNT(*) FROM orders WHERE amount > 50", "critical": "> 1000"},
              {"name": "dated", "query": "SELECT COUNT(*) FROM orders WHERE day = DATE '{{ yesterday }}'"}]
    report = run(warehouse.write_config(checks))
    assert one(report, "big").value == warehouse.scalar(
        "SELECT SUM(CASE WHEN amount > 50 THEN 1 ELSE 0 END) FROM orders")
    assert one(report, "dated").value == warehouse.scalar(
        "SELECT COUNT(1) FROM orders WHERE day = DATE '2026-11-22'") > 0
    assert {r.status for r in report.results} == {Status.OK}


def test_query_per_group(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("orders", ORDERS_COLUMNS, orders_rows()))
    checks = [{"name": "spend", "group_by": "region", "warn": "> 100000",
               "query": "SELECT region, SUM(amount) FROM orders WHERE region IS NOT NULL GROUP BY region"}]
    report = run(warehouse.write_config(checks))
    got = {r.group: r.value for r in report.results}
    regions = [g for (g,) in warehouse.query("SELECT DISTINCT region FROM orders WHERE region IS NOT NULL")]
    assert len(regions) == 3
    assert got == {g: pytest.approx(number(warehouse.scalar("SELECT SUM(amount) FROM orders WHERE region = :g",
                                                            {"g": g}))) for g in regions}


WRONG_SHAPES = {  # query -> how the reason describes what came back
    "SELECT region FROM orders GROUP BY region": "returned 4 rows of 1 column",
    "SELECT COUNT(*), SUM(quantity) FROM orders": "returned 1 row of 2 columns",
    "SELECT id FROM orders WHERE id < 0": "returned 0 rows",
}


def test_wrong_shaped_query_is_unknown_with_a_clear_reason(warehouse: ScratchWarehouse) -> None:
    warehouse.create(Table("orders", ORDERS_COLUMNS, orders_rows()))
    checks = [{"name": f"odd{i}", "query": sql} for i, sql in enumerate(WRONG_SHAPES)]
    checks += [{"name": "odd_grouped", "group_by": "region", "query": "SELECT COUNT(*) FROM orders GROUP BY region"},
               {"name": "fine", "query": "SELECT COUNT(*) FROM orders"}]
    report = run(warehouse.write_config(checks))
    assert warehouse.scalar("SELECT COUNT(DISTINCT COALESCE(region, '')) FROM orders") == 4
    for i, shape in enumerate(WRONG_SHAPES.values()):
        odd = one(report, f"odd{i}")
        assert (odd.status, odd.value) == (Status.UNKNOWN, None)
        assert "must return one row with one number" in odd.reason and shape in odd.reason, odd.reason
    grouped = one(report, "odd_grouped")
    assert (grouped.status, grouped.value) == (Status.UNKNOWN, None)
    assert "one row per group" in grouped.reason and "returned 4 rows of 1 column" in grouped.reason
    assert one(report, "fine").status is Status.OK


@pytest.mark.parametrize(("group_by", "key", "message"), [
    ('"sum(amount)"', "checks[0].group_by", "group_by cannot be an aggregate: 'sum(amount)'"),
    ('["region", "(day"]', "checks[0].group_by[1]", "cannot parse '(day' as duckdb SQL"),
])
def test_bad_group_by_is_a_config_error_naming_the_key(tmp_path: Path, group_by: str, key: str,
                                                       message: str) -> None:
    path = tmp_path / "deploywatch.toml"
    path.write_text(f'[[checks]]\nname = "c"\ntable = "t"\nmetric = "row_count"\ngroup_by = {group_by}\n',
                    encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert (caught.value.key, caught.value.line) == (key, 5)
    assert caught.value.detail.startswith(message)
