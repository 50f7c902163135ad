"""The SQL each warehouse dialect gets: golden files of compiled statements, and dialect config errors.

One set of checks, written in DuckDB SQL (``read_dialect = "duckdb"``), is compiled for each warehouse by
``deploywatch canary --explain --format json`` and compared with ``tests/checks/golden/<dialect>.sql``.
After a deliberate change to the generated SQL, rewrite the files with ``DEPLOYWATCH_UPDATE_GOLDEN=1`` and
review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

import deploywatch
from deploywatch import load_config
from deploywatch.cli import main
from deploywatch.core.errors import ConfigError
from testing.warehouse import ScratchWarehouse, Table, record_statements, write_checks_config

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DEPLOYWATCH_UPDATE_GOLDEN") == "1"
NOW_ARG = "2026-11-23T09:00:00Z"
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)

# Warehouse settings per target dialect: the URL tells the dialect, except for spark (a Hive URL and `dialect`).
TARGETS: dict[str, dict[str, str]] = {
    "bigquery": {"url": "bigquery://project/dataset"},
    "snowflake": {"url": "snowflake://account/analytics/public"},
    "trino": {"url": "trino://watcher@trino.example.com:8080/hive"},
    "spark": {"url": "hive://spark.example.com:10000/default", "dialect": "spark"},
    "duckdb": {"url": "duckdb:///warehouse.duckdb"},
    "postgres": {"url": "postgresql://watcher@db.example.com/analytics"},
}

RECENT = "order_date >= DATE '{{ yesterday }}' - INTERVAL 7 DAY AND lower(status) <> 'test'"
ITEMS = '"Sales"."Order Items"'
# Every metric kind, a templated where with an INTERVAL, group_by (one and two columns), quoted identifiers,
# transpiled functions (count_if, approx_count_distinct) and a custom query.
CHECKS: list[dict[str, Any]] = [
    {"name": "orders.rows", "table": "sales.orders", "where": RECENT, "metric": "row_count", "critical": "< 1"},
    {"name": "orders.paid", "table": "sales.orders", "where": RECENT,
     "metric": "percent(status IN ('paid', 'shipped'))"},
    {"name": "orders.big", "table": "sales.orders", "where": RECENT, "sql": "count_if(amount > 1000)"},
    {"name": "orders.customer_missing", "table": "sales.orders", "metric": "missing_count(customer_id)"},
    {"name": "orders.customer_missing_pct", "table": "sales.orders", "metric": "missing_percent(customer_id)"},
    {"name": "orders.duplicates", "table": "sales.orders", "metric": "duplicate_count(order_id)"},
    {"name": "orders.customers", "table": "sales.orders", "metric": "distinct_count(customer_id)"},
    {"name": "orders.customers_approx", "table": "sales.orders", "sql": "approx_count_distinct(customer_id)"},
    {"name": "orders.fresh", "table": "sales.orders", "metric": "freshness(created_at)", "warn": "> 6h"},
    {"name": "orders.min", "table": "sales.orders", "metric": "min(amount)"},
    {"name": "orders.max", "table": "sales.orders", "metric": "max(amount)"},
    {"name": "orders.avg", "table": "sales.orders", "metric": "avg(amount)"},
    {"name": "orders.sum", "table": "sales.orders", "metric": "sum(amount)"},
    {"name": "orders.stddev", "table": "sales.orders", "metric": "stddev(amount)"},
    {"name": "orders.per_customer", "table": "sales.orders",
     "metric": "ratio(sum(amount), count(DISTINCT customer_id))", "warn": "< 80%"},
    {"name": "orders.by_region", "table": "sales.orders", "group_by": "region", "metric": "row_count",
     "expect_groups": ["east", "west"]},
    {"name": "items.price_missing", "table": ITEMS, "group_by": ["region", '"Sales Channel"'],
     "metric": 'missing_percent("Unit Price")'},
    {"name": "items.priced", "table": ITEMS, "group_by": ["region", '"Sales Channel"'],
     "metric": 'ratio(count("Unit Price"), row_count)'},
    {"name": "items.custom", "query": "SELECT count(*) FROM sales.orders WHERE order_date = DATE '{{ yesterday }}'"},
]

TABLES = [
    Table("sales.orders", {"order_id": "INTEGER", "customer_id": "INTEGER", "region": "VARCHAR", "status": "VARCHAR",
                           "amount": "DOUBLE PRECISION", "order_date": "DATE", "created_at": "TIMESTAMP"},
          [(1, 10, "east", "paid", 1200.0, dt.date(2026, 11, 20), dt.datetime(2026, 11, 22, 10)),
           (2, None, "west", "TEST", 5.0, dt.date(2026, 11, 22), dt.datetime(2026, 11, 22, 11))]),
    Table(ITEMS, {"region": "VARCHAR", '"Sales Channel"': "VARCHAR", '"Unit Price"': "DOUBLE PRECISION"},
          [("east", "web", 9.5), ("east", "web", None)]),
]


def explain(directory: Path, target: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    config = write_checks_config(directory, TARGETS[target]["url"], CHECKS,
                                 warehouse={"read_dialect": "duckdb", **{k: v for k, v in TARGETS[target].items()
                                                                         if k != "url"}})
    code = main(["canary", "--explain", "--format", "json", "--now", NOW_ARG, "--config", str(config)])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, ""), captured.err
    result: dict[str, Any] = json.loads(captured.out)
    return result


def golden_text(target: str, explained: dict[str, Any]) -> str:
    statements = explained["statements"]
    lines = [f"-- {len(CHECKS)} checks in {len(statements)} statements for {explained['dialect']}, read as duckdb, "
             f"at --now {NOW_ARG}",
             "-- generated by tests/checks/dialects_test.py; rewrite with DEPLOYWATCH_UPDATE_GOLDEN=1"]
    for statement in statements:
        lines += ["", f"-- {statement['id']} ({statement['kind']}): {', '.join(statement['checks'])}",
                  f"{statement['sql']};"]
    return "\n".join(lines) + "\n"


def golden_statements(target: str) -> list[tuple[str, str]]:
    """``(kind, sql)`` of each statement in a golden file."""
    kind = ""
    found = []
    for line in (GOLDEN / f"{target}.sql").read_text(encoding="utf-8").splitlines():
        if line.startswith("-- s"):
            kind = line.split("(", 1)[1].split(")", 1)[0]
        elif line and not line.startswith("--"):
            assert line.endswith(";"), line
            found.append((kind, line[:-1]))
    return found


@pytest.mark.parametrize("target", TARGETS)
def test_compiled_statements_match_the_golden_file(target: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    explained = explain(tmp_path, target, capsys)
    assert explained["dialect"] == target
    text = golden_text(target, explained)
    path = GOLDEN / f"{target}.sql"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with DEPLOYWATCH_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
    # One statement per (table, where, group_by), whatever the dialect.
    assert [s["checks"] for s in explained["statements"]] == [
        [c["name"] for c in CHECKS[:3]], [c["name"] for c in CHECKS[3:15]], ["orders.by_region"],
        ["items.price_missing", "items.priced"], ["items.custom"]]


@pytest.mark.parametrize("target", TARGETS)
def test_golden_statements_parse_back_in_their_dialect(target: str) -> None:
    statements = golden_statements(target)
    assert len(statements) == 5
    for kind, sql in statements:
        parsed = sqlglot.parse_one(sql, read=target)
        assert isinstance(parsed, exp.Select), sql
        if kind == "scan":  # generated by deploywatch: stable when sqlglot writes it again
            assert parsed.sql(dialect=target) == sql
            assert parsed.find(exp.Table) is not None


def test_golden_files_transpile_the_same_checks() -> None:
    # The same quoted names reach every dialect, each in its own quoting.
    quoting = {"bigquery": "`Unit Price`", "spark": "`Unit Price`"}
    for target in TARGETS:
        text = (GOLDEN / f"{target}.sql").read_text(encoding="utf-8")
        assert quoting.get(target, '"Unit Price"') in text, target
        assert "2026-11-22" in text  # {{ yesterday }} of --now
        assert "{{" not in text


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_the_golden_statements_run_in_the_real_engine(target: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    if target == "duckdb":
        warehouse = ScratchWarehouse.duckdb(tmp_path)
    else:
        warehouse = ScratchWarehouse("postgres", request.getfixturevalue("postgres_url"), tmp_path)
    warehouse.create(*TABLES)
    config = warehouse.write_config(CHECKS, warehouse={"read_dialect": "duckdb"})
    with record_statements() as executed:
        report = deploywatch.run_canary(config=config, now=NOW, record=False)
    ran = {e.statement for e in executed}
    assert {sql for _, sql in golden_statements(target)} <= ran
    unknown = {r.subject: r.reason for r in report.results if r.value is None}
    if target == "duckdb":
        assert unknown == {}
    else:
        # sqlglot has no PostgreSQL spelling of approx_count_distinct and writes APPROX_DISTINCT, which PostgreSQL
        # lacks: that check alone is unknown (its statement is retried metric by metric), the others have values.
        assert list(unknown) == ["orders.customers_approx"]
        assert "approx_distinct" in unknown["orders.customers_approx"]
    assert {r.subject for r in report.results} >= {"orders.by_region[east]", "orders.by_region[west]",
                                                  'items.price_missing[region=east, "Sales Channel"=web]'}


# ---------------------------------------------------------------- dialect config errors


def write(tmp_path: Path, **warehouse: str) -> Path:
    url = warehouse.pop("url")
    return write_checks_config(tmp_path, url, CHECKS[:1], warehouse=warehouse)


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


def test_a_url_whose_dialect_cannot_be_told_names_warehouse_url(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, url="exotic+driver://host/db")
    error = config_error(path)
    assert error.key == "warehouse.url"
    assert "'exotic'" in str(error) and "warehouse.dialect" in str(error)
    assert main(["canary", "--explain", "--config", str(path), "--now", NOW_ARG]) == 3
    err = capsys.readouterr().err
    assert "warehouse.url" in err and "Traceback" not in err
    # Telling the dialect fixes it.
    assert load_config(write(tmp_path / "fixed", url="exotic+driver://host/db", dialect="trino"))


def test_an_unknown_dialect_names_warehouse_dialect(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, url="postgresql://h/db", dialect="postgress"))
    assert error.key == "warehouse.dialect"
    assert "'postgress'" in str(error)


def test_an_unknown_read_dialect_names_warehouse_read_dialect(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, url="duckdb:///w.duckdb", read_dialect="duck"))
    assert error.key == "warehouse.read_dialect"
    assert "'duck'" in str(error)


def test_an_unknown_dialect_next_to_a_good_read_dialect_names_warehouse_dialect(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, url="postgresql://h/db", dialect="postgress", read_dialect="duckdb"))
    assert error.key == "warehouse.dialect"
    assert "'postgress'" in str(error)
