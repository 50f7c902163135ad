"""Lead times for changes from one history walk over every service's live commits (see ``report/delivery.py``)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime

from ..core.paths import ServicePaths
from ..drift.git import Repo
from ..drift.history import History
from ..drift.walkcache import walk_cache
from ..store.deployments import DeploymentRecord
from .delivery import Shipped, by_service, live_entries

__all__ = ["lead_times"]


def lead_times(repo: Repo, tip: str, services: Sequence[tuple[str, ServicePaths]],
               entries: Sequence[DeploymentRecord], since: datetime, until: datetime) -> dict[str, list[Shipped]]:
    """By service, the deploys in ``since``..``until`` that first made relevant commits live, each with those commits
    and their lead times, oldest deploy first. One walk of the history serves every service. Entries whose commit
    is no longer in the repository are skipped (their ancestry is unknown)."""
    lives: dict[str, list[DeploymentRecord]] = {}
    ledger = by_service(entries)
    for service, _ in services:
        live = live_entries(service, ledger.get(service, []))
        lives[service] = [e for e in live if (e.finished_at or e.started_at) < until]
    commits = {e.to_commit for live in lives.values() for e in live}
    chain = repo.first_parent_times(tip)() if commits else {}
    # a commit on the branch's first-parent chain exists: git is asked about the others only
    resolved = repo.resolve_many(commits.difference(chain))
    known = {sha for sha, full in resolved.items() if full == sha}.union(commits.intersection(chain))
    active: list[tuple[str, ServicePaths, list[DeploymentRecord]]] = []
    for service, paths in services:
        live = [e for e in lives[service] if e.to_commit in known]
        if len(live) >= 2 and any(since <= (e.finished_at or e.started_at) for e in live[1:]):
            active.append((service, paths, live))
    found: dict[str, list[Shipped]] = {service: [] for service, _ in services}
    if not active:
        return found
    heads = list(dict.fromkeys(e.to_commit for _, _, live in active for e in live))
    history = _history(repo, tip, chain, heads, [paths for _, paths, _ in active])
    on_branch_at, shas = history.on_branch_at, history.shas
    for number, (service, _, live) in enumerate(active):
        by_deploy = _made_live(history, [e.to_commit for e in live], history.touching(number))
        earlier = _earlier(live)
        for k in sorted(by_deploy):
            entry = live[k]
            deployed_at = entry.finished_at or entry.started_at
            if deployed_at < since:
                continue
            # oldest on the branch first; commits that reached it together (one merge) in git's walk order, reversed
            ordered = sorted(by_deploy[k], reverse=True)
            ordered.sort(key=on_branch_at.__getitem__)  # stable: the reversed walk order within one branch time
            branch_times = [on_branch_at[i] for i in ordered]
            end = deployed_at.timestamp()
            reached = bisect.bisect_left(branch_times, end)  # the commits that reached the branch before the deploy
            seconds = [end - t for t in branch_times[:reached]] + [0.0] * (len(branch_times) - reached)
            previous, count = earlier[k]
            found[service].append(Shipped(entry.id, deployed_at, entry.to_commit, previous, count, ordered, shas,
                                          branch_times, seconds))
    return found


def _history(repo: Repo, tip: str, chain: dict[str, int], heads: Sequence[str],
             services: Sequence[ServicePaths]) -> History:
    """The walk the lead times read (kept apart from drift's walks in the walk cache). When every live commit is on
    the tip's first-parent ``chain`` (deploys of the branch), it is the tip's history down to the oldest of them, and
    containment is read from the chain (see :func:`_made_live`); otherwise every live commit is a head of the walk,
    down to their common ancestors."""
    cache = walk_cache("report")
    if not all(sha in chain for sha in heads):
        return History(repo, tip, heads, services, cache=cache)
    position = {sha: k for k, sha in enumerate(chain)}  # tip first
    oldest = max(heads, key=position.__getitem__)
    return History(repo, tip, [oldest], services, cache=cache)  # the tip's history down to the oldest


def _earlier(live: Sequence[DeploymentRecord]) -> list[tuple[str, int]]:
    """For each live entry k: the live commit before it and how many distinct live commits came before it."""
    seen: set[str] = set()
    result = []
    previous = ""
    for entry in live:
        result.append((previous, len(seen)))
        seen.add(entry.to_commit)
        previous = entry.to_commit
    return result


def _made_live(history: History, commits: Sequence[str], touching: list[int]) -> dict[int, list[int]]:
    """By k ≥ 1: the walked commits of ``touching`` (on the branch) that live commit ``commits[k]`` contains and no
    earlier one does, in walk order or by branch point (the caller orders them).

    When every live commit lies on the tip's first-parent chain (or below the walk, containing no walked commit),
    containment is a comparison: commit C is in live commit L exactly when C's branch point (the oldest first-parent
    commit that reaches it) is L or older. With m(k) the newest chain position among the first k + 1 live commits,
    the commits live commit k made live are those whose branch point lies from m(k) (included) to m(k - 1): a
    slice of the touching commits ordered by branch point. Otherwise the ancestry masks are read, commit by
    commit."""
    never = len(history.first_parent) + 1  # below the walk: contains no walked commit
    positions = []
    for sha in commits:
        if sha not in history.index:
            positions.append(never)
        elif sha in history.first_parent:
            positions.append(history.first_parent[sha])
        else:
            return _by_masks(history, [history.bit_of(sha) for sha in commits], touching)
    point = history.branch_point
    along = sorted(touching, key=point.__getitem__)  # stable: walk order within one branch point
    found: dict[int, list[int]] = {}
    newest = positions[0]  # chain positions count from the tip: the newest is the smallest
    for k in range(1, len(positions)):
        if positions[k] < newest:  # nothing new unless newer than every earlier live commit
            low = bisect.bisect_left(along, positions[k], key=point.__getitem__)
            high = bisect.bisect_left(along, newest, lo=low, key=point.__getitem__)
            if low < high:
                found[k] = along[low:high]
            newest = positions[k]
    return found


def _by_masks(history: History, bits: Sequence[int], touching: list[int]) -> dict[int, list[int]]:
    masks, on_branch_at = history.masks, history.on_branch_at
    found: dict[int, list[int]] = {}
    for idx in touching:
        k = next((k for k, bit in enumerate(bits) if masks[idx] & bit), None)
        if k and on_branch_at[idx] >= 0:  # not live, live since before the ledger knew, off the branch
            found.setdefault(k, []).append(idx)
    return found
