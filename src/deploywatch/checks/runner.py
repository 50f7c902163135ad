"""Running checks end to end: compile, scan the warehouse, judge against thresholds and history, store."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from ..checkconfig import CheckConfig
from ..config import LoadedConfig
from ..errors import ConfigError
from .evaluate import History, evaluate
from .metrics import MetricError
from .plan import Plan, compile_plan
from .results import CanaryReport, group_label
from .template import TemplateError, template_variables
from .validate import dialects_of
from .warehouse import Warehouse

if TYPE_CHECKING:
    from ..alertconfig import AlertsConfig
    from ..findings import Finding
    from ..notify.model import AlertMode
    from ..store import Store
    from ..store.records import MetricRecord

__all__ = ["RunSummary", "compile_checks", "metric_records", "open_store", "record_results", "run_checks",
           "store_url"]


def store_url(loaded: LoadedConfig) -> str:
    """The store's URL: ``[store] url`` (relative SQLite paths against the config), else the default file."""
    from ..store import default_store_url, resolve_store_url

    url = loaded.config.store.url
    return resolve_store_url(url, loaded.base_dir) if url else default_store_url(loaded.base_dir)


def open_store(loaded: LoadedConfig) -> Store:
    """Open (creating and migrating as needed) the config's store."""
    from ..store import Store

    return Store.open(store_url(loaded))


def compile_checks(loaded: LoadedConfig, checks: Sequence[CheckConfig], *, now: datetime,
                   run_date: date | None) -> tuple[Plan, date]:
    """The statements for ``checks`` on ``run_date`` (``today`` in the warehouse time zone when None)."""
    warehouse = loaded.config.warehouse
    dialect, read = dialects_of(loaded.config)
    variables = template_variables(now, run_date, warehouse.timezone)
    try:
        plan = compile_plan(checks, variables=variables, read_dialect=read, dialect=dialect,
                            default_timeout=float(warehouse.timeout))
    except (MetricError, TemplateError) as exc:
        raise ConfigError(str(exc), file=str(loaded.path)) from None
    return plan, date.fromisoformat(variables["run_date"])


@dataclass(frozen=True)
class RunSummary:
    """What a command concluded from a run's results, stored with the run (a gate's score and verdict)."""

    score: float | None = None
    exit_code: int | None = None
    details: dict[str, object] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()  # besides one per result (a gate's verdict)


def run_checks(loaded: LoadedConfig, checks: Sequence[CheckConfig], *, now: datetime, run_date: date | None = None,
               command: str = "canary", record: bool = True,
               summarize: Callable[[CanaryReport], RunSummary] | None = None,
               alert_mode: AlertMode | None = None) -> CanaryReport:
    """Run ``checks`` in the warehouse and judge them; with ``record``, store the run and its metrics (with what
    ``summarize`` concludes from them), all through one store connection."""
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    plan, day = compile_checks(loaded, checks, now=now, run_date=run_date)
    warehouse_config = loaded.config.warehouse
    needs_history = any(c.anomaly is not None for c in checks)
    store: Store | None = None
    try:
        with Warehouse(warehouse_config.url, base_dir=loaded.base_dir, read_only=warehouse_config.read_only,
                       memory_limit=warehouse_config.memory_limit,
                       concurrency=warehouse_config.concurrency, timeout=float(warehouse_config.timeout)) as warehouse:
            scanning = warehouse.start(plan.scans, plan.dialect)
            # A remote warehouse answers while the store opens (SQLAlchemy import, migrations). Embedded DuckDB
            # already keeps every core busy: opening the store meanwhile would only add its memory to DuckDB's
            # peak, so the store opens once DuckDB has closed.
            overlap = warehouse.backend != "duckdb"
            if overlap and (record or needs_history):
                store = open_store(loaded)
            outcomes = scanning.result()
        if store is None and (record or needs_history):
            store = open_store(loaded)
        history: History | None = None
        if store is not None:
            def history(check: str, group: str | None, before: date, weekday: int | None,
                        limit: int) -> list[float]:
                points = store.metric_history(check, group, before=before, limit=limit, weekday=weekday)
                return [p.value for p in points if p.value is not None]

        results = evaluate(plan.checks, outcomes, now=now, run_date=day, timezone=warehouse_config.timezone,
                           history=history)
        report = CanaryReport(uuid.uuid4().hex, day, now, tuple(results), plan, time.perf_counter() - started,
                              sum(o.statements for o in outcomes))
        if record and store is not None:
            summary = summarize(report) if summarize is not None else RunSummary()
            record_results(store, report, command=command, started_at=started_at, score=summary.score,
                           exit_code=summary.exit_code, details=summary.details, extra=summary.findings,
                           alerts=loaded.config.alerts, mode=alert_mode)
    finally:
        if store is not None:
            store.close()
    return report


def record_results(store: Store, report: CanaryReport, *, command: str, started_at: datetime,
                   details: dict[str, object] | None = None, score: float | None = None,
                   exit_code: int | None = None, extra: Sequence[Finding] = (),
                   alerts: AlertsConfig | None = None, mode: AlertMode | None = None) -> None:
    """Store the run, one finding per result (and ``extra``) and every metric value, in one transaction;
    route the findings to the alert sinks in that transaction and deliver them (unless ``mode`` says not to)."""
    from ..alertconfig import AlertsConfig
    from ..notify.dispatch import record_and_notify
    from ..notify.model import AlertMode
    from ..store.records import RunRecord

    status = report.status
    run = RunRecord(id=report.run_id, command=command, started_at=started_at, finished_at=datetime.now(UTC),
                    run_date=report.run_date, status=str(status),
                    exit_code=status.exit_code if exit_code is None else exit_code, score=score,
                    details={"checks": len(report.results), "statements": report.statements, **(details or {})})
    findings = [*(result.finding() for result in report.results), *extra]
    record_and_notify(store, run, findings, metric_records(report, run.id), alerts or AlertsConfig(),
                      mode or AlertMode(), now=report.now)


def metric_records(report: CanaryReport, run_id: str) -> list[MetricRecord]:
    """Every result's value as a store row of run ``run_id``."""
    from ..store.records import MetricRecord

    return [MetricRecord(run_id=run_id, check=r.name, group=group_label(r.group), metric=r.metric,
                         run_date=report.run_date, measured_at=report.now,
                         value=None if r.value is None else float(r.value), status=str(r.status),
                         anomalous=bool(r.anomaly and r.anomaly.anomalous)) for r in report.results]
