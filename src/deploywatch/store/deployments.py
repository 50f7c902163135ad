"""The deploy ledger's table: one row per deployment (started, then finished), newest first per service."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..core.errors import DeploywatchError
from ..core.redact import mask
from .common import to_utc
from .db import Tx, placeholders

__all__ = ["DEPLOYMENT_HOWS", "DEPLOYMENT_STATUSES", "DeploymentRecord", "insert", "last_succeeded", "read"]

DEPLOYMENT_STATUSES = ("started", "succeeded", "failed", "rolled_back", "abandoned")
DEPLOYMENT_HOWS = ("deploy", "rollback", "record")
_COLUMNS = ("service, from_commit, to_commit, status, step, reason, how, deployed_by, url, started_at, finished_at, "
            "output_tail, relevant_commits")


@dataclass(frozen=True)
class DeploymentRecord:
    """One ledger entry. ``url``, ``reason``, ``by`` and ``output_tail`` are masked when the record is made, so
    the store, the terminal and the API only ever see masked text. ``id`` is assigned by the store (0 before)."""

    service: str
    to_commit: str
    status: str
    how: str
    by: str
    started_at: datetime
    from_commit: str | None = None
    finished_at: datetime | None = None
    step: str | None = None
    reason: str | None = None
    url: str | None = None
    output_tail: str | None = None
    relevant_commits: tuple[str, ...] = field(default_factory=tuple)
    id: int = 0

    def __post_init__(self) -> None:
        if self.status not in DEPLOYMENT_STATUSES:
            raise ValueError(f"deployment status must be one of {', '.join(DEPLOYMENT_STATUSES)}, not {self.status!r}")
        if self.how not in DEPLOYMENT_HOWS:
            raise ValueError(f"deployment how must be one of {', '.join(DEPLOYMENT_HOWS)}, not {self.how!r}")
        for name in ("url", "reason", "by", "output_tail"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, mask(value))
        object.__setattr__(self, "relevant_commits", tuple(self.relevant_commits))

    @property
    def duration_seconds(self) -> float | None:
        """How long it took (None while it has not finished)."""
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()


def insert(tx: Tx, record: DeploymentRecord, *, chained: bool = False) -> DeploymentRecord:
    """Insert ``record`` inside the caller's write transaction; return it with the id the store gave it.

    ``chained``: ``record.from_commit`` was read as the service's last succeeded entry before this transaction;
    if another entry succeeded meanwhile, refuse (one line) rather than store a ``from`` that is no longer true.
    """
    d = tx.d
    started, finished = to_utc(record.started_at), None if record.finished_at is None else to_utc(record.finished_at)
    tx.lock(f"deploywatch.deployments\0{record.service}")  # transitions of one service, one at a time
    if chained:
        last = last_succeeded(tx, [record.service]).get(record.service)
        if (last.to_commit if last else None) != record.from_commit:
            raise DeploywatchError(f"another deploy of {record.service} was recorded meanwhile (now at "
                                   f"{last.to_commit[:12] if last else 'none'}); record it again")
    new_id = tx.scalar(f"INSERT INTO deployments ({_COLUMNS}) VALUES ({placeholders(13)}) RETURNING id",
                       (record.service, record.from_commit, record.to_commit, record.status, record.step,
                        record.reason, record.how, record.by, record.url, d.ts(started), d.ts(finished),
                        record.output_tail,
                        json.dumps(list(record.relevant_commits), separators=(",", ":"))))
    return replace(record, id=int(new_id), started_at=started, finished_at=finished)


def read(tx: Tx, services: Sequence[str] = (), *, since: datetime | None = None,
         limit: int = 100) -> list[DeploymentRecord]:
    """The newest ``limit`` entries (of ``services``; started at ``since`` or later), newest first."""
    where, params = _where(tx, services, since)
    rows = tx.rows(f"SELECT id, {_COLUMNS} FROM deployments{where} ORDER BY started_at DESC, id DESC LIMIT ?",
                   (*params, int(limit)))
    return [_record(tx, row) for row in rows]


def last_succeeded(tx: Tx, services: Sequence[str] = ()) -> dict[str, DeploymentRecord]:
    """The newest succeeded entry of every service (of ``services``), by service."""
    where, params = _where(tx, services, None, status="succeeded")
    rows = tx.rows(f"SELECT id, {_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY service ORDER BY "
                   f"started_at DESC, id DESC) AS newest FROM deployments{where}) AS ranked WHERE newest = 1 "
                   "ORDER BY service", params)
    return {record.service: record for record in (_record(tx, row) for row in rows)}


def _where(tx: Tx, services: Sequence[str], since: datetime | None,
           status: str | None = None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if services:
        clauses.append(f"service IN ({placeholders(len(services))})")
        params += list(services)
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    if since is not None:
        clauses.append("started_at >= ?")
        params.append(tx.d.ts(to_utc(since)))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _record(tx: Tx, row: tuple[Any, ...]) -> DeploymentRecord:
    d = tx.d
    return DeploymentRecord(id=int(row[0]), service=row[1], from_commit=row[2], to_commit=row[3], status=row[4],
                            step=row[5], reason=row[6], how=row[7], by=row[8], url=row[9],
                            started_at=d.read_ts(row[10]), finished_at=d.read_ts(row[11]), output_tail=row[12],
                            relevant_commits=tuple(json.loads(row[13])))
