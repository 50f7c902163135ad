"""Opening the store, migrations, recording runs and reading them back."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from deploywatch.core.errors import DeploywatchError
from deploywatch.store import (
    FindingRecord,
    MetricRecord,
    RunRecord,
    Store,
    default_store_url,
    resolve_store_url,
)
from deploywatch.store.dialect import PostgreSQL
from deploywatch.store.migrations import LATEST_VERSION
from deploywatch.store.urls import parse_store_url

from .conftest import raw

T0 = datetime(2026, 9, 21, 14, 0, tzinfo=UTC)


def integrity_errors() -> tuple[type[Exception], ...]:
    """What a duplicate key or a missing required value raises: the driver's own IntegrityError."""
    import psycopg

    return (sqlite3.IntegrityError, psycopg.IntegrityError)


def make_run(*, command: str = "check", started: datetime = T0, **overrides: Any) -> RunRecord:
    fields: dict[str, Any] = {
        "id": uuid.uuid4().hex, "command": command, "started_at": started,
        "finished_at": started + timedelta(seconds=3), "run_date": date(2026, 9, 20), "status": "warning",
        "exit_code": 1, "score": 0.75, "details": {"gate": "phase2", "verdict": "PROCEED_WITH_WARNING"},
    }
    fields.update(overrides)
    return RunRecord(**fields)


def make_finding(run: RunRecord, subject: str = "web", *, kind: str = "drift", **overrides: Any) -> FindingRecord:
    fields: dict[str, Any] = {
        "run_id": run.id, "kind": kind, "subject": subject, "status": "warning",
        "summary": f"{subject}: 4 relevant commits behind", "fingerprint": f"{kind}:{subject}",
        "details": {"commits_behind": 11, "commits": ["a" * 40]},
    }
    fields.update(overrides)
    return FindingRecord(**fields)


def make_metric(run: RunRecord, check: str = "row_count", group: str | None = None, **overrides: Any) -> MetricRecord:
    fields: dict[str, Any] = {
        "run_id": run.id, "check": check, "group": group, "metric": "row_count", "run_date": date(2026, 9, 20),
        "measured_at": run.started_at, "value": 1234.5, "status": "ok", "anomalous": False,
    }
    fields.update(overrides)
    return MetricRecord(**fields)


# --- opening and migrations ---------------------------------------------------------------------------------------

