"""The store's one query layer: pooled DB-API connections, transactions, and :class:`Tx` to run SQL in them.

Every query of the store is a function of a :class:`Tx`, written once in SQL that SQLite and PostgreSQL both
understand; what differs between them is asked of ``tx.d``, the :class:`~.dialect.Dialect`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

from ..core.errors import DeploywatchError
from .common import error_reason, translate_errors
from .dialect import Dialect, dialect_for
from .urls import StoreUrl

__all__ = ["Database", "Tx", "placeholders"]

_POOL_SIZE = 5
_CHANGES = ("INSERT", "UPDATE", "DELETE")
_BUMP = "UPDATE store_generation SET n = n + 1 WHERE id = 1"


def placeholders(count: int) -> str:
    """``?, ?, …`` for an ``IN (…)`` of ``count`` values (at least one)."""
    if count < 1:
        raise ValueError("an IN list needs at least one value")
    return ", ".join("?" * count)


class Tx:
    """One open transaction: run statements (``?`` placeholders) and read rows as tuples or dicts."""

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        """Wrap a connection inside a transaction (see :meth:`Database.reading`, :meth:`Database.writing`)."""
        self.conn = conn
        self.d = dialect
        self.changed = False  # an INSERT, UPDATE or DELETE of this transaction changed a row

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        cursor = self.conn.execute(self.d.sql(sql), tuple(params))
        count = int(cursor.rowcount)
        cursor.close()
        if count > 0 and sql.lstrip()[:6].upper() in _CHANGES:
            self.changed = True
        return count

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows``."""
        if rows:
            self.changed = True
            cursor = self.conn.cursor()
            try:
                cursor.executemany(self.d.sql(sql), [tuple(row) for row in rows])
            finally:
                cursor.close()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        cursor = self.conn.execute(self.d.sql(sql), tuple(params))
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row of a query as a dict by column name."""
        cursor = self.conn.execute(self.d.sql(sql), tuple(params))
        try:
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, if any."""
        found = self.rows(sql, params)
        return found[0] if found else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (None without rows)."""
        row = self.first(sql, params)
        return None if row is None else row[0]

    def stream(self, sql: str, params: Sequence[Any] = ()) -> AbstractContextManager[Iterator[tuple[Any, ...]]]:
        """The rows of a long query, read in batches; leaving the block ends it (see :meth:`.Dialect.stream`)."""
        return self.d.stream(self.conn, sql, tuple(params))

    def lock(self, name: str) -> None:
        """Serialise, between processes, the transactions taking lock ``name`` (see :meth:`.Dialect.lock`)."""
        self.d.lock(self.conn, name)


class Database:
    """Connections to one store: a small pool (one shared connection for an in-memory SQLite database)."""

    def __init__(self, url: StoreUrl, timeout: float) -> None:
        """Prepare connecting to ``url``; nothing connects yet. Raises DeploywatchError without the driver."""
        self.url = url
        self.timeout = timeout
        try:
            self.dialect = dialect_for(url)
        except ImportError as exc:
            raise DeploywatchError(f"cannot open store {url.shown}: database driver not available "
                                   f"({error_reason(exc)})") from exc
        self._idle: list[Any] = []
        self._mutex = threading.Lock()
        # An in-memory database (or a file: URI) lives in one connection: every caller shares it, one at a time.
        self._shared = url.backend == "sqlite" and url.file is None
        self._shared_lock = threading.RLock()
        self._closed = False
        # Set once the schema has the store_generation row (migration 5): every write transaction that changed a
        # row then bumps it, so readers (the dashboard's page cache) see any change by any process in one read.
        self.counts_generations = False

    def _checkout(self) -> Any:
        while True:
            with self._mutex:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self.dialect.connect(self.url, self.timeout)
            if self._shared or self.dialect.ping(conn):
                return conn
            with suppress(Exception):
                conn.close()

    def _checkin(self, conn: Any, *, healthy: bool) -> None:
        with self._mutex:
            # The shared connection is the in-memory database itself: kept until the store closes.
            if not self._closed and (self._shared or (healthy and len(self._idle) < _POOL_SIZE)):
                self._idle.append(conn)
                return
        with suppress(Exception):
            conn.close()

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Tx]:
        with self._shared_lock if self._shared else _NO_LOCK:
            conn = self._checkout()
            healthy = False
            try:
                self.dialect.begin(conn, write=write)
                tx = Tx(conn, self.dialect)
                yield tx
                if write:
                    if tx.changed and self.counts_generations:
                        conn.execute(self.dialect.sql(_BUMP)).close()
                    conn.commit()
                else:
                    conn.rollback()
                healthy = True
            except BaseException as exc:
                # SQLite itself rolls back on some errors (disk full, I/O); a failed rollback must not hide the
                # error that caused it. A connection whose rollback failed is not reused.
                try:
                    conn.rollback()
                    healthy = not isinstance(exc, self.dialect.failures) or isinstance(exc, self.dialect.keep)
                except Exception:
                    healthy = False
                raise
            finally:
                self._checkin(conn, healthy=healthy)

    @contextmanager
    def reading(self, action: str = "read") -> Iterator[Tx]:
        """A read-only transaction (one snapshot on SQLite); driver failures become one-line errors."""
        with translate_errors(self.url.shown, action, self.dialect.failures, keep=self.dialect.keep), \
                self._transaction(write=False) as tx:
            yield tx

    @contextmanager
    def writing(self, action: str = "write to") -> Iterator[Tx]:
        """A write transaction, committed unless the block raises (SQLite: ``BEGIN IMMEDIATE``)."""
        with translate_errors(self.url.shown, action, self.dialect.failures, keep=self.dialect.keep), \
                self._transaction(write=True) as tx:
            yield tx

    def dispose(self) -> None:
        """Close the idle connections (the next transaction connects afresh)."""
        with self._mutex:
            idle, self._idle = self._idle, []
        for conn in idle:
            with suppress(Exception):
                conn.close()

    def close(self) -> None:
        """Close every pooled connection; do not use the database afterwards."""
        with self._mutex:
            self._closed = True
        self.dispose()


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()
