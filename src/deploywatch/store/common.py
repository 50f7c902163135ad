"""What :class:`~deploywatch.store.Store` and :class:`~deploywatch.store.lite.LiteStore` share, without SQLAlchemy.

:mod:`.lite` must not import SQLAlchemy, so the rules both stores follow live here rather than in :mod:`.engine`,
:mod:`.schema` or :mod:`.queries`: how a driver error becomes a one-line error, how timestamps and details are
stored, which records ``record_run`` accepts, how metric history is picked, and how a SQLite connection is set up.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self

from ..core.errors import DeploywatchError
from ..core.redact import mask
from .records import FindingRecord, MetricPoint, MetricRecord, RunRecord

__all__ = ["OpenStore", "as_utc", "check_history_args", "check_run_ids", "configure_sqlite", "error_reason",
           "json_text", "newest_per_date", "stored_value", "to_utc", "translate_errors", "use_wal"]


# ---------------------------------------------------------------- errors

def error_reason(exc: BaseException) -> str:
    """The first line of a (driver) error, masked; the type's name when the message is empty."""
    original = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return mask(lines[0]) if lines else type(original).__name__


@contextmanager
def translate_errors(shown_url: str, action: str, failures: type[BaseException] | tuple[type[BaseException], ...],
                     *, keep: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Turn ``failures`` (other than ``keep``) into a one-line :class:`DeploywatchError` naming the store.

    ``keep`` is for integrity and data errors: they mean the caller passed bad records, not that the store failed.
    """
    try:
        yield
    except keep:
        raise
    except failures as exc:
        raise DeploywatchError(f"cannot {action} store {shown_url}: {error_reason(exc)}") from exc


class OpenStore:
    """An open store: the URL it shows, and closing it (also as a context manager)."""

    _url: str

    def close(self) -> None:
        """Release the store's connections; do not use the store afterwards."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"

    @property
    def url(self) -> str:
        """The store's URL as it may be shown to people (password hidden, credentials masked)."""
        return self._url


# ---------------------------------------------------------------- stored values

def to_utc(value: datetime) -> datetime:
    """A timestamp on its way into the store: tz-aware UTC; a naive one is refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store; pass a tz-aware one")
    return value.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored timestamp read back: tz-aware UTC (naive means UTC, as SQLite stores it)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"details value of type {type(value).__name__} is not JSON-serialisable")


def json_text(value: Mapping[str, Any] | None) -> str | None:
    """Details as stored: JSON with sorted keys, so equal details store as equal text; dates as ISO strings."""
    if value is None:
        return None
    return json.dumps(dict(value), sort_keys=True, separators=(",", ":"), default=_json_default)


def stored_value(value: float | None) -> float | None:
    """A metric value as stored: NaN becomes None (SQLite does that itself; both backends must answer alike)."""
    return None if value is None or math.isnan(value) else float(value)


# ---------------------------------------------------------------- record_run and metric_history

def check_run_ids(run: RunRecord, findings: Sequence[FindingRecord], metrics: Sequence[MetricRecord]) -> None:
    """Every finding and metric must belong to ``run`` (ValueError otherwise)."""
    items: list[FindingRecord | MetricRecord] = [*findings, *metrics]
    for item in items:
        if item.run_id != run.id:
            raise ValueError(f"{type(item).__name__} belongs to run {item.run_id!r}, not {run.id!r}")


def check_history_args(weekday: int | None) -> None:
    """``weekday`` counts as ``date.weekday()`` does (ValueError otherwise)."""
    if weekday is not None and not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday}")


def newest_per_date(points: Iterable[MetricPoint], *, limit: int, include_anomalous: bool) -> list[MetricPoint]:
    """Training history from ``points`` (newest first, rows of one date latest first): oldest first.

    The first point of each run date stands for it; a date whose point is anomalous is dropped unless
    ``include_anomalous``. Stops consuming ``points`` once ``limit`` dates are kept.
    """
    kept: list[MetricPoint] = []
    seen: date | None = None
    if limit <= 0:
        return kept
    for point in points:
        if point.run_date == seen:
            continue  # an older row of a date already decided
        seen = point.run_date
        if point.anomalous and not include_anomalous:
            continue
        kept.append(point)
        if len(kept) == limit:
            break
    kept.reverse()
    return kept


# ---------------------------------------------------------------- SQLite connections

def configure_sqlite(conn: sqlite3.Connection, timeout: float) -> None:
    """Settings every SQLite connection of the store gets: wait ``timeout`` seconds for locks; foreign keys on."""
    conn.execute(f"PRAGMA busy_timeout = {max(0, int(timeout * 1000))}")
    conn.execute("PRAGMA foreign_keys = ON")


def use_wal(conn: sqlite3.Connection) -> None:
    """Put a store file in WAL mode (readers never block the writer) with ``synchronous = NORMAL``."""
    # WAL is a property of the file; switching needs a lock, so only ask when it is not WAL yet.
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    # Safe with WAL (a power cut may lose the last commits, never corrupt the file), and much faster.
    conn.execute("PRAGMA synchronous = NORMAL")
