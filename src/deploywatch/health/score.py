"""The unified health check: drift, data checks, phase completion and probes in one run, one score.

Collectors run concurrently and each yields *items* (what the summary lists: one for drift, one per check,
phase and probe) and *findings* (what is stored and routed to the alert sinks: one per service, check
result, phase and probe). A collector that fails does not fail the check: its item is ``unknown`` with the
reason. Score: the weighted share of items that are ok (1), warning (0.5), critical or unknown (0), times 100.
Verdict: any critical item or a score below 50 → CRITICAL (exit 2); a score below 80 or any warning or
unknown item → DEGRADED (1); else OK (0).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from ..config import LoadedConfig
from ..core.durations import format_age, format_timestamp
from ..core.errors import DeploywatchError, UsageError
from ..core.findings import Finding
from ..core.lazy import HTTP_MODULES, import_now
from ..core.redact import mask
from ..core.status import Status, worst
from ..core.text import plural
from ..notify.model import AlertMode

__all__ = ["CHECK_SCHEMA", "HealthItem", "HealthReport", "health_score", "run_health", "verdict_of"]

CHECK_SCHEMA = "deploywatch.check/v1"
_SHARE = {Status.OK: 1.0, Status.WARNING: 0.5, Status.CRITICAL: 0.0, Status.UNKNOWN: 0.0}
VERDICT_EXIT = {"OK": 0, "DEGRADED": 1, "CRITICAL": 2}
COLLECTORS = ("drift", "checks", "completion", "probes")


@dataclass(frozen=True)
class HealthItem:
    """One line of the summary."""

    name: str
    kind: str  # drift, check, completion, probe
    status: Status
    summary: str
    value: Any = None
    threshold: str | None = None
    duration_seconds: float = 0.0
    weight: float = 1.0

    def as_json(self) -> dict[str, Any]:
        """The ``items[]`` entry of ``deploywatch.check/v1``."""
        return {"name": self.name, "kind": self.kind, "status": str(self.status), "value": self.value,
                "threshold": self.threshold, "summary": self.summary,
                "duration_seconds": round(self.duration_seconds, 3), "weight": self.weight}


@dataclass
class Collected:
    """What one collector produced."""

    items: list[HealthItem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    metrics: list[Any] = field(default_factory=list)  # MetricRecord, bound to the run later


@dataclass(frozen=True)
class HealthReport:
    """The unified check's result."""

    run_id: str
    generated_at: datetime
    run_date: date
    items: tuple[HealthItem, ...]
    score: float
    verdict: str
    stopped_early: bool = False  # --fail-fast-on-drift stopped after drift

    @property
    def exit_code(self) -> int:
        """0 OK, 1 DEGRADED, 2 CRITICAL."""
        return VERDICT_EXIT[self.verdict]

    @property
    def status(self) -> Status:
        """The worst item status (unknown when there are none)."""
        return worst(i.status for i in self.items)

    def as_json(self) -> dict[str, Any]:
        """``deploywatch.check/v1``."""
        return {"schema": CHECK_SCHEMA, "generated_at": format_timestamp(self.generated_at), "run_id": self.run_id,
                "run_date": self.run_date.isoformat(), "score": self.score, "verdict": self.verdict,
                "stopped_early": self.stopped_early, "items": [i.as_json() for i in self.items]}


def health_score(items: Sequence[HealthItem]) -> float:
    """The weighted share of ok items (warning counts half) times 100, one decimal; 0 when there are none."""
    total = sum(i.weight for i in items)
    if not total:
        return 0.0
    return round(100 * sum(i.weight * _SHARE[i.status] for i in items) / total, 1)


def verdict_of(items: Sequence[HealthItem], score: float) -> str:
    """CRITICAL, DEGRADED or OK (see the module docstring)."""
    statuses = {i.status for i in items}
    if Status.CRITICAL in statuses or score < 50:
        return "CRITICAL"
    if score < 80 or statuses & {Status.WARNING, Status.UNKNOWN}:
        return "DEGRADED"
    return "OK"


# ---------------------------------------------------------------- collectors


def _drift(loaded: LoadedConfig, now: datetime, run_date: date) -> Collected:
    from ..drift.workspace import workspace_for

    report = workspace_for(loaded).drift((), now=now)
    services = report.services
    status = report.status
    # worst first: by status, then relevant commits behind, then drift age (ties keep the config's order)
    ranked = sorted(services, key=lambda s: (-s.status.severity, -(s.relevant_commits_behind or 0),
                                             -(s.drift_age_seconds or 0)))
    bad = [s for s in ranked if s.status is not Status.OK]
    if bad:
        first = bad[0]
        if first.commits_behind is not None and first.relevant_commits_behind:
            detail = (f"{first.name} {first.commits_behind} behind ({first.relevant_commits_behind} relevant"
                      + (f", {format_age(first.drift_age_seconds)}" if first.drift_age_seconds else "") + ")")
        else:
            detail = f"{first.name}: {first.reason}"
        summary = detail + (f"; {plural(len(bad) - 1, 'more service')} not ok" if len(bad) > 1 else "")
    else:
        summary = (f"{'' if len(services) == 1 else 'all '}{plural(len(services), 'service')} "
                   f"{'runs' if len(services) == 1 else 'run'} what matters on {report.branch}")
    # the value is the named (worst) service's relevant count, so the line reads as one fact
    worst_relevant = (ranked[0].relevant_commits_behind or 0) if ranked else 0
    item = HealthItem("Deployment drift", "drift", status, mask(summary), worst_relevant,
                      _drift_threshold(loaded), weight=loaded.config.health.drift_weight)
    return Collected([item], [s.finding(report.tip) for s in services])


