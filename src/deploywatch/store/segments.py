"""Drift segments: every service's drift samples folded into runs of one status, for the report to read.

A sample is one stored drift finding; a year of 30-minute runs of 100 services is 1.75 million of them, but some
tens of thousands of segments.

A segment holds up to :data:`SEGMENT_SAMPLES` consecutive samples of one service with the same status: its first
and last sample time, how many, the most relevant commits behind among them, the newest one's figures, and the
samples themselves (``[microseconds since the epoch, relevant behind, drift age seconds]``) so that the report can
split a segment its window's edge falls in. Segments are written in the transaction that stores their findings
(:func:`.queries.insert_run`); a sample no newer than its service's newest segment (a run stored out of order)
rebuilds that service's segments from its findings, in the findings' order. Migration 6 builds them for stores
written before it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .common import read_json, to_utc
from .db import Tx, placeholders

__all__ = ["SEGMENT_SAMPLES", "DriftSegments", "Sample", "Segment", "add_samples", "fold", "rebuild_segments",
           "sample_of", "segments_around"]

SEGMENT_SAMPLES = 48  # a day of 30-minute runs
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_COLUMNS = "id, service, first_at, last_at, status, runs, peak_relevant, last_relevant, last_age"
_INSERTED = "service, first_at, last_at, status, runs, peak_relevant, last_relevant, last_age, samples"


@dataclass(frozen=True, slots=True)
class Sample:
    """One drift finding of a service: when its run started, its status, relevant commits behind and drift age."""

    at: datetime
    status: str
    relevant: int | None
    age: float | None


@dataclass(eq=False)
class Segment:
    """Consecutive samples of one service with one status (``samples`` only when read or being written)."""

    service: str
    first_at: datetime
    last_at: datetime
    status: str
    runs: int
    peak_relevant: int | None
    last_relevant: int | None
    last_age: float | None
    samples: list[Sample] = field(default_factory=list)
    id: int | None = None  # None until stored; a service's segments are numbered oldest first

    @property
    def last(self) -> Sample:
        """The newest sample."""
        return Sample(self.last_at, self.status, self.last_relevant, self.last_age)

    def add(self, sample: Sample) -> None:
        """Append a newer sample of the same status."""
        self.samples.append(sample)
        self.runs += 1
        self.last_at, self.last_relevant, self.last_age = sample.at, sample.relevant, sample.age
        self.peak_relevant = _peak(self.peak_relevant, sample.relevant)


def _peak(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def sample_of(at: datetime, status: str, details: Mapping[str, Any]) -> Sample:
    """The sample a drift finding's details make."""
    relevant = details.get("relevant_commits_behind")
    age = details.get("drift_age_seconds")
    return Sample(at, status, int(relevant) if isinstance(relevant, int) else None,
                  float(age) if isinstance(age, int | float) and not isinstance(age, bool) else None)


def _start(service: str, sample: Sample) -> Segment:
    return Segment(service, sample.at, sample.at, sample.status, 1, sample.relevant, sample.relevant, sample.age,
                   [sample])


def _micros(at: datetime) -> int:
    return (to_utc(at) - _EPOCH) // _MICRO


def _samples_text(samples: Sequence[Sample]) -> str:
    return json.dumps([[_micros(s.at), s.relevant, s.age] for s in samples], separators=(",", ":"))


def _read_samples(text: str, status: str) -> list[Sample]:
    return [Sample(_EPOCH + timedelta(microseconds=at), status, relevant, age)
            for at, relevant, age in json.loads(text)]


def _row(tx: Tx, s: Segment) -> tuple[Any, ...]:
    d = tx.d
    return (s.service, d.ts(s.first_at), d.ts(s.last_at), s.status, s.runs, s.peak_relevant, s.last_relevant,
            s.last_age, _samples_text(s.samples))


def _segment(tx: Tx, row: Sequence[Any], samples: str | None = None,
             when: Callable[[Any], datetime] | None = None) -> Segment:
    read_ts = when or tx.d.read_ts
    found = Segment(row[1], read_ts(row[2]), read_ts(row[3]), row[4], int(row[5]), row[6], row[7], row[8],
                    id=int(row[0]))
    if samples is not None:
        found.samples = _read_samples(samples, found.status)
    return found


def _insert(tx: Tx, segments: Sequence[Segment]) -> None:
    tx.executemany(f"INSERT INTO drift_segments ({_INSERTED}) VALUES ({placeholders(9)})",
                   [_row(tx, s) for s in segments])


def fold(service: str, samples: Iterable[Sample]) -> Iterator[Segment]:
    """``samples`` (oldest first) as segments."""
    current: Segment | None = None
    for sample in samples:
        if current is not None and current.status == sample.status and current.runs < SEGMENT_SAMPLES:
            current.add(sample)
            continue
        if current is not None:
            yield current
        current = _start(service, sample)
    if current is not None:
        yield current


