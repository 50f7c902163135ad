"""The store's reads and writes as functions of a connection; :class:`~deploywatch.store.Store` wraps them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from types import EllipsisType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from .common import check_history_args, check_run_ids, newest_per_date, stored_value
from .records import FindingRecord, MetricPoint, MetricRecord, RunRecord
from .schema import findings, metrics, runs

if TYPE_CHECKING:
    from typing import TypeAlias

    AnyRow: TypeAlias = Row[*tuple[Any, ...]]

__all__ = [
    "check_names", "insert_run", "latest_findings", "measurements", "metric_history", "newest_runs_with_findings",
    "recent_metrics",
    "run_findings", "run_metrics", "select_runs",
]

_STREAM_BATCH = 500
_POINT_COLUMNS = (metrics.c.run_id, metrics.c.check_name, metrics.c.group_key, metrics.c.run_date,
                  metrics.c.measured_at, metrics.c.value, metrics.c.status, metrics.c.anomalous)
# Newest first; rows of one run date by measurement time, then by insertion order.
_NEWEST_FIRST = (metrics.c.run_date.desc(), metrics.c.measured_at.desc(), metrics.c.id.desc())
_NEWEST_RUN = (runs.c.started_at.desc(), runs.c.finished_at.desc(), runs.c.id.desc())


def insert_run(conn: Connection, run: RunRecord, found: Sequence[FindingRecord],
               measured: Sequence[MetricRecord]) -> None:
    """Insert a run with its findings and metrics: one statement per table (executemany)."""
    check_run_ids(run, found, measured)
    conn.execute(runs.insert(), [{
        "id": run.id, "command": run.command, "started_at": run.started_at, "finished_at": run.finished_at,
        "run_date": run.run_date, "status": run.status, "exit_code": run.exit_code, "score": run.score,
        "details": run.details,
    }])
    if found:
        conn.execute(findings.insert(), [{
            "run_id": f.run_id, "kind": f.kind, "subject": f.subject, "status": f.status, "summary": f.summary,
            "fingerprint": f.fingerprint, "details": f.details,
        } for f in found])
    if measured:
        conn.execute(metrics.insert(), [{
            "run_id": m.run_id, "check_name": m.check, "group_key": m.group, "metric": m.metric,
            "run_date": m.run_date, "measured_at": m.measured_at,
            "value": stored_value(m.value),
            "status": m.status, "anomalous": bool(m.anomalous),
        } for m in measured])


def _group_is(group: str | None) -> sa.ColumnElement[bool]:
    return metrics.c.group_key.is_(None) if group is None else metrics.c.group_key == group


def _point(row: AnyRow) -> MetricPoint:
    return MetricPoint(run_id=row.run_id, check=row.check_name, group=row.group_key, run_date=row.run_date,
                       measured_at=row.measured_at, value=row.value, status=row.status, anomalous=bool(row.anomalous))


def metric_history(conn: Connection, check: str, group: str | None, *, before: date, limit: int,
                   weekday: int | None, include_anomalous: bool) -> list[MetricPoint]:
    """The latest value per run date before ``before``, oldest first (see ``Store.metric_history``)."""
    check_history_args(weekday)
    if limit <= 0:
        return []
    query = (sa.select(*_POINT_COLUMNS)
             .where(metrics.c.check_name == check, _group_is(group), metrics.c.run_date < before,
                    metrics.c.value.is_not(None))
             .order_by(*_NEWEST_FIRST))
    if weekday is not None:
        # extract('dow') counts from Sunday = 0 on both SQLite and PostgreSQL; date.weekday() from Monday = 0.
        query = query.where(sa.extract("dow", metrics.c.run_date) == (weekday + 1) % 7)
    # Streamed newest first and abandoned once enough dates are collected: history never loads the whole table.
    with conn.execution_options(yield_per=_STREAM_BATCH).execute(query) as result:
        return newest_per_date(map(_point, result), limit=limit, include_anomalous=include_anomalous)


def recent_metrics(conn: Connection, check: str, group: str | EllipsisType | None, limit: int) -> list[MetricPoint]:
    """The newest ``limit`` rows of ``check`` (every group when ``group`` is ``...``), newest first."""
    query = sa.select(*_POINT_COLUMNS).where(metrics.c.check_name == check).order_by(*_NEWEST_FIRST).limit(limit)
    if group is not ...:
        query = query.where(_group_is(group))
    return [_point(row) for row in conn.execute(query)]


def measurements(conn: Connection, check: str, group: str | EllipsisType | None, limit: int) -> list[MetricPoint]:
    """Like :func:`recent_metrics`, but one row per group and measurement time: the newest run's."""
    if limit <= 0:
        return []
    query = sa.select(*_POINT_COLUMNS).where(metrics.c.check_name == check).order_by(*_NEWEST_FIRST)
    if group is not ...:
        query = query.where(_group_is(group))
    kept: list[MetricPoint] = []
    seen: set[tuple[str | None, Any]] = set()
    # Streamed newest first and abandoned once enough are kept, like the anomaly history.
    with conn.execution_options(yield_per=_STREAM_BATCH).execute(query) as result:
        for point in map(_point, result):
            if (point.group, point.measured_at) not in seen:
                seen.add((point.group, point.measured_at))
                kept.append(point)
                if len(kept) == limit:
                    break
    return kept


