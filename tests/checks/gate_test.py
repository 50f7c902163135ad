"""Gates: verdicts, the quality score (weights, groups), ``min_score``, check patterns, the Python API and the store.

One DuckDB warehouse holds a day of orders whose every check status is known in advance; each gate picks
a different set of those checks. Expected scores come from a formula written here over those statuses.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

import deploywatch
from deploywatch.cli import main
from deploywatch.core.errors import UsageError
from deploywatch.store import Store, default_store_url

RUN_DATE = date(2026, 11, 22)
NOW = "2026-11-23T09:00:00Z"
ORDERS = [("a", 10.0), ("a", 20.0), ("a", 30.0), ("a", 40.0), ("a", 50.0), ("a", 60.0),
          ("b", 5.0), ("b", None), ("b", 7.0),
          ("c", None)]
TODAY = "d = DATE '{{ run_date }}'"

CONFIG = f"""\
[warehouse]
url = "duckdb:///orders.duckdb"

[[checks]]
name = "orders.rows"
phase = "ingest"
table = "orders"
where = "{TODAY}"
metric = "row_count"
critical = "< 1"
weight = 3

[[checks]]
name = "orders.amount_present"
phase = "ingest"
table = "orders"
where = "{TODAY}"
metric = "percent(amount IS NOT NULL)"
warn = "< 95"
critical = "< 50"

[[checks]]
name = "orders.by_region"
phase = "publish"
table = "orders"
where = "{TODAY}"
group_by = "region"
metric = "row_count"
warn = "< 4"
critical = "< 2"
weight = 2

[[checks]]
name = "orders.refunds"
phase = "publish"
table = "orders"
where = "{TODAY} AND amount < 0"
metric = "sum(amount)"
weight = 0.5

[[checks]]
name = "orders.volume"
phase = "report"
table = "orders"
where = "{TODAY}"
metric = "row_count"
critical = "< 100"

[gates.ok]
checks = ["orders.rows"]

[gates.warned]
checks = ["orders.rows", "orders.amount_present"]

[gates.failing]
checks = ["orders.rows", "orders.volume"]

[gates.unknown]
checks = ["orders.rows", "orders.refunds"]

[gates.weighted]
checks = ["ingest", "publish"]

[gates.strict]
checks = ["ingest"]
min_score = 90

[gates.exact]
checks = ["ingest"]
min_score = 87.5

[gates.globbed]
checks = ["orders.r*"]

