"""Running checks end to end: compile, scan the warehouse, judge against thresholds and history, store.

:func:`run_checks` compiles the validated config's checks; :func:`run_plan` runs a compiled plan against a
:class:`RunTarget` (plain data, so that a plan kept by :mod:`.plancache` runs without pydantic or sqlglot).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.file import DEFAULT_MEMORY_LIMIT
from ..core.errors import ConfigError
from .evaluate import History, evaluate
from .plan import Plan
from .results import CanaryReport, group_label
from .warehouse import Warehouse

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.alerts import AlertsConfig
    from ..config.checks import CheckConfig, WarehouseConfig
    from ..core.findings import Finding
    from ..notify.model import AlertMode
    from ..store import Store
    from ..store.records import MetricRecord

__all__ = ["RunSummary", "RunTarget", "WarehouseSpec", "compile_checks", "metric_records", "open_store",
           "open_warehouse", "record_results", "run_checks", "run_plan", "store_url"]


@dataclass(frozen=True)
class WarehouseSpec:
    """``[warehouse]`` as plain data: what connecting and running statements needs."""

    url: str
    read_only: bool | None = None
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    concurrency: int = 4
    timeout: float = 300.0
    timezone: str = "UTC"

    @classmethod
    def from_config(cls, config: WarehouseConfig) -> WarehouseSpec:
        """The validated section's values."""
        return cls(config.url, config.read_only, config.memory_limit, config.concurrency, float(config.timeout),
                   config.timezone)


@dataclass(frozen=True)
class RunTarget:
    """Where a run reads and writes: the warehouse, the store, the config's folder, and the alert sinks
    (None when none is configured: the run is then only stored)."""

    base_dir: Path
    warehouse: WarehouseSpec
    store_url: str
    alerts: AlertsConfig | None = None

    @classmethod
    def of(cls, loaded: LoadedConfig) -> RunTarget:
        """The target a loaded config describes."""
        alerts = loaded.config.alerts
        return cls(loaded.base_dir, WarehouseSpec.from_config(loaded.config.warehouse), store_url(loaded),
                   alerts if any(True for _ in alerts.sinks()) else None)


def store_url(loaded: LoadedConfig) -> str:
    """The store's URL: ``[store] url`` (relative SQLite paths against the config), else the default file."""
    from ..store.urls import configured_store_url

    return configured_store_url(loaded.config.store.url, loaded.base_dir)


def open_store(loaded: LoadedConfig) -> Store:
    """Open (creating and migrating as needed) the config's store."""
    from ..store import Store

    return Store.open(store_url(loaded))


def compile_checks(loaded: LoadedConfig, checks: Sequence[CheckConfig], *, now: datetime,
                   run_date: date | None) -> tuple[Plan, date]:
    """The statements for ``checks`` on ``run_date`` (``today`` in the warehouse time zone when None)."""
    from .compiler import compile_plan
    from .metrics import MetricError
    from .template import TemplateError, template_variables
    from .validate import dialects_of

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
               alert_mode: AlertMode | None = None, started_at: datetime | None = None,
               warehouse: Warehouse | None = None) -> CanaryReport:
    """Run ``checks`` in the warehouse and judge them; with ``record``, store the run and its metrics (with what
    ``summarize`` concludes from them), all through one store connection. ``started_at``: when the stored run
    began (a replayed run's own time, as the demo's history has it); the wall clock by default. ``warehouse``:
    an open connection to reuse (left open), for many runs in a row; else one is opened and closed."""
    started = time.perf_counter()
    started_at = started_at or datetime.now(UTC)
    plan, day = compile_checks(loaded, checks, now=now, run_date=run_date)
    return run_plan(RunTarget.of(loaded), plan, day, now=now, command=command, record=record, summarize=summarize,
                    alert_mode=alert_mode, started=(started, started_at), warehouse=warehouse)


