"""``deploywatch gate NAME``: verdict output in every format, ``--date``, config discovery, errors, a real process."""

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

NOW = "2026-11-23T09:00:00Z"
ENTRY_KEYS = {"name", "phase", "table", "group", "metric", "value", "status", "warn", "critical", "reason",
              "anomaly"}

CONFIG = """\
[warehouse]
url = "duckdb:///loads.duckdb"

[[checks]]
name = "loads.rows"
phase = "load"
table = "loads"
where = "d = DATE '{{ yesterday }}'"
metric = "row_count"
critical = "< 2"

[[checks]]
name = "loads.sources"
phase = "load"
table = "loads"
where = "d = DATE '{{ yesterday }}'"
metric = "distinct_count(source)"
warn = "< 3"

[gates.load]
description = "everything loaded before transform runs"
checks = ["load"]

[gates.rows_only]
checks = ["loads.rows"]
"""
# The 21st: 4 rows from 2 sources (rows ok, sources warning); the 20th: 1 row (rows critical).
LOADS = [("2026-11-21", "x"), ("2026-11-21", "x"), ("2026-11-21", "y"), ("2026-11-21", "y"), ("2026-11-20", "x")]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    with duckdb.connect(str(tmp_path / "loads.duckdb")) as con:
        con.execute("CREATE TABLE loads (d DATE, source VARCHAR)")
        con.executemany("INSERT INTO loads VALUES (?, ?)", [list(row) for row in LOADS])
    path = tmp_path / "deploywatch.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def gate_json(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["gate", *args, "--config", str(config), "--now", NOW, "--format", "json"])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, json.loads(captured.out)


@pytest.mark.parametrize(("run_date", "verdict", "code", "values"), [
    ("2026-11-22", "PROCEED_WITH_WARNING", 1, {"loads.rows": 4, "loads.sources": 2}),
    ("2026-11-21", "FAIL", 2, {"loads.rows": 1, "loads.sources": 1}),
    ("2026-11-23", "FAIL", 2, {"loads.rows": 0, "loads.sources": 0}),
])
def test_date_templating_decides_the_verdict(config: Path, capsys: pytest.CaptureFixture[str], run_date: str,
                                             verdict: str, code: int, values: dict[str, int]) -> None:
    exit_code, document = gate_json(config, capsys, "load", "--date", run_date)

    assert (exit_code, document["verdict"]) == (code, verdict)
    assert {c["name"]: c["value"] for c in document["checks"]} == values


def test_json_document(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, document = gate_json(config, capsys, "load", "--date", "2026-11-22")

    assert set(document) == {"schema", "gate", "verdict", "score", "message", "issues", "checks"}
    assert (document["schema"], document["gate"]) == ("deploywatch.gate/v1", "load")
    assert document["score"] == 75.0  # ok (1) and warning (0.5), equal weights
    assert document["issues"] == ["loads.sources: warning (2 < 3)"]
    assert document["message"] == "PROCEED_WITH_WARNING: 1 warning; score 75"
    for entry in document["checks"]:
        assert set(entry) == ENTRY_KEYS
    assert document["checks"][1] == {"name": "loads.sources", "phase": "load", "table": "loads", "group": None,
                                     "metric": "distinct_count(source)", "value": 2, "status": "warning",
                                     "warn": "< 3", "critical": None, "reason": "2 < 3", "anomaly": None}


def test_proceed(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = gate_json(config, capsys, "rows_only", "--date", "2026-11-22")

    assert (code, document["verdict"], document["score"], document["issues"]) == (0, "PROCEED", 100.0, [])
    assert document["message"] == "PROCEED: 1 check passed; score 100"


def test_table_output(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["gate", "load", "--config", str(config), "--now", NOW, "--date", "2026-11-21"])

    out = capsys.readouterr().out
    assert code == 2
    assert "Gate load" in out
    assert "FAIL  score 25/100" in out
    assert "FAIL: 1 of 2 results critical or unknown (loads.rows); score 25" in out
    assert "  - loads.rows: critical (1 < 2)" in out
    assert "  - loads.sources: warning (1 < 3)" in out
    rows = [line for line in out.splitlines() if line.startswith("loads.")]
    assert len(rows) == 2 and "critical" in rows[0] and "warning" in rows[1]


def test_markdown_output(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["gate", "load", "--config", str(config), "--now", NOW, "--date", "2026-11-22", "--format",
                 "markdown"])

    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("### Gate `load`: **PROCEED_WITH_WARNING** (score 75/100)\n")
    assert "- loads.sources: warning (2 < 3)" in out
    assert "| Check | Group | Value | Status | Why |" in out
    assert "| loads.rows | - | 4 | ok | - |" in out


def test_config_found_by_walking_up(config: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    nested = config.parent / "pipelines" / "transform"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    monkeypatch.delenv("DEPLOYWATCH_CONFIG", raising=False)

    code = main(["gate", "rows_only", "--date", "2026-11-22", "--now", NOW, "--format", "json"])

    assert code == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "PROCEED"
    assert (config.parent / ".deploywatch" / "state.db").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["transform"], "unknown gate 'transform' (gates: load, rows_only)"),
    (["load", "--date", "yesterday"], "invalid date 'yesterday': expected YYYY-MM-DD"),
])
def test_errors_are_one_line_exit_3(config: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                    message: str) -> None:
    code = main(["gate", *args, "--config", str(config), "--now", NOW])

    captured = capsys.readouterr()
    assert code == 3
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert message in captured.err


def test_bad_config_is_exit_3(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(CONFIG.replace('checks = ["loads.rows"]', 'checks = ["loads.row"]'), encoding="utf-8")

    code = main(["gate", "load", "--config", str(config), "--now", NOW])

    captured = capsys.readouterr()
    assert code == 3
    assert captured.err == (f"deploywatch: error: {config}:25: gates.rows_only.checks[0]: "
                            "'loads.row' matches no check name or phase\n")


def test_gate_without_warehouse_file_fails(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config.parent / "loads.duckdb").unlink()

    code, document = gate_json(config, capsys, "load", "--date", "2026-11-22")

    assert (code, document["verdict"], document["score"]) == (2, "FAIL", 0.0)
    assert {c["status"] for c in document["checks"]} == {"unknown"}
    assert "does not exist" in document["checks"][0]["reason"]


def test_in_a_real_process(config: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEPLOYWATCH_CONFIG"}

    proc = subprocess.run([sys.executable, "-m", "deploywatch", "gate", "load", "--config", str(config), "--date",
                           "2026-11-21", "--now", NOW, "--format", "json"],
                          cwd=config.parent, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert proc.stderr == ""
    assert proc.returncode == 2
    document = json.loads(proc.stdout)
    assert (document["verdict"], document["score"]) == ("FAIL", 25.0)
