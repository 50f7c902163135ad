"""The report's reads: the ledger, check findings, drift segments, anomalies, the outbox and completions of a window.

Each is one query over the window (never one per run, and drift from its segments, never from every finding), so a
year of runs reads in a handful of statements.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .common import read_json, to_utc
from .db import Tx
from .deployments import DeploymentRecord, read_before
from .segments import DriftSegments, segments_around

__all__ = ["StoredFinding", "Window", "read_window"]


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """A check finding with its run's start time: what the report's SLO shares are computed from."""

    run_id: str
    at: datetime  # the run's start
    kind: str
    subject: str
    status: str


@dataclass(frozen=True)
class Window:
    """What the store knew of ``since``..``until``: the ledger up to ``until`` (oldest first: lead times need every
    earlier live commit), check findings in the window, each service's drift segments around it (:mod:`.segments`),
    anomalies, outbox and phases."""

    since: datetime
    until: datetime
    deployments: list[DeploymentRecord]
    findings: list[StoredFinding]
    drift: dict[str, DriftSegments]
    anomalies: dict[str, int]
    outbox: list[tuple[str, str, datetime, Mapping[str, Any]]]  # sink, state, created_at, payload
    completions: list[tuple[str, str, date, datetime]]  # phase, processor, run_date, first_reported_at
    triggers: dict[tuple[str, date], datetime] = field(default_factory=dict)  # (phase, run_date) → fired_at


# Check findings come from check, canary and gate runs; passing over drift runs (48 a day, a finding per service
# each) keeps a year's read to the runs that can hold them.
_FINDINGS = ("SELECT r.id, r.started_at, f.kind, f.subject, f.status FROM findings f "
             "JOIN runs r ON r.id = f.run_id WHERE f.kind = 'check' AND r.command <> 'drift' AND r.started_at >= ? "
             "AND r.started_at < ? ORDER BY r.started_at, r.id, f.id")


def read_window(tx: Tx, since: datetime, until: datetime) -> Window:
    """Everything the report reads of ``since``..``until`` (started at ``since`` or later, before ``until``)."""
    d = tx.d
    start, end = d.ts(to_utc(since)), d.ts(to_utc(until))
    ledger = read_before(tx, until)
    when = functools.cache(d.read_ts)  # a run's findings share its start
    found = [StoredFinding(r[0], when(r[1]), r[2], r[3], r[4]) for r in tx.rows(_FINDINGS, (start, end))]
    drift = segments_around(tx, since, until)
    anomalies = {str(r[0]): int(r[1]) for r in tx.rows(
        "SELECT check_name, count(*) FROM metrics WHERE anomalous = ? AND measured_at >= ? AND measured_at < ? "
        "GROUP BY check_name", (d.flag(True), start, end))}
    outbox = [(r[0], r[1], d.read_ts(r[2]), read_json(r[3])) for r in tx.rows(
        "SELECT sink, state, created_at, payload FROM outbox WHERE created_at >= ? AND created_at < ? "
        "ORDER BY created_at, id", (start, end))]
    first_day, last_day = d.day(to_utc(since).date()), d.day(to_utc(until).date())
    completions = [(r[0], r[1], d.read_day(r[2]), d.read_ts(r[3])) for r in tx.rows(
        "SELECT phase, processor, run_date, first_reported_at FROM completions WHERE run_date >= ? AND run_date <= ? "
        "ORDER BY phase, run_date, processor", (first_day, last_day))]
    triggers = {(r[0], d.read_day(r[1])): d.read_ts(r[2]) for r in tx.rows(
        "SELECT phase, run_date, fired_at FROM phase_triggers WHERE run_date >= ? AND run_date <= ?",
        (first_day, last_day))}
    return Window(since, until, ledger, found, drift, anomalies, outbox, completions, triggers)