def _drift_threshold(loaded: LoadedConfig) -> str:
    d = loaded.config.defaults
    parts = []
    if d.warn_commits:
        parts.append(f"warn ≥ {d.warn_commits}")
    if d.critical_commits:
        parts.append(f"crit ≥ {d.critical_commits} relevant")
    return ", ".join(parts) or "-"


def _checks(loaded: LoadedConfig, now: datetime, run_date: date) -> Collected:
    from ..checks.results import group_label
    from ..checks.runner import metric_records, run_checks

    checks = loaded.config.checks
    report = run_checks(loaded, checks, now=now, run_date=run_date, record=False)
    by_name: dict[str, list[Any]] = {}
    for result in report.results:
        by_name.setdefault(result.name, []).append(result)
    collected = Collected()
    per_check = report.seconds / max(1, len(by_name))
    for check in checks:
        results = by_name.get(check.name, [])
        if not results:
            continue
        status = worst(r.status for r in results)
        threshold = ", ".join(p for p in (f"warn {check.warn}" if check.warn else "",
                                          f"crit {check.critical}" if check.critical else "") if p) or None
        if len(results) == 1 and results[0].group is None:
            result = results[0]
            value: Any = result.value
            summary = result.shown_value + (f" ({result.reason})" if result.reason else "")
        else:
            bad = [r for r in results if r.status is not Status.OK]
            value = f"{len(results) - len(bad)}/{len(results)} groups ok"
            summary = value + ("; " + ", ".join(f"{group_label(r.group)} {r.shown_value}" for r in bad[:3])
                               if bad else "")
        collected.items.append(HealthItem(check.name, "check", status, summary, value,
                                          threshold, per_check, check.weight))
    collected.findings = [result.finding() for result in report.results]
    collected.metrics = metric_records(report, "")  # bound to the check run when it is recorded
    return collected


def _completion(loaded: LoadedConfig, now: datetime, run_date: date) -> Collected:
    from ..checks.runner import open_store
    from .completion import phase_statuses

    with open_store(loaded) as store:
        phases = phase_statuses(loaded, store, run_date, now=now)
    collected = Collected()
    for phase in phases:
        value = f"{len(phase.recorded)}/{len(phase.expected)}"
        threshold = f"fresh within {format_age(phase.within_seconds)}" if phase.within_seconds else None
        collected.items.append(HealthItem(f"Phase {phase.phase} completion", "completion", phase.status,
                                          phase.summary, value, threshold, weight=phase.weight))
        collected.findings.append(phase.finding())
    return collected


def _probes(loaded: LoadedConfig, now: datetime, run_date: date) -> Collected:
    from .probes import probe_configs, run_probes

    collected = Collected()
    for probe in run_probes(probe_configs(loaded), cwd=loaded.base_dir):
        collected.items.append(HealthItem(probe.name, "probe", probe.status, probe.summary, probe.value,
                                          None, probe.seconds, probe.weight))
        collected.findings.append(probe.finding())
    return collected


_COLLECT: dict[str, Callable[[LoadedConfig, datetime, date], Collected]] = {
    "drift": _drift, "checks": _checks, "completion": _completion, "probes": _probes}
_TITLES = {"drift": "Deployment drift", "checks": "Data checks", "completion": "Phase completion",
           "probes": "Probes"}
_KIND = {"drift": "drift", "checks": "check", "completion": "completion", "probes": "probe"}


def collectors_for(loaded: LoadedConfig) -> list[str]:
    """The collectors this config has something for."""
    from .probes import probe_configs

    config = loaded.config
    wanted = {"drift": bool(config.services), "checks": bool(config.checks), "completion": bool(config.phases),
              "probes": bool(probe_configs(loaded))}
    return [name for name in COLLECTORS if wanted[name]]


# What each collector imports on first use, beyond what importing this module brought in.
_IMPORTS = {
    "drift": ("deploywatch.drift.workspace", "deploywatch.drift.history", "deploywatch.core.units",
              "deploywatch.store.records", "deploywatch.drift.sources.factory", "encodings.utf_8_sig", *HTTP_MODULES),
    "checks": ("deploywatch.checks.runner", "deploywatch.checks.results", "deploywatch.checks.evaluate",
               "deploywatch.checks.anomaly", "deploywatch.checks.compiler", "deploywatch.checks.metrics",
               "deploywatch.checks.template", "deploywatch.checks.validate", "deploywatch.checks.plancache",
               "deploywatch.store.database", "deploywatch.store.urls"),
    "completion": ("deploywatch.checks.runner", "deploywatch.health.completion", "deploywatch.store.database",
                   "deploywatch.checks.compiler", "deploywatch.checks.metrics"),
    "probes": ("deploywatch.health.probes", *HTTP_MODULES),
}


