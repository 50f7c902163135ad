"""The store's reads and writes of runs, findings and metrics, as functions of a :class:`~.db.Tx`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from types import EllipsisType
from typing import Any

from .common import check_history_args, check_run_ids, json_text, newest_per_date, read_json, stored_value
from .db import Tx, placeholders
from .records import FindingRecord, MetricPoint, MetricRecord, RunRecord
from .segments import add_samples, sample_of

__all__ = [
    "check_names", "insert_run", "latest_findings", "measurements", "metric_history", "newest_runs_with_findings",
    "recent_metrics", "run_findings", "run_metrics", "select_runs", "subject_findings",
]

_RUN_COLUMNS = "id, command, started_at, finished_at, run_date, status, exit_code, score, details"
_FINDING_COLUMNS = "run_id, kind, subject, status, summary, fingerprint, details"
_POINT_COLUMNS = "run_id, check_name, group_key, run_date, measured_at, value, status, anomalous"
# Newest first; rows of one run date by measurement time, then by insertion order.
_NEWEST_FIRST = "ORDER BY run_date DESC, measured_at DESC, id DESC"
_NEWEST_RUN = "started_at DESC, finished_at DESC, id DESC"


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def insert_run(tx: Tx, run: RunRecord, found: Sequence[FindingRecord], measured: Sequence[MetricRecord]) -> None:
    """Insert a run with its findings and metrics: one statement per table (executemany).

    Every value is converted before the first statement, so a bad one fails before anything is written.
    """
    check_run_ids(run, found, measured)
    d = tx.d
    run_row = (run.id, run.command, d.ts(run.started_at), d.ts(run.finished_at), d.day(run.run_date), run.status,
               run.exit_code, _float(run.score), json_text(run.details))
    finding_rows = [(f.run_id, f.kind, f.subject, f.status, f.summary, f.fingerprint, json_text(f.details))
                    for f in found]
    metric_rows = [(m.run_id, m.check, m.group, m.metric, d.day(m.run_date), d.ts(m.measured_at),
                    stored_value(m.value), m.status, d.flag(m.anomalous)) for m in measured]
    tx.execute(f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({placeholders(9)})", run_row)
    tx.executemany(f"INSERT INTO findings ({_FINDING_COLUMNS}) VALUES ({placeholders(7)})", finding_rows)
    tx.executemany("INSERT INTO metrics (run_id, check_name, group_key, metric, run_date, measured_at, value, status, "
                   f"anomalous) VALUES ({placeholders(9)})", metric_rows)
    add_samples(tx, [(f.subject, sample_of(run.started_at, f.status, f.details)) for f in found if f.kind == "drift"])


def _group_is(group: str | None) -> tuple[str, list[Any]]:
    return ("group_key IS NULL", []) if group is None else ("group_key = ?", [group])


def _point(tx: Tx, row: tuple[Any, ...]) -> MetricPoint:
    run_id, check, group, run_date, measured_at, value, status, anomalous = row
    return MetricPoint(run_id=run_id, check=check, group=group, run_date=tx.d.read_day(run_date),
                       measured_at=tx.d.read_ts(measured_at), value=_float(value), status=status,
                       anomalous=bool(anomalous))


def _points_query(tx: Tx, check: str, group: str | EllipsisType | None) -> tuple[str, list[Any]]:
    where, params = ["check_name = ?"], [check]
    if group is not ...:
        clause, values = _group_is(group)
        where.append(clause)
        params += values
    return f"SELECT {_POINT_COLUMNS} FROM metrics WHERE {' AND '.join(where)} {_NEWEST_FIRST}", params


def metric_history(tx: Tx, check: str, group: str | None, *, before: date, limit: int, weekday: int | None,
                   include_anomalous: bool) -> list[MetricPoint]:
    """The latest value per run date before ``before``, oldest first (see ``Store.metric_history``)."""
    check_history_args(weekday)
    if limit <= 0:
        return []
    clause, params = _group_is(group)
    where = ["check_name = ?", clause, "run_date < ?", "value IS NOT NULL"]
    params = [check, *params, tx.d.day(before)]
    if weekday is not None:
        # Both dialects count from Sunday = 0; date.weekday() from Monday = 0.
        where.append(f"{tx.d.weekday('run_date')} = ?")
        params.append((weekday + 1) % 7)
    sql = f"SELECT {_POINT_COLUMNS} FROM metrics WHERE {' AND '.join(where)} {_NEWEST_FIRST}"
    # Streamed newest first and abandoned once enough dates are collected: history never loads the whole table.
    with tx.stream(sql, params) as rows:
        return newest_per_date((_point(tx, row) for row in rows), limit=limit, include_anomalous=include_anomalous)


def recent_metrics(tx: Tx, check: str, group: str | EllipsisType | None, limit: int) -> list[MetricPoint]:
    """The newest ``limit`` rows of ``check`` (every group when ``group`` is ``...``), newest first."""
    sql, params = _points_query(tx, check, group)
    return [_point(tx, row) for row in tx.rows(f"{sql} LIMIT ?", [*params, max(limit, 0)])]


def measurements(tx: Tx, check: str, group: str | EllipsisType | None, limit: int) -> list[MetricPoint]:
    """Like :func:`recent_metrics`, but one row per group and measurement time: the newest run's."""
    if limit <= 0:
        return []
    sql, params = _points_query(tx, check, group)
    kept: list[MetricPoint] = []
    seen: set[tuple[str | None, Any]] = set()
    # Streamed newest first and abandoned once enough are kept, like the anomaly history.
    with tx.stream(sql, params) as rows:
        for point in (_point(tx, row) for row in rows):
            if (point.group, point.measured_at) not in seen:
                seen.add((point.group, point.measured_at))
                kept.append(point)
                if len(kept) == limit:
                    break
    return kept


