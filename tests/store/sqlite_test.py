"""What only a SQLite store does: connection settings and WAL, the file's locks, and no SQLAlchemy on any path."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from deploywatch.core.errors import DeploywatchError
from deploywatch.store import FindingRecord, MetricRecord, RunRecord, Store
from deploywatch.store.urls import sqlite_url

T0 = datetime(2026, 9, 21, 14, 0, tzinfo=UTC)


def new_store(path: Path) -> str:
    """Create and migrate a store file; its URL (special characters quoted as the config code quotes them)."""
    url = sqlite_url(path)
    Store.open(url).close()
    return url


def row_counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "findings", "metrics")}


def sample(run_id: str = "run-1") -> tuple[RunRecord, list[FindingRecord], list[MetricRecord]]:
    run = RunRecord(id=run_id, command="canary", started_at=T0, finished_at=T0, run_date=date(2026, 9, 20),
                    status="ok", exit_code=0)
    findings = [FindingRecord(run_id=run_id, kind="check", subject=f"s{i}", status="ok", summary="fine",
                              fingerprint=f"check:s{i}") for i in range(2)]
    metrics = [MetricRecord(run_id=run_id, check="row_count", group=None, metric="m", run_date=date(2026, 9, 20),
                            measured_at=T0, value=float(i), status="ok") for i in range(5)]
    return run, findings, metrics


def test_every_connection_is_configured_and_a_file_is_made_wal_again(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    url = new_store(path)
    with closing(sqlite3.connect(path)) as conn:  # a store switched back to a rollback journal is made WAL again
        assert conn.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    with Store.open(url, timeout=7) as store, store._db.reading() as tx:
        assert tx.conn.isolation_level is None  # sqlite3 never begins transactions behind the store's back
        assert tx.scalar("PRAGMA busy_timeout") == 7000
        assert tx.scalar("PRAGMA foreign_keys") == 1
        assert tx.scalar("PRAGMA journal_mode") == "wal"
        assert tx.scalar("PRAGMA synchronous") == 1  # NORMAL


def test_url_and_repr_show_the_quoted_path(tmp_path: Path) -> None:
    folder = tmp_path / "with space#hash?q@at:colon=eq%pct+plus&amp"
    folder.mkdir()
    url = new_store(folder / "state.db")
    with Store.open(url) as store:
        assert store.url == url
        assert repr(store) == f"Store({url!r})"
        assert store.url.startswith("sqlite:////")


def test_a_relative_path_opens_the_file_in_the_working_directory(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Store.open("sqlite:///state.db") as store:
        assert store.url == "sqlite:///state.db"
        store.record_run(sample()[0])
    assert row_counts(tmp_path / "state.db")["runs"] == 1


def test_a_locked_file_is_a_one_line_error_after_waiting(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    url = new_store(path)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")  # a rollback journal: an exclusive lock blocks readers too
        conn.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        with pytest.raises(DeploywatchError) as raised:
            Store.open(url, timeout=0.2)
        assert time.monotonic() - started >= 0.15  # it waited for the lock first
        assert str(raised.value) == f"cannot open store {url}: database is locked"
        conn.execute("ROLLBACK")
    with Store.open(url) as store:
        assert store.metric_history("row_count", None, before=date(2026, 1, 1), limit=3) == []


def test_waiting_too_long_for_the_write_lock_is_a_one_line_error_and_reading_does_not_wait(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    url = new_store(path)
    run, findings, metrics = sample()
    with Store.open(url, timeout=0.2) as store, closing(sqlite3.connect(path, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # another process is in the middle of a write
        with pytest.raises(DeploywatchError) as raised:
            store.record_run(run, findings, metrics)
        assert str(raised.value) == f"cannot write to store {url}: database is locked"
        assert store.metric_history("row_count", None, before=date(2027, 1, 1), limit=3) == []  # WAL
        writer.execute("ROLLBACK")
        store.record_run(run, findings, metrics)  # no lock or half-open transaction was left behind
    assert row_counts(path) == {"runs": 1, "findings": 2, "metrics": 5}


def test_a_failure_in_the_last_statement_rolls_back_the_earlier_ones(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    run, findings, metrics = sample()
    with Store.open(new_store(path)) as store:
        broken = dataclasses.replace(metrics[-1], status=None)  # NOT NULL fails after runs and findings went in
        with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
            store.record_run(run, findings, [*metrics, broken])
        assert row_counts(path) == {"runs": 0, "findings": 0, "metrics": 0}
        naive = dataclasses.replace(metrics[0])
        object.__setattr__(naive, "measured_at", datetime(2026, 9, 21, 14, 0))  # past the record's own check
        with pytest.raises(ValueError, match=r"naive datetime 2026-09-21T14:00:00 given to the store; pass a tz"):
            store.record_run(run, findings, [naive])
        store.record_run(run, findings, metrics)
    assert row_counts(path) == {"runs": 1, "findings": 2, "metrics": 5}


def test_history_stops_reading_once_it_has_enough(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = date(2020, 1, 1)
    run = RunRecord(id="many", command="check", started_at=T0, finished_at=T0, run_date=first, status="ok",
                    exit_code=0)
    rows = [MetricRecord(run_id=run.id, check="row_count", group=None, metric="m", run_date=first + timedelta(days=i),
                         measured_at=T0, value=float(i), status="ok") for i in range(2000)]
    with Store.open(new_store(path)) as store, closing(sqlite3.connect(path, timeout=0)) as other:
        store.record_run(run, metrics=rows)
        with store._db.reading() as tx:  # a control: a statement stepped part way keeps its read snapshot …
            cursor = tx.conn.execute("SELECT id FROM metrics ORDER BY id")
            cursor.fetchone()
            assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 1  # … so this cannot finish
            cursor.close()
        history = store.metric_history("row_count", None, before=date(2100, 1, 1), limit=5)
        assert [p.value for p in history] == [1995.0, 1996.0, 1997.0, 1998.0, 1999.0]
        assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # nothing left open


NO_SQLALCHEMY = """
import sys
sys.path.insert(0, sys.argv[2])
import deploywatch.store, deploywatch.store.records
from deploywatch.store import Store
from samples import answers, write_samples
with Store.open("sqlite:///" + sys.argv[1]) as store:
    write_samples(store)  # every kind of write the store does
    answers(store)  # and every read
heavy = sorted(m for m in ("sqlalchemy", "psycopg") if m in sys.modules)
assert heavy == [], f"the store imported {heavy}"
"""


def test_no_store_path_on_sqlite_imports_sqlalchemy_or_psycopg(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-W", "error", "-c", NO_SQLALCHEMY, str(tmp_path / "s" / "state.db"),
                           str(Path(__file__).parent)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert row_counts(tmp_path / "s" / "state.db") == {"runs": 5, "findings": 3, "metrics": 13}
