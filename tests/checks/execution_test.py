"""How checks run in the warehouse: one statement per (table, where, group_by), aggregates only, concurrency,
timeouts, and warehouses that cannot be reached. Statements are counted by listening on SQLAlchemy's ``Engine``."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlglot import exp

import deploywatch
from deploywatch.checks.results import CanaryReport, CheckResult
from deploywatch.cli import main
from deploywatch.core.status import Status
from testing.postgres import database_for_test
from testing.warehouse import ScratchWarehouse, Table, execute, record_statements, write_checks_config

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
NOW_ARG = "2026-11-23T09:00:00Z"
YESTERDAY = dt.date(2026, 11, 22)
ON_YESTERDAY = "day = DATE '{{ yesterday }}'"
IN_EAST = "region = 'east'"

ORDERS = Table("orders", {"id": "INTEGER", "region": "VARCHAR", "customer": "VARCHAR", "amount": "DOUBLE PRECISION",
                          "day": "DATE"},
               [(i, ["east", "west", "north"][i % 3], f"c{i % 7}" if i % 5 else None, i * 1.5,
                 YESTERDAY - dt.timedelta(days=i % 4)) for i in range(1, 41)])
CUSTOMERS = Table("customers", {"name": "VARCHAR", "email": "VARCHAR"},
                  [(f"c{i}", f"c{i % 5}@example.com") for i in range(12)])
EVENTS = Table("events", {"kind": "VARCHAR", "ts": "TIMESTAMP", "day": "DATE"},
               [("click", dt.datetime(2026, 11, 22, h), YESTERDAY) for h in range(0, 24, 3)])

# 14 checks on 3 tables with 2 different filters, a grouped scan and a custom query: 7 statements.
CHECKS: list[dict[str, Any]] = [
    {"name": "orders.rows", "table": "orders", "metric": "row_count", "critical": "< 1"},
    {"name": "orders.rows_again", "table": "orders", "metric": "row_count", "warn": "> 1000"},  # same COUNT(*)
    {"name": "orders.customer_missing", "table": "orders", "metric": "missing_count(customer)"},
    {"name": "orders.customer_dups", "table": "orders", "metric": "duplicate_count(customer)"},
    {"name": "orders.customers", "table": "orders", "metric": "distinct_count(customer)"},
    {"name": "orders.yesterday", "table": "orders", "where": ON_YESTERDAY, "metric": "row_count"},
    {"name": "orders.yesterday_avg", "table": "orders", "where": ON_YESTERDAY, "metric": "avg(amount)"},
    {"name": "orders.east", "table": "orders", "where": IN_EAST, "metric": "sum(amount)"},
    {"name": "orders.by_region", "table": "orders", "group_by": "region", "metric": "row_count"},
    {"name": "customers.rows", "table": "customers", "metric": "row_count"},
    {"name": "customers.email_dups", "table": "customers", "metric": "duplicate_count(email)"},
    {"name": "events.fresh", "table": "events", "where": ON_YESTERDAY, "metric": "freshness(ts)", "warn": "> 1d"},
    {"name": "events.rows", "table": "events", "where": ON_YESTERDAY, "metric": "row_count"},
    {"name": "custom", "query": "SELECT COUNT(*) FROM events WHERE kind = 'click'"},
]
SCANS = {("orders", None, None), ("orders", ON_YESTERDAY, None), ("orders", IN_EAST, None),
         ("orders", None, "region"), ("customers", None, None), ("events", ON_YESTERDAY, None)}
STATEMENTS = len(SCANS) + 1  # one per (table, where, group_by), and the custom query


@pytest.fixture(scope="module")
def postgres_database(request: pytest.FixtureRequest) -> str:
    """One throwaway database for the module; each test gets a schema of its own."""
    return database_for_test(request)


@pytest.fixture(params=["duckdb", "postgres", pytest.param("spark", marks=pytest.mark.spark)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> ScratchWarehouse:
    """A warehouse holding orders, customers and events: a DuckDB file, a schema in the real PostgreSQL, or the
    test session's Spark."""
    if request.param == "duckdb":
        built = ScratchWarehouse.duckdb(tmp_path)
    elif request.param == "spark":
        built = ScratchWarehouse.spark(request.getfixturevalue("spark_server"), tmp_path)
    else:
        built = ScratchWarehouse.postgres(request.getfixturevalue("postgres_database"), tmp_path)
    built.create(ORDERS, CUSTOMERS, EVENTS)
    return built


