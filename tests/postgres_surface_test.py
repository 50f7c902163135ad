"""Every command that reads or writes the warehouse or the store, on a PostgreSQL warehouse and a PostgreSQL store:
what each prints is compared with hand-written SQL on the warehouse and on the store's tables."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploywatch.cli import cli, main
from testing.gitrepo import GitRepo
from testing.http import closed_port
from testing.warehouse import ScratchWarehouse, Table, query, toml_value, write_checks_config

NOW = "2026-11-23T09:00:00Z"
DAY = "2026-11-22"
ORDERS = Table("orders", {"id": "INTEGER", "region": "TEXT", "amount": "DOUBLE PRECISION", "created_at": "TIMESTAMP"},
               [(1, "east", 10.0, dt.datetime(2026, 11, 23, 6)), (2, "east", 15.0, dt.datetime(2026, 11, 22, 6)),
                (3, "west", 5.0, dt.datetime(2026, 11, 22, 7)), (4, "north", None, dt.datetime(2026, 11, 21))])
CHECKS = [{"name": "orders.rows", "table": "orders", "metric": "row_count", "warn": "< 1"},
          {"name": "orders.amount_by_region", "table": "orders", "group_by": "region", "metric": "sum(amount)",
           "warn": "< 20"},
          {"name": "orders.amount_missing", "table": "orders", "metric": "missing_count(amount)", "critical": "> 5"}]
# the phase status command (`completion`, or `phases` where shell completion took that name)
PHASES = "phases" if "phases" in cli.commands else "completion"


@dataclass(frozen=True)
class Scenario:
    config: Path
    warehouse: str  # URL (its own schema)
    store: str  # URL (the database)
    deployed: str
    tip: str


@pytest.fixture
def scenario(postgres_url: str, tmp_path: Path) -> Scenario:
    warehouse = ScratchWarehouse.postgres(postgres_url, tmp_path)
    warehouse.create(ORDERS)
    repo = GitRepo(tmp_path / "repo")
    deployed = repo.commit("web: first", {"web/a.py": "1"})
    tip = repo.commit("web: second", {"web/a.py": "2"})
    (tmp_path / "web.sha").write_text(deployed + "\n", encoding="utf-8")
    extra = f"""
[repo]
path = {toml_value(str(repo.path))}

[services.web]
paths = ["web/**"]
deployed = {{ file = {toml_value(str(tmp_path / "web.sha"))} }}

[gates.release]
checks = ["orders.*"]

[phases.load]
processors = ["a", "b"]
freshness = {{ table = "orders", column = "created_at", within = "1d" }}

[alerts]
retry_for = "1s"

[[alerts.webhook]]
url = "http://127.0.0.1:{closed_port()}/hook"
"""
    config = write_checks_config(tmp_path / "config", warehouse.url, CHECKS, store=postgres_url, extra=extra)
    return Scenario(config, warehouse.url, postgres_url, deployed, tip)


def run(capsys: pytest.CaptureFixture[str], scenario: Scenario, *args: str, now: bool = True) -> tuple[int, Any]:
    code = main([*args, "--config", str(scenario.config), *(["--now", NOW] if now else [])])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "internal error" not in captured.err, captured.err
    if "--format" in args and "json" in args:
        assert captured.out.lstrip().startswith(("{", "[")), (code, captured.out, captured.err)
        return code, json.loads(captured.out)
    return code, captured.out + captured.err


def in_store(scenario: Scenario, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return query(scenario.store, sql, params)


def expected_values(scenario: Scenario) -> dict[tuple[str, str | None], float]:
    """Every check's value, by hand-written SQL on the warehouse."""
    rows = {("orders.rows", None): query(scenario.warehouse, "SELECT count(*) FROM orders")[0][0],
            ("orders.amount_missing", None): query(
                scenario.warehouse, "SELECT count(*) FROM orders WHERE amount IS NULL")[0][0]}
    for region, total in query(scenario.warehouse, "SELECT region, sum(amount) FROM orders GROUP BY region"):
        rows["orders.amount_by_region", region] = total
    return rows


def values_of(checks: list[dict[str, Any]]) -> dict[tuple[str, str | None], Any]:
    return {(c["name"], c["group"]): c["value"] for c in checks}


