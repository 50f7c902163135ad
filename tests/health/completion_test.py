"""Phase completion: reports, duplicates, ``on_complete`` exactly once across processes (SQLite and PostgreSQL),
and the reconciliation of reports with the freshness of the phase's data in a real DuckDB warehouse."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from deploywatch import load_config
from deploywatch.checks.runner import open_store
from deploywatch.cli import main
from deploywatch.config import LoadedConfig
from deploywatch.core.errors import UsageError
from deploywatch.core.status import Status
from deploywatch.health.completion import PhaseStatus, phase_statuses, reconcile, record_completion
from deploywatch.store import Store
from testing.http import closed_port
from testing.warehouse import ScratchWarehouse, Table, toml_value, write_checks_config

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
NOW_ARG = "2026-11-23T08:00:00Z"
DAY = dt.date(2026, 11, 22)
DAY_ARG = "2026-11-22"
FIVE = ["a", "b", "c", "d", "e"]

# naive timestamps are in the warehouse time zone (UTC here)
FRESH = Table("fresh", {"ts": "TIMESTAMP"}, [(dt.datetime(2026, 11, 23, 6, 0),), (dt.datetime(2026, 11, 20),)])
STALE = Table("stale", {"ts": "TIMESTAMP"}, [(dt.datetime(2026, 11, 22, 2, 0),)])
EDGE = Table("edge", {"ts": "TIMESTAMP"}, [(dt.datetime(2026, 11, 22, 8, 0),)])  # exactly 24h old
NULLS = Table("nulls", {"ts": "TIMESTAMP"}, [(None,), (None,)])
EMPTY = Table("empty", {"ts": "TIMESTAMP"})
# a table for the dummy check every config needs (a config has services or checks)
DUMMY = Table("dummy", {"id": "INTEGER"}, [(1,)])


def phases_toml(phases: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name, settings in phases.items():
        lines += [f"[phases.{name}]", *(f"{key} = {toml_value(value)}" for key, value in settings.items()), ""]
    return "\n".join(lines)


def write_config(directory: Path, phases: dict[str, dict[str, Any]], *, store: str = "sqlite:///state.db",
                 warehouse: ScratchWarehouse | None = None, settings: dict[str, Any] | None = None) -> Path:
    """A deploywatch.toml with ``phases`` (and a dummy check), a SQLite store in ``directory`` by default."""
    if warehouse is None:
        warehouse = ScratchWarehouse.duckdb(directory, "dummy.duckdb")
        warehouse.create(DUMMY)
    checks = [{"name": "dummy.rows", "table": "dummy", "metric": "row_count"}]
    return write_checks_config(directory, warehouse.url, checks, store=store, warehouse=settings,
                               extra=phases_toml(phases))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def complete(capsys: pytest.CaptureFixture[str], config: Path, phase: str, processor: str,
             *more: str) -> tuple[int, str, str]:
    return cli(capsys, "complete", phase, processor, "--date", DAY_ARG, "--config", str(config), "--now", NOW_ARG,
               *more)


def store_of(config: Path) -> Store:
    return open_store(load_config(config))


# ---------------------------------------------------------------- recording


def test_record_duplicate_and_complete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fired = tmp_path / "fired.txt"
    config = write_config(tmp_path, {"phase3": {"processors": ["player_game_summary", "team_offense", "team_defense"],
                                                "on_complete": f"echo '{{{{ phase }}}} {{{{ date }}}}' >> {fired}"}})
    assert complete(capsys, config, "phase3", "player_game_summary") == (
        0, "recorded phase3/player_game_summary for 2026-11-22: 1/3\n", "")
    assert complete(capsys, config, "phase3", "player_game_summary") == (
        0, "phase3/player_game_summary for 2026-11-22 already recorded (duplicate): 1/3\n", "")
    assert complete(capsys, config, "phase3", "team_offense")[1] == "recorded phase3/team_offense for 2026-11-22: 2/3\n"
    assert not fired.exists()
    assert complete(capsys, config, "phase3", "team_defense") == (
        0, "recorded phase3/team_defense for 2026-11-22: 3/3\nphase3 complete: on_complete ran: ok\n", "")
    assert fired.read_text() == "phase3 2026-11-22\n"
    code, out, _ = complete(capsys, config, "phase3", "team_defense", "--format", "json")
    assert code == 0
    assert json.loads(out) == {"schema": "deploywatch.complete/v1", "phase": "phase3", "processor": "team_defense",
                               "date": "2026-11-22", "duplicate": True, "complete": True, "recorded": 3, "expected": 3,
                               "triggered": False, "trigger_outcome": None}
    assert fired.read_text() == "phase3 2026-11-22\n"  # a report after completion does not fire again

    with store_of(config) as store:
        rows = {r.processor: r for r in store.completions(DAY)}
        trigger = store.phase_trigger("phase3", DAY)
        assert store.completions(DAY - dt.timedelta(days=1)) == []
    assert {p: r.reports for p, r in rows.items()} == {"player_game_summary": 2, "team_offense": 1, "team_defense": 2}
    assert {r.source for r in rows.values()} == {"cli"}
    assert rows["player_game_summary"].first_reported_at == NOW
    assert trigger is not None
    assert (trigger.outcome, trigger.fired_at) == ("ok", NOW)
    assert trigger.action == f"echo 'phase3 2026-11-22' >> {fired}"


def test_unknown_phase_or_processor_exits_3_and_records_nothing(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, {"phase3": {"processors": ["a", "b"]}, "phase4": {"processors": ["x"]}})
    code, out, err = complete(capsys, config, "phase9", "a")
    assert (code, out) == (3, "")
    assert err == "deploywatch: error: unknown phase 'phase9'; phases: phase3, phase4\n"
    code, out, err = complete(capsys, config, "phase3", "x")
    assert (code, out) == (3, "")
    assert err == "deploywatch: error: unknown processor 'x' for phase 'phase3'; processors: a, b\n"
    with store_of(config) as store:
        assert store.completions(DAY) == []
        with pytest.raises(UsageError, match="phases: phase3, phase4"):
            record_completion(load_config(config), store, "nope", "a", DAY, now=NOW)


def test_default_date_is_today_in_the_warehouse_time_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, {"p": {"processors": ["a", "b"]}}, settings={"timezone": "America/Los_Angeles"})
    # 05:00 UTC is 21:00 the day before in Los Angeles
    code, out, _ = cli(capsys, "complete", "p", "a", "--config", str(config), "--now", "2026-11-23T05:00:00Z")
    assert (code, out) == (0, "recorded p/a for 2026-11-22: 1/2\n")
    code, out, _ = cli(capsys, "complete", "p", "b", "--config", str(config), "--now", "2026-11-23T09:00:00Z")
    assert (code, out) == (0, "recorded p/b for 2026-11-23: 1/2\n")
    code, out, _ = cli(capsys, "phases", "--config", str(config), "--now", "2026-11-23T05:00:00Z",
                       "--format", "json")
    assert json.loads(out)["date"] == "2026-11-22"
    assert json.loads(out)["phases"][0]["recorded"] == ["a"]


# ---------------------------------------------------------------- exactly once across processes


def race(config: Path, reports: list[str], run_date: str) -> list[subprocess.CompletedProcess[str]]:
    """Start one ``python -m deploywatch complete`` process per processor in ``reports``, all at once."""
    procs = [subprocess.Popen([sys.executable, "-m", "deploywatch", "complete", "phase3", processor, "--date",
                               run_date, "--config", str(config), "--now", NOW_ARG],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for processor in reports]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def check_exactly_once(config: Path, fired: Path) -> None:
    with store_of(config) as store:  # migrated, and "a" reported, before the race
        record_completion(load_config(config), store, "phase3", "a", DAY, now=NOW)
    # eight processes at once: the last two processors, several times each, and a duplicate of the first
    reports = ["c", "b", "c", "b", "c", "a", "c", "c"]
    done = race(config, reports, DAY_ARG)
    assert [(p.returncode, p.stderr) for p in done] == [(0, "")] * len(reports)
    outputs = [p.stdout for p in done]
    assert sum("on_complete ran: ok" in out for out in outputs) == 1, outputs
    assert sum(out.startswith("recorded ") for out in outputs) == 2, outputs  # the first b and the first c
    assert sum("(duplicate)" in out for out in outputs) == len(reports) - 2
    (winner,) = [out for out in outputs if "on_complete ran" in out]
    assert ": 3/3\n" in winner
    lines = fired.read_text().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith(" phase3 2026-11-22")
    with store_of(config) as store:
        assert {r.processor: r.reports for r in store.completions(DAY, "phase3")} == {"a": 2, "b": 2, "c": 5}
        trigger = store.phase_trigger("phase3", DAY)
        assert trigger is not None and trigger.outcome == "ok"


def race_config(directory: Path, store: str) -> tuple[Path, Path]:
    fired = directory / "fired.txt"
    # $$: the reporting process's shell; a slow action widens the window for a second firing
    action = f'sleep 0.2; echo "$$ {{{{ phase }}}} {{{{ date }}}}" >> {fired}'
    return write_config(directory, {"phase3": {"processors": ["a", "b", "c"], "on_complete": action}},
                        store=store), fired


def test_on_complete_fires_exactly_once_across_processes(tmp_path: Path) -> None:
    check_exactly_once(*race_config(tmp_path, "sqlite:///state.db"))


def test_on_complete_fires_exactly_once_across_processes_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    check_exactly_once(*race_config(tmp_path, postgres_url))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_store_methods(tmp_path: Path, request: pytest.FixtureRequest, backend: str) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    later = NOW + dt.timedelta(minutes=5)
    with Store.open(url) as store:
        def report(processor: str, action: str | None = "run it", **kw: Any) -> tuple[bool, int, bool]:
            return store.record_completion("p", processor, DAY, expected=kw.pop("expected", ["a", "b"]),
                                           source="test", now=kw.pop("now", NOW), action=action)

        assert report("zzz", expected=["zzz"], action=None) == (False, 1, False)  # no action: complete, no trigger
        assert store.phase_trigger("p", DAY) is None
        assert report("a") == (False, 1, False)  # "zzz" is not expected any more: not counted
        assert report("a", now=later) == (True, 1, False)
        assert report("b") == (False, 2, True)
        assert report("b") == (True, 2, False)
        assert report("a") == (True, 2, False)
        trigger = store.phase_trigger("p", DAY)
        assert trigger is not None
        assert (trigger.action, trigger.fired_at, trigger.outcome, trigger.finished_at) == ("run it", NOW, None, None)
        assert store.finish_trigger("p", DAY, "failed", "exit 1", later) is True
        assert store.finish_trigger("p", DAY + dt.timedelta(days=1), "ok", None, later) is False
        trigger = store.phase_trigger("p", DAY)
        assert trigger is not None
        assert trigger.as_json() == {"phase": "p", "date": "2026-11-22", "fired_at": "2026-11-23T08:00:00Z",
                                     "action": "run it", "finished_at": "2026-11-23T08:05:00Z", "outcome": "failed",
                                     "detail": "exit 1"}
        rows = store.completions(DAY)
        assert [(r.phase, r.processor, r.run_date, r.reports, r.source) for r in rows] == [
            ("p", "a", DAY, 3, "test"), ("p", "b", DAY, 2, "test"), ("p", "zzz", DAY, 1, "test")]
        assert all(r.first_reported_at == r.last_reported_at == NOW for r in rows)  # "a" last reported at NOW
        assert store.completions(DAY, "other") == []
        assert store.completions(DAY + dt.timedelta(days=1)) == []
        assert [t.phase for t in store.phase_triggers(DAY)] == ["p"]
        # another date is another phase run: it fires again, once
        store.record_completion("p", "a", DAY + dt.timedelta(days=1), expected=["a"], source="test", now=NOW,
                                action="x")
        assert store.phase_trigger("p", DAY + dt.timedelta(days=1)) is not None


# ---------------------------------------------------------------- actions


def test_url_action_posts_json(tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    secret = f"tok{uuid.uuid4().hex}"
    base = f"http://localhost:{httpserver.port}"
    config = write_config(tmp_path, {
        "ok": {"processors": ["a", "b"],
               "on_complete": f"{base}/hooks/{{{{ phase }}}}?date={{{{ date }}}}&token={secret}"},
        "broken": {"processors": ["a"], "on_complete": f"{base}/hooks/broken"},
        "gone": {"processors": ["a"], "on_complete": f"http://127.0.0.1:{closed_port()}/hook",
                 "on_complete_timeout": 2},
    })
    httpserver.expect_oneshot_request("/hooks/ok", method="POST", query_string=f"date=2026-11-22&token={secret}",
                                      json={"phase": "ok", "date": "2026-11-22", "processors": ["a", "b"]}
                                      ).respond_with_data("", status=204)
    httpserver.expect_oneshot_request("/hooks/broken", method="POST").respond_with_data("nope", status=500)
    _, first_out, first_err = complete(capsys, config, "ok", "a")
    code, out, err = complete(capsys, config, "ok", "b")
    shown = first_out + first_err + out + err  # what the reports of the phase whose URL holds the secret printed
    assert (code, out) == (0, "recorded ok/b for 2026-11-22: 2/2\nok complete: on_complete ran: ok\n")
    code, out, _ = complete(capsys, config, "broken", "a")
    assert (code, out) == (0, "recorded broken/a for 2026-11-22: 1/1\nbroken complete: on_complete ran: failed: "
                              f"POST {base}/hooks/broken: HTTP 500\n")
    code, out, _ = complete(capsys, config, "gone", "a")
    assert code == 0
    assert "gone complete: on_complete ran: failed: POST http://127.0.0.1:" in out
    httpserver.check_assertions()
    assert len(httpserver.log) == 2
    with store_of(config) as store:
        ok, broken = store.phase_trigger("ok", DAY), store.phase_trigger("broken", DAY)
    assert ok is not None and broken is not None
    assert (ok.outcome, ok.detail) == ("ok", f"POST {base}/hooks/ok: HTTP 204")
    assert ok.action == f"{base}/hooks/ok?date=2026-11-22&token=***"
    assert (broken.outcome, broken.detail) == ("failed", f"POST {base}/hooks/broken: HTTP 500")
    assert secret not in out
    assert secret not in shown


def test_command_actions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, {
        "env": {"processors": ["a"],
                "on_complete": 'echo "$DEPLOYWATCH_PHASE $DEPLOYWATCH_DATE {{ phase }} {{date}}" > out.txt'},
        "fails": {"processors": ["a"], "on_complete": "echo partial; echo 'boom: disk full' >&2; exit 7"},
        "slow": {"processors": ["a"], "on_complete": "sleep 20", "on_complete_timeout": "1s"},
        "secret": {"processors": ["a"], "on_complete": "true --token supersecret123"},
    })  # an unknown {{ name }} is a config error (tests/data/bad_configs/phase_on_complete_unknown_variable.toml)
    outcomes = {}
    loaded = load_config(config)
    with open_store(loaded) as store:
        for phase in ("env", "fails", "slow", "secret"):
            started = time.monotonic()
            recorded = record_completion(loaded, store, phase, "a", DAY, now=NOW)
            assert recorded.triggered and recorded.complete
            outcomes[phase] = (recorded.trigger_outcome, time.monotonic() - started)
        triggers = {t.phase: t for t in store.phase_triggers(DAY)}
    assert (tmp_path / "out.txt").read_text() == "env 2026-11-22 env 2026-11-22\n"  # in the config's directory
    assert outcomes["env"][0] == "ok"
    assert outcomes["fails"][0] == "failed: exit 7: boom: disk full"
    assert outcomes["slow"][0] == "failed: timed out after 1s"
    assert outcomes["slow"][1] < 4
    assert outcomes["secret"][0] == "ok"
    assert triggers["secret"].action == "true --token ***"
    assert (triggers["fails"].outcome, triggers["fails"].detail) == ("failed", "exit 7: boom: disk full")
    assert triggers["slow"].finished_at is not None and triggers["slow"].finished_at >= NOW

    # a failed action shows in the phase's status: complete, but the next step never ran
    with open_store(loaded) as store:
        statuses = {s.phase: s for s in phase_statuses(loaded, store, DAY, now=NOW)}
    assert (statuses["env"].status, statuses["env"].summary) == (Status.OK, "1/1 processors reported")
    assert statuses["fails"].status is Status.WARNING
    assert statuses["fails"].summary == "1/1 processors reported; on_complete failed: exit 7: boom: disk full"
    assert statuses["fails"].trigger is not None and statuses["fails"].trigger["outcome"] == "failed"


# ---------------------------------------------------------------- reconciliation with the data


RECONCILE: dict[str, tuple[dict[str, Any], list[str], Status, str]] = {
    # phase: (settings, processors that reported, status, summary)
    "complete_fresh": ({"freshness": {"table": "fresh", "column": "ts", "within": "24h"}}, FIVE, Status.OK,
                       "5/5 processors reported; data fresh (2h old)"),
    "complete_stale": ({"freshness": {"table": "stale", "column": "ts", "within": "24h"}}, FIVE, Status.CRITICAL,
                       "5/5 reported but data is stale: 30h old (limit 24h)"),
    "tracking_gap": ({"freshness": {"table": "fresh", "column": "ts", "within": "1d"}}, ["a"], Status.WARNING,
                     "tracking gap: 1/5 recorded but data is fresh (2h old); missing: b, c, d, e"),
    "incomplete_stale": ({"freshness": {"table": "stale", "column": "ts", "within": "24h"}}, ["a"], Status.CRITICAL,
                         "1/5 recorded (missing: b, c, d, e) and data is stale: 30h old (limit 24h)"),
    "nothing_reported": ({"freshness": {"table": "fresh", "column": "ts", "within": "24h"}}, [], Status.WARNING,
                         "tracking gap: 0/5 recorded but data is fresh (2h old); missing: a, b, c, d, e"),
    "no_freshness_incomplete": ({}, ["a", "c"], Status.CRITICAL, "2/5 processors reported; missing: b, d, e"),
    "no_freshness_complete": ({}, FIVE, Status.OK, "5/5 processors reported"),
    "at_the_limit": ({"freshness": {"table": "edge", "column": "ts", "within": "24h"}}, FIVE, Status.OK,
                     "5/5 processors reported; data fresh (24h old)"),
    "missing_table_complete": ({"freshness": {"table": "no_such_table", "column": "ts", "within": "24h"}}, FIVE,
                               Status.UNKNOWN, "5/5 processors reported but freshness could not be measured: "),
    "missing_table_incomplete": ({"freshness": {"table": "no_such_table", "column": "ts", "within": "24h"}}, ["b"],
                                 Status.CRITICAL, "1/5 recorded (missing: a, c, d, e) and freshness could not be "
                                                  "measured: "),
    "null_column": ({"freshness": {"table": "nulls", "column": "ts", "within": "24h"}}, FIVE, Status.UNKNOWN,
                    "5/5 processors reported but freshness could not be measured: no timestamps: no rows matched, "
                    "or every value is NULL (in nulls)"),
    "empty_table": ({"freshness": {"table": "empty", "column": "ts", "within": "24h"}}, ["a"], Status.CRITICAL,
                    "1/5 recorded (missing: b, c, d, e) and freshness could not be measured: no timestamps: no rows "
                    "matched, or every value is NULL (in empty)"),
    "missing_column": ({"freshness": {"table": "fresh", "column": "nope", "within": "24h"}}, FIVE, Status.UNKNOWN,
                       "5/5 processors reported but freshness could not be measured: "),
}


@pytest.fixture(scope="module")
def reconciled(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedConfig, dict[str, PhaseStatus]]:
    """One warehouse and store holding every case of :data:`RECONCILE`, and the statuses it adds up to."""
    directory = tmp_path_factory.mktemp("reconcile")
    warehouse = ScratchWarehouse.duckdb(directory)
    warehouse.create(FRESH, STALE, EDGE, NULLS, EMPTY, DUMMY)
    config = write_config(directory, {name: {"processors": FIVE, **settings}
                                      for name, (settings, _, _, _) in RECONCILE.items()}, warehouse=warehouse)
    loaded = load_config(config)
    with open_store(loaded) as store:
        for name, (_, reported, _, _) in RECONCILE.items():
            for processor in reported:
                record_completion(loaded, store, name, processor, DAY, now=NOW)
            # reports for other dates do not count
            record_completion(loaded, store, name, "e", DAY - dt.timedelta(days=1), now=NOW)
        statuses = {s.phase: s for s in phase_statuses(loaded, store, DAY, now=NOW)}
    return loaded, statuses


@pytest.mark.parametrize("phase", list(RECONCILE))
def test_reconciliation(reconciled: tuple[LoadedConfig, dict[str, PhaseStatus]], phase: str) -> None:
    _, reported, status, summary = RECONCILE[phase]
    found = reconciled[1][phase]
    assert (found.status, found.summary[:len(summary)]) == (status, summary)
    assert found.recorded == tuple(p for p in FIVE if p in reported)
    assert found.missing == tuple(p for p in FIVE if p not in reported)
    assert found.expected == tuple(FIVE)
    if found.status is Status.OK:  # never ok without both the reports and, when configured, fresh data
        assert found.complete and (found.within_seconds is None or found.fresh is True)


def test_reconciliation_details(reconciled: tuple[LoadedConfig, dict[str, PhaseStatus]]) -> None:
    statuses = reconciled[1]
    assert list(statuses) == list(RECONCILE)  # config order
    fresh, stale = statuses["complete_fresh"], statuses["complete_stale"]
    assert (fresh.fresh, fresh.age_seconds, fresh.within_seconds, fresh.freshness_error) == (True, 7200.0, 86400, None)
    assert (stale.fresh, stale.age_seconds) == (False, 30 * 3600.0)
    missing = statuses["missing_table_complete"]
    assert (missing.fresh, missing.age_seconds) == (None, None)
    assert missing.freshness_error is not None and "no_such_table" in missing.freshness_error
    assert "nope" in (statuses["missing_column"].freshness_error or "")
    nothing = statuses["no_freshness_complete"]
    assert (nothing.fresh, nothing.within_seconds, nothing.freshness_error) == (None, None, None)

    finding = statuses["tracking_gap"].finding()
    assert (finding.kind, finding.subject, finding.status) == ("completion", "tracking_gap", Status.WARNING)
    assert dict(finding.labels) == {"phase": "tracking_gap"}
    assert finding.details == statuses["tracking_gap"].as_json()
    assert statuses["tracking_gap"].as_json() == {
        "phase": "tracking_gap", "date": "2026-11-22", "expected": FIVE, "recorded": ["a"],
        "missing": ["b", "c", "d", "e"], "complete": False, "fresh": True, "age_seconds": 7200.0,
        "within_seconds": 86400, "freshness_error": None, "status": "warning",
        "summary": "tracking gap: 1/5 recorded but data is fresh (2h old); missing: b, c, d, e", "weight": 1.0,
        "trigger": None}


def test_an_unreachable_warehouse_is_never_ok(tmp_path: Path) -> None:
    gone = ScratchWarehouse("duckdb", f"duckdb:///{tmp_path / 'missing.duckdb'}", tmp_path)
    config = write_config(tmp_path, {
        "done": {"processors": ["a"], "freshness": {"table": "t", "column": "ts", "within": "1h"}},
        "half": {"processors": ["a", "b"], "freshness": {"table": "t", "column": "ts", "within": "1h"}},
        "plain": {"processors": ["a"]}}, warehouse=gone)
    loaded = load_config(config)
    with open_store(loaded) as store:
        for phase in ("done", "half", "plain"):
            record_completion(loaded, store, phase, "a", DAY, now=NOW)
        statuses = {s.phase: s for s in phase_statuses(loaded, store, DAY, now=NOW)}
    assert statuses["done"].status is Status.UNKNOWN
    assert "missing.duckdb" in statuses["done"].summary
    assert statuses["half"].status is Status.CRITICAL
    assert statuses["plain"].status is Status.OK  # no freshness configured: nothing to reach


@pytest.mark.parametrize(("recorded", "age", "error", "within", "status"), [
    (3, 10.0, None, 60, Status.OK), (3, 61.0, None, 60, Status.CRITICAL), (2, 10.0, None, 60, Status.WARNING),
    (2, 61.0, None, 60, Status.CRITICAL), (2, None, None, None, Status.CRITICAL), (3, None, None, None, Status.OK),
    (3, None, "boom", 60, Status.UNKNOWN), (2, None, "boom", 60, Status.CRITICAL), (0, 1.0, None, 60, Status.WARNING),
])
def test_reconcile_rules(recorded: int, age: float | None, error: str | None, within: int | None,
                         status: Status) -> None:
    missing = ["x", "y", "z"][recorded:]
    assert reconcile(recorded, 3, missing, age, error, within)[0] is status


# ---------------------------------------------------------------- the completion command


def test_completion_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warehouse = ScratchWarehouse.duckdb(tmp_path)
    warehouse.create(FRESH, STALE, DUMMY)
    config = write_config(tmp_path / "config", {
        "phase3": {"processors": ["player_game_summary", "team_offense"],
                   "freshness": {"table": "fresh", "column": "ts", "within": "24h"}, "weight": 2.0},
        "phase4": {"processors": ["ml_features"], "freshness": {"table": "stale", "column": "ts", "within": "24h"}},
    }, warehouse=warehouse)
    for phase, processor in (("phase3", "player_game_summary"), ("phase4", "ml_features")):
        complete(capsys, config, phase, processor)
    base = ["phases", "--config", str(config), "--now", NOW_ARG, "--date", DAY_ARG]

    code, out, err = cli(capsys, *base)
    assert (code, err) == (2, "")
    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0] == "Phase completion for 2026-11-22"
    assert lines[1].split() == ["PHASE", "REPORTED", "MISSING", "FRESHNESS", "STATUS", "WHY"]
    assert lines[3].split()[:8] == ["phase3", "1/2", "team_offense", "2h", "(fresh,", "limit", "24h)", "warning"]
    assert "tracking gap: 1/2 recorded but data is fresh (2h old); missing: team_offense" in out
    assert lines[4].split()[:8] == ["phase4", "1/1", "-", "30h", "(stale,", "limit", "24h)", "critical"]

    code, out, _ = cli(capsys, *base, "--format", "json")
    document = json.loads(out)
    assert code == 2
    assert (document["schema"], document["date"], document["status"]) == ("deploywatch.phases/v1", "2026-11-22",
                                                                        "critical")
    assert [(p["phase"], p["status"], p["weight"]) for p in document["phases"]] == [("phase3", "warning", 2.0),
                                                                                  ("phase4", "critical", 1.0)]
    assert document["phases"][1]["summary"] == "1/1 reported but data is stale: 30h old (limit 24h)"

    code, out, _ = cli(capsys, *base, "--format", "markdown")
    assert code == 2
    assert out.splitlines()[0] == "### Phase completion for 2026-11-22"
    assert "| phase4 | 1/1 | - | 30h (stale, limit 24h) | critical | 1/1 reported but data is stale: 30h old " \
           "(limit 24h) |" in out

    # the data is fresh and every processor reported: exit 0
    complete(capsys, config, "phase3", "team_offense")
    code, out, _ = cli(capsys, *base[:3], "--now", "2026-11-22T09:00:00Z", "--date", DAY_ARG, "--format", "json")
    phases = json.loads(out)["phases"]
    assert [(p["phase"], p["status"]) for p in phases] == [("phase3", "ok"), ("phase4", "ok")]
    assert code == 0

    # another date: nothing reported, data fresh (as of now): a tracking gap on both
    code, out, _ = cli(capsys, *base[:3], "--now", "2026-11-22T09:00:00Z", "--date", "2026-11-21", "--format", "json")
    assert (code, [p["recorded"] for p in json.loads(out)["phases"]]) == (1, [[], []])


def test_completion_without_phases_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, {})
    code, out, err = cli(capsys, "phases", "--config", str(config), "--now", NOW_ARG)
    assert (code, out) == (3, "")
    assert "no phases configured" in err