def check_names(tx: Tx) -> list[str]:
    """Distinct names of checks with stored metrics, sorted."""
    return [str(row[0]) for row in tx.rows("SELECT DISTINCT check_name FROM metrics ORDER BY check_name")]


def _run(tx: Tx, row: Sequence[Any]) -> RunRecord:
    run_id, command, started_at, finished_at, run_date, status, exit_code, score, details = row[:9]
    return RunRecord(id=run_id, command=command, started_at=tx.d.read_ts(started_at),
                     finished_at=tx.d.read_ts(finished_at), run_date=tx.d.read_day(run_date), status=status,
                     exit_code=exit_code, score=_float(score), details=read_json(details))


def select_runs(tx: Tx, command: str | None, limit: int) -> list[RunRecord]:
    """The newest ``limit`` runs (of ``command``, when given), newest first."""
    where, params = ("WHERE command = ? ", [command]) if command is not None else ("", [])
    rows = tx.rows(f"SELECT {_RUN_COLUMNS} FROM runs {where}ORDER BY {_NEWEST_RUN} LIMIT ?", [*params, max(limit, 0)])
    return [_run(tx, row) for row in rows]


def _finding(row: Sequence[Any]) -> FindingRecord:
    run_id, kind, subject, status, summary, fingerprint, details = row[:7]
    return FindingRecord(run_id=run_id, kind=kind, subject=subject, status=status, summary=summary,
                         fingerprint=fingerprint, details=read_json(details))


def subject_findings(tx: Tx, run_ids: Sequence[str], kind: str, subject: str) -> dict[str, FindingRecord]:
    """The first finding of ``kind`` about ``subject`` in each of the runs ``run_ids``, by run id: one query (the
    index on ``run_id`` finds each run's rows) instead of one per run."""
    found: dict[str, FindingRecord] = {}
    for first in range(0, len(run_ids), 500):  # bounded IN lists, well under every driver's parameter limit
        chunk = list(run_ids[first:first + 500])
        # No ORDER BY in SQL: with an IN list, SQLite would rather walk the whole table in id order than sort the
        # few rows the run_id index finds (13 s instead of milliseconds on a year of runs); sorted here instead.
        rows = tx.rows(f"SELECT {_FINDING_COLUMNS}, id FROM findings WHERE run_id IN ({placeholders(len(chunk))}) "
                       "AND kind = ? AND subject = ?", [*chunk, kind, subject])
        for row in sorted(rows, key=lambda r: r[-1]):
            found.setdefault(row[0], _finding(row[:-1]))
    return found


def run_findings(tx: Tx, run_id: str) -> list[FindingRecord]:
    """The findings of one run, in the order they were recorded."""
    return [_finding(row) for row in tx.rows(f"SELECT {_FINDING_COLUMNS} FROM findings WHERE run_id = ? ORDER BY id",
                                             [run_id])]


# The newest run of each command: rank 1 (see _NEWEST_RUN).
_RANKED_RUNS = f"SELECT id, command, row_number() OVER (PARTITION BY command ORDER BY {_NEWEST_RUN}) AS rank FROM runs"


def latest_findings(tx: Tx, kind: str | None) -> list[FindingRecord]:
    """The findings (of ``kind``, when given) of the newest run of each command, by command then record order."""
    columns = ", ".join(f"f.{c.strip()}" for c in _FINDING_COLUMNS.split(","))
    where, params = (" AND f.kind = ?", [kind]) if kind is not None else ("", [])
    sql = (f"SELECT {columns} FROM findings f JOIN ({_RANKED_RUNS}) r ON r.id = f.run_id "
           f"WHERE r.rank = 1{where} ORDER BY r.command, f.id")
    return [_finding(row) for row in tx.rows(sql, params)]


def newest_runs_with_findings(tx: Tx, commands: Sequence[str] | None = None
                              ) -> list[tuple[RunRecord, list[FindingRecord]]]:
    """The newest run of every command (of ``commands``, when given) with its findings, newest run first."""
    if commands is not None and not commands:
        return []
    where, params = (f" WHERE command IN ({placeholders(len(commands))})", list(commands)) if commands else ("", [])
    ranked = (f"SELECT {_RUN_COLUMNS}, row_number() OVER (PARTITION BY command ORDER BY {_NEWEST_RUN}) AS rank "
              f"FROM runs{where}")
    rows = tx.rows(f"SELECT {_RUN_COLUMNS} FROM ({ranked}) r WHERE r.rank = 1 ORDER BY {_NEWEST_RUN}", params)
    found = [_run(tx, row) for row in rows]
    if not found:
        return []
    by_run: dict[str, list[FindingRecord]] = {run.id: [] for run in found}
    for row in tx.rows(f"SELECT {_FINDING_COLUMNS} FROM findings WHERE run_id IN ({placeholders(len(by_run))}) "
                       "ORDER BY id", list(by_run)):
        by_run[row[0]].append(_finding(row))
    return [(run, by_run[run.id]) for run in found]


def run_metrics(tx: Tx, run_ids: Sequence[str]) -> list[MetricPoint]:
    """The metric rows of the runs ``run_ids``, in insertion order."""
    if not run_ids:
        return []
    sql = f"SELECT {_POINT_COLUMNS} FROM metrics WHERE run_id IN ({placeholders(len(run_ids))}) ORDER BY id"
    return [_point(tx, row) for row in tx.rows(sql, list(run_ids))]