def test_canary_history_and_gate(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    expected = expected_values(scenario)
    assert expected["orders.amount_by_region", "north"] is None  # sum of only NULLs

    code, canary = run(capsys, scenario, "canary", "--format", "json")
    assert values_of(canary["checks"]) == expected
    assert code == 3  # north's sum is unknown (NULL) and unknown is worse than west's warning
    ((run_id,),) = in_store(scenario, "SELECT id FROM runs WHERE command = 'canary'")
    stored = in_store(scenario, "SELECT check_name, group_key, value FROM metrics WHERE run_id = :run", run=run_id)
    assert {(name, group): value for name, group, value in stored} == expected

    code, history = run(capsys, scenario, "history", "orders.amount_by_region", "--format", "json", now=False)
    assert code == 0
    rows = in_store(scenario, "SELECT run_id, group_key, value, status FROM metrics "
                              "WHERE check_name = 'orders.amount_by_region' ORDER BY id DESC")
    assert [(v["run_id"], v["group"], v["value"], v["status"]) for v in history["values"]] == rows

    code, gate = run(capsys, scenario, "gate", "release", "--format", "json")
    assert values_of(gate["checks"]) == expected
    assert gate["verdict"] == "FAIL"  # an unknown check fails a gate
    assert in_store(scenario, "SELECT exit_code, score FROM runs WHERE command = 'gate'") == [(code, gate["score"])]
    assert code == 2
    assert len(in_store(scenario, "SELECT id FROM runs")) == 2


def test_complete_phases_check_and_drift(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    code, said = run(capsys, scenario, "complete", "load", "a", "--date", DAY)
    assert code == 0 and "load/a" in said
    assert in_store(scenario, "SELECT phase, processor, run_date, reports FROM completions") == [
        ("load", "a", dt.date(2026, 11, 22), 1)]

    code, phases = run(capsys, scenario, PHASES, "--date", DAY, "--format", "json")
    (phase,) = phases["phases"]
    recorded = [p for (p,) in in_store(scenario, "SELECT processor FROM completions WHERE phase = 'load' "
                                                 "AND run_date = :day ORDER BY processor", day=dt.date(2026, 11, 22))]
    assert phase["recorded"] == recorded == ["a"]
    assert phase["missing"] == ["b"]
    ((newest,),) = query(scenario.warehouse, "SELECT max(created_at) FROM orders")
    assert phase["age_seconds"] == (dt.datetime(2026, 11, 23, 9) - newest).total_seconds()
    assert code == 1  # a tracking gap: data fresh, one processor missing

    code, check = run(capsys, scenario, "check", "--date", DAY, "--format", "json", "--no-alerts")
    items = {i["name"]: i for i in check["items"]}
    assert items["orders.rows"]["value"] == expected_values(scenario)["orders.rows", None]
    assert items["Phase load completion"]["value"] == f"{len(recorded)}/2"
    stored = in_store(scenario, "SELECT id, exit_code, score, status FROM runs WHERE command = 'check'")
    assert stored == [(check["run_id"], code, check["score"], "critical")]
    metric_rows = in_store(scenario, "SELECT check_name, group_key, value FROM metrics WHERE run_id = :run",
                           run=check["run_id"])
    assert {(name, group): value for name, group, value in metric_rows} == expected_values(scenario)

    code, drift = run(capsys, scenario, "drift", "--format", "json", "--no-alerts")
    (service,) = drift["services"]
    assert (service["deployed_commit"], drift["repo"]["tip"]) == (scenario.deployed, scenario.tip)
    assert in_store(scenario, "SELECT status, exit_code FROM runs WHERE command = 'drift'") == [(drift["status"], code)]


def test_alerts_pending_and_silences(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, scenario, "canary", "--format", "json")  # its alert cannot be delivered: the sink is closed
    code, pending = run(capsys, scenario, "alerts", "pending", "--format", "json")
    outbox = in_store(scenario, "SELECT id, sink, state, attempts FROM outbox ORDER BY created_at, id")
    assert [(i["id"], i["sink"], i["state"], i["attempts"]) for i in pending["items"]] == outbox
    assert outbox and {state for _, _, state, _ in outbox} == {"pending"}
    assert code == 1

    code, flushed = run(capsys, scenario, "alerts", "flush", "--no-wait", "--format", "json")
    after = in_store(scenario, "SELECT id, state, attempts FROM outbox ORDER BY created_at, id")
    assert [(i, a + 1) for i, _, _, a in outbox] == [(i, a) for i, _, a in after]  # one more attempt each
    assert sorted((i["id"], i["state"], i["attempts"]) for i in flushed["items"]) == sorted(after)
    assert code == 1

    code, added = run(capsys, scenario, "silence", "add", "--match", "service=web", "--for", "2h", "--comment",
                      "deploying", "--author", "ops", "--format", "json")
    assert code == 0
    code, listed = run(capsys, scenario, "silence", "list", "--format", "json")
    stored = in_store(scenario, "SELECT id, comment, created_by, ends_at - starts_at FROM silences")
    assert [(s["id"], s["comment"], s["created_by"]) for s in _silences(listed)] == [row[:3] for row in stored]
    assert stored[0][3] == dt.timedelta(hours=2)
    silence_id = stored[0][0]
    assert silence_id in json.dumps(added)

    code, _ = run(capsys, scenario, "silence", "expire", silence_id)
    assert code == 0
    assert in_store(scenario, "SELECT expired_at IS NOT NULL FROM silences WHERE id = :id", id=silence_id) == [(True,)]
    _, listed = run(capsys, scenario, "silence", "list", "--format", "json")
    assert _silences(listed) == []


def _silences(document: Any) -> list[dict[str, Any]]:
    return list(document["silences"] if isinstance(document, dict) else document)
