"""Remediation's tables: the append-only audit log of every decision and the state its guardrails keep.

The audit log has an insert and reads, and nothing else: no function here updates or deletes a row of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..core.redact import mask, mask_values
from .common import json_text, read_json, to_utc
from .db import Tx, placeholders

__all__ = ["AUDIT_DECISIONS", "LOCK", "AuditRecord", "LockClaim", "claim_lock", "insert_audit", "read_audit",
           "read_states", "release_lock", "renew_lock", "write_state"]

AUDIT_DECISIONS = ("planned", "acted", "skipped", "succeeded", "failed", "refused", "tripped", "reset", "paused",
                   "resumed", "abandoned")
LOCK = "lock"  # the state subject of the run lock: one remediation acts at a time
_COLUMNS = "at, kind, subject, decision, guardrail, reason, dry_run, from_commit, to_commit, actor, details"


@dataclass(frozen=True)
class AuditRecord:
    """One decision of remediation: what (``kind`` and ``subject``), the ``decision``, the ``guardrail`` that
    stopped it (if one did) and why. ``reason``, ``actor`` and ``details`` are masked when the record is made."""

    at: datetime
    kind: str  # redeploy, rule, breaker, switch, run
    subject: str
    decision: str
    reason: str
    actor: str
    dry_run: bool = False
    guardrail: str | None = None
    from_commit: str | None = None
    to_commit: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    id: int = 0

    def __post_init__(self) -> None:
        if self.decision not in AUDIT_DECISIONS:
            raise ValueError(f"audit decision must be one of {', '.join(AUDIT_DECISIONS)}, not {self.decision!r}")
        object.__setattr__(self, "reason", mask(self.reason))
        object.__setattr__(self, "actor", mask(self.actor))
        object.__setattr__(self, "details", mask_values(dict(self.details)))

    def to_json(self) -> dict[str, Any]:
        """One ``entries[]`` item of ``deploywatch.audit/v1``."""
        return {"id": self.id, "at": self.at.isoformat().replace("+00:00", "Z"), "kind": self.kind,
                "subject": self.subject, "decision": self.decision, "guardrail": self.guardrail,
                "reason": self.reason, "dry_run": self.dry_run, "from_commit": self.from_commit,
                "to_commit": self.to_commit, "actor": self.actor, "details": dict(self.details)}


def insert_audit(tx: Tx, record: AuditRecord) -> AuditRecord:
    """Append ``record`` inside the caller's write transaction; return it with its id."""
    d = tx.d
    at = to_utc(record.at)
    new_id = tx.scalar(f"INSERT INTO remediation_audit ({_COLUMNS}) VALUES ({placeholders(11)}) RETURNING id",
                       (d.ts(at), record.kind, record.subject, record.decision, record.guardrail, record.reason,
                        d.flag(record.dry_run), record.from_commit, record.to_commit, record.actor,
                        json_text(record.details)))
    return replace(record, id=int(new_id), at=at)


def read_audit(tx: Tx, *, since: datetime | None = None, kind: str | None = None, subject: str | None = None,
               decisions: tuple[str, ...] = (), limit: int = 1000) -> list[AuditRecord]:
    """The newest ``limit`` audit rows (at ``since`` or later; of ``kind``/``subject``/``decisions``), oldest
    first."""
    where: list[str] = []
    params: list[Any] = []
    if since is not None:
        where.append("at >= ?")
        params.append(tx.d.ts(to_utc(since)))
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if subject is not None:
        where.append("subject = ?")
        params.append(subject)
    if decisions:
        where.append(f"decision IN ({placeholders(len(decisions))})")
        params += list(decisions)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = tx.rows(f"SELECT id, {_COLUMNS} FROM remediation_audit {clause}ORDER BY id DESC LIMIT ?",
                   [*params, max(limit, 0)])
    found = []
    for row in reversed(rows):
        row_id, at, kind_, subject_, decision, guardrail, reason, dry_run, from_commit, to_commit, actor, details = row
        found.append(AuditRecord(at=tx.d.read_ts(at), kind=kind_, subject=subject_, decision=decision, reason=reason,
                                 actor=actor, dry_run=bool(dry_run), guardrail=guardrail, from_commit=from_commit,
                                 to_commit=to_commit, details=read_json(details) or {}, id=int(row_id)))
    return found


def read_states(tx: Tx) -> dict[str, dict[str, Any]]:
    """Every remediation state by subject (``fleet``, ``service:NAME``, ``rule:NAME``)."""
    return {subject: read_json(state) or {} for subject, state in
            tx.rows("SELECT subject, state FROM remediation_state ORDER BY subject")}


def write_state(tx: Tx, subject: str, state: Mapping[str, Any], now: datetime) -> None:
    """Insert or replace the state of ``subject``."""
    tx.execute("INSERT INTO remediation_state (subject, state, updated_at) VALUES (?, ?, ?) "
               "ON CONFLICT (subject) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
               (subject, json_text(state), tx.d.ts(to_utc(now))))


@dataclass(frozen=True)
class LockClaim:
    """How claiming the run lock went: ``held_by`` (and ``until``) when another run holds it live (nothing
    written), else taken, with ``lapsed``: the lock state of a run that stopped renewing it, if one did."""

    held_by: str | None = None
    until: datetime | None = None
    lapsed: Mapping[str, Any] | None = None


def claim_lock(tx: Tx, holder: str, now: datetime, until: datetime) -> LockClaim:
    """Take the run lock for ``holder`` until ``until`` inside the caller's write transaction (see
    :class:`LockClaim`)."""
    tx.lock("deploywatch.remediation")
    current = read_states(tx).get(LOCK)
    lapsed = None
    if current and current.get("holder") != holder:
        current_until = datetime.fromisoformat(current["until"])
        if current_until > now:
            return LockClaim(held_by=str(current["holder"]), until=current_until)
        lapsed = current
    write_state(tx, LOCK, {"holder": holder, "since": now.isoformat(), "until": until.isoformat(),
                           "renewed_at": now.isoformat()}, now)
    return LockClaim(lapsed=lapsed)


def renew_lock(tx: Tx, holder: str, now: datetime, until: datetime) -> bool:
    """Extend ``holder``'s run lock to ``until``; False when it no longer holds it (it lapsed and was taken)."""
    tx.lock("deploywatch.remediation")
    current = read_states(tx).get(LOCK)
    if not current or current.get("holder") != holder:
        return False
    write_state(tx, LOCK, {**current, "until": until.isoformat(), "renewed_at": now.isoformat()}, now)
    return True


def release_lock(tx: Tx, holder: str) -> bool:
    """Drop ``holder``'s run lock; False when it did not hold it."""
    current = read_states(tx).get(LOCK)
    if not current or current.get("holder") != holder:
        return False
    tx.execute("DELETE FROM remediation_state WHERE subject = ?", (LOCK,))
    return True
