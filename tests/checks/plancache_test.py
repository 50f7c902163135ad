"""Kept plans: a repeated ``deploywatch canary`` runs the plan compiled by an earlier run, with the same output,
the same stored rows and the same statements, and compiles afresh whenever anything the plan depends on changed.

A run from a kept plan is recognised from the outside: in a fresh process it imports neither pydantic nor sqlglot
nor SQLAlchemy (see ``probe``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploywatch.checks import plancache
from deploywatch.cli import main
from testing.warehouse import ScratchWarehouse, Table, execute, record_statements

NOW_ARG = "2026-11-23T09:00:00Z"
NEXT_DAY_ARG = "2026-11-24T09:00:00Z"
DAY = dt.date(2026, 11, 22)

ORDERS = Table("orders", {"id": "INTEGER", "region": "VARCHAR", "customer": "VARCHAR", "amount": "DOUBLE PRECISION",
                          "day": "DATE", "ts": "TIMESTAMP"},
               [(i, ["east", "west", "north"][i % 3], f"c{i % 7}" if i % 5 else None, i * 1.5,
                 DAY - dt.timedelta(days=i % 4), dt.datetime(2026, 11, 22, i % 24)) for i in range(1, 41)])

CHECKS: list[dict[str, Any]] = [
    {"name": "orders.rows", "phase": "p1", "table": "orders", "metric": "row_count", "critical": "< 1"},
    {"name": "orders.customer_missing", "phase": "p1", "table": "orders", "metric": "missing_count(customer)",
     "warn": "> 0"},
    {"name": "orders.customers", "phase": "p1", "table": "orders", "metric": "distinct_count(customer)"},
    {"name": "orders.yesterday", "phase": "p2", "table": "orders", "where": "day = DATE '{{ yesterday }}'",
     "metric": "row_count", "critical": "< 11"},
    {"name": "orders.fresh", "phase": "p2", "table": "orders", "metric": "freshness(ts)", "warn": "> 12h"},
    {"name": "orders.by_region", "phase": "p2", "table": "orders", "group_by": "region",
     "metric": "percent(customer IS NOT NULL)", "warn": "< 90%", "expect_groups": ["east", "west", "north", "south"]},
    {"name": "orders.amount_avg", "phase": "p2", "table": "orders", "metric": "avg(amount)",
     "anomaly": {"min_history": 2, "window": 5}},
    {"name": "custom", "query": "SELECT COUNT(*) FROM orders WHERE region = 'east'", "warn": "< 100"},
]

PROBE = """
import json, sys
from deploywatch.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("pydantic", "sqlglot", "sqlalchemy") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ScratchWarehouse:
    monkeypatch.setenv(plancache.CACHE_DIR, str(tmp_path / "plans"))  # this test's own (probe passes it on)
    built = ScratchWarehouse.duckdb(tmp_path)
    built.create(ORDERS)
    return built


def probe(config: Path, *args: str, env: dict[str, str] | None = None,
          command: tuple[str, ...] = ("canary",)) -> tuple[int, str, list[str]]:
    """``deploywatch canary --config CONFIG ARGS`` in a fresh process: exit code, stdout, and which of pydantic,
    sqlglot and SQLAlchemy it imported."""
    done = subprocess.run([sys.executable, "-c", PROBE, *command, "--config", str(config), *args],
                          check=False, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
                          cwd=config.parent)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], done.stdout, report["heavy"]


def kept_files(config: Path) -> list[Path]:
    """The plans kept in this test's cache folder (each test has its own, see ``warehouse``)."""
    return sorted(plancache.cache_dir().glob("plan-*.json"))


