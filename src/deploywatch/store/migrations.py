"""Numbered schema migrations, applied in order when a store is opened.

Why not Alembic: every command opens the store, and Alembic's import and script-directory machinery would cost
more start-up time than the whole of this module; the store needs only "apply the missing numbered steps, once,
under a lock", which fits in a page.

Adding a table or column later (the deploy ledger, the alert outbox, silences …) is a new function appended to
:data:`MIGRATIONS`; applied steps are never edited. A step may use the tables in :mod:`.schema` only while it
creates them exactly as defined there: once a later step alters a table, copy the older definition into the
step that created it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..core.errors import DeploywatchError
from . import schema
from .engine import WRITE, advisory_xact_lock

__all__ = ["LATEST_VERSION", "MIGRATIONS", "migrate", "read_version"]

Migration = Callable[[Connection], None]


def _v1_history(conn: Connection) -> None:
    """Runs, their findings, and metric values."""
    schema.metadata.create_all(conn, tables=[schema.runs, schema.findings, schema.metrics], checkfirst=False)


def _v2_notifications(conn: Connection) -> None:
    """Alert state per sink and finding, the outbox, and silences."""
    schema.metadata.create_all(conn, tables=[schema.alert_state, schema.outbox, schema.silences], checkfirst=False)


def _v3_completions_and_jobs(conn: Connection) -> None:
    """Phase completions and their one-time triggers; the daemon's job runs and job locks."""
    schema.metadata.create_all(conn, tables=[schema.completions, schema.phase_triggers, schema.job_runs,
                                             schema.job_locks], checkfirst=False)


# Version n is MIGRATIONS[n - 1].
MIGRATIONS: tuple[Migration, ...] = (_v1_history, _v2_notifications, _v3_completions_and_jobs)
LATEST_VERSION = len(MIGRATIONS)


def read_version(conn: Connection) -> int:
    """The store's schema version: the highest applied migration, 0 for an empty database."""
    if not sa.inspect(conn).has_table(schema.schema_version.name):
        return 0
    version = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar_one_or_none()
    return int(version or 0)


def _check_known(version: int, shown_url: str) -> None:
    if version > LATEST_VERSION:
        raise DeploywatchError(
            f"store {shown_url} has schema version {version}, newer than this deploywatch knows "
            f"({LATEST_VERSION}); upgrade deploywatch")


def migrate(engine: Engine, *, shown_url: str) -> int:
    """Apply pending migrations in one transaction under a lock; return the schema version now in force.

    An up-to-date store costs one read and takes no lock. Waiting for the lock is bounded by the engine's
    timeout (see :func:`.engine.create_store_engine`).
    """
    with engine.connect() as conn:
        version = read_version(conn)
    _check_known(version, shown_url)
    if version == LATEST_VERSION:
        return version
    with engine.execution_options(**{WRITE: True}).begin() as conn:
        advisory_xact_lock(conn, "deploywatch.store.migrations")  # SQLite: BEGIN IMMEDIATE already serialises
        schema.schema_version.create(conn, checkfirst=True)
        version = read_version(conn)  # another process may have migrated while we waited for the lock
        _check_known(version, shown_url)
        for number in range(version + 1, LATEST_VERSION + 1):
            MIGRATIONS[number - 1](conn)
            conn.execute(schema.schema_version.insert().values(version=number, applied_at=datetime.now(UTC)))
    return LATEST_VERSION
