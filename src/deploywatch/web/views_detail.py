"""What the service, check and "is it live?" pages show, built from the store, the ledger and git."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..core.errors import DeploywatchError
from ..core.redact import mask
from .views import Page, plot, status_of

__all__ = ["check_page", "live_page", "service_page"]

DRIFT_RUNS = 200
MEASUREMENTS = 500
MAX_PLOTS = 12


def service_page(page: Page, name: str) -> dict[str, Any] | None:
    """The service's drift over time, its undeployed relevant commits, its ledger and the skew in its group; None
    for a service not in the config."""
    config = page.loaded.config
    spec = config.services.get(name)
    if spec is None:
        return None
    times: list[datetime] = []
    relevant: list[float | None] = []
    age_hours: list[float | None] = []
    newest = None
    runs = page.store.runs(command="drift", limit=DRIFT_RUNS)
    by_run = page.store.subject_findings([run.id for run in runs], "drift", name)  # one query, not one per run
    for run in runs:
        found = by_run.get(run.id)
        if found is None:
            continue
        newest = newest or found
        times.append(run.started_at)
        relevant.append(found.details.get("relevant_commits_behind"))
        age = found.details.get("drift_age_seconds")
        age_hours.append(None if age is None else round(age / 3600, 2))
    order = sorted(range(len(times)), key=times.__getitem__)
    drift_plot = plot([times[i] for i in order], [("relevant commits behind", [relevant[i] for i in order]),
                                                  ("drift age (hours)", [age_hours[i] for i in order])],
                      kind="drift") if times else None
    web = config.web
    commits = [{**c, "link": web.commit_link(c["sha"]) if c.get("sha") else None}
               for c in (newest.details.get("commits") or [] if newest else [])]
    entries = page.store.deployments([name], limit=100)
    ledger = [{"entry": e, "from_link": web.commit_link(e.from_commit) if e.from_commit else None,
               "to_link": web.commit_link(e.to_commit),
               "compare": web.compare_link(e.from_commit, e.to_commit) if e.from_commit else None} for e in entries]
    status = status_of(newest.status if newest else None)
    return {"name": name, "group": spec.group, "finding": newest, "status": status,
            "plot": drift_plot, "commits": commits, "ledger": ledger, "can_compare": web.compare_url is not None,
            "skew": _skew(page, spec.group) if spec.group else None, "rollout": _rollout(page, name)}


def _rollout(page: Page, name: str) -> dict[str, Any] | None:
    """The service's ``deploywatch.rollout/v1`` (as ``rollout status`` and ``GET /api/rollouts/NAME`` give it),
    its newest verdict and whether it is still active; None without a rollout configured."""
    from ..deploy.rollout import OPEN_STATES
    from ..deploy.rollout_control import rollout_document

    rollout = page.loaded.config.services[name].rollout
    if rollout is None:
        return None
    document = rollout_document(page.store, name, list(rollout.steps), page.now)
    found = document["rollout"]
    if found is None:
        return {**document, "active": False, "last": None}
    active = found["state"] in OPEN_STATES and not (found["state"] == "abandoned" and found["weight"] == 0)
    last = next((e for e in reversed(found["events"]) if e.get("why") or e.get("reason")), None)
    return {**document, "active": active, "last": mask(str(last.get("why") or last.get("reason"))) if last else None}


def _skew(page: Page, group: str) -> dict[str, Any]:
    from ..drift.skew import find_skew
    from ..drift.workspace import workspace_for

    members = [n for n, s in page.loaded.config.services.items() if s.group == group]
    try:
        workspace = workspace_for(page.loaded)
        found = find_skew(workspace.drift(members, now=page.now, max_commits=0), [group]) if len(members) > 1 else []
    except DeploywatchError as exc:
        return {"error": mask(str(exc)), "group": None}
    return {"error": None, "group": found[0].to_json() if found else None}


def compare_link(page: Page, name: str, first: int, second: int) -> str | None:
    """The code host's comparison of two ledger entries' commits (older first), when both are the service's."""
    entries = [page.store.deployment(first), page.store.deployment(second)]
    if any(e is None or e.service != name for e in entries):
        return None
    a, b = sorted((e for e in entries if e is not None), key=lambda e: (e.started_at, e.id))
    return page.loaded.config.web.compare_link(a.to_commit, b.to_commit)


def check_page(page: Page, name: str) -> dict[str, Any] | None:
    """The check's measurements per group with its thresholds and anomalies; None for an unknown check."""
    from ..config.thresholds import parse_threshold

    config = next((c for c in page.loaded.config.checks if c.name == name), None)
    if config is None:
        return None
    points = list(reversed(page.store.measurements(name, limit=MEASUREMENTS)))
    findings = [f for f in page.store.latest_findings("check") if f.details.get("name") == name]
    latest = findings[0] if findings else None  # of the newest canary or check run
    unit = next((f.details.get("unit") for f in findings if f.details.get("unit")), "number")
    known = unit if unit in ('count', 'percent', 'ratio', 'seconds') else 'number'
    bands = {level: parse_threshold(text).limit(known) if text else None  # type: ignore[arg-type]
             for level, text in (("warn", config.warn), ("critical", config.critical))}
    groups: dict[str | None, list[Any]] = {}
    for point in points:
        groups.setdefault(point.group, []).append(point)
    rank = {"ok": 0, "warning": 1, "unknown": 2, "critical": 3}
    chosen = sorted(groups.items(), key=lambda item: (-rank.get(status_of(item[1][-1].status), 2),
                                                      -item[1][-1].measured_at.timestamp(), item[0] or ""))
    plots = []
    for group, found in chosen[:MAX_PLOTS]:  # the worst and newest groups; the table has every value
        plots.append({"group": group, "plot": plot(
            [p.measured_at for p in found], [(group or name, [p.value for p in found])], kind="metric",
            warn=bands["warn"], critical=bands["critical"], anomalies=[round(p.measured_at.timestamp())
                                                                       for p in found if p.anomalous])})
    return {"name": name, "config": config, "unit": unit, "bands": bands, "plots": plots, "latest": latest,
            "latest_status": status_of(latest.status) if latest else None,
            "more_groups": max(0, len(chosen) - MAX_PLOTS),
            "points": list(reversed(points))[:100]}


def live_page(page: Page, revision: str) -> dict[str, Any]:
    """Which services run ``revision`` (a SHA, a prefix or a ref), since when by the ledger, and which do not."""
    from ..drift.contains import check_services
    from ..drift.workspace import workspace_for

    revision = revision.strip()
    if not revision:
        return {"revision": "", "error": None, "commit": None}
    workspace = workspace_for(page.loaded)
    repo = workspace.repo
    target = repo.resolve(revision) if len(revision) <= 200 else None
    if target is None:
        return {"revision": revision, "error": f"{revision!r} does not name a commit in the repository", "commit": None}
    described = repo.describe([target])[target]
    results = check_services(workspace, target, is_merge=len(described.parents) > 1)
    rows = []
    for result in results:
        since = None
        if result.contains:
            for entry in page.store.deployments([result.name], limit=200):
                if entry.status != "succeeded":
                    continue
                if entry.to_commit != target and not repo.is_ancestor(target, entry.to_commit):
                    break
                since = entry
        rows.append({"result": result, "since": since})
    return {"revision": revision, "error": None, "commit": target, "subject": described.subject,
            "link": page.loaded.config.web.commit_link(target), "rows": rows}
