"""``deploywatch canary``: the JSON contract, table and markdown output, selection, dates, exit codes and the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from deploywatch.cli import main
from deploywatch.store import Store

NOW = "2026-11-23T09:00:00Z"
ENTRY_KEYS = {"name", "phase", "table", "group", "metric", "value", "status", "warn", "critical", "reason",
              "anomaly"}

CONFIG = """\
[warehouse]
url = "duckdb:///WAREHOUSE"

[[checks]]
name = "orders.rows"
phase = "ingest"
table = "shop.orders"
where = "d = DATE '{{ run_date }}'"
metric = "row_count"
critical = "< 1"

[[checks]]
name = "orders.amount_present"
phase = "ingest"
table = "shop.orders"
where = "d = DATE '{{ run_date }}'"
metric = "percent(amount IS NOT NULL)"
warn = "< 95"
critical = "< 50"

[[checks]]
name = "orders.yesterday"
phase = "ingest"
table = "shop.orders"
where = "d = DATE '{{ yesterday }}'"
metric = "row_count"

[[checks]]
name = "orders.by_region"
phase = "publish"
table = "shop.orders"
where = "d = DATE '{{ run_date }}'"
group_by = "region"
metric = "sum(amount)"
warn = "< 20"

[[checks]]
name = "orders.by_region_channel"
phase = "publish"
table = "shop.orders"
where = "d = DATE '{{ run_date }}'"
group_by = ["region", "channel"]
metric = "row_count"

[[checks]]
name = "orders.refunds"
phase = "publish"
table = "shop.orders"
where = "d = DATE '{{ run_date }}' AND amount < 0"
metric = "sum(amount)"

[[checks]]
name = "orders.volume"
table = "shop.orders"
where = "d = DATE '{{ run_date }}'"
metric = "row_count"
critical = "< 100"

