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

from .common import json_text, read_json
from .db import Tx, placeholders

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


def lock_phase(tx: Tx, phase: str, run_date: date) -> None:
    """Serialise reports of ``phase`` on ``run_date`` between processes."""
    tx.lock(f"deploywatch.completions\0{phase}\0{run_date.isoformat()}")


def record(tx: Tx, phase: str, processor: str, run_date: date, *, expected: Sequence[str], source: str,
           now: datetime, action: str | None, details: Mapping[str, Any] | None = None) -> CompletionWrite:
    """Record that ``processor`` finished ``phase`` for ``run_date``, inside the caller's write transaction.

    When every processor of ``expected`` has now reported and ``action`` is given, insert the trigger row unless
    one exists: ``fire`` tells the caller it inserted it, and so must run the action (after commit).
    """
    lock_phase(tx, phase, run_date)
    d = tx.d
    key = (phase, processor, d.day(run_date))
    reports = tx.scalar("SELECT reports FROM completions WHERE phase = ? AND processor = ? AND run_date = ?", key)
    if reports is None:
        tx.execute("INSERT INTO completions (phase, processor, run_date, first_reported_at, last_reported_at, "
                   f"reports, source, details) VALUES ({placeholders(8)})",
                   (*key, d.ts(now), d.ts(now), 1, source, json_text(dict(details or {}))))
    else:
        tx.execute("UPDATE completions SET reports = ?, last_reported_at = ? "
                   "WHERE phase = ? AND processor = ? AND run_date = ?", (reports + 1, d.ts(now), *key))
    names = list(expected)
    recorded = 0 if not names else int(tx.scalar(
        f"SELECT count(*) FROM completions WHERE phase = ? AND run_date = ? AND processor IN "
        f"({placeholders(len(names))})", (phase, d.day(run_date), *names)))
    fire = False
    if action is not None and names and recorded >= len(names):
        exists = tx.first("SELECT phase FROM phase_triggers WHERE phase = ? AND run_date = ?", (phase, d.day(run_date)))
        if exists is None:
            # The primary key (phase, run_date) makes a second row impossible even if the lock were missing:
            # the losing transaction fails instead of firing twice.
            tx.execute("INSERT INTO phase_triggers (phase, run_date, fired_at, action, finished_at, outcome, detail) "
                       "VALUES (?, ?, ?, ?, NULL, NULL, NULL)", (phase, d.day(run_date), d.ts(now), action))
            fire = True
    return CompletionWrite(duplicate=reports is not None, recorded=recorded, fire=fire)


def finish_trigger(tx: Tx, phase: str, run_date: date, *, outcome: str, detail: str | None, now: datetime) -> bool:
    """Record how the action ended; False when there is no trigger row for ``phase`` and ``run_date``."""
    return tx.execute("UPDATE phase_triggers SET outcome = ?, detail = ?, finished_at = ? WHERE phase = ? AND "
                      "run_date = ?", (outcome, detail, tx.d.ts(now), phase, tx.d.day(run_date))) > 0


def read_completions(tx: Tx, run_date: date, phase: str | None = None) -> list[CompletionRecord]:
    """The reports for ``run_date`` (of ``phase``, when given), by phase, then first report."""
    d = tx.d
    where, params = _of_date(tx, run_date, phase)
    rows = tx.rows("SELECT phase, processor, run_date, first_reported_at, last_reported_at, reports, source, details "
                   f"FROM completions WHERE {where} ORDER BY phase, first_reported_at, processor", params)
    return [CompletionRecord(phase=r[0], processor=r[1], run_date=d.read_day(r[2]), first_reported_at=d.read_ts(r[3]),
                             last_reported_at=d.read_ts(r[4]), reports=r[5], source=r[6], details=read_json(r[7]))
            for r in rows]


def read_triggers(tx: Tx, run_date: date, phase: str | None = None) -> list[TriggerRecord]:
    """The trigger rows for ``run_date`` (of ``phase``, when given), by phase."""
    d = tx.d
    where, params = _of_date(tx, run_date, phase)
    rows = tx.rows("SELECT phase, run_date, fired_at, action, finished_at, outcome, detail "
                   f"FROM phase_triggers WHERE {where} ORDER BY phase", params)
    return [TriggerRecord(phase=r[0], run_date=d.read_day(r[1]), fired_at=d.read_ts(r[2]), action=r[3],
                          finished_at=d.read_ts(r[4]), outcome=r[5], detail=r[6]) for r in rows]


def _of_date(tx: Tx, run_date: date, phase: str | None) -> tuple[str, list[object]]:
    """The ``WHERE`` clause and parameters for the rows of ``run_date``, of ``phase`` when given."""
    if phase is None:
        return "run_date = ?", [tx.d.day(run_date)]
    return "run_date = ? AND phase = ?", [tx.d.day(run_date), phase]