def test_open_creates_the_directory_and_a_wal_database(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.db"
    with Store.open(f"sqlite:///{path}", timeout=7) as store:
        assert store.schema_version() == LATEST_VERSION
        with store._db.reading() as tx:  # the settings every connection gets
            assert tx.scalar("PRAGMA busy_timeout") == 7000
            assert tx.scalar("PRAGMA foreign_keys") == 1
    assert path.is_file()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_migrations_create_the_schema_once(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert store.schema_version() == LATEST_VERSION
    with Store.open(store_url) as store:  # reopening an up-to-date store changes nothing
        assert store.schema_version() == LATEST_VERSION
    with raw(store_url) as db:
        applied = [row[0] for row in db.rows("SELECT version FROM schema_version ORDER BY version")]
        assert applied == list(range(1, LATEST_VERSION + 1))
        if db.postgres:
            tables = {r[0] for r in db.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            indexes = {r[0] for r in db.rows("SELECT indexdef FROM pg_indexes WHERE tablename = 'metrics'")}
            assert any("(check_name, group_key, run_date)" in index for index in indexes)
            keys = db.rows("SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                           "WHERE contype = 'f'")
        else:
            tables = {r[0] for r in db.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
            indexes = {r[1] for r in db.rows("PRAGMA index_list(metrics)")}
            assert "ix_metrics_check_name_group_key_run_date" in indexes
            keys = [(t, r[2]) for t in ("findings", "metrics", "rollouts")
                    for r in db.rows(f"PRAGMA foreign_key_list({t})")]
        assert {"schema_version", "runs", "findings", "metrics", "outbox", "job_locks"} <= tables
        assert sorted(keys) == [("findings", "runs"), ("metrics", "runs"), ("rollouts", "deployments")]


def test_opening_an_up_to_date_store_takes_no_write_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store.open(url).close()
    with closing(sqlite3.connect(tmp_path / "state.db", isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # another process is in the middle of a write
        with Store.open(url, timeout=0.2) as store:
            assert store.schema_version() == LATEST_VERSION
            assert store.runs() == []
        writer.execute("ROLLBACK")


def test_a_store_newer_than_the_code_is_refused(store_url: str) -> None:
    Store.open(store_url).close()
    with raw(store_url) as db:
        db.rows("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (LATEST_VERSION + 1, datetime(2030, 1, 1, tzinfo=UTC) if db.postgres else "2030-01-01 00:00:00"))
    with pytest.raises(DeploywatchError, match=rf"schema version {LATEST_VERSION + 1}, newer than .*upgrade"):
        Store.open(store_url)


def test_an_in_memory_store_works() -> None:
    with Store.open("sqlite://") as store:
        run = make_run()
        store.record_run(run, [make_finding(run)], [make_metric(run)])
        assert store.runs() == [run]


# --- errors --------------------------------------------------------------------------------------------------------

def test_unreachable_postgres_is_a_one_line_error_without_the_password() -> None:
    with pytest.raises(DeploywatchError) as raised:
        Store.open("postgresql://deploy:hunter2-secret@127.0.0.1:1/state", timeout=2)
    message = str(raised.value)
    assert "hunter2-secret" not in message
    assert message.startswith("cannot open store postgresql+psycopg://")
    assert "***@127.0.0.1:1/state: " in message
    assert "\n" not in message


@pytest.mark.parametrize(("url", "expected"), [
    ("not a url", "not a valid database URL"),
    ("mysql://root:pw-1234@localhost/db", "unsupported database 'mysql'"),
    ("postgresql+nosuchdriver://u@localhost/db", "database driver not available"),
])
def test_an_unusable_url_is_a_clear_error(url: str, expected: str) -> None:
    with pytest.raises(DeploywatchError, match=expected) as raised:
        Store.open(url)
    assert "pw-1234" not in str(raised.value)


def test_a_file_that_is_not_a_database_is_a_clear_error_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DeploywatchError) as raised:
        Store.open(f"sqlite:///{path}")
    assert str(raised.value) == f"cannot open store sqlite:///{path}: file is not a database"
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_a_directory_where_the_file_should_be_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state.db").mkdir()
    with pytest.raises(DeploywatchError, match=r"^cannot open store sqlite:///.*state\.db: unable to open"):
        Store.open(f"sqlite:///{tmp_path / 'state.db'}")


def test_a_directory_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the directory should be")
    with pytest.raises(DeploywatchError, match="cannot create"):
        Store.open(f"sqlite:///{tmp_path / 'blocker' / 'state.db'}")


def test_waiting_for_a_postgres_lock_is_bounded_by_the_timeout(postgres_url: str) -> None:
    with Store.open(postgres_url, timeout=0.3) as store, raw(postgres_url) as other, other.conn.transaction():
        PostgreSQL().lock(other.conn, "deploywatch.alerts.route")  # another process is routing
        with pytest.raises(DeploywatchError, match=r"^cannot write to store .*: canceling .* due to lock timeout$"):
            store.record_run(make_run(), route=lambda tx: None)
        assert store.runs() == []


def test_url_hides_the_password(postgres_url: str) -> None:
    scheme, rest = postgres_url.split("://", 1)
    user, host = rest.split("@", 1) if "@" in rest else ("postgres", rest)
    with_password = f"{scheme}://{user.split(':')[0]}:topsecret-pw@{host}"  # trust auth ignores it
    with Store.open(with_password) as store:
        assert "topsecret-pw" not in store.url
        assert "***" in store.url
        assert "topsecret-pw" not in repr(store)


# --- recording and reading runs ------------------------------------------------------------------------------------

def test_record_run_round_trips(store: Store) -> None:
    started = datetime(2026, 9, 21, 16, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    run = make_run(started=started, details={"gate": "phase2", "nested": {"list": [1, 2.5, None, "x"]}})
    found = [make_finding(run, "web"), make_finding(run, "worker", status="critical", details={})]
    measured = [make_metric(run), make_metric(run, "null_rate", "east", value=None, status="unknown"),
                make_metric(run, "null_rate", "west", value=0.5, anomalous=True)]
    store.record_run(run, found, measured)

    [stored] = store.runs()
    assert stored == run
    assert stored.started_at.tzinfo is UTC
    assert stored.started_at.isoformat() == "2026-09-21T14:30:05.123456+00:00"
    assert stored.finished_at.tzinfo is UTC
    assert store.findings(run.id) == found
    assert store.findings("no-such-run") == []
    points = store.recent_metrics("null_rate")
    assert {(p.group, p.value, p.status, p.anomalous) for p in points} == {
        ("east", None, "unknown", False), ("west", 0.5, "ok", True)}
    assert all(p.measured_at == started and p.measured_at.tzinfo is UTC for p in points)
    assert store.check_names() == ["null_rate", "row_count"]


def test_a_run_without_date_score_or_details(store: Store) -> None:
    run = make_run(run_date=None, score=None, details={})
    store.record_run(run)
    assert store.runs() == [run]


def test_details_dates_are_stored_as_iso_text(store: Store) -> None:
    run = make_run(details={"at": T0, "day": date(2026, 9, 20)})
    store.record_run(run)
    assert store.runs()[0].details == {"at": "2026-09-21T14:00:00+00:00", "day": "2026-09-20"}


@pytest.mark.parametrize("failure", ["null_column", "not_json"])
def test_record_run_is_all_or_nothing(store: Store, failure: str) -> None:
    run = make_run()
    found = [make_finding(run, "web"), make_finding(run, "worker")]
    measured = [make_metric(run, value=float(i)) for i in range(5)]
    if failure == "null_column":  # the last statement (metrics) fails, after runs and findings were inserted
        measured.append(make_metric(run, status=None))
        expected: type[Exception] | tuple[type[Exception], ...] = integrity_errors()
    else:  # the findings statement fails, after the run was inserted
        found.append(make_finding(run, "db", details={"unserialisable": object()}))
        expected = TypeError
    with pytest.raises(expected):
        store.record_run(run, found, measured)
    assert store.runs() == []
    assert store.findings(run.id) == []
    assert store.recent_metrics("row_count") == []
    store.record_run(run)  # the failed attempt left no lock or half-open transaction behind
    assert store.runs() == [run]


def test_subject_findings_reads_one_subjects_finding_of_many_runs_at_once(store: Store) -> None:
    runs = [make_run(command="drift", started=T0 + timedelta(minutes=30 * k)) for k in range(3)]
    wanted = {}
    for k, run in enumerate(runs):
        found = [make_finding(run, "web", kind="check"), make_finding(run, "api", details={"k": k}),
                 make_finding(run, "web", details={"k": k}), make_finding(run, "web", details={"second": k})]
        store.record_run(run, found[:1] if k == 1 else found)
        if k != 1:
            wanted[run.id] = found[2]
    assert store.subject_findings([r.id for r in runs], "drift", "web") == wanted  # run 1 has none; first per run
    assert store.subject_findings([runs[0].id, "no-such-run"], "drift", "api")[runs[0].id].details == {"k": 0}
    assert store.subject_findings([], "drift", "web") == {}


def test_findings_and_metrics_must_belong_to_the_run(store: Store) -> None:
    run, other = make_run(), make_run()
    with pytest.raises(ValueError, match="belongs to run"):
        store.record_run(run, [make_finding(other)])
    with pytest.raises(ValueError, match="belongs to run"):
        store.record_run(run, metrics=[make_metric(other)])
    assert store.runs() == []


def test_recording_the_same_run_twice_fails(store: Store) -> None:
    run = make_run()
    store.record_run(run)
    with pytest.raises(integrity_errors()):
        store.record_run(dataclasses.replace(run, command="again"), [make_finding(run)], [make_metric(run)])
    assert store.runs() == [run]
    assert store.findings(run.id) == []  # nothing of the second attempt was written
    assert store.recent_metrics("row_count") == []


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        make_run(started=datetime(2026, 9, 21, 14, 0))
    with pytest.raises(ValueError, match="tz-aware"):
        make_metric(make_run(), measured_at=datetime(2026, 9, 21, 14, 0))


def test_runs_are_newest_first_and_filtered_by_command(store: Store) -> None:
    drift = [make_run(command="drift", started=T0 + timedelta(minutes=i)) for i in range(4)]
    check = [make_run(command="check", started=T0 + timedelta(minutes=10 + i)) for i in range(3)]
    for run in [*drift, *check][::-1]:
        store.record_run(run)
    assert store.runs() == [*check[::-1], *drift[::-1]]
    assert store.runs(limit=2) == check[:0:-1]
    assert store.runs(command="drift") == drift[::-1]
    assert store.runs(command="drift", limit=1) == [drift[-1]]
    assert store.runs(command="gate") == []


def test_latest_findings_come_from_the_newest_run_of_each_command(store: Store) -> None:
    old_drift = make_run(command="drift", started=T0)
    new_drift = make_run(command="drift", started=T0 + timedelta(hours=1))
    old_check = make_run(command="check", started=T0 + timedelta(hours=2))
    new_check = make_run(command="check", started=T0 + timedelta(hours=3))
    store.record_run(new_drift, [make_finding(new_drift, "web"), make_finding(new_drift, "worker")])
    store.record_run(old_drift, [make_finding(old_drift, "old")])
    store.record_run(old_check, [make_finding(old_check, "stale", kind="check")])
    store.record_run(new_check, [make_finding(new_check, "rows", kind="check")])
    assert [(f.run_id, f.subject) for f in store.latest_findings()] == [
        (new_check.id, "rows"), (new_drift.id, "web"), (new_drift.id, "worker")]
    assert [f.subject for f in store.latest_findings("drift")] == ["web", "worker"]
    assert store.latest_findings("probe") == []


# --- URLs ----------------------------------------------------------------------------------------------------------

def test_default_store_url_is_an_absolute_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_store_url(Path("conf")) == f"sqlite:///{tmp_path}/conf/.deploywatch/state.db"
    weird = tmp_path / "with space#and?marks"
    url = default_store_url(weird)
    assert parse_store_url(url).database == f"{weird}/.deploywatch/state.db"


def test_resolve_store_url(tmp_path: Path) -> None:
    assert resolve_store_url("sqlite:///data/state.db", tmp_path) == f"sqlite:///{tmp_path}/data/state.db"
    assert resolve_store_url("sqlite:///../state.db", tmp_path / "conf") == f"sqlite:///{tmp_path}/state.db"
    for unchanged in ["sqlite:////var/lib/dw/state.db", "sqlite://", "sqlite:///:memory:",
                      "postgresql://u:p@db.example.com/dw", "postgresql+psycopg://db/dw?sslmode=require"]:
        assert resolve_store_url(unchanged, tmp_path) == unchanged
    with pytest.raises(DeploywatchError, match="not a valid database URL"):
        resolve_store_url("state.db", tmp_path)


def test_importing_records_does_not_import_sqlalchemy() -> None:
    code = ("import sys, deploywatch.store, deploywatch.store.records\n"
            "assert 'sqlalchemy' not in sys.modules, 'sqlalchemy imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
