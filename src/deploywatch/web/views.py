"""What each dashboard page shows, built from the store and the domains (no HTML here): overview, runs and jobs.

Each function returns plain data for a template; every number is the store's, as the CLI's JSON gives it. The service,
check and "is it live?" pages are in :mod:`.views_detail`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..core.status import Status, worst

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..store import Store
    from ..store.deployments import DeploymentRecord
    from ..store.records import FindingRecord, RunRecord

__all__ = ["Page", "last_deploys", "overview", "plot", "runs_page", "status_of"]

HEALTH_DAYS = 30


@dataclass(frozen=True)
class Page:
    """What every page handler has: the configuration, the store and the time."""

    loaded: LoadedConfig
    store: Store
    now: datetime


def status_of(text: str | None) -> str:
    """A stored status as one of the four (anything else is ``unknown``: never ``ok``)."""
    return text if text in ("ok", "warning", "unknown", "critical") else "unknown"


def plot(x: Sequence[datetime], series: Sequence[tuple[str, Sequence[float | None]]], **extra: Any) -> dict[str, Any]:
    """The data of one uPlot chart: x as Unix seconds, named series of y values (None: no value)."""
    return {"x": [round(t.timestamp()) for t in x], "series": [{"label": label, "values": list(values)}
                                                              for label, values in series], **extra}


def last_deploys(store: Store, limit: int = 500) -> dict[str, DeploymentRecord]:
    """The newest ledger entry of every service (of the newest ``limit`` entries)."""
    newest: dict[str, DeploymentRecord] = {}
    for entry in store.deployments(limit=limit):
        newest.setdefault(entry.service, entry)
    return newest


def _health(page: Page) -> dict[str, Any]:
    since = page.now - timedelta(days=HEALTH_DAYS)
    runs = [r for r in page.store.runs(command="check", limit=HEALTH_DAYS * 48) if r.started_at >= since]
    if not runs:
        return {"score": None, "status": "unknown", "verdict": None, "at": None, "plot": None}
    newest = runs[0]
    ordered = list(reversed(runs))
    return {"score": newest.score, "status": status_of(newest.status), "verdict": newest.details.get("verdict"),
            "at": newest.started_at,
            "plot": plot([r.started_at for r in ordered], [("health score", [r.score for r in ordered])],
                         kind="health", min=0, max=100)}


def service_rows(loaded: LoadedConfig, findings: Sequence[FindingRecord],
                 deploys: dict[str, DeploymentRecord]) -> list[dict[str, Any]]:
    """The overview's services table: one row per drift finding of the newest drift run."""
    web = loaded.config.web
    rows = []
    for finding in findings:
        if finding.kind != "drift":
            continue
        d = finding.details
        deployed = d.get("deployed_commit")
        tip = d.get("tip")
        last = deploys.get(finding.subject)
        rows.append({"service": finding.subject, "deployed": deployed, "tip": tip,
                     "deployed_link": web.commit_link(deployed) if deployed else None,
                     "tip_link": web.commit_link(tip) if tip else None,
                     "relevant": d.get("relevant_commits_behind"), "behind": d.get("commits_behind"),
                     "age": d.get("drift_age_seconds"), "state": d.get("state"), "status": status_of(finding.status),
                     "reason": d.get("reason") or finding.summary, "deploy": d.get("deploy"), "last": last})
    return rows


def _check_rows(loaded: LoadedConfig, findings: Sequence[FindingRecord]) -> list[dict[str, Any]]:
    """Data checks by phase: one row per check (its groups folded into the worst status)."""
    phases = {c.name: c.phase for c in loaded.config.checks}
    by_check: dict[str, list[FindingRecord]] = {}
    for finding in findings:
        if finding.kind == "check":
            by_check.setdefault(str(finding.details.get("name") or finding.subject.split("[")[0]), []).append(finding)
    rows = []
    for name, found in by_check.items():
        status = worst([Status(status_of(f.status)) for f in found])
        bad = [f for f in found if f.status != "ok"]
        rows.append({"name": name, "phase": phases.get(name) or found[0].details.get("phase") or "-",
                     "status": str(status), "groups": len(found) if found[0].details.get("group") is not None else None,
                     "summary": (bad[0] if bad else found[0]).summary})
    return sorted(rows, key=lambda r: (str(r["phase"]), r["name"]))


def _alerts(page: Page) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sinks = [name for name, _ in page.loaded.config.alerts.sinks()]
    states, silences = page.store.alert_view(sinks, page.now) if sinks else ({}, page.store.silences(now=page.now))
    firing = [{"sink": s.sink, "kind": s.kind, "subject": s.subject, "status": status_of(s.status),
               "since": s.firing_since} for s in states.values() if s.firing]
    active = [{"id": s.id, "matchers": _matchers(s.matchers), "comment": s.comment, "by": s.created_by,
               "ends_at": s.ends_at} for s in silences]
    return sorted(firing, key=lambda a: (a["kind"], a["subject"], a["sink"])), active


def _matchers(matchers: Sequence[Any]) -> str:
    from ..notify.matchers import matcher_from_json

    return " ".join(str(matcher_from_json(m)) for m in matchers)


def overview(page: Page) -> dict[str, Any]:
    """The overview: health, services, data checks by phase, phase completion, firing alerts and silences."""
    newest = {run.command: (run, findings) for run, findings in page.store.newest_runs_with_findings(
        ["drift", "check", "canary"])}
    drift_run, drift_findings = newest.get("drift", (None, []))
    checked = [pair for pair in (newest.get("check"), newest.get("canary")) if pair is not None]
    checked.sort(key=lambda pair: pair[0].started_at, reverse=True)
    check_findings = next((f for _, f in checked if any(x.kind == "check" for x in f)), [])
    completion = next((f for run, f in checked if run.command == "check"), [])
    firing, silences = _alerts(page)
    return {"health": _health(page), "drift_run": drift_run,
            "services": service_rows(page.loaded, drift_findings, last_deploys(page.store)),
            "checks": _check_rows(page.loaded, check_findings),
            "phases": [{"phase": f.subject, "status": status_of(f.status), "summary": f.details.get("summary") or
                        f.summary, "recorded": len(f.details.get("recorded") or []),
                        "expected": len(f.details.get("expected") or [])}
                       for f in completion if f.kind == "completion"],
            "firing": firing, "silences": silences}


def runs_page(page: Page, jobs: Sequence[Any], allowed: Sequence[str]) -> dict[str, Any]:
    """Recent runs, job runs and the scheduler's jobs, and the alert outbox."""
    runs: list[RunRecord] = page.store.runs(limit=50)
    outbox = page.store.outbox(states=("pending", "dead", "delivered"), limit=1000)[-100:]
    return {"runs": runs, "job_runs": page.store.job_runs(limit=50), "jobs": jobs, "allowed": list(allowed),
            "outbox": list(reversed(outbox))}
