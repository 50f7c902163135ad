"""LiteStore: the SQLAlchemy-free path to an up-to-date SQLite store writes and reads exactly what Store does."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

from deploywatch.core.errors import DeploywatchError
from deploywatch.store import FindingRecord, MetricRecord, RunRecord, Store
from deploywatch.store.lite import SCHEMA_VERSION, LiteStore
from deploywatch.store.migrations import LATEST_VERSION

CEST = timezone(timedelta(hours=2))
LINE_ISLANDS = timezone(timedelta(hours=14))
MARQUESAS = timezone(timedelta(hours=-9, minutes=-30))
T0 = datetime(2026, 9, 21, 14, 0, tzinfo=UTC)
TABLES = ("runs", "findings", "metrics")

Written = tuple[RunRecord, list[FindingRecord], list[MetricRecord]]


def url_of(path: Path) -> str:
    """The store URL of ``path`` as the config code builds it (special characters quoted)."""
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def new_store(path: Path) -> Path:
    """Create and migrate a store file through the full Store."""
    Store.open(url_of(path)).close()
    return path


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[LiteStore]:
    opened = LiteStore.open(new_store(tmp_path / "state.db"), timeout=10)
    assert opened is not None
    with opened:
        yield opened


def open_lite(path: Path, **kwargs: Any) -> LiteStore:
    opened = LiteStore.open(path, **kwargs)
    assert opened is not None
    return opened


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of runs, findings and metrics with the storage class of every value, in insertion order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with closing(sqlite3.connect(path)) as conn:
        for table in TABLES:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            typed = ", ".join(f"typeof({column})" for column in columns)
            tables[table] = conn.execute(f"SELECT rowid, *, {typed} FROM {table} ORDER BY rowid").fetchall()
    return tables


def row_counts(path: Path) -> dict[str, int]:
    return {table: len(rows) for table, rows in dump(path).items()}


# --- the data written both ways -----------------------------------------------------------------------------------

def handmade_runs() -> list[Written]:
    """Runs covering every column type and its awkward values."""
    full = RunRecord(
        id="run-full", command="canary", started_at=datetime(2026, 9, 21, 16, 30, 5, 123456, tzinfo=CEST),
        finished_at=datetime(2026, 9, 21, 23, 59, 59, 999999, tzinfo=MARQUESAS),  # the next day in UTC
        run_date=date(2026, 9, 20), status="warning", exit_code=1, score=0.75,
        details={"zeta": 1, "alpha": {"nested": [1, 2.5, None, "x", {"b": True, "a": False}], "empty": {}},
                 "day": date(2026, 9, 20), "at": datetime(2026, 9, 21, 14, tzinfo=CEST),
                 "naive": datetime(2026, 1, 1, 12, 0), "text": "größe ✓ \"quoted\"\n", "none": None,
                 "big": 10**20, "tiny": 1e-300, "dates": [date(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC)]})
    findings = [
        FindingRecord(run_id=full.id, kind="check", subject="row_count[east]", status="critical",
                      summary="rows fell by 80 %", fingerprint="check:row_count[east]",
                      details={"observed": 12.0, "expected": [50, 70], "since": date(2026, 9, 1)}),
        FindingRecord(run_id=full.id, kind="check", subject="null_rate", status="ok", summary="", fingerprint="x",
                      details={}),
        FindingRecord(run_id=full.id, kind="drift", subject="web", status="warning", summary="4 commits behind",
                      fingerprint="drift:web", details={"commits": ["a" * 40, "b" * 40], "z": {"y": {"x": 1}}}),
    ]
    day1, day2, day3 = date(2026, 9, 18), date(2026, 9, 19), date(2026, 9, 20)

    def metric(check: str, group: str | None, day: date, at: datetime, value: float | None,
               anomalous: bool = False, status: str = "ok") -> MetricRecord:
        return MetricRecord(run_id=full.id, check=check, group=group, metric=f"{check}()", run_date=day,
                            measured_at=at, value=value, status=status, anomalous=anomalous)

    metrics = [
        metric("row_count", None, day1, datetime(2026, 9, 19, 6, 0, tzinfo=UTC), 100.0),
        metric("row_count", None, day2, datetime(2026, 9, 20, 6, 0, tzinfo=UTC), 110.5),
        metric("row_count", None, day2, datetime(2026, 9, 20, 9, 0, 0, 1, tzinfo=CEST), 111.0),  # earlier in UTC
        metric("row_count", None, day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 120.0),
        metric("row_count", None, day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 121.0),  # a tie: insertion order
        metric("row_count", None, day3, datetime(2026, 9, 21, 0, 30, tzinfo=LINE_ISLANDS), 7),  # int, previous day
        metric("row_count", "east", day1, datetime(2026, 9, 19, 6, 0, tzinfo=UTC), math.nan, status="unknown"),
        metric("row_count", "east", day2, datetime(2026, 9, 20, 6, 0, tzinfo=UTC), None, status="unknown"),
        metric("row_count", "east", day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 12.0, anomalous=True,
               status="critical"),
        metric("row_count", "west", day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), math.inf),
        metric("row_count", "west", day2, datetime(2026, 9, 20, 6, 0, tzinfo=UTC), -0.0),
        metric("null_rate", None, day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 0.1 + 0.2),
        metric("null_rate", "", day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 1e-300),  # an empty group is a group
    ]
    bare = RunRecord(id="run-bare", command="drift", started_at=T0, finished_at=T0, run_date=None, status="ok",
                     exit_code=0)
    int_score = RunRecord(id="run-int-score", command="gate", started_at=T0 + timedelta(minutes=1),
                          finished_at=T0 + timedelta(minutes=2), run_date=date(2026, 9, 21), status="critical",
                          exit_code=2, score=3)
    nan_score = RunRecord(id="run-nan-score", command="gate", started_at=T0 + timedelta(minutes=3),
                          finished_at=T0 + timedelta(minutes=3), run_date=date(2026, 9, 21), status="ok",
                          exit_code=0, score=math.nan, details={"why": "no data"})
    ancient = RunRecord(id="run-ancient", command="check", started_at=datetime(999, 12, 31, 23, 0, tzinfo=CEST),
                        finished_at=datetime(1000, 1, 1, 0, 0, tzinfo=UTC), run_date=date(999, 12, 31),
                        status="ok", exit_code=0, score=-1.5)
    return [(full, findings, metrics), (bare, [], []), (int_score, [], []), (nan_score, [], []),
            (ancient, [], [MetricRecord(run_id=ancient.id, check="row_count", group=None, metric="row_count",
                                        run_date=date(999, 12, 31), measured_at=ancient.started_at, value=1.0,
                                        status="ok")])]


def random_runs(seed: int, count: int, *, start: date = date(2026, 7, 6), days: int = 42) -> list[Written]:
    """Runs with random metric rows: several checks and groups, several rows per date (ties included), some
    anomalous, some without a value."""
    rng = random.Random(seed)
    zones = [UTC, CEST, MARQUESAS]
    written: list[Written] = []
    for n in range(count):
        run_id = f"run-{seed}-{n:04d}"
        day = start + timedelta(days=rng.randrange(days))
        started = datetime.combine(day + timedelta(days=1), clock(rng.randrange(24), rng.choice([0, 30])),
                                   rng.choice(zones))
        run = RunRecord(id=run_id, command=rng.choice(["canary", "check"]), started_at=started,
                        finished_at=started + timedelta(seconds=rng.random() * 100), run_date=day,
                        status=rng.choice(["ok", "warning", "critical"]), exit_code=rng.randrange(3),
                        score=rng.choice([None, rng.random()]), details={"n": n, "day": day})
        metrics = []
        for _ in range(rng.randrange(0, 9)):
            row_day = day - timedelta(days=rng.choice([0, 0, 0, 1, 7]))
            measured = datetime.combine(row_day + timedelta(days=1), clock(rng.randrange(5, 9), rng.choice([0, 30])),
                                        UTC).astimezone(rng.choice(zones))
            roll = rng.random()
            value = None if roll < 0.1 else math.nan if roll < 0.15 else round(rng.uniform(0, 1000), 3)
            metrics.append(MetricRecord(run_id=run_id, check=rng.choice(["row_count", "null_rate", "dupes"]),
                                        group=rng.choice([None, None, "east", "west", "a b"]), metric="m",
                                        run_date=row_day, measured_at=measured, value=value,
                                        status="unknown" if value is None else "ok",
                                        anomalous=rng.random() < 0.2))
        findings = [FindingRecord(run_id=run_id, kind="check", subject=f"s{i}", status="ok", summary=f"finding {i}",
                                  fingerprint=f"check:s{i}", details={"i": i, "at": started})
                    for i in range(rng.randrange(3))]
        written.append((run, findings, metrics))
    return written


# --- tests --------------------------------------------------------------------------------------------------------

def test_schema_version_is_the_latest_migration() -> None:
    assert SCHEMA_VERSION == LATEST_VERSION


def write_both_ways(tmp_path: Path, written: list[Written]) -> tuple[Path, Path]:
    """Record ``written`` into two new stores, one through Store and one through LiteStore; their files."""
    by_store, by_lite = new_store(tmp_path / "store.db"), new_store(tmp_path / "lite.db")
    with Store.open(url_of(by_store)) as store, open_lite(by_lite) as lite:
        for run, findings, metrics in written:
            store.record_run(run, findings, metrics)
            lite.record_run(run, findings, metrics)
    return by_store, by_lite


def test_rows_are_identical_to_what_store_writes(tmp_path: Path) -> None:
    written = [*handmade_runs(), *random_runs(7, 40)]
    by_store, by_lite = write_both_ways(tmp_path, written)

    expected, actual = dump(by_store), dump(by_lite)
    assert {table: len(rows) for table, rows in actual.items()} == {
        "runs": len(written), "findings": sum(len(f) for _, f, _ in written),
        "metrics": sum(len(m) for _, _, m in written)}
    for table in TABLES:
        assert actual[table] == expected[table], table
    # The awkward values really were stored as the formats say (NaN as NULL, an int score as REAL …).
    runs = {row[1]: row for row in actual["runs"]}
    assert runs["run-full"][3:6] == ("2026-09-21 14:30:05.123456", "2026-09-22 09:29:59.999999", "2026-09-20")
    assert runs["run-bare"][3:6] == ("2026-09-21 14:00:00.000000", "2026-09-21 14:00:00.000000", None)
    assert runs["run-ancient"][3:6] == ("0999-12-31 21:00:00.000000", "1000-01-01 00:00:00.000000", "0999-12-31")
    assert runs["run-int-score"][8] == 3.0 and runs["run-int-score"][17] == "real"
    assert runs["run-nan-score"][8] is None
    assert runs["run-full"][9].startswith('{"alpha":{"empty":{},"nested":[1,2.5,null,"x",{"a":false,"b":true}]},')
    assert '"naive":"2026-01-01T12:00:00"' in runs["run-full"][9]
    assert '"at":"2026-09-21T14:00:00+02:00"' in runs["run-full"][9]
    metrics = [row for row in actual["metrics"] if row[2] == "run-full"]
    assert [(row[8], row[18]) for row in metrics[6:8]] == [(None, "null"), (None, "null")]
    assert (metrics[5][8], metrics[5][18]) == (7.0, "real")
    assert {row[10] for row in actual["metrics"]} == {0, 1}
    assert {row[20] for row in actual["metrics"]} == {"integer"}


def test_store_reads_what_lite_store_wrote(tmp_path: Path) -> None:
    written = [*handmade_runs(), *random_runs(11, 30)]
    by_store, by_lite = write_both_ways(tmp_path, written)

    with Store.open(url_of(by_store)) as expected, Store.open(url_of(by_lite)) as actual:
        runs = actual.runs(limit=1000)
        assert runs == expected.runs(limit=1000)
        assert len(runs) == len(written)
        plain = {run.id: run for run, _, _ in written}
        assert [run for run in runs if run.id in ("run-bare", "run-int-score")] == [
            plain["run-int-score"], plain["run-bare"]]
        for run, findings, _ in written:
            assert actual.findings(run.id) == expected.findings(run.id)
            assert len(actual.findings(run.id)) == len(findings)
        assert actual.latest_findings() == expected.latest_findings()
        assert actual.check_names() == expected.check_names() == ["dupes", "null_rate", "row_count"]
        for check in actual.check_names():
            assert actual.recent_metrics(check, limit=10_000) == expected.recent_metrics(check, limit=10_000)
            for group, anomalous in itertools.product([None, "", "east", "west", "a b"], [False, True]):
                assert actual.metric_history(check, group, before=date(2027, 1, 1), limit=1000,
                                             include_anomalous=anomalous) == expected.metric_history(
                    check, group, before=date(2027, 1, 1), limit=1000, include_anomalous=anomalous)


def test_metric_history_answers_as_store_does(tmp_path: Path) -> None:
    path = new_store(tmp_path / "state.db")
    start = date(2026, 7, 6)
    written = random_runs(20260921, 160, start=start)
    with Store.open(url_of(path)) as store, open_lite(path) as lite:
        for n, (run, findings, metrics) in enumerate(written):  # both write into the one file, alternately
            (store if n % 2 else lite).record_run(run, findings, metrics)

        rng = random.Random(5)
        checks = ["row_count", "null_rate", "dupes", "missing"]
        groups = [None, "east", "west", "a b", "north"]
        befores = [start - timedelta(days=1), start + timedelta(days=3), start + timedelta(days=20),
                   start + timedelta(days=41), date(2100, 1, 1)]
        limits = [0, -1, 1, 2, 5, 13, 1000]
        grid = list(itertools.product(checks, groups, befores, limits, [None, *range(7)], [False, True]))
        compared = nonempty = 0
        for check, group, before, limit, weekday, anomalous in rng.sample(grid, 2500):
            expected = store.metric_history(check, group, before=before, limit=limit, weekday=weekday,
                                            include_anomalous=anomalous)
            actual = lite.metric_history(check, group, before=before, limit=limit, weekday=weekday,
                                         include_anomalous=anomalous)
            assert actual == expected, (check, group, before, limit, weekday, anomalous)
            compared += 1
            nonempty += bool(expected)
        assert compared == 2500
        assert nonempty > 600  # the grid is not mostly empty answers

        # The types, not only equality: tz-aware UTC datetimes, dates, bools, floats.
        points = lite.metric_history("row_count", None, before=date(2100, 1, 1), limit=1000, include_anomalous=True)
        assert len(points) > 20
        assert any(p.anomalous for p in points)
        for point in points:
            assert point.measured_at.tzinfo is UTC
            assert type(point.run_date) is date
            assert type(point.anomalous) is bool
            assert type(point.value) is float

        for weekday in (-1, 7):
            with pytest.raises(ValueError, match="weekday must be 0") as expected_error:
                store.metric_history("row_count", None, before=start, limit=3, weekday=weekday)
            with pytest.raises(ValueError, match="weekday must be 0") as actual_error:
                lite.metric_history("row_count", None, before=start, limit=3, weekday=weekday)
            assert str(actual_error.value) == str(expected_error.value)


def test_history_stops_reading_once_it_has_enough(tmp_path: Path) -> None:
    path = new_store(tmp_path / "state.db")
    first = date(2020, 1, 1)
    run = RunRecord(id="many", command="check", started_at=T0, finished_at=T0, run_date=first, status="ok",
                    exit_code=0)
    rows = [MetricRecord(run_id=run.id, check="row_count", group=None, metric="m", run_date=first + timedelta(days=i),
                         measured_at=T0, value=float(i), status="ok") for i in range(2000)]
    with open_lite(path) as lite, closing(sqlite3.connect(path, timeout=0)) as other:
        lite.record_run(run, metrics=rows)
        # A control: a statement stepped part way keeps its read snapshot, so a TRUNCATE checkpoint cannot finish.
        cursor = lite._conn.execute("SELECT id FROM metrics ORDER BY id")
        cursor.fetchone()
        assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 1
        cursor.close()
        history = lite.metric_history("row_count", None, before=date(2100, 1, 1), limit=5)
        assert [p.value for p in history] == [1995.0, 1996.0, 1997.0, 1998.0, 1999.0]
        assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # nothing left open


# --- opening ------------------------------------------------------------------------------------------------------

def test_open_configures_the_connection_as_store_does(tmp_path: Path) -> None:
    path = new_store(tmp_path / "state.db")
    with closing(sqlite3.connect(path)) as conn:  # a store switched back to a rollback journal is made WAL again
        assert conn.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    with open_lite(path, timeout=7) as lite:
        conn = lite._conn
        assert conn.isolation_level is None
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (7000,)
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert not conn.in_transaction


def test_url_and_repr_are_what_store_shows(tmp_path: Path) -> None:
    folder = tmp_path / "with space#hash?q@at:colon=eq%pct+plus&amp"
    folder.mkdir()
    path = new_store(folder / "state.db")
    with Store.open(url_of(path)) as store, open_lite(path) as lite:
        assert lite.url == store.url
        assert repr(lite) == f"LiteStore({store.url!r})"
        assert lite.url.startswith("sqlite:////")


def test_a_relative_path_opens_the_file_in_the_working_directory(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    new_store(tmp_path / "state.db")
    monkeypatch.chdir(tmp_path)
    with open_lite(Path("state.db")) as lite:
        assert lite.url == "sqlite:///state.db"
        lite.record_run(handmade_runs()[1][0])
    assert row_counts(tmp_path / "state.db")["runs"] == 1


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    for path in (tmp_path / "state.db", tmp_path / "no" / "such" / "dir" / "state.db"):
        assert LiteStore.open(path) is None
        assert not path.exists()
    assert sorted(tmp_path.iterdir()) == []


def test_a_directory_is_left_to_store(tmp_path: Path) -> None:
    (tmp_path / "state.db").mkdir()
    assert LiteStore.open(tmp_path / "state.db") is None


def test_an_empty_database_is_left_as_found(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a zero-byte file
    assert empty.stat().st_size == 0
    assert LiteStore.open(empty) is None
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]

    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:  # a database, but not a store
        conn.execute("CREATE TABLE unrelated (x)")
        conn.commit()
    before = other.read_bytes()
    assert LiteStore.open(other) is None
    assert other.read_bytes() == before  # not switched to WAL


def test_an_older_store_is_left_to_store_to_migrate(tmp_path: Path) -> None:
    path = new_store(tmp_path / "state.db")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)")
        conn.commit()
    assert LiteStore.open(path) is None
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (LATEST_VERSION - 1,)
    with closing(sqlite3.connect(path)) as conn:  # the newest migration applied once more
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                     (LATEST_VERSION, "2026-09-21 14:00:00.000000"))
        conn.commit()
    with open_lite(path) as lite:
        assert lite.metric_history("row_count", None, before=date(2026, 1, 1), limit=3) == []

    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM schema_version")
        conn.commit()
    assert LiteStore.open(path) is None  # the table is there, without rows: version 0


def test_a_newer_store_is_left_to_store_to_refuse(tmp_path: Path) -> None:
    path = new_store(tmp_path / "state.db")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                     (LATEST_VERSION + 1, "2030-01-01 00:00:00.000000"))
        conn.commit()
    assert LiteStore.open(path) is None
    with pytest.raises(DeploywatchError, match="newer than this deploywatch knows"):
        Store.open(url_of(path))


def test_a_file_that_is_not_a_database_is_the_error_store_gives(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DeploywatchError) as raised:
        LiteStore.open(path)
    message = str(raised.value)
    assert message == f"cannot open store sqlite:///{path}: file is not a database"
    with pytest.raises(DeploywatchError) as from_store:
        Store.open(url_of(path))
    assert str(from_store.value) == message
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_a_locked_store_is_a_one_line_error(tmp_path: Path) -> None:
    path = new_store(tmp_path / "state.db")
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")  # a rollback journal: an exclusive lock blocks readers too
        conn.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        with pytest.raises(DeploywatchError) as raised:
            LiteStore.open(path, timeout=0.2)
        assert time.monotonic() - started >= 0.15  # it waited for the lock first
        assert str(raised.value) == f"cannot open store sqlite:///{path}: database is locked"
        conn.execute("ROLLBACK")
    with open_lite(path) as lite:
        assert lite.metric_history("row_count", None, before=date(2026, 1, 1), limit=3) == []


# --- writing: all or nothing ---------------------------------------------------------------------------------------

def sample(run_id: str = "run-1") -> Written:
    run = RunRecord(id=run_id, command="canary", started_at=T0, finished_at=T0, run_date=date(2026, 9, 20),
                    status="ok", exit_code=0)
    findings = [FindingRecord(run_id=run_id, kind="check", subject=f"s{i}", status="ok", summary="fine",
                              fingerprint=f"check:s{i}") for i in range(2)]
    metrics = [MetricRecord(run_id=run_id, check="row_count", group=None, metric="m", run_date=date(2026, 9, 20),
                            measured_at=T0, value=float(i), status="ok") for i in range(5)]
    return run, findings, metrics


def test_rows_of_another_run_are_refused_before_anything_is_written(tmp_path: Path, lite: LiteStore) -> None:
    run, findings, metrics = sample()
    stranger = dataclasses.replace(metrics[-1], run_id="run-2")
    with pytest.raises(ValueError, match="belongs to run") as raised:
        lite.record_run(run, findings, [*metrics, stranger])
    assert str(raised.value) == "MetricRecord belongs to run 'run-2', not 'run-1'"
    with pytest.raises(ValueError, match="FindingRecord belongs to run 'run-2', not 'run-1'"):
        lite.record_run(run, [dataclasses.replace(findings[0], run_id="run-2")], metrics)
    assert row_counts(tmp_path / "state.db") == {"runs": 0, "findings": 0, "metrics": 0}
    assert not lite._conn.in_transaction


def test_a_duplicate_run_writes_nothing_of_the_second(tmp_path: Path, lite: LiteStore) -> None:
    run, findings, metrics = sample()
    lite.record_run(run, findings, metrics)
    before = dump(tmp_path / "state.db")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        lite.record_run(dataclasses.replace(run, command="again"), findings, metrics)
    assert dump(tmp_path / "state.db") == before
    assert not lite._conn.in_transaction
    other, other_findings, other_metrics = sample("run-2")
    lite.record_run(other, other_findings, other_metrics)  # no lock or half-open transaction was left behind
    assert row_counts(tmp_path / "state.db") == {"runs": 2, "findings": 4, "metrics": 10}


def test_a_failure_in_the_last_statement_rolls_back_the_earlier_ones(tmp_path: Path, lite: LiteStore) -> None:
    run, findings, metrics = sample()
    broken = dataclasses.replace(metrics[-1], status=None)  # NOT NULL fails after runs and findings were inserted
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        lite.record_run(run, findings, [*metrics, broken])
    assert row_counts(tmp_path / "state.db") == {"runs": 0, "findings": 0, "metrics": 0}
    assert not lite._conn.in_transaction
    lite.record_run(run, findings, metrics)
    assert row_counts(tmp_path / "state.db") == {"runs": 1, "findings": 2, "metrics": 5}


def test_bad_values_fail_as_store_would_and_write_nothing(tmp_path: Path, lite: LiteStore) -> None:
    run, findings, metrics = sample()
    unserialisable = dataclasses.replace(findings[0], details={"what": object()})
    with pytest.raises(TypeError, match="details value of type object is not JSON-serialisable"):
        lite.record_run(run, [*findings, unserialisable], metrics)
    naive = dataclasses.replace(metrics[0])
    object.__setattr__(naive, "measured_at", datetime(2026, 9, 21, 14, 0))  # past the record's own check
    with pytest.raises(ValueError, match=r"naive datetime 2026-09-21T14:00:00 given to the store; pass a tz-aware"):
        lite.record_run(run, findings, [naive])
    assert row_counts(tmp_path / "state.db") == {"runs": 0, "findings": 0, "metrics": 0}
    assert not lite._conn.in_transaction


def test_waiting_too_long_for_the_write_lock_is_the_error_store_gives(tmp_path: Path) -> None:
    path = new_store(tmp_path / "state.db")
    run, findings, metrics = sample()
    with (open_lite(path, timeout=0.2) as lite, Store.open(url_of(path), timeout=0.2) as store,
          closing(sqlite3.connect(path, isolation_level=None)) as writer):
        writer.execute("BEGIN IMMEDIATE")  # another process is in the middle of a write
        with pytest.raises(DeploywatchError) as raised:
            lite.record_run(run, findings, metrics)
        assert str(raised.value) == f"cannot write to store sqlite:///{path}: database is locked"
        with pytest.raises(DeploywatchError) as from_store:
            store.record_run(run, findings, metrics)
        assert str(from_store.value) == str(raised.value)
        # reading does not wait for the writer (WAL)
        assert lite.metric_history("row_count", None, before=date(2027, 1, 1), limit=3) == []
        writer.execute("ROLLBACK")
        assert not lite._conn.in_transaction
        lite.record_run(run, findings, metrics)
    assert row_counts(path) == {"runs": 1, "findings": 2, "metrics": 5}


# --- processes ----------------------------------------------------------------------------------------------------

RUNS_PER_PROCESS = 50
METRICS_PER_RUN = 3

# Each writer opens the store once both processes are ready, then both write as fast as they can.
WRITER = """
import sys, uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from deploywatch.store import FindingRecord, MetricRecord, RunRecord
from deploywatch.store.lite import LiteStore

