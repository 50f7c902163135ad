"""Lead times for changes from one history walk over every service's live commits (see ``report/delivery.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..core.paths import ServicePaths
from ..drift.git import Repo
from ..drift.history import History
from ..store.deployments import DeploymentRecord
from .delivery import LeadTime, epoch, live_entries

__all__ = ["lead_times"]


def lead_times(repo: Repo, tip: str, services: Sequence[tuple[str, ServicePaths]],
               entries: Sequence[DeploymentRecord], since: datetime, until: datetime) -> dict[str, list[LeadTime]]:
    """By service, the lead time of every relevant commit that first went live in ``since``..``until``, oldest
    deploy first. One walk of the history serves every service: its heads are all their live commits, and a
    commit's mask says which of them contain it. Entries whose commit is no longer in the repository are skipped
    (their ancestry is unknown)."""
    lives: dict[str, list[DeploymentRecord]] = {}
    for service, _ in services:
        lives[service] = [e for e in live_entries(service, entries) if (e.finished_at or e.started_at) < until]
    resolved = repo.resolve_many({e.to_commit for live in lives.values() for e in live})
    known = {sha for sha, full in resolved.items() if full == sha}
    active: list[tuple[str, ServicePaths, list[DeploymentRecord]]] = []
    for service, paths in services:
        live = [e for e in lives[service] if e.to_commit in known]
        if len(live) >= 2 and any(since <= (e.finished_at or e.started_at) for e in live[1:]):
            active.append((service, paths, live))
    found: dict[str, list[LeadTime]] = {service: [] for service, _ in services}
    if not active:
        return found
    heads = list(dict.fromkeys(e.to_commit for _, _, live in active for e in live))
    history = History(repo, tip, heads, [paths for _, paths, _ in active])
    for number, (service, _, live) in enumerate(active):
        bits = [history.bit_of(e.to_commit) for e in live]
        times = found[service]
        for idx in history.touching[number]:
            mask, branch_time = history.masks[idx], history.on_branch_at[idx]
            first = next((k for k, bit in enumerate(bits) if mask & bit), None)
            if first is None or first == 0 or branch_time < 0:
                continue  # never live, live since before the ledger knew, or not on the branch
            entry = live[first]
            deployed_at = entry.finished_at or entry.started_at
            if since <= deployed_at:
                times.append(LeadTime(history.shas[idx], epoch(branch_time), entry.id, deployed_at,
                                      tuple(dict.fromkeys(e.to_commit for e in live[:first])), entry.to_commit))
        times.sort(key=lambda t: (t.deployed_at, t.deployment_id, t.on_branch_at, t.sha))
    return found