def prepare_collectors(names: Sequence[str], loaded: LoadedConfig) -> None:
    """Import, in this thread, what the collectors would otherwise import for the first time in theirs (see
    :func:`~deploywatch.core.lazy.import_now`): the modules they use, the warehouse's and the store's drivers, and
    sqlglot's dialects."""
    from ..checks.dialects import dialect_for_url
    from ..checks.runner import store_url
    from ..checks.warehouse import import_driver
    from ..core.errors import ConfigError
    from ..store.dialect import import_driver as import_store_driver

    import_now(m for name in names for m in _IMPORTS[name])
    if not {"checks", "completion"} & set(names):
        return
    warehouse = loaded.config.warehouse
    import_store_driver(store_url(loaded))
    import_driver(warehouse.url)
    from sqlglot.dialects.dialect import Dialect

    for dialect in (warehouse.dialect, warehouse.read_dialect):
        with contextlib.suppress(ConfigError, ValueError):  # the collector reports it
            Dialect.get_or_raise(dialect or dialect_for_url(warehouse.url))


def _collect(name: str, loaded: LoadedConfig, now: datetime, run_date: date) -> Collected:
    started = time.perf_counter()
    try:
        collected = _COLLECT[name](loaded, now, run_date)
    except DeploywatchError as exc:
        collected = Collected([HealthItem(_TITLES[name], _KIND[name], Status.UNKNOWN,
                                          f"could not run: {mask(str(exc))}")])
    seconds = time.perf_counter() - started
    if name in ("drift", "completion"):  # one pass yields every item: each took the collector's time
        collected.items = [replace(i, duration_seconds=seconds) for i in collected.items]
    return collected


# ---------------------------------------------------------------- the run


def run_health(loaded: LoadedConfig, *, now: datetime | None = None, run_date: date | None = None,
               alert_mode: AlertMode | None = None, fail_fast_on_drift: bool = False, record: bool = True,
               progress: Callable[[str, str], None] | None = None) -> HealthReport:
    """Run every collector (concurrently), score, store the run and notify.

    ``progress(collector, event)`` is called with ``"start"`` and ``"done"`` for each collector (the CLI's
    progress bar). ``fail_fast_on_drift``: when a service is critically drifted, stop there and report that —
    data produced by stale code is not worth validating. Raises :class:`UsageError` when there is nothing to
    check.
    """
    from .completion import default_run_date

    moment = now or datetime.now(UTC)
    started_at = datetime.now(UTC)
    day = run_date or default_run_date(loaded, moment)
    names = collectors_for(loaded)
    if not names:
        raise UsageError(f"nothing to check in {loaded.path}: configure services, [[checks]], [phases.NAME] or "
                         "[[probes]]")
    say = progress or (lambda _name, _event: None)
    results: dict[str, Collected] = {}
    stopped = False
    pending = list(names)
    if fail_fast_on_drift and "drift" in pending:
        say("drift", "start")
        results["drift"] = _collect("drift", loaded, moment, day)
        say("drift", "done")
        pending.remove("drift")
        stopped = any(i.status is Status.CRITICAL for i in results["drift"].items)
    if pending and not stopped:
        prepare_collectors(pending, loaded)

        def one(name: str) -> tuple[str, Collected]:
            say(name, "start")
            collected = _collect(name, loaded, moment, day)
            say(name, "done")
            return name, collected

        with ThreadPoolExecutor(max_workers=len(pending), thread_name_prefix="deploywatch-health") as pool:
            results.update(pool.map(one, pending))
    items = [item for name in names if name in results for item in results[name].items]
    score = health_score(items)
    report = HealthReport(uuid.uuid4().hex, moment, day, tuple(items), score, verdict_of(items, score), stopped)
    if record:
        _record(loaded, report, [f for r in results.values() for f in r.findings],
                [m for r in results.values() for m in r.metrics], started_at=started_at,
                mode=alert_mode or AlertMode())
    return report


def _record(loaded: LoadedConfig, report: HealthReport, findings: list[Finding], metrics: list[Any], *,
            started_at: datetime, mode: AlertMode) -> None:
    from ..checks.runner import open_store
    from ..notify.dispatch import record_and_notify
    from ..store.records import RunRecord

    run = RunRecord(id=report.run_id, command="check", started_at=started_at, finished_at=datetime.now(UTC),
                    run_date=report.run_date, status=str(report.status), exit_code=report.exit_code,
                    score=report.score, details={"verdict": report.verdict, "stopped_early": report.stopped_early,
                                                 "items": [i.as_json() for i in report.items]})
    bound = [replace(m, run_id=run.id) for m in metrics]
    with open_store(loaded) as store:
        record_and_notify(store, run, findings, bound, loaded.config.alerts, mode, now=report.generated_at)
