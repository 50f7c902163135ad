"""A lean path to an existing SQLite store: record a run and read metric history without SQLAlchemy.

Why it exists: importing SQLAlchemy costs about 0.22 s, which is most of a short ``deploywatch canary`` run
that only writes one run and reads a little training history. :class:`LiteStore` does those two things
with the standard library's :mod:`sqlite3`, writing the very rows :class:`~deploywatch.store.Store` writes
(same text formats for timestamps, dates and JSON, same column types), so either may read what the other wrote.

It only serves a SQLite file that already exists and is at exactly :data:`SCHEMA_VERSION`: it never creates a
file, a table or a migration. :meth:`LiteStore.open` returns None for anything else (no file, an empty or older
store, a newer one, PostgreSQL), and the caller falls back to :meth:`Store.open <deploywatch.store.Store.open>`,
which creates, migrates or refuses the store with its usual errors.

    lite = LiteStore.open(path)
    if lite is None:
        ...  # Store.open(url)
    with lite:
        lite.record_run(run, findings, metrics)

This module must not import SQLAlchemy, directly or through :mod:`.engine`, :mod:`.schema`, :mod:`.migrations`,
:mod:`.queries` or :mod:`.database` (a test guards it); keep the formats below in step with :mod:`.schema`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager, closing, suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..core.errors import DeploywatchError
from ..core.redact import mask
from .common import (
    OpenStore,
    as_utc,
    check_history_args,
    check_run_ids,
    configure_sqlite,
    error_reason,
    json_text,
    newest_per_date,
    stored_value,
    to_utc,
    translate_errors,
    use_wal,
)
from .records import FindingRecord, MetricPoint, MetricRecord, RunRecord
from .urls import sqlite_url

__all__ = ["SCHEMA_VERSION", "LiteStore"]

# The schema this module reads and writes: must equal migrations.LATEST_VERSION (a test checks it). A store at
# any other version goes through Store, which migrates it or refuses it.
SCHEMA_VERSION = 3

# SQLAlchemy's SQLite storage formats (sqlalchemy.dialects.sqlite.DATETIME and DATE): fixed width, so text order
# is time order. The microseconds are always written, even when zero.
_DATETIME_FORMAT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
_DATE_FORMAT = "%04d-%02d-%02d"

_INSERT_RUN = ("INSERT INTO runs (id, command, started_at, finished_at, run_date, status, exit_code, score, details) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_FINDING = ("INSERT INTO findings (run_id, kind, subject, status, summary, fingerprint, details) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)")
_INSERT_METRIC = ("INSERT INTO metrics (run_id, check_name, group_key, metric, run_date, measured_at, value, status, "
                  "anomalous) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_HISTORY_COLUMNS = "run_id, check_name, group_key, run_date, measured_at, value, status, anomalous"
# Newest first; rows of one run date by measurement time, then by insertion order (as queries._NEWEST_FIRST).
_NEWEST_FIRST = "ORDER BY run_date DESC, measured_at DESC, id DESC"


def _file_uri(path: Path) -> str:
    """A ``file:`` URI opening ``path`` read-write without ever creating it (``mode=rw``)."""
    text = quote(str(path), safe="/")
    # An absolute path needs the empty authority ("file:///…"); "file:" + a relative path is relative to the cwd.
    return f"file://{text}?mode=rw" if text.startswith("/") else f"file:{text}?mode=rw"


def _translate_errors(shown_url: str, action: str) -> AbstractContextManager[None]:
    """Operational failures become a one-line :class:`DeploywatchError`, as ``engine.translate_errors`` does."""
    return translate_errors(shown_url, action, sqlite3.Error, keep=(sqlite3.IntegrityError, sqlite3.DataError))


# ---------------------------------------------------------------- values as SQLAlchemy binds them on SQLite

def _utc_text(value: datetime | None) -> str | None:
    """A ``UTCDateTime`` column: tz-aware in, naive UTC text out (``UTCDateTime.process_bind_param``)."""
    if value is None:
        return None
    value = to_utc(value)
    return _DATETIME_FORMAT % (value.year, value.month, value.day, value.hour, value.minute, value.second,
                               value.microsecond)


def _date_text(value: date | None) -> str | None:
    """A ``Date`` column (a datetime, being a date, keeps only its date, as in SQLAlchemy)."""
    if value is None:
        return None
    if not isinstance(value, date):
        raise TypeError("SQLite Date type only accepts Python date objects as input.")
    return _DATE_FORMAT % (value.year, value.month, value.day)


def _float(value: float | None) -> float | None:
    """A ``Double`` column (SQLite keeps a NaN as NULL)."""
    return None if value is None else float(value)


def _run_row(run: RunRecord) -> tuple[Any, ...]:
    return (run.id, run.command, _utc_text(run.started_at), _utc_text(run.finished_at), _date_text(run.run_date),
            run.status, run.exit_code, _float(run.score), json_text(run.details))


def _finding_row(finding: FindingRecord) -> tuple[Any, ...]:
    return (finding.run_id, finding.kind, finding.subject, finding.status, finding.summary, finding.fingerprint,
            json_text(finding.details))


def _metric_row(metric: MetricRecord) -> tuple[Any, ...]:
    return (metric.run_id, metric.check, metric.group, metric.metric, _date_text(metric.run_date),
            _utc_text(metric.measured_at), stored_value(metric.value), metric.status, int(bool(metric.anomalous)))


class LiteStore(OpenStore):
    """An open, up-to-date SQLite store for recording runs and reading metric history.

    Create with :meth:`open`; close with :meth:`close` or use as a context manager. Unlike :class:`Store` it
    holds one connection and belongs to the thread that opened it.
    """

    def __init__(self, conn: sqlite3.Connection, shown_url: str) -> None:
        """Wrap a configured connection to an up-to-date store (use :meth:`open`)."""
        self._conn = conn
        self._url = shown_url

    @classmethod
    def open(cls, path: Path, *, timeout: float = 30.0) -> LiteStore | None:
        """Open the store file ``path`` when it exists and has schema version :data:`SCHEMA_VERSION`, else None.

        Never creates, migrates or changes the schema of anything: on None use ``Store.open``. ``timeout``
        (seconds) bounds waiting for locks held by other processes. Raises :class:`DeploywatchError` when the
        file exists but cannot be opened or read (not a database, locked, no permission).
        """
        path = Path(path)
        if not path.is_file():
            return None
        shown = mask(sqlite_url(path))  # as Store shows it
        try:
            conn = sqlite3.connect(_file_uri(path), timeout=timeout, isolation_level=None, uri=True)
        except sqlite3.OperationalError as exc:
            if not path.exists():
                return None  # removed since the check above
            raise DeploywatchError(f"cannot open store {shown}: {error_reason(exc)}") from exc
        try:
            with _translate_errors(shown, "open"):
                if not _configure(conn, timeout):
                    conn.close()
                    return None
        except BaseException:
            conn.close()
            raise
        return cls(conn, shown)

    def close(self) -> None:
        """Close the connection; do not use the store afterwards."""
        self._conn.close()

    def record_run(self, run: RunRecord, findings: Sequence[FindingRecord] = (),
                   metrics: Sequence[MetricRecord] = ()) -> None:
        """Store a run with its findings and metric values in one transaction: all of it or nothing.

        The same rows as ``Store.record_run``. Every finding and metric must carry ``run_id == run.id``
        (ValueError otherwise). A NaN value is stored as None. Where ``Store`` wraps a bad value in SQLAlchemy's
        ``StatementError``, this raises the ValueError or TypeError itself; a duplicate run or a missing
        required value raises :class:`sqlite3.IntegrityError`.
        """
        check_run_ids(run, findings, metrics)
        # Convert everything before taking the write lock: a bad value fails without touching the file.
        run_row = _run_row(run)
        finding_rows = [_finding_row(finding) for finding in findings]
        metric_rows = [_metric_row(metric) for metric in metrics]
        conn = self._conn
        with _translate_errors(self._url, "write to"):
            # IMMEDIATE takes the write lock now, waiting up to the busy timeout (see engine.WRITE).
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(_INSERT_RUN, run_row)
                if finding_rows:
                    conn.executemany(_INSERT_FINDING, finding_rows)
                if metric_rows:
                    conn.executemany(_INSERT_METRIC, metric_rows)
                conn.execute("COMMIT")
            except BaseException:
                # SQLite itself rolls back on some errors (disk full, I/O); a failed ROLLBACK must not hide
                # the error that caused it.
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def metric_history(self, check: str, group: str | None, *, before: date, limit: int,
                       weekday: int | None = None, include_anomalous: bool = False) -> list[MetricPoint]:
        """Training history for anomaly detection: one point per run date, the newest ``limit`` dates, oldest first.

        Exactly ``Store.metric_history``: only rows of ``check`` and ``group`` (None matches only ungrouped rows)
        with ``run_date < before`` and a value count. Of several rows for one date the latest (by
        ``measured_at``, then insertion order) stands for it; a date whose latest row is anomalous is dropped
        unless ``include_anomalous``; ``weekday`` (0 = Monday, as ``date.weekday()``) keeps only dates on that
        weekday.
        """
        check_history_args(weekday)
        if limit <= 0:
            return []
        where = ["check_name = ?", "group_key IS NULL" if group is None else "group_key = ?", "run_date < ?",
                 "value IS NOT NULL"]
        params: list[Any] = [check, *([] if group is None else [group]), _date_text(before)]
        if weekday is not None:
            # strftime('%w') counts from Sunday = 0; date.weekday() from Monday = 0.
            where.append("CAST(strftime('%w', run_date) AS INTEGER) = ?")
            params.append((weekday + 1) % 7)
        sql = f"SELECT {_HISTORY_COLUMNS} FROM metrics WHERE {' AND '.join(where)} {_NEWEST_FIRST}"
        # The cursor steps through rows newest first and is closed once enough dates are collected, which ends
        # the statement (and its read snapshot) without reading the rest of the table.
        with _translate_errors(self._url, "read"), closing(self._conn.execute(sql, params)) as cursor:
            return newest_per_date((_point(row) for row in cursor), limit=limit, include_anomalous=include_anomalous)


def _point(row: tuple[Any, ...]) -> MetricPoint:
    run_id, check_name, group_key, run_date, measured_at, value, status, anomalous = row
    return MetricPoint(run_id=run_id, check=check_name, group=group_key, run_date=date.fromisoformat(run_date),
                       measured_at=as_utc(datetime.fromisoformat(measured_at)), value=value, status=status,
                       anomalous=bool(anomalous))


def _configure(conn: sqlite3.Connection, timeout: float) -> bool:
    """Set the connection up as ``engine._sqlite_engine`` does; False when the store is not at SCHEMA_VERSION.

    The version is read before switching to WAL, so a file that is refused (an empty one, say) is left as found.
    """
    configure_sqlite(conn, timeout)
    if _schema_version(conn) != SCHEMA_VERSION:
        return False
    use_wal(conn)
    return True


def _schema_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration, 0 without a ``schema_version`` table (as ``migrations.read_version``)."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if found is None:
        return 0
    version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    return int(version or 0)
