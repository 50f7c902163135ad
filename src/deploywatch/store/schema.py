"""The store's tables (SQLAlchemy Core) and the column types that make them behave alike on SQLite and PostgreSQL.

These are the tables as the newest migration leaves them; :mod:`.migrations` creates and changes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from .common import as_utc, json_text, to_utc

__all__ = ["JSONText", "UTCDateTime", "alert_state", "completions", "findings", "job_locks", "job_runs", "metadata",
           "metrics", "outbox", "phase_triggers", "runs", "schema_version", "silences"]


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that goes in tz-aware and comes back tz-aware UTC on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no timestamp type: it stores naive UTC as fixed-width
    ISO text, which therefore sorts in time order.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC (naive UTC for SQLite); refuse naive input rather than guess its zone."""
        if value is None:
            return None
        value = to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach (SQLite) or convert to (PostgreSQL, which answers in the session's zone) UTC."""
        return None if value is None else as_utc(value)


class JSONText(sa.types.TypeDecorator[Mapping[str, Any]]):
    """A JSON object stored as text (the same on every backend; dates and datetimes become ISO strings)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Mapping[str, Any] | None, dialect: Dialect) -> str | None:
        """Serialise with sorted keys so equal details store as equal text."""
        return json_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Mapping[str, Any] | None:
        """Parse the stored text back into a dict."""
        if value is None:
            return None
        parsed = json.loads(value)
        if not isinstance(parsed, dict):
            raise ValueError("stored details are not a JSON object")
        return parsed


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGSERIAL.
_RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Named constraints and indexes, so later migrations can alter or drop them by name on every backend.
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("command", sa.String, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=False),
    sa.Column("run_date", sa.Date, nullable=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=False),
    sa.Column("score", sa.Double, nullable=True),
    sa.Column("details", JSONText, nullable=False),
    sa.Index(None, "command", "started_at"),
    sa.Index(None, "started_at"),
)

findings = sa.Table(
    "findings", metadata,
    sa.Column("id", _RowId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String, nullable=False, index=True),
    sa.Column("details", JSONText, nullable=False),
)

metrics = sa.Table(
    "metrics", metadata,
    sa.Column("id", _RowId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("check_name", sa.String, nullable=False),
    sa.Column("group_key", sa.String, nullable=True),  # NULL: the check is not grouped
    sa.Column("metric", sa.Text, nullable=False),
    sa.Column("run_date", sa.Date, nullable=False),
    sa.Column("measured_at", UTCDateTime, nullable=False),
    sa.Column("value", sa.Double, nullable=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("anomalous", sa.Boolean, nullable=False),
    sa.Index(None, "check_name", "group_key", "run_date"),
)

# ---------------------------------------------------------------- notifications (migration 2)

alert_state = sa.Table(
    "alert_state", metadata,
    sa.Column("sink", sa.String, primary_key=True),
    sa.Column("fingerprint", sa.String, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),  # as last observed
    sa.Column("firing", sa.Boolean, nullable=False),
    sa.Column("firing_since", UTCDateTime, nullable=True),
    sa.Column("notified_status", sa.String, nullable=True),  # the status the sink was last told; NULL: never
    sa.Column("last_notified_at", UTCDateTime, nullable=True),
    sa.Column("ok_streak", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("run_id", sa.String, nullable=True, index=True),
    sa.Column("sink", sa.String, nullable=False),
    sa.Column("target", sa.Integer, nullable=False),  # which of the sink's URLs (Alertmanager); else 0
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("state", sa.String, nullable=False),  # pending, delivered, dead
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String, nullable=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("summary", sa.Text, nullable=False),  # one display line
    sa.Column("payload", JSONText, nullable=False),  # {"notifications": [...]}: display-safe, never a secret
    sa.Column("result", JSONText, nullable=True),  # what the sink said (e.g. the GitHub issue)
    sa.Index(None, "state", "next_attempt_at"),
)

silences = sa.Table(
    "silences", metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("matchers", JSONText, nullable=False),  # {"matchers": [{"name", "op", "value"}]}
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_by", sa.String, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("expired_at", UTCDateTime, nullable=True),  # set by `silence expire` before ends_at
)

# ---------------------------------------------------------------- completion tracking and the daemon (migration 3)

completions = sa.Table(
    "completions", metadata,
    sa.Column("phase", sa.String, primary_key=True),
    sa.Column("processor", sa.String, primary_key=True),
    sa.Column("run_date", sa.Date, primary_key=True),
    sa.Column("first_reported_at", UTCDateTime, nullable=False),
    sa.Column("last_reported_at", UTCDateTime, nullable=False),
    sa.Column("reports", sa.Integer, nullable=False),  # how many times it was reported (duplicates count here)
    sa.Column("source", sa.String, nullable=False),  # cli, api …
    sa.Column("details", JSONText, nullable=False),
)

phase_triggers = sa.Table(
    "phase_triggers", metadata,
    sa.Column("phase", sa.String, primary_key=True),
    sa.Column("run_date", sa.Date, primary_key=True),
    sa.Column("fired_at", UTCDateTime, nullable=False),
    sa.Column("action", sa.Text, nullable=False),  # the on_complete command or URL, secrets masked
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("outcome", sa.String, nullable=True),  # ok, failed; NULL while running (or if the process died)
    sa.Column("detail", sa.Text, nullable=True),
)

job_runs = sa.Table(
    "job_runs", metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("job", sa.String, nullable=False),
    sa.Column("scheduled_for", UTCDateTime, nullable=True),  # NULL for a run triggered through the API
    sa.Column("trigger", sa.String, nullable=False),  # schedule, catch-up, api
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("state", sa.String, nullable=False),  # running, ok, failed, timeout, skipped, cancelled, abandoned
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("run_id", sa.String, nullable=True),  # the command's run in `runs`
    sa.Column("error", sa.Text, nullable=True),
    sa.Index(None, "job", "started_at"),
)

job_locks = sa.Table(
    "job_locks", metadata,
    sa.Column("job", sa.String, primary_key=True),
    sa.Column("holder", sa.String, nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)