def check_names(conn: Connection) -> list[str]:
    """Distinct names of checks with stored metrics, sorted."""
    query = sa.select(metrics.c.check_name).distinct().order_by(metrics.c.check_name)
    return [str(name) for name in conn.execute(query).scalars()]


def _run(row: AnyRow) -> RunRecord:
    return RunRecord(id=row.id, command=row.command, started_at=row.started_at, finished_at=row.finished_at,
                     run_date=row.run_date, status=row.status, exit_code=row.exit_code, score=row.score,
                     details=row.details)


def select_runs(conn: Connection, command: str | None, limit: int) -> list[RunRecord]:
    """The newest ``limit`` runs (of ``command``, when given), newest first."""
    query = sa.select(runs).order_by(*_NEWEST_RUN)
    if command is not None:
        query = query.where(runs.c.command == command)
    return [_run(row) for row in conn.execute(query.limit(limit))]


def _finding(row: AnyRow) -> FindingRecord:
    return FindingRecord(run_id=row.run_id, kind=row.kind, subject=row.subject, status=row.status,
                         summary=row.summary, fingerprint=row.fingerprint, details=row.details)


_FINDING_COLUMNS = (findings.c.run_id, findings.c.kind, findings.c.subject, findings.c.status, findings.c.summary,
                    findings.c.fingerprint, findings.c.details)


def run_findings(conn: Connection, run_id: str) -> list[FindingRecord]:
    """The findings of one run, in the order they were recorded."""
    query = sa.select(*_FINDING_COLUMNS).where(findings.c.run_id == run_id).order_by(findings.c.id)
    return [_finding(row) for row in conn.execute(query)]


def _newest_run_rank() -> sa.Label[int]:
    """1 for the newest run of each command (see :data:`_NEWEST_RUN`)."""
    return sa.func.row_number().over(partition_by=runs.c.command, order_by=_NEWEST_RUN).label("rank")


def latest_findings(conn: Connection, kind: str | None) -> list[FindingRecord]:
    """The findings (of ``kind``, when given) of the newest run of each command, by command then record order."""
    ranked = sa.select(runs.c.id, runs.c.command, _newest_run_rank()).subquery()
    query = (sa.select(*_FINDING_COLUMNS)
             .join(ranked, ranked.c.id == findings.c.run_id)
             .where(ranked.c.rank == 1)
             .order_by(ranked.c.command, findings.c.id))
    if kind is not None:
        query = query.where(findings.c.kind == kind)
    return [_finding(row) for row in conn.execute(query)]


def newest_runs_with_findings(conn: Connection, commands: Sequence[str] | None = None
                              ) -> list[tuple[RunRecord, list[FindingRecord]]]:
    """The newest run of every command (of ``commands``, when given) with its findings, newest run first."""
    ranked = sa.select(runs, _newest_run_rank())
    if commands is not None:
        ranked = ranked.where(runs.c.command.in_(list(commands)))
    sub = ranked.subquery()
    run_rows = conn.execute(sa.select(sub).where(sub.c.rank == 1)
                            .order_by(sub.c.started_at.desc(), sub.c.finished_at.desc(), sub.c.id.desc()))
    found = [_run(row) for row in run_rows]
    if not found:
        return []
    by_run: dict[str, list[FindingRecord]] = {run.id: [] for run in found}
    query = sa.select(*_FINDING_COLUMNS).where(findings.c.run_id.in_(list(by_run))).order_by(findings.c.id)
    for row in conn.execute(query):
        by_run[row.run_id].append(_finding(row))
    return [(run, by_run[run.id]) for run in found]


def run_metrics(conn: Connection, run_ids: Sequence[str]) -> list[MetricPoint]:
    """The metric rows of the runs ``run_ids``, in insertion order."""
    if not run_ids:
        return []
    query = sa.select(*_POINT_COLUMNS).where(metrics.c.run_id.in_(list(run_ids))).order_by(metrics.c.id)
    return [_point(row) for row in conn.execute(query)]
