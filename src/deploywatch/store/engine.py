"""Engines for the store: URL handling, SQLite connection settings, and turning driver errors into one-line errors.

SQLite is set up for several processes sharing one file (the CLI, cron jobs, the daemon): WAL journal so
readers never block the writer, a busy timeout so a second writer waits instead of failing, foreign keys on,
and writes that start with ``BEGIN IMMEDIATE`` (see :data:`WRITE`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from ..core.errors import DeploywatchError
from ..core.redact import mask
from . import common

__all__ = ["WRITE", "advisory_xact_lock", "create_store_engine", "display_url", "parse_store_url", "sqlite_file",
           "translate_errors"]

# Execution option marking a connection that will write. On SQLite its transaction begins with BEGIN IMMEDIATE,
# which takes the write lock up front (waiting up to the busy timeout): a deferred transaction that reads and then
# writes cannot wait for the lock in WAL mode and fails with "database is locked" instead.
WRITE = "deploywatch_write"


def display_url(url: URL | str) -> str:
    """The URL as it may be shown to people: password hidden, anything else credential-shaped masked."""
    if isinstance(url, str):
        return mask(url)
    return mask(url.render_as_string(hide_password=True))


def parse_store_url(url: str) -> URL:
    """Parse a store URL, defaulting ``postgresql://`` to the psycopg 3 driver deploywatch ships with."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise DeploywatchError(f"cannot open store {display_url(url)}: not a valid database URL") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DeploywatchError(
            f"cannot open store {display_url(parsed)}: unsupported database "
            f"{parsed.get_backend_name()!r} (use a sqlite:/// or postgresql:// URL)")
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory databases and other backends."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("mode") == "memory" or str(url.database).startswith("file:"):
        return None
    return Path(str(url.database))


def create_store_engine(url: URL, *, timeout: float) -> Engine:
    """An engine for ``url`` (from :func:`parse_store_url`) configured for the store's concurrency rules."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, timeout)
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = max(1, math.ceil(timeout))
    # lock_timeout bounds every wait for a lock (advisory locks included) as busy_timeout does on SQLite; it goes
    # first so that a lock_timeout among the URL's own options wins.
    lock_timeout = f"-c lock_timeout={max(1, int(timeout * 1000))}"
    options = url.query.get("options")
    if options is None or isinstance(options, str):
        connect_args["options"] = f"{lock_timeout} {options}" if options else lock_timeout
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(url: URL, timeout: float) -> Engine:
    in_memory = sqlite_file(url) is None
    if in_memory:
        # One shared connection, so every caller sees the same in-memory database.
        engine = sa.create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = sa.create_engine(url, connect_args={"timeout": timeout})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy's documented pysqlite recipe: stop sqlite3 from issuing BEGIN itself (it would not for DDL
        # or SELECT), and emit our own BEGIN in the "begin" hook below.
        dbapi_connection.isolation_level = None
        common.configure_sqlite(dbapi_connection, timeout)
        if not in_memory:
            common.use_wal(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

    return engine


@contextmanager
def translate_errors(shown_url: str, action: str) -> Iterator[None]:
    """Turn operational database failures into a one-line :class:`DeploywatchError` naming the store.

    Integrity and data errors are left alone: they mean the caller passed bad records, not that the store failed.
    """
    try:
        with common.translate_errors(shown_url, action, sa.exc.DBAPIError,
                                     keep=(sa.exc.IntegrityError, sa.exc.DataError)):
            yield
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        reason = f"database driver not available ({common.error_reason(exc)})"
        raise DeploywatchError(f"cannot {action} store {shown_url}: {reason}") from exc


def advisory_xact_lock(conn: Connection, name: str) -> None:
    """Serialise transactions that take the lock ``name`` between processes, until the transaction ends.

    PostgreSQL: an advisory transaction lock keyed by the name's hash. SQLite: nothing to do, the writer already
    holds the database's write lock (BEGIN IMMEDIATE, see :data:`WRITE`).
    """
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(CAST(:key AS bigint))"), {"key": key})
