"""Which dialect gets which rewrite of checks/portable.py.

The values the rewrites give are compared in crossengine_test.py (golden SQL read back and run on DuckDB) and
metrics_test.py (count_if on DuckDB and PostgreSQL).
"""

from __future__ import annotations

import pytest
import sqlglot

from deploywatch.checks.portable import portable


@pytest.mark.parametrize(("dialect", "written"), [
    ("duckdb", "LEAST(a, b, c)"), ("postgres", "LEAST(a, b, c)"), ("spark", "LEAST(a, b, c)"),
    ("snowflake", "LEAST_IGNORE_NULLS(a, b, c)"),
    ("bigquery", "LEAST(COALESCE(a, b, c), COALESCE(b, a, c), COALESCE(c, a, b))"),
    ("trino", "LEAST(COALESCE(a, b, c), COALESCE(b, a, c), COALESCE(c, a, b))"),
])
def test_least_skips_nulls_in_every_dialect(dialect: str, written: str) -> None:
    tree = sqlglot.parse_one("least(a, b, c)", read="duckdb")
    assert portable(tree, dialect).sql(dialect=dialect) == written


@pytest.mark.parametrize(("dialect", "written"), [
    ("duckdb", "EPOCH(ts)"), ("postgres", "DATE_PART('epoch', ts)"), ("trino", "TO_UNIXTIME(ts)"),
    ("snowflake", "DATE_PART(epoch_microsecond, ts) / 1000000"), ("bigquery", "UNIX_MICROS(ts) / 1000000"),
])
def test_epoch_keeps_its_fraction_of_a_second(dialect: str, written: str) -> None:
    assert portable(sqlglot.parse_one("epoch(ts)", read="duckdb"), dialect).sql(dialect=dialect) == written


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "bigquery", "snowflake", "trino", "spark"])
def test_count_if_is_a_count_everywhere(dialect: str) -> None:
    tree = sqlglot.parse_one("count_if(amount > 1000)", read="duckdb")
    assert portable(tree, dialect).sql(dialect=dialect) == "COUNT(CASE WHEN amount > 1000 THEN 1 END)"


def test_the_tree_it_is_given_is_left_alone() -> None:
    # Compiled metrics are cached and shared between plans: a rewrite must return a new tree.
    tree = sqlglot.parse_one("count_if(least(a, b) > 0) + max(epoch(ts))", read="duckdb")
    before = tree.sql(dialect="duckdb")
    rewritten = portable(tree, "bigquery")
    assert rewritten is not tree
    assert tree.sql(dialect="duckdb") == before
    untouched = sqlglot.parse_one("sum(amount)", read="duckdb")
    assert portable(untouched, "bigquery") is untouched


@pytest.mark.parametrize(("dialect", "written"), [
    ("duckdb", "DATE_DIFF('WEEK', a, b)"),
    ("bigquery", "DIV(DATE_DIFF(b, a, DAY), 7)"),
    ("snowflake", "CAST(TRUNC(DATEDIFF(DAY, a, b) / 7) AS BIGINT)"),
    ("postgres", "DIV((CAST(b AS DATE) - CAST(a AS DATE)), 7)"),
])
def test_a_week_difference_is_whole_weeks_of_days(dialect: str, written: str) -> None:
    tree = sqlglot.parse_one("date_diff('week', a, b)", read="duckdb")
    assert portable(tree, dialect).sql(dialect=dialect) == written


@pytest.mark.parametrize(("dialect", "written"), [
    ("duckdb", "DAYOFWEEK(d)"), ("trino", "DAY_OF_WEEK(d) % 7"), ("postgres", "EXTRACT(DOW FROM d)"),
    ("bigquery", "EXTRACT(DAYOFWEEK FROM d) - 1"),
])
def test_the_day_of_the_week_counts_from_sunday_0(dialect: str, written: str) -> None:
    assert portable(sqlglot.parse_one("dayofweek(d)", read="duckdb"), dialect).sql(dialect=dialect) == written


@pytest.mark.parametrize(("dialect", "written"), [
    ("snowflake", "MAX(3 / (DATE_PART(epoch_microsecond, ts) / 1000000))"),
    ("bigquery", "SUM(2 * (EXTRACT(DAYOFWEEK FROM d) - 1))"),
    ("spark", "SUM(2 * (DATEDIFF(DAY, a, b) DIV 7))"),
])
def test_a_rewrite_inside_an_operation_keeps_its_parentheses(dialect: str, written: str) -> None:
    metric = {"snowflake": "max(3 / epoch(ts))", "bigquery": "sum(2 * dayofweek(d))",
              "spark": "sum(2 * date_diff('week', a, b))"}[dialect]
    assert portable(sqlglot.parse_one(metric, read="duckdb"), dialect).sql(dialect=dialect) == written