[gates.mixed]
checks = ["publish", "orders.am*"]
"""

# What each result must be, from the data above: 10 rows (2 without an amount), regions a 6, b 3, c 1.
STATUSES: dict[tuple[str, str | None], str] = {
    ("orders.rows", None): "ok",
    ("orders.amount_present", None): "warning",  # 80% < 95
    ("orders.by_region", "a"): "ok",
    ("orders.by_region", "b"): "warning",  # 3 < 4
    ("orders.by_region", "c"): "critical",  # 1 < 2
    ("orders.refunds", None): "unknown",  # no refunds: the sum is NULL
    ("orders.volume", None): "critical",  # 10 < 100
}
WEIGHTS = {"orders.rows": 3.0, "orders.amount_present": 1.0, "orders.by_region": 2.0, "orders.refunds": 0.5,
           "orders.volume": 1.0}
SHARE = {"ok": 1.0, "warning": 0.5, "critical": 0.0, "unknown": 0.0}


def expected_score(checks: Sequence[str]) -> float:
    """The gate score from the known statuses: weighted mean over checks, a grouped check its groups' mean."""
    shares = {name: statistics.mean(SHARE[s] for (n, _), s in STATUSES.items() if n == name) for name in checks}
    return 100 * sum(WEIGHTS[n] * shares[n] for n in checks) / sum(WEIGHTS[n] for n in checks)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The orders warehouse, shared by every test of the module (checks only read it)."""
    path = tmp_path_factory.mktemp("gate-warehouse") / "orders.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE orders (d DATE, region VARCHAR, amount DOUBLE)")
        con.executemany("INSERT INTO orders VALUES (?, ?, ?)", [[RUN_DATE, r, a] for r, a in ORDERS])
        con.execute("INSERT INTO orders VALUES (DATE '2026-11-21', 'a', -5.0)")  # another day: filtered out
    return path


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> Path:
    """A config of its own (so a store of its own) over the shared warehouse."""
    path = tmp_path / "deploywatch.toml"
    path.write_text(CONFIG.replace("duckdb:///orders.duckdb", f"duckdb:///{warehouse}"), encoding="utf-8")
    return path


def gate(config: Path, name: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["gate", name, "--config", str(config), "--date", RUN_DATE.isoformat(), "--now", NOW,
                 "--format", "json", *extra])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, json.loads(captured.out)


def statuses(document: Mapping[str, Any]) -> dict[tuple[str, str | None], str]:
    return {(c["name"], c["group"]): c["status"] for c in document["checks"]}


@pytest.mark.parametrize(("name", "verdict", "code"), [
    ("ok", "PROCEED", 0),
    ("warned", "PROCEED_WITH_WARNING", 1),
    ("failing", "FAIL", 2),
    ("unknown", "FAIL", 2),
])
def test_verdict_and_exit_code(config: Path, capsys: pytest.CaptureFixture[str], name: str, verdict: str,
                               code: int) -> None:
    exit_code, document = gate(config, name, capsys)

    assert (exit_code, document["verdict"]) == (code, verdict)
    assert document["schema"] == "deploywatch.gate/v1"
    assert set(document) == {"schema", "gate", "verdict", "score", "message", "issues", "checks"}
    assert document["gate"] == name
    assert document["message"].startswith(verdict + ":")
    for key, status in statuses(document).items():
        assert STATUSES[key] == status, key


def test_issues_name_every_result_that_is_not_ok(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, document = gate(config, "weighted", capsys)

    not_ok = {f"{n}[{g}]" if g else n for (n, g), s in STATUSES.items()
              if s != "ok" and n != "orders.volume"}
    assert {issue.split(":")[0] for issue in document["issues"]} == not_ok
    assert "orders.by_region[c]: critical" in " ".join(document["issues"])
    assert "orders.amount_present: warning (80.0% < 95)" in document["issues"]


@pytest.mark.parametrize(("name", "checks"), [
    ("ok", ["orders.rows"]),
    ("warned", ["orders.rows", "orders.amount_present"]),
    ("unknown", ["orders.rows", "orders.refunds"]),
    ("weighted", ["orders.rows", "orders.amount_present", "orders.by_region", "orders.refunds"]),
    ("mixed", ["orders.amount_present", "orders.by_region", "orders.refunds"]),
])
def test_score_is_the_weighted_share_with_a_grouped_check_counted_once(config: Path,
                                                                        capsys: pytest.CaptureFixture[str],
                                                                        name: str, checks: list[str]) -> None:
    _, document = gate(config, name, capsys)

    assert document["score"] == pytest.approx(expected_score(checks), abs=0.05)
    assert 0 <= document["score"] <= 100


def test_score_worked_example(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, document = gate(config, "weighted", capsys)

    # rows ok (weight 3), amount warning (1), by_region ok/warning/critical → 0.5 (2), refunds unknown (0.5)
    assert document["score"] == pytest.approx(100 * (3 * 1 + 1 * 0.5 + 2 * 0.5 + 0.5 * 0) / 6.5, abs=0.05)
    # Counting each group as a check of its own would give a different number.
    assert document["score"] != pytest.approx(100 * (3 + 0.5 + 2 * (1 + 0.5)) / (3 + 1 + 3 * 2 + 0.5), abs=0.05)


@pytest.mark.parametrize(("name", "verdict", "code"), [("strict", "FAIL", 2), ("exact", "PROCEED_WITH_WARNING", 1)])
def test_min_score(config: Path, capsys: pytest.CaptureFixture[str], name: str, verdict: str, code: int) -> None:
    exit_code, document = gate(config, name, capsys)

    assert document["score"] == pytest.approx(expected_score(["orders.rows", "orders.amount_present"]))
    assert document["score"] == pytest.approx((3 * 1 + 1 * 0.5) / 4 * 100)
    assert (exit_code, document["verdict"]) == (code, verdict)
    if verdict == "FAIL":
        assert "min_score 90" in document["message"]
        assert f"{document['score']:g}" in document["message"]


@pytest.mark.parametrize(("name", "selected"), [
    ("globbed", {"orders.rows", "orders.refunds"}),
    ("weighted", {"orders.rows", "orders.amount_present", "orders.by_region", "orders.refunds"}),
    ("mixed", {"orders.amount_present", "orders.by_region", "orders.refunds"}),
])
def test_patterns_are_globs_over_names_or_phase_names(config: Path, capsys: pytest.CaptureFixture[str], name: str,
                                                      selected: set[str]) -> None:
    _, document = gate(config, name, capsys)

    assert {c["name"] for c in document["checks"]} == selected


def test_unknown_gate_is_one_line_and_exit_3(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["gate", "nightly", "--config", str(config), "--now", NOW])

    captured = capsys.readouterr()
    assert code == 3
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("deploywatch: error: unknown gate 'nightly'")
    assert "warned" in captured.err  # the gates that do exist


def test_python_api_returns_a_gate_result(config: Path) -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    warned = deploywatch.run_gate("warned", date="2026-11-22", config=config, now=now)
    failed = deploywatch.run_gate("failing", date=RUN_DATE, config=str(config), now=now)
    passed = deploywatch.run_gate("ok", date=RUN_DATE, config=deploywatch.load_config(config), now=now)

    assert isinstance(warned, deploywatch.GateResult)
    assert (warned.status, warned.can_proceed, warned.exit_code) == ("PROCEED_WITH_WARNING", True, 1)
    assert warned.score == pytest.approx(87.5)
    assert warned.issues == ("orders.amount_present: warning (80.0% < 95)",)
    assert warned.message.startswith("PROCEED_WITH_WARNING")
    assert (failed.status, failed.can_proceed, failed.exit_code) == ("FAIL", False, 2)
    assert any(issue.startswith("orders.volume: critical") for issue in failed.issues)
    assert (passed.status, passed.can_proceed, passed.score, passed.issues) == ("PROCEED", True, 100.0, ())
    assert {c.name for c in failed.checks} == {"orders.rows", "orders.volume"}


def test_python_api_errors(config: Path) -> None:
    with pytest.raises(UsageError, match="unknown gate 'nope'"):
        deploywatch.run_gate("nope", config=config)
    with pytest.raises(UsageError, match="invalid date '22/11/2026'"):
        deploywatch.run_gate("ok", date="22/11/2026", config=config)


def test_gate_runs_are_stored_with_verdict_and_score(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gate(config, "weighted", capsys)
    gate(config, "ok", capsys)

    with Store.open(default_store_url(config.parent)) as store:
        runs = store.runs(command="gate")
        newest_findings = store.findings(runs[0].id)
        weighted_findings = store.findings(runs[1].id)
        rows = store.recent_metrics("orders.by_region", limit=10)
        canaries = store.runs(command="canary")

    assert canaries == []
    assert [r.details["gate"] for r in runs] == ["ok", "weighted"]
    weighted = runs[1]
    assert (weighted.details["verdict"], weighted.exit_code, weighted.status) == ("FAIL", 2, "critical")
    assert weighted.score == pytest.approx(expected_score(
        ["orders.rows", "orders.amount_present", "orders.by_region", "orders.refunds"]), abs=0.05)
    assert weighted.run_date == RUN_DATE
    assert (runs[0].details["verdict"], runs[0].exit_code, runs[0].score) == ("PROCEED", 0, 100.0)
    # One finding per check result, and the gate's verdict.
    assert [(f.kind, f.subject, f.status) for f in newest_findings] == [
        ("check", "orders.rows", "ok"), ("gate", "ok", "ok")]
    assert {(f.subject, f.status) for f in weighted_findings if f.kind == "check"} == {
        (f"{n}[{g}]" if g else n, s) for (n, g), s in STATUSES.items() if n != "orders.volume"}
    assert [(f.subject, f.status) for f in weighted_findings if f.kind == "gate"] == [("weighted", "critical")]
    assert {(m.group, m.value, m.run_id) for m in rows} == {("a", 6.0, weighted.id), ("b", 3.0, weighted.id),
                                                            ("c", 1.0, weighted.id)}
