"""The store's completion tables: which processors reported each phase and date, and the phase's one-time trigger.

A report and the decision to fire ``on_complete`` are one write transaction, serialised between processes
(SQLite: the ``BEGIN IMMEDIATE`` write lock; PostgreSQL: an advisory lock per phase and date), so however many
processes report at once, exactly one of them inserts the ``phase_triggers`` row, and only that one runs the action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .engine import advisory_xact_lock
from .schema import completions, phase_triggers

__all__ = ["CompletionRecord", "CompletionWrite", "TriggerRecord", "finish_trigger", "read_completions",
           "read_triggers", "record"]


@dataclass(frozen=True)
class CompletionRecord:
    """One processor's report for one phase and date (repeated reports update it)."""

    phase: str
    processor: str
    run_date: date
    first_reported_at: datetime
    last_reported_at: datetime
    reports: int
    source: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TriggerRecord:
    """A phase's ``on_complete`` for one date: fired once, then finished with an outcome."""

    phase: str
    run_date: date
    fired_at: datetime
    action: str  # masked
    finished_at: datetime | None = None
    outcome: str | None = None  # "ok", "failed"; None while running (or when the process died)
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The row as JSON (timestamps ISO 8601, UTC)."""
        from ..core.durations import format_timestamp

        return {"phase": self.phase, "date": self.run_date.isoformat(), "fired_at": format_timestamp(self.fired_at),
                "action": self.action,
                "finished_at": format_timestamp(self.finished_at) if self.finished_at else None,
                "outcome": self.outcome, "detail": self.detail}


@dataclass(frozen=True)
class CompletionWrite:
    """What recording one report changed."""

    duplicate: bool  # the processor had already reported this phase and date
    recorded: int  # how many of the expected processors have reported, this one included
    fire: bool  # this report completed the phase and inserted the trigger row: the caller runs the action


def lock_phase(conn: Connection, phase: str, run_date: date) -> None:
    """Serialise reports of ``phase`` on ``run_date`` between processes."""
    advisory_xact_lock(conn, f"deploywatch.completions\0{phase}\0{run_date.isoformat()}")


def record(conn: Connection, phase: str, processor: str, run_date: date, *, expected: Sequence[str], source: str,
           now: datetime, action: str | None, details: Mapping[str, Any] | None = None) -> CompletionWrite:
    """Record that ``processor`` finished ``phase`` for ``run_date``, inside the caller's write transaction.

    When every processor of ``expected`` has now reported and ``action`` is given, insert the trigger row unless
    one exists: ``fire`` tells the caller it inserted it, and so must run the action (after commit).
    """
    lock_phase(conn, phase, run_date)
    key = (completions.c.phase == phase, completions.c.processor == processor, completions.c.run_date == run_date)
    reports = conn.execute(sa.select(completions.c.reports).where(*key)).scalar_one_or_none()
    if reports is None:
        conn.execute(completions.insert().values(
            phase=phase, processor=processor, run_date=run_date, first_reported_at=now, last_reported_at=now,
            reports=1, source=source, details=dict(details or {})))
    else:
        conn.execute(completions.update().where(*key).values(reports=reports + 1, last_reported_at=now))
    names = list(expected)
    recorded = conn.execute(
        sa.select(sa.func.count()).select_from(completions).where(
            completions.c.phase == phase, completions.c.run_date == run_date,
            completions.c.processor.in_(names))).scalar_one()
    fire = False
    if action is not None and names and recorded >= len(names):
        exists = conn.execute(sa.select(phase_triggers.c.phase).where(
            phase_triggers.c.phase == phase, phase_triggers.c.run_date == run_date)).first()
        if exists is None:
            # The primary key (phase, run_date) makes a second row impossible even if the lock were missing:
            # the losing transaction fails instead of firing twice.
            conn.execute(phase_triggers.insert().values(phase=phase, run_date=run_date, fired_at=now, action=action,
                                                        finished_at=None, outcome=None, detail=None))
            fire = True
    return CompletionWrite(duplicate=reports is not None, recorded=int(recorded), fire=fire)


def finish_trigger(conn: Connection, phase: str, run_date: date, *, outcome: str, detail: str | None,
                   now: datetime) -> bool:
    """Record how the action ended; False when there is no trigger row for ``phase`` and ``run_date``."""
    updated = conn.execute(phase_triggers.update().where(
        phase_triggers.c.phase == phase, phase_triggers.c.run_date == run_date).values(
        outcome=outcome, detail=detail, finished_at=now))
    return bool(updated.rowcount)


def read_completions(conn: Connection, run_date: date, phase: str | None = None) -> list[CompletionRecord]:
    """The reports for ``run_date`` (of ``phase``, when given), by phase, then first report."""
    query = sa.select(completions).where(completions.c.run_date == run_date)
    if phase is not None:
        query = query.where(completions.c.phase == phase)
    query = query.order_by(completions.c.phase, completions.c.first_reported_at, completions.c.processor)
    return [CompletionRecord(**dict(row)) for row in conn.execute(query).mappings()]


def read_triggers(conn: Connection, run_date: date, phase: str | None = None) -> list[TriggerRecord]:
    """The trigger rows for ``run_date`` (of ``phase``, when given), by phase."""
    query = sa.select(phase_triggers).where(phase_triggers.c.run_date == run_date)
    if phase is not None:
        query = query.where(phase_triggers.c.phase == phase)
    return [TriggerRecord(**dict(row)) for row in conn.execute(query.order_by(phase_triggers.c.phase)).mappings()]
