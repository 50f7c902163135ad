"""Lead times for changes from one history walk over every service's live commits (see ``report/delivery.py``)."""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Callable, Sequence
from datetime import datetime

from ..core.paths import ServicePaths
from ..drift.git import Repo
from ..drift.history import History
from ..drift.walkcache import walk_cache
from ..store.deployments import DeploymentRecord
from .delivery import Shipped, live_entries

__all__ = ["lead_times"]


def lead_times(repo: Repo, tip: str, services: Sequence[tuple[str, ServicePaths]],
               entries: Sequence[DeploymentRecord], since: datetime, until: datetime) -> dict[str, list[Shipped]]:
    """By service, the deploys in ``since``..``until`` that first made relevant commits live, each with those commits
    and their lead times, oldest deploy first. One walk of the history serves every service. Entries whose commit
    is no longer in the repository are skipped (their ancestry is unknown)."""
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
    found: dict[str, list[Shipped]] = {service: [] for service, _ in services}
    if not active:
        return found
    heads = list(dict.fromkeys(e.to_commit for _, _, live in active for e in live))
    history = _history(repo, tip, heads, [paths for _, paths, _ in active])
    on_branch_at, shas = history.on_branch_at, history.shas
    for number, (service, _, live) in enumerate(active):
        first_live = _first_live(history, [e.to_commit for e in live])
        by_deploy: dict[int, list[int]] = {}
        touching = history.touching(number)
        for idx, k in zip(touching, first_live(touching), strict=True):
            if k and on_branch_at[idx] >= 0:  # not live, live since before the ledger knew, off the branch
                by_deploy.setdefault(k, []).append(idx)
        earlier = _earlier(live)
        for k in sorted(by_deploy):
            entry = live[k]
            deployed_at = entry.finished_at or entry.started_at
            if deployed_at < since:
                continue
            # oldest on the branch first; commits that reached it together (one merge) in git's walk order, reversed
            ordered = by_deploy[k]
            ordered.reverse()
            ordered.sort(key=on_branch_at.__getitem__)  # stable: the reversed walk order within one branch time
            branch_times = [on_branch_at[i] for i in ordered]
            end = deployed_at.timestamp()
            previous, count = earlier[k]
            found[service].append(Shipped(entry.id, deployed_at, entry.to_commit, previous, count,
                                          [shas[i] for i in ordered], branch_times,
                                          [end - t if t < end else 0.0 for t in branch_times]))
    return found


def _history(repo: Repo, tip: str, heads: Sequence[str], services: Sequence[ServicePaths]) -> History:
    """The walk the lead times read (kept apart from drift's walks in the walk cache). When every live commit is on
    the tip's first-parent chain (deploys of the branch), it is the tip's history down to the oldest of them, and
    containment is read from the chain (see :func:`_first_live`); otherwise every live commit is a head of the walk,
    down to their common ancestors."""
    cache = walk_cache("report")
    chain = repo.first_parent_times(tip)()
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


def _first_live(history: History, commits: Sequence[str]) -> Callable[[Sequence[int]], list[int | None]]:
    """A function from walked commits to, for each, the first k whose live commit ``commits[k]`` contains it (None:
    none does).

    When every live commit lies on the tip's first-parent chain (or below the walk, containing no walked commit),
    containment is a comparison: commit C is in live commit L exactly when C's branch point (the oldest first-parent
    commit that reaches it) is L or older. The first k is then a binary search over the running minimum of the
    live commits' chain positions. Otherwise the ancestry masks are read, k by k."""
    never = len(history.first_parent) + 1  # below the walk: contains no walked commit
    positions = []
    for sha in commits:
        if sha not in history.index:
            positions.append(never)
        elif sha in history.first_parent:
            positions.append(history.first_parent[sha])
        else:
            return functools.partial(_by_masks, history, [history.bit_of(sha) for sha in commits])
    keys = [-p for p in itertools.accumulate(positions, min)]  # non-decreasing: the newest position so far, negated
    search = functools.partial(bisect.bisect_left, keys)
    branch_point = history.branch_point
    size = len(keys)

    def first(indexes: Sequence[int]) -> list[int | None]:
        found: list[int | None] = []
        for idx in indexes:
            point = branch_point[idx]
            k = search(-point) if point >= 0 else size
            found.append(k if k < size else None)
        return found

    return first


def _by_masks(history: History, bits: Sequence[int], indexes: Sequence[int]) -> list[int | None]:
    masks = history.masks
    return [next((k for k, bit in enumerate(bits) if masks[idx] & bit), None) for idx in indexes]