kind, path, url = sys.argv[2], Path(sys.argv[3]), sys.argv[4]
runs, metrics_per_run = int(sys.argv[5]), int(sys.argv[6])
if kind == "lite":
    store = LiteStore.open(path, timeout=60)
    assert store is not None
else:
    from deploywatch.store import Store  # only this writer imports SQLAlchemy

    store = Store.open(url, timeout=60)
with store:
    for i in range(runs):
        started = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(minutes=i)
        run = RunRecord(id=uuid.uuid4().hex, command=f"check-{kind}", started_at=started, finished_at=started,
                        run_date=date(2026, 9, 1) + timedelta(days=i), status="ok", exit_code=0)
        finding = FindingRecord(run_id=run.id, kind="check", subject="row_count", status="ok", summary="fine",
                                fingerprint="check:row_count")
        metrics = [MetricRecord(run_id=run.id, check="row_count", group=f"{kind}-{g}", metric="row_count",
                                run_date=run.run_date, measured_at=started, value=float(i), status="ok")
                   for g in range(metrics_per_run)]
        store.record_run(run, [finding], metrics)
        history = store.metric_history("row_count", f"{kind}-0", before=run.run_date + timedelta(days=1), limit=28)
        assert history[-1].value == float(i), history
assert ("sqlalchemy" in sys.modules) == (kind == "store")
"""


def test_lite_store_and_store_write_one_file_at_once(tmp_path: Path, lockstep: Callable[..., None]) -> None:
    path = new_store(tmp_path / "state.db")
    kinds = ("lite", "store")
    lockstep(WRITER, {kind: [str(path), url_of(path), str(RUNS_PER_PROCESS), str(METRICS_PER_RUN)] for kind in kinds})

    with Store.open(url_of(path)) as store:
        runs = store.runs(limit=1000)
        assert len({run.id for run in runs}) == 2 * RUNS_PER_PROCESS
        for kind in kinds:
            mine = store.runs(command=f"check-{kind}", limit=1000)
            assert len(mine) == RUNS_PER_PROCESS
            assert all(len(store.findings(run.id)) == 1 for run in mine)
            for g in range(METRICS_PER_RUN):
                history = store.metric_history("row_count", f"{kind}-{g}", before=date(2027, 1, 1), limit=1000)
                assert [p.value for p in history] == [float(i) for i in range(RUNS_PER_PROCESS)]
        assert len(store.recent_metrics("row_count", limit=10_000)) == 2 * RUNS_PER_PROCESS * METRICS_PER_RUN


def test_the_lean_path_does_not_import_sqlalchemy(tmp_path: Path) -> None:
    path = new_store(tmp_path / "state.db")
    code = """
import sys
from datetime import UTC, date, datetime
from pathlib import Path
import deploywatch.store.lite
assert "sqlalchemy" not in sys.modules, "importing imported sqlalchemy"
from deploywatch.store import MetricRecord, RunRecord
from deploywatch.store.lite import LiteStore
at = datetime(2026, 9, 21, tzinfo=UTC)
run = RunRecord(id="r", command="canary", started_at=at, finished_at=at, run_date=date(2026, 9, 20), status="ok",
                exit_code=0)
metric = MetricRecord(run_id="r", check="c", group=None, metric="m", run_date=date(2026, 9, 20), measured_at=at,
                      value=1.0, status="ok")
assert LiteStore.open(Path(sys.argv[1]) / "missing.db") is None
with LiteStore.open(Path(sys.argv[1]) / "state.db") as lite:
    lite.record_run(run, metrics=[metric])
    assert len(lite.metric_history("c", None, before=date(2026, 9, 21), limit=5)) == 1
assert "sqlalchemy" not in sys.modules, "using it imported sqlalchemy"
"""
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code, str(tmp_path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert row_counts(path) == {"runs": 1, "findings": 0, "metrics": 1}
