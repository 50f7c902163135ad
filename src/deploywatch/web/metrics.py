"""``GET /metrics``: Prometheus metrics read from the store on every scrape, and the scheduler's job durations.

Gauges (read from the store when scraped):

- ``deploywatch_commits_behind{service}``, ``deploywatch_relevant_commits_behind{service}``,
  ``deploywatch_drift_age_seconds{service}``: from the newest ``drift`` run's findings (a service whose value is
  unknown, e.g. its deployed commit could not be read, has no sample);
- ``deploywatch_check_value{check,group}``: the values stored by the newest ``canary`` run and the newest
  ``check`` run (the newer run wins where both measured a check; ``group`` is empty for an ungrouped check);
- ``deploywatch_status{kind,subject}``: every finding of the newest run of each command, as a Nagios code
  (0 ok, 1 warning, 2 critical, 3 unknown; the newest run wins where two commands report the same finding);
- ``deploywatch_health_score``: the newest ``check`` run's score (0-100);
- ``deploywatch_last_run_timestamp{job}``: when each job last started (``job_runs``, skipped slots not counted);
- ``deploywatch_remediation_breaker_tripped``, ``deploywatch_remediation_paused``: 1 while remediation's breaker is
  tripped (until ``deploywatch remediate reset``) or it is paused, else 0;
- ``deploywatch_rollout_weight{service}``, ``deploywatch_rollout_step{service}``: the traffic percent and the
  1-based step (0 before the first weight is set) of each service's newest progressive rollout;
  ``deploywatch_rollout_active{service}``, ``deploywatch_rollout_paused{service}``: 1 while it runs or waits (or
  its process died with traffic on the canary), or while it is paused, else 0.

Histogram (observed in-process by the scheduler): ``deploywatch_job_duration_seconds{job}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ..store import Store
    from ..store.records import FindingRecord, RunRecord

    Newest = list[tuple[RunRecord, list[FindingRecord]]]

__all__ = ["JOB_DURATION_BUCKETS", "STATUS_CODES", "DaemonMetrics", "StoreCollector"]

STATUS_CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
JOB_DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, float("inf"))
_DRIFT_GAUGES = (
    ("deploywatch_commits_behind", "commits_behind", "Commits on the branch that the deployed commit does not have."),
    ("deploywatch_relevant_commits_behind", "relevant_commits_behind",
     "Of those, commits that touch the service's paths."),
    ("deploywatch_drift_age_seconds", "drift_age_seconds",
     "How long the oldest relevant undeployed commit has been on the branch."),
)


class StoreCollector(Collector):
    """Reads the store on every scrape (a store failure fails the scrape)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the registry must not call :meth:`collect` (the store) when it is registered."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The gauges, built from the newest runs."""
        newest = self._store.newest_runs_with_findings()
        by_command = {run.command: (run, found) for run, found in reversed(newest)}  # newest wins
        yield from self._drift(by_command.get("drift"))
        yield self._check_values([by_command[c][0].id for c in ("canary", "check") if c in by_command], newest)
        status = GaugeMetricFamily("deploywatch_status", "Status of each finding of the newest run of each command "
                                   "(0 ok, 1 warning, 2 critical, 3 unknown).", labels=["kind", "subject"])
        seen: set[tuple[str, str]] = set()
        for _, found in newest:  # newest run first: it wins a (kind, subject) two commands both report
            for finding in found:
                key = (finding.kind, finding.subject)
                if key not in seen:
                    seen.add(key)
                    status.add_metric(list(key), STATUS_CODES.get(finding.status, 3))
        yield status
        score = GaugeMetricFamily("deploywatch_health_score", "The newest unified check's score (0-100).")
        check = by_command.get("check")
        if check is not None and check[0].score is not None:
            score.add_metric([], float(check[0].score))
        yield score
        last = GaugeMetricFamily("deploywatch_last_run_timestamp", "When each job last started (Unix time).",
                                 labels=["job"])
        for job, run in sorted(self._store.latest_job_runs(exclude_states=("skipped",)).items()):
            last.add_metric([job], run.started_at.timestamp())
        yield last
        yield from self._deploys()
        yield from self._rollouts()

    def _deploys(self) -> Iterator[Metric]:
        from datetime import UTC, datetime

        entries = GaugeMetricFamily("deploywatch_deployments", "Deploy ledger entries, by service, how (deploy, "
                                    "rollback, record) and status.", labels=["service", "how", "status"])
        for service, how, status, count in self._store.deployment_counts():
            entries.add_metric([service, how, status], count)
        yield entries
        locked = GaugeMetricFamily("deploywatch_deploy_locked", "1 while a deploy of the service holds its lock (in "
                                   "progress or paused).", labels=["service"])
        now = datetime.now(UTC)
        for lock in self._store.deploy_locks():
            if lock.live(now):
                locked.add_metric([lock.service], 1.0)
        yield locked
        fleet = self._store.remediation_states().get("fleet", {})
        for name, text, on in (
                ("deploywatch_remediation_breaker_tripped", "1 while remediation's breaker is tripped (until "
                 "deploywatch remediate reset).", isinstance(fleet.get("breaker"), dict)),
                ("deploywatch_remediation_paused", "1 while remediation is paused (deploywatch remediate pause).",
                 bool(fleet.get("paused")))):
            family = GaugeMetricFamily(name, text)
            family.add_metric([], 1.0 if on else 0.0)
            yield family

    def _rollouts(self) -> Iterator[Metric]:
        from ..deploy.rollout import OPEN_STATES

        families = {name: GaugeMetricFamily(f"deploywatch_rollout_{name}", text, labels=["service"]) for name, text in (
            ("weight", "The traffic percent of the service's newest progressive rollout."),
            ("step", "Its step, from 1 (0 before the first weight was set)."),
            ("active", "1 while it runs or is paused, or its process died with traffic on the canary."),
            ("paused", "1 while it is paused (deploywatch rollout resume, promote or abort)."))}
        for record in self._store.latest_rollouts():
            state, service = record.entry.status, [record.entry.service]
            families["weight"].add_metric(service, float(record.weight))
            families["step"].add_metric(service, float(record.step_index + 1))
            open_ = state in OPEN_STATES and not (state == "abandoned" and record.weight == 0)
            families["active"].add_metric(service, 1.0 if open_ else 0.0)
            families["paused"].add_metric(service, 1.0 if state == "paused" else 0.0)
        yield from families.values()

    def _drift(self, newest: tuple[RunRecord, list[FindingRecord]] | None) -> Iterator[Metric]:
        families = [GaugeMetricFamily(name, text, labels=["service"]) for name, _, text in _DRIFT_GAUGES]
        if newest is not None:
            for finding in newest[1]:
                details = finding.details
                service = str(details.get("service") or finding.subject)
                for family, (_, key, _) in zip(families, _DRIFT_GAUGES, strict=True):
                    value = details.get(key)
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        family.add_metric([service], float(value))
        yield from families

    def _check_values(self, run_ids: list[str], newest: Newest) -> Metric:
        family = GaugeMetricFamily("deploywatch_check_value", "The newest measured value of each data check.",
                                   labels=["check", "group"])
        order = {run.id: rank for rank, (run, _) in enumerate(newest)}
        values: dict[tuple[str, str], tuple[int, float]] = {}
        for point in self._store.run_metrics(run_ids):
            if point.value is None:
                continue
            key = (point.check, point.group or "")
            rank = order.get(point.run_id, len(order))
            if key not in values or rank < values[key][0]:
                values[key] = (rank, float(point.value))
        for (check, group), (_, value) in sorted(values.items()):
            family.add_metric([check, group], value)
        return family


class DaemonMetrics:
    """The daemon's registry: the store collector and the job duration histogram."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StoreCollector(store))
        self.job_duration = Histogram("deploywatch_job_duration_seconds", "How long each job run took.",
                                      labelnames=["job"], buckets=JOB_DURATION_BUCKETS, registry=self.registry)

    def observe(self, job: str, seconds: float) -> None:
        """Record one job run's duration (the scheduler's ``observe`` hook)."""
        self.job_duration.labels(job=job).observe(seconds)
