"""Spark as a warehouse, for real: timeouts that cancel the Spark job, one-line errors, concurrency, both URL forms
(``sc://`` Spark Connect and ``spark://local[N]``) through the CLI in a subprocess, and bad URLs or a missing PySpark
as one-line config errors. The metric oracles on Spark are in metrics_test.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import deploywatch
from deploywatch.checks.results import CanaryReport, CheckResult
from deploywatch.checks.spark import acquire_local, release_local
from deploywatch.checks.warehouse import Warehouse
from deploywatch.cli import main
from deploywatch.core.redact import url_secrets
from deploywatch.core.status import Status
from testing.spark import SparkServer
from testing.warehouse import ScratchWarehouse, Table, record_statements, write_checks_config

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
ORDERS = Table("orders", {"id": "INTEGER", "region": "VARCHAR", "amount": "DOUBLE PRECISION"},
               [(i, ["east", "west", "north"][i % 3], None if i % 7 == 0 else i * 1.5) for i in range(1, 41)])
SLOW = "SELECT sum(hash(id)) FROM range(100000000000)"  # a minute or more of work on any machine


def run(config: Path) -> CanaryReport:
    return deploywatch.run_canary(config=config, now=NOW, record=False)


def one(report: CanaryReport, name: str) -> CheckResult:
    (result,) = [r for r in report.results if r.name == name]
    return result


def active_jobs(server: SparkServer) -> list[int]:
    """The Spark jobs running in the test session's Spark (its driver's own account)."""
    return list(server.local._context.statusTracker().getActiveJobsIds())


@pytest.fixture
def warehouse(spark_server: SparkServer, tmp_path: Path) -> ScratchWarehouse:
    built = ScratchWarehouse.spark(spark_server, tmp_path)
    built.create(ORDERS)
    return built


# ---------------------------------------------------------------- timeouts, errors, concurrency


@pytest.mark.spark
def test_a_timeout_cancels_the_spark_job_and_the_session_stays_usable(warehouse: ScratchWarehouse,
                                                                      spark_server: SparkServer) -> None:
    with Warehouse(warehouse.url, base_dir=warehouse.directory, timeout=1.5) as open_one:
        started = time.monotonic()
        rows, error, failure = open_one._execute(SLOW, 1.5)
        elapsed = time.monotonic() - started
        assert (rows, error, failure) == (None, "timed out after 1.5s", "timeout")
        assert elapsed < 30  # the statement would run for minutes
        deadline = time.monotonic() + 20
        while active_jobs(spark_server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert active_jobs(spark_server) == []  # interrupted, not left running on the cluster
        assert open_one._execute("SELECT COUNT(*) FROM orders", 60) == ([(len(ORDERS.rows),)], None, "")


@pytest.mark.spark
def test_a_timed_out_check_is_unknown_and_the_others_finish(warehouse: ScratchWarehouse) -> None:
    checks = [{"name": "rows", "table": "orders", "metric": "row_count"},
              {"name": "slow", "query": SLOW, "timeout": "2s"}]
    report = run(warehouse.write_config(checks))
    assert (one(report, "slow").status, one(report, "slow").reason) == (Status.UNKNOWN, "timed out after 2s")
    assert one(report, "rows").value == warehouse.scalar("SELECT COUNT(*) FROM orders")


@pytest.mark.spark
def test_a_missing_table_and_a_bad_column_are_unknown_with_sparks_message_on_one_line(
        warehouse: ScratchWarehouse) -> None:
    checks = [{"name": "ghost", "table": "ghost", "metric": "row_count"},
              {"name": "typo", "table": "orders", "metric": "avg(amout)"},
              {"name": "spend", "table": "orders", "metric": "sum(amount)"}]
    report = run(warehouse.write_config(checks))
    ghost, typo = one(report, "ghost"), one(report, "typo")
    assert (ghost.status, ghost.value, typo.status, typo.value) == (Status.UNKNOWN, None, Status.UNKNOWN, None)
    assert ghost.reason.startswith("[TABLE_OR_VIEW_NOT_FOUND] The table or view `ghost` cannot be found."), ghost
    assert typo.reason.startswith("[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter "
                                  "with name `amout` cannot be resolved."), typo
    for reason in (ghost.reason, typo.reason):
        assert "\n" not in reason and "stacktrace" not in reason.lower() and " at org.apache" not in reason
    # The bad column fails only its own metric: the statement is retried metric by metric.
    assert one(report, "spend").value == pytest.approx(warehouse.scalar("SELECT SUM(amount) FROM orders"))


@pytest.mark.spark
def test_scans_run_concurrently_up_to_the_configured_concurrency(warehouse: ScratchWarehouse) -> None:
    warehouse.create(*[Table(f"t{i}", {"x": "INTEGER"}, [(j,) for j in range(5)]) for i in range(3)])
    checks = [{"name": f"t{i}.rows", "table": f"t{i}", "metric": "row_count"} for i in range(3)]
    for concurrency, most in ((3, 3), (1, 1)):
        config = warehouse.write_config(checks, directory=warehouse.directory / f"c{concurrency}",
                                        warehouse={"concurrency": concurrency})
        with record_statements(delay=0.3) as executed:
            report = run(config)
        assert [r.value for r in report.results] == [5, 5, 5]
        assert 1 <= executed.max_in_flight <= most
        if most == 1:
            assert len({e.thread for e in executed}) == 1
        else:
            assert executed.max_in_flight > 1


@pytest.mark.spark
def test_a_local_url_in_this_process_shares_its_running_spark(warehouse: ScratchWarehouse,
                                                              spark_server: SparkServer) -> None:
    config = write_checks_config(warehouse.directory / "local", "spark://local[2]",
                                 [{"name": "rows", "table": "orders", "metric": "row_count"}])
    report = run(config)
    assert one(report, "rows").value == len(ORDERS.rows)
    assert active_jobs(spark_server) == []
    # The shared Spark outlives a user that closes: it stops with its last user.
    server = acquire_local("local[1]", {}, warehouse.directory)
    assert server is spark_server.local
    release_local(server)
    assert warehouse.scalar("SELECT COUNT(*) FROM orders") == len(ORDERS.rows)


# ---------------------------------------------------------------- the CLI in a subprocess, both URL forms


def cli(config: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deploywatch", "canary", "--config", str(config),
                           "--now", "2026-11-23T09:00:00Z", "--format", "json", *args],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.spark
def test_canary_over_spark_connect_in_a_subprocess(warehouse: ScratchWarehouse) -> None:
    checks = [{"name": "rows", "table": "orders", "metric": "row_count", "critical": "< 1"},
              {"name": "spend", "table": "orders", "group_by": "region", "metric": "sum(amount)"},
              {"name": "typo", "table": "orders", "metric": "max(amout)"}]
    config = warehouse.write_config(checks)
    done = cli(config)
    assert done.returncode == 3, done.stderr  # the typo is unknown
    (token,) = url_secrets(warehouse.url)
    assert token not in done.stdout + done.stderr
    assert done.stderr == ""  # no Spark logging
    results = {(c["name"], c["group"]): c for c in json.loads(done.stdout)["checks"]}
    assert results[("rows", None)]["value"] == warehouse.scalar("SELECT COUNT(*) FROM orders")
    spend = dict(warehouse.query("SELECT region, SUM(amount) FROM orders GROUP BY region"))
    assert {region: results[("spend", region)]["value"] for region in spend} == pytest.approx(spend)
    assert results[("typo", None)]["status"] == "unknown"
    assert "\n" not in results[("typo", None)]["reason"] and "`amout`" in results[("typo", None)]["reason"]


@pytest.mark.spark
def test_canary_on_a_local_spark_in_a_subprocess_reads_files_beside_the_config(warehouse: ScratchWarehouse,
                                                                               spark_server: SparkServer) -> None:
    project = warehouse.directory / "project"
    spark_server.session.table("orders").write.parquet(str(project / "data" / "orders"))
    checks = [{"name": "rows", "table": "parquet.`data/orders`", "metric": "row_count", "critical": "< 1"},
              {"name": "priced", "table": "parquet.`data/orders`", "metric": "missing_count(amount)"},
              {"name": "typo", "table": "parquet.`data/orders`", "metric": "sum(amout)"}]
    config = write_checks_config(project, "spark://local[1]?spark.ui.enabled=false", checks)
    done = cli(config, "--check", "rows", "--check", "priced", "--check", "typo")
    assert done.returncode == 3, done.stderr  # the typo is unknown
    assert done.stderr == ""  # Spark's log stays in its own temporary file
    results = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    path = project / "data" / "orders"
    assert results["rows"]["value"] == warehouse.scalar(f"SELECT COUNT(*) FROM parquet.`{path}`") == 40
    assert results["priced"]["value"] == warehouse.scalar(f"SELECT COUNT(*) FROM parquet.`{path}` "
                                                          "WHERE amount IS NULL") > 0
    assert results["typo"]["status"] == "unknown" and "`amout`" in results["typo"]["reason"]
    assert not (project / "spark-warehouse").exists()  # its warehouse folder was temporary


# ---------------------------------------------------------------- configuration errors


@pytest.mark.parametrize(("url", "message"), [
    ("spark://cluster:7077", "expected spark://local, spark://local[N] or spark://local[*]"),
    ("spark://local[0]", "expected spark://local, spark://local[N] or spark://local[*]"),
    ("spark://local[2]?shuffle=4", "'shuffle' is not a Spark setting"),
    ("sc://host:15002/;token", "expected ;name=value parameters"),
    ("sc://", "invalid Spark Connect URL"),
])
def test_a_bad_spark_url_is_a_config_error_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          url: str, message: str) -> None:
    config = write_checks_config(tmp_path, url, [{"name": "rows", "table": "orders", "metric": "row_count"}])
    code = main(["canary", "--config", str(config)])
    err = capsys.readouterr().err.strip()
    assert code == 3
    assert "warehouse.url" in err and message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_without_pyspark_a_spark_url_says_what_to_install(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed: find_spec finds nothing
    config = write_checks_config(tmp_path, "sc://localhost:15002", [{"name": "r", "table": "t", "metric": "row_count"}])
    code = main(["canary", "--config", str(config)])
    err = capsys.readouterr().err.strip()
    assert code == 3
    assert "warehouse.url" in err and "pip install 'deploywatch[spark]'" in err and "pyspark" in err, err
    assert len(err.splitlines()) == 1


def test_a_spark_connect_token_is_a_secret() -> None:
    assert url_secrets("sc://spark.example.com:443/;use_ssl=true;token=s3cr3t;user_id=ann") == ["s3cr3t"]