def open_warehouse(target: RunTarget) -> Warehouse:
    """A connection to the target's warehouse, as :func:`run_plan` opens it (the caller closes it)."""
    spec = target.warehouse
    return Warehouse(spec.url, base_dir=target.base_dir, read_only=spec.read_only, memory_limit=spec.memory_limit,
                     concurrency=spec.concurrency, timeout=spec.timeout)


def run_plan(target: RunTarget, plan: Plan, day: date, *, now: datetime, command: str = "canary",
             record: bool = True, summarize: Callable[[CanaryReport], RunSummary] | None = None,
             alert_mode: AlertMode | None = None, started: tuple[float, datetime] | None = None,
             warehouse: Warehouse | None = None) -> CanaryReport:
    """Run a compiled plan about ``day`` (see :func:`run_checks`); ``started`` is when the run began
    (``perf_counter()``, wall clock), now by default."""
    import contextlib

    from ..store import Store

    clock, started_at = started or (time.perf_counter(), datetime.now(UTC))
    spec = target.warehouse
    needs_history = any(c.config.anomaly is not None for c in plan.checks)
    store: Store | None = None
    try:
        with open_warehouse(target) if warehouse is None else contextlib.nullcontext(warehouse) as open_one:
            scanning = open_one.start(plan.scans, plan.dialect)
            # A remote warehouse answers while the store opens (connecting, migrations). Embedded DuckDB
            # already keeps every core busy: opening the store meanwhile would only add its memory to DuckDB's
            # peak, so the store opens once DuckDB has closed.
            overlap = open_one.backend != "duckdb"
            if overlap and (record or needs_history):
                store = Store.open(target.store_url)
            outcomes = scanning.result()
        if store is None and (record or needs_history):
            store = Store.open(target.store_url)
        history: History | None = None
        if store is not None:
            reader = store

            def history(check: str, group: str | None, before: date, weekday: int | None,
                        limit: int) -> list[float]:
                points = reader.metric_history(check, group, before=before, limit=limit, weekday=weekday)
                return [p.value for p in points if p.value is not None]

        results = evaluate(plan.checks, outcomes, now=now, run_date=day, timezone=spec.timezone, history=history)
        report = CanaryReport(uuid.uuid4().hex, day, now, tuple(results), plan, time.perf_counter() - clock,
                              sum(o.statements for o in outcomes))
        if record and store is not None:
            summary = summarize(report) if summarize is not None else RunSummary()
            record_results(store, report, command=command, started_at=started_at, score=summary.score,
                           exit_code=summary.exit_code, details=summary.details, extra=summary.findings,
                           alerts=target.alerts, mode=alert_mode)
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
    from ..store.records import RunRecord, finding_records

    status = report.status
    finished_at = started_at + timedelta(seconds=report.seconds)  # a replayed run ends at its own time too
    run = RunRecord(id=report.run_id, command=command, started_at=started_at, finished_at=finished_at,
                    run_date=report.run_date, status=str(status),
                    exit_code=status.exit_code if exit_code is None else exit_code, score=score,
                    details={"checks": len(report.results), "statements": report.statements, **(details or {})})
    findings = [*(result.finding() for result in report.results), *extra]
    metrics = metric_records(report, run.id)
    if alerts is None or not any(True for _ in alerts.sinks()):
        store.record_run(run, finding_records(run.id, findings), metrics)  # nothing to route to
        return
    from ..notify.dispatch import record_and_notify
    from ..notify.model import AlertMode

    record_and_notify(store, run, findings, metrics, alerts, mode or AlertMode(), now=report.now)


def metric_records(report: CanaryReport, run_id: str) -> list[MetricRecord]:
    """Every result's value as a store row of run ``run_id``."""
    from ..store.records import MetricRecord

    return [MetricRecord(run_id=run_id, check=r.name, group=group_label(r.group), metric=r.metric,
                         run_date=report.run_date, measured_at=report.now,
                         value=None if r.value is None else float(r.value), status=str(r.status),
                         anomalous=bool(r.anomaly and r.anomaly.anomalous)) for r in report.results]
