"""Lead times for changes from one history walk per service over its live commits (see ``report/delivery.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..core.paths import ServicePaths
from ..drift.git import Repo
from ..drift.history import History
from ..store.deployments import DeploymentRecord
from .delivery import LeadTime, epoch, live_entries

__all__ = ["lead_times"]


def lead_times(repo: Repo, tip: str, service: str, paths: ServicePaths, entries: Sequence[DeploymentRecord],
               since: datetime, until: datetime) -> list[LeadTime]:
    """The lead time of every relevant commit of ``service`` that first went live in ``since``..``until``, oldest
    deploy first. Entries whose commit is no longer in the repository are skipped (their ancestry is unknown)."""
    live = [e for e in live_entries(service, entries) if (e.finished_at or e.started_at) < until]
    resolved = repo.resolve_many(e.to_commit for e in live)
    known = {sha for sha, full in resolved.items() if full == sha}
    live = [e for e in live if e.to_commit in known]
    if len(live) < 2 or not any(since <= (e.finished_at or e.started_at) for e in live[1:]):
        return []
    history = History(repo, tip, [e.to_commit for e in live], [paths])
    bits = [history.bit_of(e.to_commit) for e in live]
    found: list[LeadTime] = []
    for idx in history.touching[0]:
        mask, branch_time = history.masks[idx], history.on_branch_at[idx]
        first = next((k for k, bit in enumerate(bits) if mask & bit), None)
        if first is None or first == 0 or branch_time < 0:
            continue  # never live, live since before the ledger knew, or not on the branch
        entry = live[first]
        deployed_at = entry.finished_at or entry.started_at
        if since <= deployed_at:
            found.append(LeadTime(history.shas[idx], epoch(branch_time), entry.id, deployed_at,
                                  tuple(dict.fromkeys(e.to_commit for e in live[:first])), entry.to_commit))
    found.sort(key=lambda t: (t.deployed_at, t.deployment_id, t.on_branch_at, t.sha))
    return found
