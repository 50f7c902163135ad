"""The report as one document: ``deploywatch.report/v1`` JSON, with a "how computed" note for every figure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.durations import format_timestamp
from ..deploy.ledger import deployment_json
from .alerts import alert_counts
from .data import check_data, phase_data
from .delivery import Delivery, Shipped, by_service, deliveries, epoch, median, p90, pooled_stats, service_delivery
from .drift import service_drift
from .leadtimes import lead_times

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..drift.git import Repo
    from ..store.deployments import DeploymentRecord
    from ..store.windows import Window

__all__ = ["NOTES", "REPORT_SCHEMA", "ReportInput", "build_report"]

REPORT_SCHEMA = "deploywatch.report/v1"
NOTES = {
    "deploys_per_week": "succeeded deploys and records (not rollbacks) that finished in the window, per 7 days",
    "lead_time": "per relevant commit first live in the window: its deploy's finish minus the time it reached the "
                 "branch (first-parent); live = not in any earlier succeeded entry's commit (git ancestry, the "
                 "service's paths); median, p90 by nearest rank",
    "change_failure_rate": "deploys and records finished in the window that failed, rolled back or paused ÷ all "
                           "of them with an outcome (abandoned and running ones are left out)",
    "recovery_time": "from a failed change's end to the service's next succeeded entry (a rollback counts); "
                     "median of those recovered by the window's end",
    "drift_bad_share": "each drift run's status holds until the service's next run; time at warning or worse ÷ "
                       "time any run covered",
    "drift_episodes": "from the first run at warning or worse to the next ok run; peak = most relevant commits behind",
    "oldest_waiting": "the newest drift run's time minus its drift age: when the oldest undeployed relevant "
                      "commit reached the branch",
    "check_ok_share": "runs in the window whose findings of the check were all ok ÷ runs with the check; "
                      "incidents = the other runs; anomalies = metric values flagged anomalous",
    "phase_on_time": "run dates complete (every expected processor reported) before the end of the following "
                     "day (UTC) ÷ dates whose deadline passed or that completed",
    "alerts": "notifications in outbox rows created in the window, by sink and kind: sent = delivered",
}


@dataclass(frozen=True)
class ReportInput:
    """What the report is about: the window, the services, and where the numbers come from."""

    loaded: LoadedConfig
    repo: Repo
    tip: str
    services: Sequence[str]
    since: datetime
    until: datetime
    window: Window
    with_commits: bool = False  # list every commit behind each deploy's lead times (large for long windows)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _link(loaded: LoadedConfig, sha: str) -> str | None:
    return loaded.config.web.commit_link(sha)


def _stats(values: list[float]) -> tuple[int, float | None, float | None]:
    """Count, median and p90 (nearest rank) of ``values``, sorted in place once."""
    values.sort()
    return len(values), median(values, ordered=True), p90(values, ordered=True)


def _shipped_json(loaded: LoadedConfig, shipped: Shipped, with_commits: bool) -> dict[str, Any]:
    web = loaded.config.web
    ascending = shipped.seconds[::-1]  # never increasing: reversed, sorted in one pass
    count, middle, _ = _stats(ascending)
    oldest = shipped.oldest_commit  # the earliest on the branch: the longest lead time
    found: dict[str, Any] = {
        "deployment_id": shipped.deployment_id, "deployed_commit": shipped.deployed_commit,
        "deployed_at": format_timestamp(shipped.deployed_at), "previous_live_commit": shipped.previous_commit,
        "earlier_live_count": shipped.earlier_live,
        "compare_url": web.compare_link(shipped.previous_commit, shipped.deployed_commit), "commits": count,
        "lead_time_seconds": {"min": _seconds(ascending[0]), "median": _seconds(middle),
                              "max": _seconds(ascending[-1])},
        "oldest_commit": oldest, "oldest_commit_url": _link(loaded, oldest)}
    if with_commits:
        found["commit_list"] = [
            {"commit": sha, "commit_url": _link(loaded, sha), "on_branch_at": format_timestamp(epoch(branch_time)),
             "lead_time_seconds": _seconds(seconds)}
            for sha, branch_time, seconds in zip(shipped.commits, shipped.on_branch_at, shipped.seconds, strict=True)]
    return found


def _entry_json(entries: dict[int, dict[str, Any]], record: DeploymentRecord) -> dict[str, Any]:
    found = entries.get(record.id)
    if found is None:
        found = entries[record.id] = deployment_json(record)
    return found


def _delivery_json(loaded: LoadedConfig, one: Delivery, lead: tuple[int, float | None, float | None],
                   entries: dict[int, dict[str, Any]], *, drill_down: bool, with_commits: bool) -> dict[str, Any]:
    """``one``'s figures; ``lead`` the count, median and p90 of its lead times; ``entries`` the ledger entries' JSON
    by id, each made once for its service and the overall figures."""
    count, middle, ninetieth = lead
    recovered = one.recovery_seconds()
    found = {
        "service": one.service, "deploys": len(one.deploys), "deploys_per_week": round(one.deploys_per_week, 3),
        "changes": len(one.changes), "failed_changes": len(one.failures),
        "change_failure_rate": None if one.change_failure_rate is None else round(one.change_failure_rate, 4),
        "lead_time_seconds": {"count": count, "median": _seconds(middle), "p90": _seconds(ninetieth)},
        "recovery_time_seconds": {"count": len(recovered), "median": _seconds(median(recovered)),
                                  "unrecovered": sum(1 for r in one.recoveries if r.recovered_by is None)},
        "deployments": [_entry_json(entries, d) for d in one.changes],
        "recoveries": [{"failure_id": r.failure.id, "recovered_by_id": r.recovered_by.id if r.recovered_by else None,
                        "seconds": _seconds(r.seconds)} for r in one.recoveries],
    }
    if drill_down:  # per service only: the overall figures pool the services' lead times
        found["lead_times"] = [_shipped_json(loaded, shipped, with_commits) for shipped in one.lead_times]
    return found


def build_report(given: ReportInput, *, now: datetime) -> dict[str, Any]:
    """The ``deploywatch.report/v1`` document of ``given``: every figure, its drill-down and its note."""
    loaded, window, since, until = given.loaded, given.window, given.since, given.until
    leads = lead_times(given.repo, given.tip, [(s, loaded.service_paths(s)) for s in given.services],
                       window.deployments, since, until)
    ledger = by_service(window.deployments)
    per_service = [service_delivery(s, ledger.get(s, []), since, until, leads[s]) for s in given.services]
    total = deliveries(per_service, since, until)
    lead_seconds = [one.lead_seconds() for one in per_service]
    entries: dict[int, dict[str, Any]] = {}
    services_json = [_delivery_json(loaded, one, _stats(lead), entries, drill_down=True,
                                    with_commits=given.with_commits)  # _stats sorts each service's lead times
                     for one, lead in zip(per_service, lead_seconds, strict=True)]
    overall_json = _delivery_json(loaded, total, pooled_stats(lead_seconds), entries, drill_down=False,
                                  with_commits=False)
    drift = [service_drift(s, window.drift.get(s), since, until) for s in given.services]
    checks = check_data({c.name: c.slo for c in loaded.config.checks}, window.findings, window.anomalies)
    phases = phase_data({name: p.processors for name, p in loaded.config.phases.items()}, window.completions,
                        since, until)
    return {
        "schema": REPORT_SCHEMA, "generated_at": format_timestamp(now), "since": format_timestamp(since),
        "until": format_timestamp(until), "branch": loaded.config.repo.branch, "tip": given.tip,
        "services": list(given.services), "notes": dict(NOTES),
        "delivery": {"overall": overall_json, "services": services_json},
        "drift": [{"service": d.service, "runs": d.runs, "known_seconds": _seconds(d.known_seconds),
                   "bad_seconds": _seconds(d.bad_seconds),
                   "bad_share": None if d.bad_share is None else round(d.bad_share, 4),
                   "status_now": d.status_now, "relevant_behind_now": d.relevant_behind_now,
                   "oldest_waiting_since": format_timestamp(d.oldest_waiting_since) if d.oldest_waiting_since
                   else None,
                   "episodes": [{"start": format_timestamp(e.start),
                                 "end": format_timestamp(e.end) if e.end else None,
                                 "duration_seconds": _seconds(e.seconds(until)), "worst_status": e.worst_status,
                                 "peak_relevant_behind": e.peak_relevant_behind} for e in d.episodes]}
                  for d in drift],
        "data": {"checks": [{"check": c.check, "slo": c.slo, "runs": c.runs, "ok_runs": c.ok_runs,
                             "ok_share": None if c.ok_share is None else round(c.ok_share, 4), "slo_met": c.slo_met,
                             "anomalies": c.anomalies,
                             "incidents": [{"run_id": i.run_id, "at": format_timestamp(i.at), "status": i.status}
                                           for i in c.incidents]} for c in checks],
                 "phases": [{"phase": p.phase, "dates": len(p.dates), "on_time": p.on_time,
                             "on_time_share": None if p.on_time_share is None else round(p.on_time_share, 4),
                             "days": [{"date": day.isoformat(), "completed_at": format_timestamp(done) if done
                                       else None, "on_time": on_time} for day, done, on_time in p.dates]}
                            for p in phases]},
        "alerts": [{"sink": a.sink, "kind": a.kind, "sent": a.sent, "waiting": a.waiting, "dead": a.dead}
                   for a in alert_counts(window.outbox)],
    }