def add_samples(tx: Tx, samples: Sequence[tuple[str, Sample]]) -> None:
    """Fold a stored run's drift samples (service, sample) into their services' newest segments."""
    if not samples:
        return
    services = list(dict.fromkeys(service for service, _ in samples))
    newest = {s.service: s for s in _newest(tx, services)}
    changed: dict[str, Segment] = {}
    fresh: list[Segment] = []
    stale: set[str] = set()
    for service, sample in samples:
        if service in stale:
            continue
        last = newest.get(service)
        if last is not None and sample.at <= last.last_at:
            stale.add(service)  # stored out of order: rebuilt from the findings below
            continue
        if last is not None and last.status == sample.status and last.runs < SEGMENT_SAMPLES:
            if service not in changed and all(last is not s for s in fresh):
                changed[service] = last  # its samples were read with it
            last.add(sample)
            continue
        newest[service] = _start(service, sample)
        fresh.append(newest[service])
    d = tx.d
    tx.executemany("UPDATE drift_segments SET last_at = ?, runs = ?, peak_relevant = ?, last_relevant = ?, "
                   "last_age = ?, samples = ? WHERE id = ?",
                   [(d.ts(s.last_at), s.runs, s.peak_relevant, s.last_relevant, s.last_age, _samples_text(s.samples),
                     s.id) for s in changed.values() if s.service not in stale])
    _insert(tx, [s for s in fresh if s.service not in stale])
    if stale:
        rebuild_segments(tx, sorted(stale))


def _newest(tx: Tx, services: Sequence[str]) -> list[Segment]:
    """Each service's newest segment with its samples (at most :data:`SEGMENT_SAMPLES`), in one query."""
    rows = tx.rows(f"SELECT {_COLUMNS}, samples FROM drift_segments WHERE id IN (SELECT max(id) FROM drift_segments "
                   f"WHERE service IN ({placeholders(len(services))}) GROUP BY service)", services)
    return [_segment(tx, row[:-1], row[-1]) for row in rows]


_FINDINGS = ("SELECT f.subject, r.started_at, f.status, f.details FROM findings f JOIN runs r ON r.id = f.run_id "
             "WHERE f.kind = 'drift'")


def rebuild_segments(tx: Tx, services: Sequence[str] | None = None) -> int:
    """Build the segments of ``services`` (None: every service) afresh from their stored drift findings; how many."""
    where, params = "", list(services or [])
    if services is not None:
        if not services:
            return 0
        where = f" AND f.subject IN ({placeholders(len(services))})"
        tx.execute(f"DELETE FROM drift_segments WHERE service IN ({placeholders(len(services))})", params)
    else:
        tx.execute("DELETE FROM drift_segments")
    d = tx.d
    made = 0
    batch: list[Segment] = []
    with tx.stream(f"{_FINDINGS}{where} ORDER BY f.subject, r.started_at, r.id, f.id", params) as rows:
        service: str | None = None
        pending: list[Sample] = []
        for subject, started_at, status, details in _with_end(rows):
            if subject != service and service is not None:
                batch.extend(fold(service, pending))
                pending = []
                if len(batch) >= 1000:
                    _insert(tx, batch)
                    made += len(batch)
                    batch = []
            service = subject
            if subject is not None:
                pending.append(sample_of(d.read_ts(started_at), status, read_json(details)))
    _insert(tx, batch)
    return made + len(batch)


def _with_end(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    yield from rows
    yield (None, None, None, None)


@dataclass(frozen=True)
class DriftSegments:
    """What a window needs of one service's segments: those it overlaps, and the newest one before it."""

    overlapping: list[Segment]
    before: Segment | None


def segments_around(tx: Tx, since: datetime, until: datetime) -> dict[str, DriftSegments]:
    """By service: the segments with a sample in ``since``..``until`` (oldest first; those an edge falls in with
    their samples) and the newest segment wholly before ``since``."""
    d = tx.d
    start, end = d.ts(to_utc(since)), d.ts(to_utc(until))
    when = functools.cache(d.read_ts)  # every service's runs start at the same times
    found: dict[str, DriftSegments] = {}
    for row in tx.rows(f"SELECT {_COLUMNS}, CASE WHEN first_at < ? OR last_at >= ? THEN samples END "
                       "FROM drift_segments WHERE last_at >= ? AND first_at < ? ORDER BY id", (start, end, start, end)):
        segment = _segment(tx, row[:-1], row[-1], when)
        found.setdefault(segment.service, DriftSegments([], None)).overlapping.append(segment)
    # Grouped by an expression, so that SQLite reads the segments before the window by last_at's index instead of
    # every segment in service order.
    for row in tx.rows(f"SELECT {_COLUMNS} FROM drift_segments WHERE id IN (SELECT max(id) FROM drift_segments "
                       "WHERE last_at < ? GROUP BY service || '')", (start,)):
        segment = _segment(tx, row)
        kept = found.get(segment.service)
        found[segment.service] = DriftSegments(kept.overlapping if kept else [], segment)
    return found
