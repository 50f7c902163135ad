"""``deploywatch history CHECK``: stored values newest first, ``--group``, ``--limit``, formats and errors.

The history is built the way users build it: a canary run per date, ``--date D --now D+1T09:00Z``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from deploywatch.cli import main
from deploywatch.store import Store, default_store_url

CONFIG = """\
[warehouse]
url = "duckdb:///sales.duckdb"

[[checks]]
name = "sales.total"
table = "sales"
where = "d = DATE '{{ run_date }}'"
metric = "sum(amount)"
anomaly = { min_history = 2, window = 5 }

[[checks]]
name = "sales.by_region"
table = "sales"
where = "d = DATE '{{ run_date }}'"
group_by = "region"
metric = "sum(amount)"
warn = "< 5"

[[checks]]
name = "sales.never_run"
table = "sales"
metric = "row_count"
"""
FIRST = date(2026, 11, 1)
DATES = [FIRST + timedelta(days=i) for i in range(4)]
BY_REGION = {"a": [4.0, 5.0, 4.0, 45.0], "b": [6.0, 6.0, 6.0, 5.0]}
TOTALS = [a + b for a, b in zip(BY_REGION["a"], BY_REGION["b"], strict=True)]  # 10, 11, 10, 50: the last a spike
POINT_KEYS = {"run_id", "run_date", "measured_at", "group", "value", "status", "anomalous"}


@dataclass(frozen=True)
class Built:
    config: Path
    run_ids: list[str]  # one canary run per date, in date order


def measured_at(day: date) -> str:
    return f"{day + timedelta(days=1)}T09:00:00Z"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("history")
    with duckdb.connect(str(root / "sales.duckdb")) as con:
        con.execute("CREATE TABLE sales (d DATE, region VARCHAR, amount DOUBLE)")
        con.executemany("INSERT INTO sales VALUES (?, ?, ?)",
                        [[day, region, values[i]] for region, values in BY_REGION.items()
                         for i, day in enumerate(DATES)])
    config = root / "deploywatch.toml"
    config.write_text(CONFIG, encoding="utf-8")
    for day in DATES:
        with contextlib.redirect_stdout(io.StringIO()):
            main(["canary", "--config", str(config), "--date", day.isoformat(), "--now", measured_at(day),
                  "--check", "sales.t*", "--check", "sales.by_*", "--format", "json"])
    with Store.open(default_store_url(root)) as store:
        run_ids = [r.id for r in reversed(store.runs(command="canary"))]
    assert len(run_ids) == len(DATES)
    return Built(config, run_ids)


def history(built: Built, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["history", *args, "--config", str(built.config)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def history_json(built: Built, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    code, out, err = history(built, capsys, *args, "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert set(document) == {"schema", "check", "values"}
    assert (document["schema"], document["check"]) == ("deploywatch.history/v1", args[0])
    return list(document["values"])


def test_json_values_newest_first(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    values = history_json(built, capsys, "sales.total")

    assert [set(v) for v in values] == [POINT_KEYS] * 4
    assert [(v["run_date"], v["value"]) for v in values] == [
        (day.isoformat(), total) for day, total in reversed(list(zip(DATES, TOTALS, strict=True)))]
    assert [v["run_id"] for v in values] == list(reversed(built.run_ids))
    assert [v["measured_at"] for v in values] == [measured_at(day) for day in reversed(DATES)]
    assert {v["group"] for v in values} == {None}
    # 0 and 1 earlier values: unknown; then ok; then the spike to 50, flagged.
    assert [(v["status"], v["anomalous"]) for v in values] == [
        ("warning", True), ("ok", False), ("unknown", False), ("unknown", False)]


def test_grouped_check_lists_every_group_and_group_filters(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    every = history_json(built, capsys, "sales.by_region")
    only_a = history_json(built, capsys, "sales.by_region", "--group", "a")

    assert len(every) == 8
    assert [v["run_date"] for v in every] == sorted((v["run_date"] for v in every), reverse=True)
    assert sorted((v["run_date"], v["group"], v["value"]) for v in every) == sorted(
        (day.isoformat(), region, values[i]) for region, values in BY_REGION.items() for i, day in enumerate(DATES))
    assert [(v["group"], v["value"]) for v in only_a] == [("a", value) for value in reversed(BY_REGION["a"])]
    assert [v["status"] for v in only_a] == ["ok", "warning", "ok", "warning"]  # warn below 5


def test_limit_keeps_the_newest(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    values = history_json(built, capsys, "sales.total", "--limit", "2")
    one_group = history_json(built, capsys, "sales.by_region", "--group", "b", "--limit", "3")

    assert [v["value"] for v in values] == [TOTALS[3], TOTALS[2]]
    assert [(v["run_date"], v["value"]) for v in one_group] == [
        (DATES[i].isoformat(), BY_REGION["b"][i]) for i in (3, 2, 1)]


def test_table_newest_first_with_values_and_anomaly_marker(built: Built,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = history(built, capsys, "sales.total")

    assert (code, err) == (0, "")
    assert "History of sales.total (newest first)" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("2026-")]
    assert [row[0] for row in rows] == [day.isoformat() for day in reversed(DATES)]
    assert [row[2] for row in rows] == ["50", "10", "11", "10"]
    assert rows[0][3:] == ["warning", "anomaly"]
    assert rows[1][3:] == ["ok"]


def test_markdown(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = history(built, capsys, "sales.by_region", "--group", "b", "--limit", "1", "--format", "markdown")

    assert code == 0
    assert out.splitlines()[0] == "| Run Date | Measured At | Group | Value | Status | Note |"
    assert out.splitlines()[2] == f"| {DATES[3]} | {measured_at(DATES[3])} | b | 5 | ok | - |"


def test_unknown_group_is_empty(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    assert history_json(built, capsys, "sales.by_region", "--group", "z") == []


@pytest.mark.parametrize(("check", "message"), [
    ("sales.never_run", "no stored values for check 'sales.never_run' (configured, but not run yet: run "
                        "deploywatch canary); stored checks: sales.by_region, sales.total"),
    ("sales.totl", "no stored values for check 'sales.totl'; stored checks: sales.by_region, sales.total"),
])
def test_a_check_never_run_is_a_clear_error(built: Built, capsys: pytest.CaptureFixture[str], check: str,
                                            message: str) -> None:
    code, out, err = history(built, capsys, check)

    assert (code, out) == (3, "")
    assert err == f"deploywatch: error: {message}\n"


def test_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "deploywatch.toml"
    config.write_text(CONFIG, encoding="utf-8")

    code = main(["history", "sales.total", "--config", str(config)])

    assert code == 3
    assert capsys.readouterr().err.endswith("stored checks: nothing stored yet\n")


def test_limit_must_be_positive(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = history(built, capsys, "sales.total", "--limit", "0")

    assert (code, out) == (3, "")
    assert err.count("\n") == 1 and "--limit" in err


def test_in_a_real_process(built: Built, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEPLOYWATCH_CONFIG"}

    proc = subprocess.run([sys.executable, "-m", "deploywatch", "history", "sales.by_region", "--group", "a",
                           "--limit", "2", "--format", "json", "--config", str(built.config)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert (proc.returncode, proc.stderr) == (0, "")
    assert [(v["run_date"], v["value"]) for v in json.loads(proc.stdout)["values"]] == [
        (DATES[3].isoformat(), 45.0), (DATES[2].isoformat(), 4.0)]


def test_a_canary_and_a_check_measuring_at_one_instant_are_one_row_per_group(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo runs a canary and then check at the same --now: both measure every check, and history showed each
    value twice with one timestamp. One instant, one row: the newest run's."""
    with duckdb.connect(str(tmp_path / "sales.duckdb")) as con:
        con.execute("CREATE TABLE sales (d DATE, region VARCHAR, amount DOUBLE)")
        con.executemany("INSERT INTO sales VALUES (?, ?, ?)", [[DATES[0], "a", 4.0], [DATES[0], "b", 6.0]])
    config = tmp_path / "deploywatch.toml"
    config.write_text(CONFIG, encoding="utf-8")
    when = ["--date", DATES[0].isoformat(), "--now", measured_at(DATES[0]), "--config", str(config)]
    main(["canary", *when, "--check", "sales.by_*", "--format", "json"])
    main(["check", *when, "--format", "json", "--no-alerts"])
    capsys.readouterr()
    with Store.open(default_store_url(tmp_path)) as store:
        stored = store.recent_metrics("sales.by_region", limit=100)
        check_run = store.runs(command="check")[0].id
    assert len(stored) == 4  # both runs' measurements are kept: each run's record is complete

    main(["history", "sales.by_region", "--config", str(config), "--format", "json"])
    values = json.loads(capsys.readouterr().out)["values"]
    assert sorted((v["group"], v["value"], v["measured_at"]) for v in values) == [
        ("a", 4.0, measured_at(DATES[0])), ("b", 6.0, measured_at(DATES[0]))]
    assert {v["run_id"] for v in values} == {check_run}

    main(["history", "sales.by_region", "--config", str(config), "--format", "markdown"])
    assert len([line for line in capsys.readouterr().out.splitlines() if measured_at(DATES[0]) in line]) == 2
