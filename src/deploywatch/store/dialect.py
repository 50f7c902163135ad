"""The store's two SQL dialects, SQLite and PostgreSQL: every difference between them lives in this module.

Queries elsewhere are written once, in the SQL both understand, with ``?`` placeholders, and pass every value
through the dialect (:meth:`Dialect.ts`, :meth:`Dialect.day`, :meth:`Dialect.flag` on the way in; the ``read_``
methods on the way out). What differs:

- placeholders: ``?`` (sqlite3, qmark) against ``%s`` (psycopg, format; a literal ``%`` doubled);
- stored formats, kept as SQLAlchemy wrote them: SQLite has no timestamp or date type, so a timestamp is naive
  UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (fixed width: text order is time order), a date ``YYYY-MM-DD``, a
  boolean 0 or 1; PostgreSQL stores ``timestamp with time zone``, ``date`` and ``boolean``. JSON is text with
  sorted keys on both (:func:`.common.json_text`);
- column types in DDL (:data:`Dialect.types`) and the day of the week of a date (:meth:`Dialect.weekday`);
- connecting, transactions and locks: SQLite writes begin with ``BEGIN IMMEDIATE`` (the file's write lock, taken
  up front and waited for up to the busy timeout; a deferred transaction that reads and then writes cannot wait
  in WAL mode and fails with "database is locked"), so :meth:`Dialect.lock` has nothing to do; PostgreSQL
  serialises with advisory transaction locks, bounded by ``lock_timeout``;
- streaming a long result (a server-side cursor on PostgreSQL) and which driver errors mean "the store failed"
  (translated into one-line errors) against "the caller passed bad rows" (integrity and data errors, raised).

psycopg is imported only when a PostgreSQL store is opened.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import quote

from .common import to_utc
from .urls import StoreUrl

__all__ = ["Dialect", "PostgreSQL", "SQLite", "dialect_for", "import_driver"]

_cursor_names = itertools.count()


class Dialect:
    """What one database needs said differently (see the module)."""

    name: str
    types: ClassVar[dict[str, str]]  # DDL type tokens: {ts}, {double}, {serial}
    failures: tuple[type[BaseException], ...]  # driver errors that mean the store failed …
    keep: tuple[type[BaseException], ...]  # … except these: the caller's rows were bad

    def sql(self, text: str) -> str:
        """``text`` (``?`` placeholders) in the driver's parameter style."""
        return text

    def ts(self, value: datetime | None) -> Any:
        """A timestamp on its way in (tz-aware required)."""
        raise NotImplementedError

    def read_ts(self, value: Any) -> Any:
        """A stored timestamp read back, tz-aware UTC (None stays None; typed Any for NOT NULL columns)."""
        raise NotImplementedError

    def day(self, value: date | None) -> Any:
        """A date on its way in (a datetime keeps only its date)."""
        raise NotImplementedError

    def read_day(self, value: Any) -> Any:
        """A stored date read back (None stays None)."""
        raise NotImplementedError

    def flag(self, value: bool) -> Any:
        """A boolean on its way in."""
        return bool(value)

    def weekday(self, column: str) -> str:
        """SQL for the day of the week of date ``column``, Sunday = 0."""
        raise NotImplementedError

    def connect(self, url: StoreUrl, timeout: float) -> Any:
        """A new DB-API connection configured for the store."""
        raise NotImplementedError

    def begin(self, conn: Any, *, write: bool) -> None:
        """Start a transaction (``write``: one that will write)."""

    def lock(self, conn: Any, name: str) -> None:
        """Serialise transactions that take the lock ``name`` between processes, until the transaction ends."""

    def ping(self, conn: Any) -> bool:
        """Whether a pooled connection still works."""
        return True

    @contextmanager
    def stream(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Iterator[Iterator[tuple[Any, ...]]]:
        """The rows of ``sql`` read in batches; leaving the block ends the statement without reading the rest."""
        with closing(conn.execute(self.sql(sql), params)) as cursor:
            yield iter(cursor)


def _check_date(value: date) -> date:
    if not isinstance(value, date):
        raise TypeError(f"a date column was given {type(value).__name__}; pass a datetime.date")
    return date(value.year, value.month, value.day)


class SQLite(Dialect):
    """The standard library's sqlite3 (a file in WAL mode, or in memory)."""

    name = "sqlite"
    types: ClassVar[dict[str, str]] = {"ts": "DATETIME", "double": "DOUBLE", "serial": "INTEGER"}
    failures = (sqlite3.Error,)
    keep = (sqlite3.IntegrityError, sqlite3.DataError)

    def ts(self, value: datetime | None) -> str | None:
        """Naive UTC text, fixed width, microseconds always written (SQLAlchemy's SQLite DATETIME)."""
        if value is None:
            return None
        v = to_utc(value)
        return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"
                f".{v.microsecond:06d}")

    def read_ts(self, value: Any) -> Any:
        """Text back to tz-aware UTC."""
        return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

    def day(self, value: date | None) -> str | None:
        """``YYYY-MM-DD`` (SQLAlchemy's SQLite DATE)."""
        if value is None:
            return None
        v = _check_date(value)
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"

    def read_day(self, value: Any) -> Any:
        """Text back to a date."""
        return None if value is None else date.fromisoformat(value)

    def flag(self, value: bool) -> int:
        """0 or 1."""
        return int(bool(value))

    def weekday(self, column: str) -> str:
        """``strftime('%w')``: Sunday = 0."""
        return f"CAST(strftime('%w', {column}) AS INTEGER)"

    def connect(self, url: StoreUrl, timeout: float) -> sqlite3.Connection:
        """Busy timeout, foreign keys on; a file is switched to WAL. sqlite3 never begins transactions itself."""
        database, uri = _sqlite_target(url)
        conn = sqlite3.connect(database, timeout=timeout, isolation_level=None, check_same_thread=False, uri=uri)
        try:
            conn.execute(f"PRAGMA busy_timeout = {max(0, int(timeout * 1000))}")
            conn.execute("PRAGMA foreign_keys = ON")
            if url.file is not None:
                # WAL (readers never block the writer) is a property of the file; switching needs a lock, so only
                # ask when it is not WAL yet.
                if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                # Safe with WAL (a power cut may lose the last commits, never corrupt the file), and much faster.
                conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def begin(self, conn: Any, *, write: bool) -> None:
        """``BEGIN IMMEDIATE`` for writes (see the module), ``BEGIN`` for a read snapshot."""
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_target(url: StoreUrl) -> tuple[str, bool]:
    """What to pass sqlite3.connect: the database and whether it is a ``file:`` URI."""
    options = dict(url.query)
    database = url.database or ":memory:"
    if options.pop("uri", "").lower() == "true":
        return (database + ("?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in options.items()) if options else "")
                if database.startswith("file:") else database), True
    if options:
        from ..core.errors import DeploywatchError

        raise DeploywatchError(f"cannot open store {url.shown}: unsupported SQLite URL option(s) "
                               f"{', '.join(sorted(options))} (only uri=true, with a file: URI)")
    return database, False


class PostgreSQL(Dialect):
    """psycopg 3 (imported on first use)."""

    name = "postgresql"
    types: ClassVar[dict[str, str]] = {"ts": "TIMESTAMP WITH TIME ZONE", "double": "DOUBLE PRECISION",
                                       "serial": "BIGSERIAL"}

    def __init__(self) -> None:
        """Import psycopg (an ImportError here means the driver is missing)."""
        import psycopg

        self._psycopg = psycopg
        self.failures = (psycopg.Error,)
        self.keep = (psycopg.IntegrityError, psycopg.DataError)

    def sql(self, text: str) -> str:
        """``?`` → ``%s`` (and ``%`` → ``%%``)."""
        return _format_style(text)

    def ts(self, value: datetime | None) -> datetime | None:
        """``timestamp with time zone``, sent in UTC."""
        return None if value is None else to_utc(value)

    def read_ts(self, value: Any) -> Any:
        """Answered in the session's zone: converted to UTC."""
        return None if value is None else value.astimezone(UTC)

    def day(self, value: date | None) -> date | None:
        """``date``."""
        return None if value is None else _check_date(value)

    def read_day(self, value: Any) -> Any:
        """Already a date."""
        return None if value is None else date(value.year, value.month, value.day)

    def weekday(self, column: str) -> str:
        """``EXTRACT(DOW …)``: Sunday = 0."""
        return f"EXTRACT(DOW FROM {column})"

    def connect(self, url: StoreUrl, timeout: float) -> Any:
        """Connect within ``timeout`` (unless the URL says otherwise); every lock wait bounded by ``timeout``."""
        kwargs: dict[str, Any] = {}
        if "connect_timeout" not in url.query:
            kwargs["connect_timeout"] = max(1, math.ceil(timeout))
        # lock_timeout bounds every wait for a lock (advisory locks included) as busy_timeout does on SQLite; it goes
        # first so that a lock_timeout among the URL's own options wins.
        lock_timeout = f"-c lock_timeout={max(1, int(timeout * 1000))}"
        options = url.query.get("options")
        kwargs["options"] = f"{lock_timeout} {options}" if options else lock_timeout
        return self._psycopg.connect(url.conninfo, **kwargs)

    def lock(self, conn: Any, name: str) -> None:
        """An advisory transaction lock keyed by the name's hash."""
        import hashlib  # here: OpenSSL's library costs a SQLite store some 3 MB

        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        conn.execute("SELECT pg_advisory_xact_lock(%s::bigint)", (key,))

    def ping(self, conn: Any) -> bool:
        """``SELECT 1`` on a pooled connection (the server may have closed it meanwhile)."""
        if conn.closed or conn.broken:
            return False
        try:
            conn.execute("SELECT 1")
        except self._psycopg.Error:
            return False
        return True

    @contextmanager
    def stream(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Iterator[Iterator[tuple[Any, ...]]]:
        """A server-side cursor fetching 500 rows at a time."""
        with conn.cursor(name=f"deploywatch_{next(_cursor_names)}") as cursor:
            cursor.itersize = 500
            cursor.execute(self.sql(sql), params)
            yield iter(cursor)


@lru_cache(maxsize=512)
def _format_style(text: str) -> str:
    return text.replace("%", "%%").replace("?", "%s")


def dialect_for(url: StoreUrl) -> Dialect:
    """The dialect of a parsed store URL."""
    return SQLite() if url.backend == "sqlite" else PostgreSQL()


def import_driver(url: str) -> None:
    """Import the store's driver for ``url`` now (psycopg for PostgreSQL; sqlite3 is already imported), before
    threads open the store: two threads importing a package for the first time at once can fail. A URL that cannot
    be parsed or loaded is left alone here; opening it says what is wrong."""
    from ..core.errors import DeploywatchError
    from .urls import parse_store_url

    with suppress(DeploywatchError, ImportError):
        if parse_store_url(url).backend == "postgresql":
            import psycopg  # noqa: F401
