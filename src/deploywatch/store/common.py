"""The store's rules that are no query: one-line errors, stored values, which records a run accepts, history picking."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self

from ..core.errors import DeploywatchError
from ..core.redact import mask
from .records import FindingRecord, MetricPoint, MetricRecord, RunRecord

__all__ = ["OpenStore", "as_utc", "check_history_args", "check_run_ids", "error_reason", "json_text",
           "newest_per_date", "read_json", "stored_value", "to_utc", "translate_errors"]


# ---------------------------------------------------------------- errors

def error_reason(exc: BaseException) -> str:
    """The first line of a (driver) error, masked; the type's name when the message is empty."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return mask(lines[0]) if lines else type(exc).__name__


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


def read_json(text: str | None) -> Any:
    """Stored details read back: a dict (None stays None); anything but a JSON object is refused."""
    if text is None:
        return None
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise ValueError("stored details are not a JSON object")
    return parsed


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