def run(config: Path, **kwargs: Any) -> CanaryReport:
    return deploywatch.run_canary(config=config, now=NOW, record=False, **kwargs)


def one(report: CanaryReport, name: str) -> CheckResult:
    (result,) = [r for r in report.results if r.name == name]
    return result


def canary(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["canary", "--now", NOW_ARG, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def aggregate_selects(select: exp.Select) -> list[exp.Select]:
    """The SELECTs that aggregate: the statement itself, or the sub-selects of its cross-joined form (DuckDB
    computes distinct counts in sub-selects of their own)."""
    subqueries = [e.this for e in (select.args["from_"].this, *(j.this for j in select.args.get("joins") or []))
                  if isinstance(e, exp.Subquery)]
    if not subqueries:
        return [select]
    assert all(isinstance(c, exp.Column) and c.table for c in select.expressions), select.sql()
    return subqueries


def explained_statements(text: str) -> list[str]:
    """The SQL statements in ``canary --explain`` output (comment lines dropped, split at ``;``)."""
    sql = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [s.strip() for s in sql.split(";") if s.strip()]


# ---------------------------------------------------------------- one statement per scan


def test_one_statement_per_table_where_and_group_by(warehouse: ScratchWarehouse) -> None:
    with record_statements() as executed:
        report = run(warehouse.write_config(CHECKS))
    statements = [e.statement for e in executed]
    assert len(statements) == STATEMENTS == 7
    assert report.statements == len(statements)
    assert {r.status for r in report.results} == {Status.OK}, [r for r in report.results if r.status != Status.OK]

    dialect = warehouse.dialect
    scans = set()
    for statement in statements:
        select = sqlglot.parse_one(statement, read=dialect)
        assert isinstance(select, exp.Select)
        table = select.find(exp.Table)
        assert table is not None
        where = select.args.get("where")
        group = select.args.get("group")
        scans.add((table.name, where, group))
    assert len(scans) == STATEMENTS  # no two statements read the same (table, where, group_by)

    (whole_orders,) = [s for s in statements if "FROM orders" in s and "WHERE" not in s and "GROUP BY" not in s]
    parsed = sqlglot.parse_one(whole_orders, read=dialect)
    # Five checks, four columns: the two row_counts are one COUNT(*); duplicate and distinct counts ride along.
    columns = [c.unalias().sql() for part in aggregate_selects(parsed) for c in part.expressions]
    assert len(columns) == len(set(columns)) == 4
    assert columns.count("COUNT(*)") == 1
    assert sum("COUNT(DISTINCT customer)" in c for c in columns) == 2

    # The shared statement gives every check its own right value.
    expected = warehouse.scalars([("SELECT COUNT(1) FROM orders", None),
                                  ("SELECT COUNT(1) FROM orders WHERE customer IS NULL", None),
                                  ("SELECT COUNT(1) FROM (SELECT DISTINCT customer FROM orders "
                                   "WHERE customer IS NOT NULL) AS d", None)])
    total, missing, distinct_customers = expected
    assert one(report, "orders.rows").value == one(report, "orders.rows_again").value == total
    assert one(report, "orders.customer_missing").value == missing
    assert one(report, "orders.customers").value == distinct_customers
    assert one(report, "orders.customer_dups").value == total - missing - distinct_customers


def test_only_aggregates_come_back(warehouse: ScratchWarehouse) -> None:
    with record_statements() as executed:
        report = run(warehouse.write_config(CHECKS))
    assert report.statements == len(executed) == STATEMENTS
    returned = []
    for executed_statement in executed:
        select = sqlglot.parse_one(executed_statement.statement, read=warehouse.dialect)
        assert isinstance(select, exp.Select) and not select.args.get("limit")
        groups = {g.sql() for g in (select.args["group"].expressions if select.args.get("group") else [])}
        for part in aggregate_selects(select):
            assert not part.args.get("limit")
            for column in part.expressions:
                inner = column.unalias()
                assert inner.find(exp.AggFunc) or inner.sql() in groups, executed_statement.statement
        returned.append(warehouse.scalar(f"SELECT COUNT(1) FROM ({executed_statement.statement}) AS q"))
    regions = warehouse.scalar("SELECT COUNT(1) FROM (SELECT region FROM orders GROUP BY region) AS g")
    assert regions == 3
    # One row per ungrouped statement, one per group for the grouped one: never the tables' rows.
    assert sorted(returned) == sorted([1] * (STATEMENTS - 1) + [regions])


def test_the_listener_sees_every_statement_sent_to_postgres(postgres_database: str, tmp_path: Path) -> None:
    warehouse = ScratchWarehouse.postgres(postgres_database, tmp_path)
    warehouse.create(ORDERS, CUSTOMERS, EVENTS)
    on_the_wire: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if conn.engine.url.get_backend_name() == "postgresql":
            on_the_wire.append(statement)

    event.listen(Engine, "before_cursor_execute", before)
    try:
        with record_statements() as executed:
            run(warehouse.write_config(CHECKS))
    finally:
        event.remove(Engine, "before_cursor_execute", before)
    assert sorted(on_the_wire) == sorted(e.statement for e in executed)
    assert len(on_the_wire) == STATEMENTS


def test_explain_prints_the_statements_and_runs_nothing(warehouse: ScratchWarehouse,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = warehouse.write_config(CHECKS)
    store = config.parent / "state.db"
    with record_statements() as executed:
        code, out, err = canary(capsys, "--config", str(config), "--explain")
        code_json, out_json, _ = canary(capsys, "--config", str(config), "--explain", "--format", "json")
    assert (code, code_json, err) == (0, 0, "")
    assert executed == []
    assert not store.exists()
    printed = explained_statements(out)
    assert len(printed) == STATEMENTS
    assert out.splitlines()[0].startswith(f"-- {len(CHECKS)} checks in {STATEMENTS} statements")
    explain = json.loads(out_json)
    assert explain["schema"] == "deploywatch.explain/v1"
    assert [s["sql"] for s in explain["statements"]] == printed

    with record_statements() as executed:
        code, _, err = canary(capsys, "--config", str(config), "--format", "json")
    assert (code, err) == (0, "")
    assert sorted(e.statement for e in executed) == sorted(printed)
    assert store.exists()  # the real run does write the store the explain did not


# ---------------------------------------------------------------- concurrency


def test_duckdb_runs_one_statement_at_a_time(tmp_path: Path) -> None:
    # DuckDB spreads each statement over every core itself; several at once would split the memory budget.
    warehouse = ScratchWarehouse.duckdb(tmp_path)
    warehouse.create(*[Table(f"t{i}", {"x": "INTEGER"}, [(j,) for j in range(5)]) for i in range(3)])
    checks = [{"name": f"t{i}.rows", "table": f"t{i}", "metric": "row_count"} for i in range(3)]
    with record_statements(delay=0.05) as executed:
        report = run(warehouse.write_config(checks, warehouse={"concurrency": 4}))
    assert [r.value for r in report.results] == [5, 5, 5]
    assert (len(executed), executed.max_in_flight) == (3, 1)


def test_scans_of_different_tables_run_concurrently(postgres_database: str, tmp_path: Path) -> None:
    warehouse = ScratchWarehouse.postgres(postgres_database, tmp_path)
    tables = [Table(f"t{i}", {"x": "INTEGER"}, [(j,) for j in range(5)]) for i in range(4)]
    warehouse.create(*tables)
    checks = [{"name": f"t{i}.rows", "table": f"t{i}", "metric": "row_count"} for i in range(4)]

    def scan_threads(concurrency: int) -> tuple[set[int], int]:
        config = warehouse.write_config(checks, directory=tmp_path / f"c{concurrency}",
                                        warehouse={"concurrency": concurrency})
        with record_statements(delay=0.1) as executed:
            report = run(config)
        assert [r.value for r in report.results] == [5, 5, 5, 5]
        assert len(executed) == 4
        return {e.thread for e in executed}, executed.max_in_flight

    threads, in_flight = scan_threads(4)
    assert len(threads) > 1 and in_flight > 1
    threads, in_flight = scan_threads(2)
    assert in_flight == 2  # bounded by [warehouse] concurrency
    threads, in_flight = scan_threads(1)
    assert (len(threads), in_flight) == (1, 1)


# ---------------------------------------------------------------- timeouts

SLOW = {"duckdb": "SELECT sum(hash(i)) FROM range(100000000000) t(i)",
        "postgres": "SELECT COUNT(*) FROM pg_sleep(60)",
        "spark": "SELECT sum(hash(id)) FROM range(100000000000)"}
SLOW_VIEW = {"duckdb": "CREATE VIEW slow AS SELECT i AS x FROM range(100000000000) t(i)",
             "postgres": "CREATE VIEW slow AS SELECT x FROM pg_sleep(60), generate_series(1, 3) AS x",
             "spark": "CREATE VIEW slow AS SELECT id AS x FROM range(100000000000)"}


def test_a_statement_that_times_out_is_unknown_and_the_others_finish(warehouse: ScratchWarehouse) -> None:
    execute(warehouse.url, SLOW_VIEW[warehouse.backend])
    checks = [*CHECKS[:3],
              {"name": "slow.query", "query": SLOW[warehouse.backend]},
              {"name": "slow.rows", "table": "slow", "metric": "row_count"},
              {"name": "slow.avg", "table": "slow", "metric": "avg(x)"}]
    timeout = 5 if warehouse.backend == "spark" else 1  # any Spark statement takes a moment to plan and schedule
    started = time.monotonic()
    with record_statements() as executed:
        report = run(warehouse.write_config(checks, warehouse={"timeout": f"{timeout}s"}))
    elapsed = time.monotonic() - started
    assert elapsed < 10 * timeout  # the slow statements would take a minute or more
    for name in ("slow.query", "slow.rows", "slow.avg"):
        result = one(report, name)
        assert (result.status, result.value, result.reason) == (Status.UNKNOWN, None, f"timed out after {timeout}s"), \
            name
    assert {one(report, c["name"]).status for c in CHECKS[:3]} == {Status.OK}
    # A scan that timed out is not retried metric by metric (that would multiply the wait).
    assert len([e for e in executed if "slow" in e.statement]) == 1


def test_a_check_timeout_overrides_the_warehouse_timeout(tmp_path: Path) -> None:
    warehouse = ScratchWarehouse.duckdb(tmp_path)
    checks = [{"name": "slow", "query": SLOW["duckdb"], "timeout": "1s"}, {"name": "fast", "query": "SELECT 1"}]
    started = time.monotonic()
    report = run(warehouse.write_config(checks, warehouse={"timeout": "1h"}))
    assert time.monotonic() - started < 10
    assert (one(report, "slow").status, one(report, "slow").reason) == (Status.UNKNOWN, "timed out after 1s")
    assert one(report, "fast").value == 1


# ---------------------------------------------------------------- warehouses that cannot be used


def test_a_missing_warehouse_file_makes_every_check_unknown(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "data" / "nowhere.duckdb"
    config = write_checks_config(tmp_path / "project", f"duckdb:///{missing}", CHECKS)
    code, out, err = canary(capsys, "--config", str(config), "--format", "json")
    assert code == 3
    assert "Traceback" not in out + err
    results = json.loads(out)["checks"]
    assert len(results) == len(CHECKS)
    for result in results:
        assert result["status"] == "unknown"
        assert str(missing) in result["reason"]
    assert not missing.exists()  # not created by trying to open it


def test_an_unreachable_postgres_is_unknown_without_its_password(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    password = "Sup3rS3cretPw"
    config = write_checks_config(tmp_path, f"postgresql+psycopg://watcher:{password}@127.0.0.1:1/warehouse",
                                 CHECKS[:3])
    code, out, err = canary(capsys, "--config", str(config), "--format", "json")
    table_code, table_out, table_err = canary(capsys, "--config", str(config), "--format", "table")
    assert code == table_code == 3
    for result in json.loads(out)["checks"]:
        assert result["status"] == "unknown"
        assert "cannot connect" in result["reason"]
        assert "127.0.0.1" in result["reason"]
    assert "cannot connect" in table_out
    for text in (out, err, table_out, table_err):
        assert password not in text
        assert "Traceback" not in text


def test_a_postgres_that_never_answers_times_out(tmp_path: Path) -> None:
    # A server that accepts TCP connections and never speaks (a hung host, a stuck proxy): connecting must
    # count against the statement timeout instead of waiting forever.
    reports: list[CanaryReport] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        config = write_checks_config(tmp_path, f"postgresql+psycopg://watcher@127.0.0.1:{port}/warehouse",
                                     [{"name": "rows", "table": "orders", "metric": "row_count"}],
                                     warehouse={"timeout": "1s"})
        worker = threading.Thread(target=lambda: reports.append(run(config)), daemon=True)
        worker.start()
        worker.join(timeout=6)
        still_connecting = worker.is_alive()
    worker.join(timeout=10)  # closing the listening socket resets the connection it never accepted
    assert not still_connecting, "still connecting 6s into a run with [warehouse] timeout = \"1s\""
    (result,) = reports[0].results
    assert (result.status, result.value) == (Status.UNKNOWN, None)
    assert "timed out" in result.reason or "cannot connect" in result.reason


def test_a_duckdb_warehouse_is_opened_read_only(tmp_path: Path) -> None:
    warehouse = ScratchWarehouse.duckdb(tmp_path)
    warehouse.create(ORDERS)
    checks = [{"name": "sneaky", "query": "CREATE TABLE sneaky AS SELECT 1 AS x"},
              {"name": "rows", "table": "orders", "metric": "row_count"}]
    report = run(warehouse.write_config(checks))
    sneaky = one(report, "sneaky")
    assert (sneaky.status, sneaky.value) == (Status.UNKNOWN, None)
    assert "read-only" in sneaky.reason
    assert one(report, "rows").value == len(ORDERS.rows)
    assert warehouse.scalar("SELECT COUNT(1) FROM information_schema.tables WHERE table_name = 'sneaky'") == 0


def test_a_relative_duckdb_path_is_resolved_against_the_config_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    with duckdb.connect(str(project.parent / "scratch.duckdb")):
        pass  # (a file that must not be picked up: only the path relative to the config counts)
    ScratchWarehouse.duckdb(project / "data", "warehouse.duckdb").create(ORDERS)
    config = write_checks_config(project, "duckdb:///data/warehouse.duckdb",
                                 [{"name": "rows", "table": "orders", "metric": "row_count"}])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = canary(capsys, "--config", str(config), "--format", "json")
    assert (code, err) == (0, "")
    (result,) = json.loads(out)["checks"]
    assert (result["status"], result["value"]) == ("ok", len(ORDERS.rows))
    assert list(elsewhere.iterdir()) == []  # nothing created in the working directory
    assert (project / "state.db").exists()  # sqlite:///state.db is beside the config too


def test_statements_and_values_are_stored(warehouse: ScratchWarehouse, capsys: pytest.CaptureFixture[str]) -> None:
    config = warehouse.write_config(CHECKS)
    code, out, _ = canary(capsys, "--config", str(config), "--format", "json")
    assert code == 0
    shown = {c["name"]: c["value"] for c in json.loads(out)["checks"] if c["group"] is None}
    from deploywatch.store import Store

    with Store.open(f"sqlite:///{config.parent / 'state.db'}") as store:
        history = {name: [p.value for p in store.metric_history(name, None, before=NOW.date() + dt.timedelta(1),
                                                                 limit=5)] for name in shown}
    assert history == {name: [pytest.approx(value)] for name, value in shown.items()}
    assert Counter(type(v) for v in shown.values())[type(None)] == 0


# ---------------------------------------------------------------- distinct counts in sub-selects


def test_filtered_distinct_counts_in_one_statement_equal_hand_written_sql(tmp_path: Path) -> None:
    warehouse = ScratchWarehouse.duckdb(tmp_path)
    warehouse.create(ORDERS)
    checks = [{"name": "rows", "table": "orders", "where": IN_EAST, "metric": "row_count"},
              {"name": "ids", "table": "orders", "where": IN_EAST, "metric": "distinct_count(id)"},
              {"name": "customers", "table": "orders", "where": IN_EAST, "metric": "distinct_count(customer)"},
              {"name": "dups", "table": "orders", "where": IN_EAST, "metric": "duplicate_count(customer)"},
              {"name": "per_customer", "table": "orders", "where": IN_EAST,
               "sql": "SUM(amount) / COUNT(DISTINCT customer)"}]
    with record_statements() as executed:
        report = run(warehouse.write_config(checks))
    (statement,) = [e.statement for e in executed]
    parts = aggregate_selects(sqlglot.parse_one(statement, read="duckdb"))
    assert len(parts) == 3  # plain aggregates, DISTINCT id, DISTINCT customer; each filtered
    assert all(p.args.get("where") is not None for p in parts)
    expected = warehouse.query(
        "SELECT COUNT(*), COUNT(DISTINCT id), COUNT(DISTINCT customer), COUNT(customer) - COUNT(DISTINCT customer), "
        "SUM(amount) / COUNT(DISTINCT customer) FROM orders WHERE region = 'east'")[0]
    assert tuple(one(report, c["name"]).value for c in checks) == pytest.approx(expected)