def stored_metrics(config: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(config.parent / "state.db") as conn:
        return conn.execute("SELECT m.check_name, m.group_key, m.metric, m.run_date, m.measured_at, m.value, m.status,"
                            " m.anomalous FROM metrics m JOIN runs r ON r.id = m.run_id"
                            " ORDER BY r.started_at, m.id").fetchall()


def stored_findings(config: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(config.parent / "state.db") as conn:
        return conn.execute("SELECT f.kind, f.subject, f.status, f.summary, f.fingerprint, f.details FROM findings f"
                            " JOIN runs r ON r.id = f.run_id ORDER BY r.started_at, f.id").fetchall()


# ---------------------------------------------------------------- the same run, faster


@pytest.mark.parametrize("fmt", ["json", "table", "markdown"])
def test_a_kept_plan_gives_the_same_output_without_the_heavy_imports(warehouse: ScratchWarehouse, fmt: str) -> None:
    config = warehouse.write_config(CHECKS)
    args = ("--now", NOW_ARG, "--format", fmt)
    cold_code, cold_out, cold_heavy = probe(config, *args)
    assert cold_heavy == ["pydantic", "sqlglot"]  # validated and compiled; creating the store needs no SQLAlchemy
    assert len(kept_files(config)) == 1
    warm_code, warm_out, warm_heavy = probe(config, *args)
    assert warm_heavy == []
    assert (warm_code, warm_out) == (cold_code, cold_out)
    off_code, off_out, off_heavy = probe(config, *args, env={plancache.ENV_SWITCH: "0"})
    assert off_heavy == ["pydantic", "sqlglot"]  # validated and compiled; the store exists: no SQLAlchemy
    assert (off_code, off_out) == (cold_code, cold_out)


def test_a_kept_plan_stores_the_same_rows(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    for _ in range(3):  # cold (creates the store), then twice from the kept plan, all about the same date
        probe(config, "--now", NOW_ARG, "--format", "json")
    metrics, findings = stored_metrics(config), stored_findings(config)
    assert len(metrics) % 3 == 0 and len(metrics) > 0
    assert len(findings) % 3 == 0 and len(findings) > 0
    per_run = len(metrics) // 3
    assert metrics[:per_run] == metrics[per_run:2 * per_run] == metrics[2 * per_run:]
    per_run = len(findings) // 3
    assert findings[:per_run] == findings[per_run:2 * per_run] == findings[2 * per_run:]


def test_the_kept_plan_runs_the_same_statements(warehouse: ScratchWarehouse,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = warehouse.write_config(CHECKS)
    runs = []
    for _ in range(2):
        with record_statements() as executed:
            assert main(["canary", "--config", str(config), "--now", NOW_ARG, "--format", "json"]) == 2
        runs.append(([e.statement for e in executed], json.loads(capsys.readouterr().out)))
    assert kept_files(config)
    assert runs[0] == runs[1]


# ---------------------------------------------------------------- compiled afresh when anything changed


def test_an_edited_config_is_compiled_afresh(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    probe(config, "--now", NOW_ARG, "--format", "json")
    edited = [{**c, "critical": "< 1000"} if c["name"] == "orders.rows" else c for c in CHECKS]
    config = warehouse.write_config(edited)
    _, out, heavy = probe(config, "--now", NOW_ARG, "--format", "json")
    assert "pydantic" in heavy
    (rows,) = [c for c in json.loads(out)["checks"] if c["name"] == "orders.rows"]
    assert rows["critical"] == "< 1000" and rows["status"] == "critical"
    assert len(kept_files(config)) == 2


def test_a_new_day_renders_the_templates_again(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    _, first, _ = probe(config, "--now", NOW_ARG, "--format", "json")
    _, next_day, heavy = probe(config, "--now", NEXT_DAY_ARG, "--format", "json")
    assert "sqlglot" in heavy  # {{ yesterday }} moved: compiled again
    values = {c["name"]: c["value"] for c in json.loads(first)["checks"]}
    later = {c["name"]: c["value"] for c in json.loads(next_day)["checks"]}
    expected = [warehouse.scalar(f"SELECT COUNT(*) FROM orders WHERE day = DATE '{d}'")
                for d in ("2026-11-22", "2026-11-23")]
    assert [values["orders.yesterday"], later["orders.yesterday"]] == expected
    _, again, heavy = probe(config, "--now", "2026-11-24T18:00:00Z", "--format", "json")
    assert heavy == []  # the same day later: the dates the checks use are the same
    assert {c["name"]: c["value"] for c in json.loads(again)["checks"]}["orders.yesterday"] == expected[1]


def test_a_plan_without_templates_is_kept_across_days(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config([c for c in CHECKS if "where" not in c])
    probe(config, "--now", NOW_ARG, "--format", "json")
    assert probe(config, "--now", NEXT_DAY_ARG, "--format", "json")[2] == []


def test_the_selection_is_part_of_the_key(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    outputs = {}
    for args in ((), ("--phase", "p1"), ("--check", "orders.rows"), ("--phase", "p2", "--check", "orders.fresh")):
        _, cold, _ = probe(config, "--now", NOW_ARG, "--format", "json", *args)
        _, warm, heavy = probe(config, "--now", NOW_ARG, "--format", "json", *args)
        assert heavy == [] and warm == cold
        outputs[args] = [c["name"] for c in json.loads(warm)["checks"]]
    assert outputs[("--phase", "p1")] == ["orders.rows", "orders.customer_missing", "orders.customers"]
    assert outputs[("--check", "orders.rows")] == ["orders.rows"]
    assert outputs[("--phase", "p2", "--check", "orders.fresh")] == ["orders.fresh"]
    assert len(kept_files(config)) == 4


def test_environment_variables_the_config_names_are_part_of_the_key(warehouse: ScratchWarehouse,
                                                                   tmp_path: Path) -> None:
    other = ScratchWarehouse.duckdb(tmp_path / "other")
    other.create(Table("orders", ORDERS.columns, ORDERS.rows[:5]))
    checks = [{"name": "rows", "table": "orders", "metric": "row_count"}]
    config = warehouse.write_config(checks, warehouse={"memory_limit": "${DW_TEST_MEMORY:-64MB}"})
    text = config.read_text().replace(f'url = "{warehouse.url}"', 'url = "duckdb:///${DW_TEST_WAREHOUSE}"')
    config.write_text(text)
    values = []
    for path in (Path(warehouse.url.split("///", 1)[1]), Path(other.url.split("///", 1)[1]),
                 Path(warehouse.url.split("///", 1)[1])):
        _, out, _ = probe(config, "--now", NOW_ARG, "--format", "json", env={"DW_TEST_WAREHOUSE": str(path)})
        values.append(json.loads(out)["checks"][0]["value"])
    assert values == [40, 5, 40]


def test_a_damaged_entry_is_compiled_afresh_and_replaced(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    _, cold, _ = probe(config, "--now", NOW_ARG, "--format", "json")
    (entry,) = kept_files(config)
    for damage in ("{", json.dumps({"format": 1, "key": "not this one"}), ""):
        entry.write_text(damage)
        _, out, heavy = probe(config, "--now", NOW_ARG, "--format", "json")
        assert "pydantic" in heavy and out == cold
        assert json.loads(entry.read_text())["format"] == plancache.FORMAT
    assert probe(config, "--now", NOW_ARG, "--format", "json")[2] == []


# ---------------------------------------------------------------- kept only when safe


def test_nothing_is_kept_with_alert_sinks(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS, extra='[[alerts.webhook]]\nurl = "http://127.0.0.1:9/hook"\n')
    probe(config, "--now", NOW_ARG, "--format", "json", "--no-alerts")
    assert kept_files(config) == []


def test_nothing_secret_is_written_to_disk(warehouse: ScratchWarehouse) -> None:
    secret = "s3cr3t-region-name"
    checks = [{"name": "rows", "table": "orders", "metric": "row_count", "where": "region != '${DW_TEST_SECRET}'"},
              {"name": "pw", "table": "orders", "metric": "row_count", "where": "customer != 'password=hunter22'"}]
    config = warehouse.write_config(checks)
    probe(config, "--now", NOW_ARG, "--format", "json", env={"DW_TEST_SECRET": secret})
    assert kept_files(config) == []
    config = warehouse.write_config(checks[1:])
    probe(config, "--now", NOW_ARG, "--format", "json")
    assert kept_files(config) == []  # credential-shaped text is not written either
    config = warehouse.write_config([{**checks[0], "where": "region != 'east'"}],
                                    extra='[server]\ntoken = "${DW_TEST_SECRET}"\n')
    probe(config, "--now", NOW_ARG, "--format", "json", env={"DW_TEST_SECRET": secret})
    (entry,) = kept_files(config)  # the token is named, not written: the key hashes its value
    assert secret not in entry.read_text()


def test_switched_off_nothing_is_kept(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    for value in ("0", "off", "false"):
        probe(config, "--now", NOW_ARG, "--format", "json", env={plancache.ENV_SWITCH: value})
    assert kept_files(config) == []


def test_an_unwritable_cache_folder_only_costs_time(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    plancache.cache_dir().parent.mkdir(parents=True, exist_ok=True)
    plancache.cache_dir().write_text("not a folder")
    code, out, _ = probe(config, "--now", NOW_ARG, "--format", "json")
    code2, out2, heavy = probe(config, "--now", NOW_ARG, "--format", "json")
    assert (code, out) == (code2, out2) and code == 2 and "pydantic" in heavy


def test_without_a_home_nothing_is_kept_and_the_run_is_the_same(warehouse: ScratchWarehouse,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config = warehouse.write_config(CHECKS)
    _, cold, _ = probe(config, "--now", NOW_ARG, "--format", "json")
    monkeypatch.delenv(plancache.CACHE_DIR)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HOME")
    code, out, heavy = probe(config, "--now", NOW_ARG, "--format", "json", env={"PATH": os.environ["PATH"]})
    assert code == 2 and out == cold and "pydantic" in heavy


def test_the_cache_folder_defaults_to_the_xdg_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(plancache.CACHE_DIR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert plancache.cache_dir() == tmp_path / "xdg" / "deploywatch" / "plans"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert plancache.cache_dir() == tmp_path / "home" / ".cache" / "deploywatch" / "plans"


def test_nothing_is_written_beside_the_config(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    probe(config, "--now", NOW_ARG, "--format", "json")
    probe(config, "--now", NOW_ARG, "--format", "json")
    assert kept_files(config)
    assert {p.name for p in config.parent.iterdir()} <= {"deploywatch.toml", "state.db", "state.db-wal", "state.db-shm"}


def test_old_entries_are_pruned(warehouse: ScratchWarehouse, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(plancache, "KEEP", 3)
    config = warehouse.write_config(CHECKS)
    names = [c["name"] for c in CHECKS]
    for name in names[:5]:
        main(["canary", "--config", str(config), "--now", NOW_ARG, "--format", "json", "--check", name])
    capsys.readouterr()
    assert len(kept_files(config)) == 3


# ---------------------------------------------------------------- a failing statement from a kept plan


def test_a_failing_statement_isolates_its_metrics_from_a_kept_plan(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    _, before, _ = probe(config, "--now", NOW_ARG, "--format", "json")
    assert {c["name"]: c["value"] for c in json.loads(before)["checks"]}["orders.customer_missing"] == 8
    execute(warehouse.url, "ALTER TABLE orders DROP COLUMN customer")
    _, out, heavy = probe(config, "--now", NOW_ARG, "--format", "json")
    assert "sqlglot" in heavy  # the one-metric statements are compiled afresh
    checks = {(c["name"], c["group"]): c for c in json.loads(out)["checks"]}
    assert checks[("orders.rows", None)]["value"] == 40 and checks[("orders.rows", None)]["status"] == "ok"
    assert checks[("orders.customer_missing", None)]["status"] == "unknown"
    assert "customer" in checks[("orders.customer_missing", None)]["reason"]
    _, fresh, _ = probe(config, "--now", NOW_ARG, "--format", "json", env={plancache.ENV_SWITCH: "0"})
    assert json.loads(fresh) == json.loads(out)


# ---------------------------------------------------------------- gates


GATES = """
[gates.first]
checks = ["p1"]

[gates.strict]
checks = ["p1", "orders.fresh"]
min_score = 99
"""


@pytest.mark.parametrize("gate", ["first", "strict"])
def test_a_gate_runs_from_its_kept_plan(warehouse: ScratchWarehouse, gate: str) -> None:
    config = warehouse.write_config(CHECKS, extra=GATES)
    args = ("--now", NOW_ARG, "--format", "json")
    cold = probe(config, *args, command=("gate", gate))
    warm = probe(config, *args, command=("gate", gate))
    off = probe(config, *args, command=("gate", gate), env={plancache.ENV_SWITCH: "0"})
    assert "pydantic" in cold[2] and warm[2] == [] and "pydantic" in off[2]
    assert cold[:2] == warm[:2] == off[:2]
    verdict = json.loads(warm[1])
    assert verdict["gate"] == gate
    assert (verdict["verdict"], cold[0]) == {"first": ("PROCEED_WITH_WARNING", 1), "strict": ("FAIL", 2)}[gate]
    with sqlite3.connect(config.parent / "state.db") as conn:
        stored = conn.execute("SELECT command, exit_code, score FROM runs ORDER BY started_at").fetchall()
    assert stored == [("gate", cold[0], verdict["score"])] * 3


def test_gates_and_canaries_keep_plans_of_their_own(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS, extra=GATES)
    probe(config, "--now", NOW_ARG, command=("gate", "first"))
    probe(config, "--now", NOW_ARG, "--phase", "p1")
    assert len(kept_files(config)) == 2
    assert probe(config, "--now", NOW_ARG, command=("gate", "strict"))[2] != []


def test_an_unknown_gate_is_still_an_error(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS, extra=GATES)
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "deploywatch", "gate", "nope", "--config", str(config)],
                              check=False, capture_output=True, text=True, timeout=120)
        assert done.returncode == 3
        assert done.stderr.strip() == "deploywatch: error: unknown gate 'nope' (gates: first, strict)"
    assert kept_files(config) == []


def test_the_cache_folder_is_private(warehouse: ScratchWarehouse) -> None:
    config = warehouse.write_config(CHECKS)
    probe(config, "--now", NOW_ARG, "--format", "json")
    assert kept_files(config)
    assert plancache.cache_dir().stat().st_mode & 0o777 == 0o700