[[checks]]
name = "orders.amount_trend"
table = "shop.orders"
where = "d = DATE '{{ run_date }}'"
metric = "sum(amount)"
anomaly = { min_history = 2, window = 5 }
"""
# 2026-11-22: region a has 6 orders (web), b has 3 (app; one without an amount), c 1 without an amount.
ORDERS = [("a", "web", 10.0)] * 6 + [("b", "app", 5.0), ("b", "app", None), ("b", "app", 7.0), ("c", "web", None)]
DAY = "2026-11-22"
# Known results for DAY; values are computed from ORDERS by hand.
EXPECTED: dict[tuple[str, Any], tuple[float | None, str]] = {
    ("orders.rows", None): (10, "ok"),
    ("orders.amount_present", None): (80.0, "warning"),
    ("orders.yesterday", None): (2, "ok"),
    ("orders.by_region", "a"): (60.0, "ok"),
    ("orders.by_region", "b"): (12.0, "warning"),
    ("orders.by_region", "c"): (None, "unknown"),
    ("orders.by_region_channel", (("channel", "web"), ("region", "a"))): (6, "ok"),
    ("orders.by_region_channel", (("channel", "app"), ("region", "b"))): (3, "ok"),
    ("orders.by_region_channel", (("channel", "web"), ("region", "c"))): (1, "ok"),
    ("orders.refunds", None): (None, "unknown"),
    ("orders.volume", None): (10, "critical"),
    ("orders.amount_trend", None): (72.0, "unknown"),
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("canary-warehouse") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA shop")
        con.execute("CREATE TABLE shop.orders (d DATE, region VARCHAR, channel VARCHAR, amount DOUBLE)")
        con.executemany("INSERT INTO shop.orders VALUES (?, ?, ?, ?)", [[DAY, r, c, a] for r, c, a in ORDERS])
        con.execute("INSERT INTO shop.orders VALUES ('2026-11-21', 'a', 'web', 1), ('2026-11-21', 'a', 'web', 2)")
    return path


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> Path:
    path = tmp_path / "ops" / "deploywatch.toml"
    path.parent.mkdir()
    path.write_text(CONFIG.replace("WAREHOUSE", str(warehouse)), encoding="utf-8")
    return path


def canary(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["canary", "--config", str(config), "--now", NOW, "--date", DAY, "--format", "json", *args])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, json.loads(captured.out)


def key(entry: dict[str, Any]) -> tuple[str, Any]:
    group = entry["group"]
    return entry["name"], tuple(sorted(group.items())) if isinstance(group, dict) else group


def one_line_error(code: int, capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert code == 3
    assert captured.out == ""
    assert captured.err.startswith("deploywatch: error: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err
    return str(captured.err)


# ---------------------------------------------------------------- JSON


def test_json_contract(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = canary(config, capsys)

    assert set(document) == {"schema", "status", "checks"}
    assert document["schema"] == "deploywatch.canary/v1"
    assert (document["status"], code) == ("critical", 2)
    assert [key(c) for c in document["checks"]] == list(EXPECTED)  # config order, groups sorted
    for entry in document["checks"]:
        assert set(entry) == ENTRY_KEYS, entry["name"]
        assert {key(entry): (entry["value"], entry["status"])} == {key(entry): EXPECTED[key(entry)]}
        assert entry["value"] is None or isinstance(entry["value"], int | float)
        assert entry["anomaly"] is None  # no history yet: nothing to report
        assert (entry["reason"] is None) == (entry["status"] == "ok")
    rows = document["checks"][0]
    assert rows == {"name": "orders.rows", "phase": "ingest", "table": "shop.orders", "group": None,
                    "metric": "row_count", "value": 10, "status": "ok", "warn": None, "critical": "< 1",
                    "reason": None, "anomaly": None}
    present = document["checks"][1]
    assert (present["warn"], present["critical"], present["reason"]) == ("< 95", "< 50", "80.0% < 95")
    volume = next(c for c in document["checks"] if c["name"] == "orders.volume")
    assert volume["phase"] is None


def test_json_anomaly_once_there_is_history(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for day in ("2026-11-19", "2026-11-20", "2026-11-21"):
        main(["canary", "--config", str(config), "--date", day, "--now", NOW, "--check", "orders.amount_trend",
              "--format", "json"])
    capsys.readouterr()

    _, document = canary(config, capsys, "--check", "orders.amount_trend")

    (trend,) = document["checks"]
    # The 21st has two orders (1 + 2 = 3); the 19th and 20th have none, so no value is stored for them.
    assert trend["value"] == 72.0
    assert trend["status"] == "unknown"
    assert "1 of 2 values" in trend["reason"]
    assert trend["anomaly"] is None


@pytest.mark.parametrize(("patterns", "status", "code"), [
    (["orders.rows"], "ok", 0),
    (["orders.rows", "orders.amount_present"], "warning", 1),
    (["orders.amount_present", "orders.refunds"], "unknown", 3),
    (["orders.refunds", "orders.volume"], "critical", 2),
    (["orders.amount_present", "orders.volume"], "critical", 2),
])
def test_exit_code_is_the_worst_status(config: Path, capsys: pytest.CaptureFixture[str], patterns: list[str],
                                       status: str, code: int) -> None:
    args = [arg for pattern in patterns for arg in ("--check", pattern)]

    exit_code, document = canary(config, capsys, *args)

    assert (exit_code, document["status"]) == (code, status)
    assert sorted(c["name"] for c in document["checks"]) == sorted(patterns)


# ---------------------------------------------------------------- table and markdown


def test_table_has_a_section_per_phase_with_values_and_thresholds(config: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["canary", "--config", str(config), "--now", NOW, "--date", DAY])

    out = capsys.readouterr().out
    assert code == 2
    sections = [line.strip() for line in out.splitlines() if line.strip().endswith(
        (": ok", ": warning", ": critical", ": unknown"))]
    assert sections == ["ingest: warning", "publish: unknown", "(no phase): critical"]
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip().startswith("orders.")}
    assert "80.0%" in rows["orders.amount_present"] and "warn < 95, crit < 50" in rows["orders.amount_present"]
    assert "crit < 100" in rows["orders.volume"] and "critical" in rows["orders.volume"]
    assert "anomaly" in rows["orders.amount_trend"]
    assert "12 results for 2026-11-22" in out and "(exit 2)" in out


def test_markdown_has_a_section_per_phase(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["canary", "--config", str(config), "--now", NOW, "--date", DAY, "--format", "markdown"])

    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("### Canaries for 2026-11-22: **critical**")
    headings = [line for line in out.splitlines() if line.startswith("#### ")]
    assert headings == ["#### ingest", "#### publish", "#### (no phase)"]
    assert out.count("| Check | Group | Value | Thresholds | Status | Why |") == 3
    assert "| orders.amount_present | - | 80.0% | warn < 95, crit < 50 | **warning** | 80.0% < 95 |" in out
    assert "| orders.by_region | b | 12 | warn < 20 | **warning** |" in out


# ---------------------------------------------------------------- selection


def test_phase_selects_its_checks(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, ingest = canary(config, capsys, "--phase", "ingest")
    _, both = canary(config, capsys, "--phase", "ingest", "--phase", "publish")

    assert {c["name"] for c in ingest["checks"]} == {"orders.rows", "orders.amount_present", "orders.yesterday"}
    assert {c["phase"] for c in both["checks"]} == {"ingest", "publish"}


def test_check_globs_and_phase_names(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, globbed = canary(config, capsys, "--check", "orders.by_*")
    _, by_phase = canary(config, capsys, "--check", "publish")
    _, both = canary(config, capsys, "--phase", "ingest", "--check", "*rows")

    assert {c["name"] for c in globbed["checks"]} == {"orders.by_region", "orders.by_region_channel"}
    assert {c["name"] for c in by_phase["checks"]} == {"orders.by_region", "orders.by_region_channel",
                                                      "orders.refunds"}
    assert [c["name"] for c in both["checks"]] == ["orders.rows"]  # phase AND pattern


@pytest.mark.parametrize(("args", "message"), [
    (["--phase", "transform"], "no check has phase 'transform' (phases: ingest, publish)"),
    (["--check", "payments.*"], "--check 'payments.*' matches no check name or phase"),
    (["--date", "22-11-2026"], "invalid date '22-11-2026': expected YYYY-MM-DD"),
])
def test_selection_errors_are_one_line_exit_3(config: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                              message: str) -> None:
    code = main(["canary", "--config", str(config), "--now", NOW, *args])

    assert message in one_line_error(code, capsys)


def test_no_checks_configured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deploywatch.toml"
    path.write_text('[services.web]\npaths = ["web"]\ndeployed = { command = "true" }\n', encoding="utf-8")

    code = main(["canary", "--config", str(path), "--now", NOW])

    assert "no checks are configured" in one_line_error(code, capsys)


# ---------------------------------------------------------------- dates


def test_date_templating_is_relative_to_the_date_option(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, on_22nd = canary(config, capsys, "--check", "orders.yesterday")  # yesterday = the 21st: 2 orders
    code = main(["canary", "--config", str(config), "--now", NOW, "--date", "2026-11-23", "--format", "json",
                 "--check", "orders.yesterday", "--check", "orders.rows"])
    on_23rd = json.loads(capsys.readouterr().out)

    assert on_22nd["checks"][0]["value"] == 2
    assert {c["name"]: c["value"] for c in on_23rd["checks"]} == {"orders.yesterday": 10, "orders.rows": 0}
    assert code == 2  # no orders on the 23rd: row_count 0 < 1


# ---------------------------------------------------------------- the store


def test_runs_and_metrics_are_stored_beside_the_config(config: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    code, document = canary(config, capsys)

    state = config.parent / ".deploywatch" / "state.db"
    assert state.is_file()
    assert not (elsewhere / ".deploywatch").exists()
    with Store.open(f"sqlite:///{state}") as store:
        (run,) = store.runs()
        findings = store.findings(run.id)
        by_region = store.recent_metrics("orders.by_region")
        names = store.check_names()
    assert (run.command, run.status, run.exit_code, str(run.run_date)) == ("canary", "critical", code, DAY)
    assert run.details["checks"] == len(document["checks"])
    assert [(f.subject, f.status) for f in findings][:3] == [
        ("orders.rows", "ok"), ("orders.amount_present", "warning"), ("orders.yesterday", "ok")]
    assert len(findings) == len(EXPECTED)
    assert {(m.group, m.value, m.status) for m in by_region} == {("a", 60.0, "ok"), ("b", 12.0, "warning"),
                                                                 ("c", None, "unknown")}
    assert names == sorted({name for name, _ in EXPECTED})


def test_store_url_from_the_config(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(config.read_text(encoding="utf-8") + '\n[store]\nurl = "sqlite:///history/dw.db"\n',
                      encoding="utf-8")

    canary(config, capsys, "--check", "orders.rows")

    assert (config.parent / "history" / "dw.db").is_file()
    assert not (config.parent / ".deploywatch").exists()


def test_store_on_postgres(config: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(config.read_text(encoding="utf-8") + f'\n[store]\nurl = "{postgres_url}"\n', encoding="utf-8")

    canary(config, capsys, "--check", "orders.by_region")

    with Store.open(postgres_url) as store:
        assert {(m.group, m.value) for m in store.recent_metrics("orders.by_region")} == {
            ("a", 60.0), ("b", 12.0), ("c", None)}


# ---------------------------------------------------------------- a real process


def test_in_a_real_process(config: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEPLOYWATCH_CONFIG"}

    proc = subprocess.run([sys.executable, "-m", "deploywatch", "canary", "--config", str(config), "--date", DAY,
                           "--now", NOW, "--format", "json", "--phase", "ingest"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert proc.stderr == ""
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    assert [(c["name"], c["value"], c["status"]) for c in document["checks"]] == [
        ("orders.rows", 10, "ok"), ("orders.amount_present", 80.0, "warning"), ("orders.yesterday", 2, "ok")]
    assert (config.parent / ".deploywatch" / "state.db").is_file()
