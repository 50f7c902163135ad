"""The ``rollouts`` rows: a progressive rollout's step, weight, holder, pending request and events, per ledger entry.

The rollout's state is its ledger entry's status (``started`` runs, ``paused``, ``succeeded``, ``rolled_back`` …);
this row says how far it got. Every write is one statement (or a read-modify-write of ``events``) in the caller's
transaction, under the same per-service lock as the ledger's transitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..core.redact import mask, mask_values
from .common import read_json, to_utc
from .db import Tx
from .deployments import DeploymentRecord, lock_name, read_one

__all__ = ["RolloutRecord", "StoredSample", "add_event", "check_samples", "latest", "latest_per_service",
           "probe_samples", "request",
           "resume", "start", "update"]

_COLUMNS = "entry_id, service, step_index, weight, holder, request, request_reason, updated_at, events"


@dataclass(frozen=True)
class RolloutRecord:
    """A rollout's progress; ``entry`` is its ledger entry (whose status is the rollout's state)."""

    entry: DeploymentRecord
    step_index: int
    weight: int
    holder: str
    request: str | None
    request_reason: str | None
    updated_at: datetime
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class StoredSample:
    """One stored value of a check or probe: what a checks or probes analysis compares with ``baseline_compare``."""

    value: float
    run_id: str
    measured_at: datetime


def check_samples(tx: Tx, check: str, *, since: datetime | None, until: datetime,
                  limit: int) -> list[StoredSample]:
    """The values of ``check`` (every group) measured from ``since`` (None: any time) until before ``until``,
    newest first, at most ``limit``; rows without a value are not samples."""
    where, params = ["check_name = ?", "value IS NOT NULL", "measured_at < ?"], [check, tx.d.ts(to_utc(until))]
    if since is not None:
        where.append("measured_at >= ?")
        params.append(tx.d.ts(to_utc(since)))
    rows = tx.rows(f"SELECT value, run_id, measured_at FROM metrics WHERE {' AND '.join(where)} "
                   "ORDER BY measured_at DESC, id DESC LIMIT ?", [*params, max(limit, 0)])
    return [StoredSample(float(r[0]), str(r[1]), tx.d.read_ts(r[2])) for r in rows]


def probe_samples(tx: Tx, probe: str, *, since: datetime | None, until: datetime,
                  limit: int) -> list[StoredSample]:
    """The values (``deploywatch health``'s findings: an HTTP probe's seconds, a command's exit code) of ``probe``
    recorded by runs started from ``since`` until before ``until``, newest first, at most ``limit``."""
    where, params = ["f.kind = 'probe'", "f.subject = ?", "r.started_at < ?"], [probe, tx.d.ts(to_utc(until))]
    if since is not None:
        where.append("r.started_at >= ?")
        params.append(tx.d.ts(to_utc(since)))
    rows = tx.rows(f"SELECT f.details, r.id, r.started_at FROM findings f JOIN runs r ON r.id = f.run_id WHERE "
                   f"{' AND '.join(where)} ORDER BY r.started_at DESC, f.id DESC", params)
    found: list[StoredSample] = []
    for details, run_id, started_at in rows:
        value = (read_json(details) or {}).get("value")
        if isinstance(value, int | float) and not isinstance(value, bool):
            found.append(StoredSample(float(value), str(run_id), tx.d.read_ts(started_at)))
            if len(found) >= limit:
                break
    return found


def _lock(tx: Tx, service: str) -> None:
    tx.lock(f"deploywatch.deployments\0{service}")


def start(tx: Tx, entry: DeploymentRecord, holder: str, now: datetime, event: dict[str, Any]) -> None:
    """The row of ``entry``'s rollout: no weight set yet, ``event`` its first event."""
    _lock(tx, entry.service)
    tx.execute(f"INSERT INTO rollouts ({_COLUMNS}) VALUES (?, ?, -1, 0, ?, NULL, NULL, ?, ?)",
               (entry.id, entry.service, holder, tx.d.ts(to_utc(now)), json.dumps([mask_values(event)])))


def add_event(tx: Tx, entry_id: int, now: datetime, event: dict[str, Any], *, step_index: int | None = None,
              weight: int | None = None, clear_request: bool = False) -> None:
    """Append ``event`` (masked) and, when given, move to ``step_index`` with ``weight``."""
    row = tx.first("SELECT service, events FROM rollouts WHERE entry_id = ?", (entry_id,))
    if row is None:
        return
    _lock(tx, row[0])
    events = [*json.loads(row[1]), mask_values(event)]
    sets, params = ["events = ?", "updated_at = ?"], [json.dumps(events), tx.d.ts(to_utc(now))]
    if step_index is not None and weight is not None:
        sets += ["step_index = ?", "weight = ?"]
        params += [step_index, weight]
    if clear_request:
        sets += ["request = NULL", "request_reason = NULL"]
    tx.execute(f"UPDATE rollouts SET {', '.join(sets)} WHERE entry_id = ?", (*params, entry_id))


def update(tx: Tx, entry_id: int, now: datetime, *, weight: int) -> None:
    """Record the weight now in force (an abort's or rollback's 0) without moving the step."""
    tx.execute("UPDATE rollouts SET weight = ?, updated_at = ? WHERE entry_id = ?",
               (weight, tx.d.ts(to_utc(now)), entry_id))


def request(tx: Tx, entry_id: int, what: str, reason: str, now: datetime) -> bool:
    """Ask the process that runs the rollout to ``what`` (promote) before its next step; False: no such row."""
    return tx.execute("UPDATE rollouts SET request = ?, request_reason = ?, updated_at = ? WHERE entry_id = ?",
                      (what, mask(reason), tx.d.ts(to_utc(now)), entry_id)) == 1


def latest(tx: Tx, service: str) -> RolloutRecord | None:
    """The service's newest rollout, with its ledger entry."""
    row = tx.first(f"SELECT {_COLUMNS} FROM rollouts WHERE service = ? ORDER BY entry_id DESC LIMIT 1", (service,))
    if row is None:
        return None
    entry = read_one(tx, int(row[0]))
    if entry is None:
        return None
    return RolloutRecord(entry, int(row[2]), int(row[3]), row[4], row[5], row[6], tx.d.read_ts(row[7]),
                         tuple(json.loads(row[8])))


def latest_per_service(tx: Tx) -> list[RolloutRecord]:
    """Every service's newest rollout, by service name (what ``/metrics`` shows)."""
    rows = tx.rows("SELECT r.service FROM rollouts r GROUP BY r.service ORDER BY r.service")
    found = [latest(tx, str(row[0])) for row in rows]
    return [record for record in found if record is not None]


def resume(tx: Tx, entry: DeploymentRecord, *, old_holder: str, holder: str, lease: float, now: datetime) -> bool:
    """Take a paused rollout's lock over for ``holder`` and move its entry back to ``started``; False when it is
    no longer paused or its lock is no longer ``old_holder``'s (nothing changed then)."""
    d = tx.d
    _lock(tx, entry.service)
    now = to_utc(now)
    moved = tx.execute("UPDATE job_locks SET holder = ?, acquired_at = ?, expires_at = ? WHERE job = ? AND holder = ?",
                       (holder, d.ts(now), d.ts(now + timedelta(seconds=lease)), lock_name(entry.service),
                        old_holder)) == 1
    if not moved:
        return False
    changed = tx.execute("UPDATE deployments SET status = 'started', finished_at = NULL WHERE id = ? AND "
                         "status = 'paused'", (entry.id,)) == 1
    if not changed:
        tx.execute("UPDATE job_locks SET holder = ? WHERE job = ? AND holder = ?",
                   (old_holder, lock_name(entry.service), holder))
        return False
    tx.execute("UPDATE rollouts SET holder = ?, updated_at = ? WHERE entry_id = ?", (holder, d.ts(now), entry.id))
    return True
