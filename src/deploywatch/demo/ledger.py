"""The demo's deploy ledger: three weeks of deploys per service, planned from the history so it agrees with git.

Each service deploys every day or three, in working hours, the tip of ``main`` as it was a little earlier; the
last entry puts it on the commit its deployed file holds now (:mod:`deploywatch.demo.scenario`). The worker's
deploy of the planted broken commit failed its probe and was rolled back; one precompute deploy failed at its
deploy step and was retried. ``relevant_commits`` are what ``deploy.ledger.shipped_commits`` gives (tested).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from random import Random

from ..core.paths import ServicePaths, compile_glob
from ..store.deployments import DeploymentRecord
from .background import PEOPLE
from .history import History
from .scenario import SEED, SERVICES, Plan
from .texts import EXCLUDE

__all__ = ["LEDGER_DAYS", "Ancestry", "PlannedDeploy", "bits", "demo_paths", "ledger_records", "plan_ledger",
           "service_masks"]

LEDGER_DAYS = 21
HOUR = 3600
# Minutes between each service's current commit reaching main and its deploy (raw-processors: hours ago).
_FINAL_LAG_MINUTES = {"scrapers": 22, "analytics-processors": 26, "precompute": 31, "prediction-worker": 34,
                      "prediction-coordinator": 12, "grading": 27}
_RAW_FINAL_HOURS_AGO = 30.0
_ROLLBACK_HOURS_AGO = 4.6


class Ancestry:
    """Ancestry of the planned commits as bitmasks (bit ``mark``), and the first-parent chain of ``main``."""

    def __init__(self, history: History, tip: int) -> None:
        self.history = history
        self._topo: dict[int, dict[int, int]] = {}
        self.masks: dict[int, int] = {}
        for commit in history.commits:  # parents come before children
            mask = 1 << commit.mark
            for parent in commit.parents:
                mask |= self.masks[parent]
            self.masks[commit.mark] = mask
        chain: list[int] = []
        current: int | None = tip
        while current is not None:
            chain.append(current)
            parents = history.get(current).parents
            current = parents[0] if parents else None
        self.chain = chain[::-1]  # oldest first
        self.chain_times = [history.get(m).time for m in self.chain]
        self.on_branch: dict[int, int] = {}
        before = 0
        for mark in self.chain:
            for bit in bits(self.masks[mark] & ~before):
                self.on_branch[bit] = history.get(mark).time
            before = self.masks[mark]

    def tip_at(self, when: int) -> int:
        """The tip of ``main`` at ``when`` (the newest first-parent commit made by then)."""
        index = bisect_right(self.chain_times, when) - 1
        assert index >= 0, "before the first commit"
        return self.chain[index]

    def topo_order(self, tip: int) -> dict[int, int]:
        """Each ancestor of ``tip`` by its position in ``git log --topo-order TIP`` (git's LIFO topological sort:
        a merge's second parent comes before its first, a commit only once all its children were shown)."""
        if tip in self._topo:
            return self._topo[tip]
        members = bits(self.masks[tip])
        indegree = dict.fromkeys(members, 0)
        for mark in members:
            for parent in self.history.get(mark).parents:
                indegree[parent] += 1
        order: dict[int, int] = {}
        stack = [tip]
        while stack:
            mark = stack.pop()
            order[mark] = len(order)
            for parent in self.history.get(mark).parents:
                indegree[parent] -= 1
                if indegree[parent] == 0:
                    stack.append(parent)
        self._topo = {tip: order}  # the runs of one moment ask for the same tip
        return order

    def between(self, old: int, new: int) -> int:
        """The commits in ``old..new`` as a bitmask."""
        return self.masks[new] & ~self.masks[old]


def bits(mask: int) -> list[int]:
    """The set bits of ``mask``, highest (newest mark) first."""
    found: list[int] = []
    while mask:
        top = mask.bit_length() - 1
        found.append(top)
        mask ^= 1 << top
    return found


def service_masks(history: History, paths: ServicePaths) -> tuple[int, int]:
    """(non-merge commits changing a file the service owns, non-merge commits changing only its excluded files)."""
    relevant = excluded = 0
    for commit in history.commits:
        if len(commit.parents) > 1:
            continue
        matched = [paths.match(c.path) for c in commit.changes]
        if any(hit is not None and skip is None for hit, skip in matched):
            relevant |= 1 << commit.mark
        elif any(hit is not None for hit, _ in matched):
            excluded |= 1 << commit.mark
    return relevant, excluded


def demo_paths(name: str, globs: tuple[str, ...]) -> ServicePaths:
    """A demo service's paths, with the demo config's excludes."""
    return ServicePaths(name, tuple(compile_glob(p) for p in globs), tuple(compile_glob(e) for e in EXCLUDE))


@dataclass(frozen=True)
class PlannedDeploy:
    """A ledger entry in marks: ``to`` is None for raw-processors' force-pushed-away commit."""

    service: str
    from_mark: int | None
    to_mark: int | None
    status: str
    started: int
    finished: int
    by: str
    relevant: tuple[int, ...]  # marks, newest first
    step: str | None = None
    reason: str | None = None


def plan_ledger(the_plan: Plan, ancestry: Ancestry, now: int) -> list[PlannedDeploy]:
    """Every service's entries, oldest first per service (services in config order)."""
    entries: list[PlannedDeploy] = []
    for spec in SERVICES:
        rng = Random(f"{SEED}-ledger-{spec.name}")
        relevant_mask, _ = service_masks(the_plan.history, demo_paths(spec.name, spec.paths))
        final = the_plan.deployed[spec.name]
        if final is None:
            final_at, limit = now - round(_RAW_FINAL_HOURS_AGO * HOUR), now - round((_RAW_FINAL_HOURS_AGO + 3) * HOUR)
        else:
            final_at = ancestry.on_branch[final] + _FINAL_LAG_MINUTES[spec.name] * 60
            limit = ancestry.on_branch[final] - HOUR
        mine = _service_deploys(spec.name, rng, ancestry, relevant_mask, now, limit)
        current = mine[-1].to_mark
        assert current is not None
        if spec.name == "precompute":
            mine = _with_failed_retry(mine, rng)
        shipped = _relevant(ancestry, relevant_mask, current, final) if final is not None else ()
        mine.append(PlannedDeploy(spec.name, current, final, "succeeded", final_at, final_at + rng.randint(90, 420),
                                  _who(rng), shipped))
        if spec.name == "prediction-worker" and final is not None:
            mine.append(_rolled_back(the_plan, ancestry, relevant_mask, final, now, rng))
        entries.extend(mine)
    return entries


def _service_deploys(name: str, rng: Random, ancestry: Ancestry, relevant_mask: int, now: int,
                     limit: int) -> list[PlannedDeploy]:
    """The deploys before the scripted last one: the first a day or so before the window, then every 1 to 3 days."""
    at = _working_hours_before(now - LEDGER_DAYS * 24 * HOUR - rng.randint(2, 8) * HOUR)
    first = ancestry.tip_at(at - rng.randint(10, 90) * 60)
    result = [PlannedDeploy(name, None, first, "succeeded", at, at + rng.randint(90, 420), _who(rng), ())]
    current = first
    while True:
        at = _working_hours(at + rng.randint(20, 70) * HOUR, rng)
        if at >= limit:
            return result
        target = ancestry.tip_at(at - rng.randint(10, 90) * 60)
        shipped = _relevant(ancestry, relevant_mask, current, target)
        if not shipped:
            continue  # nothing of this service changed: no deploy needed
        result.append(PlannedDeploy(name, current, target, "succeeded", at, at + rng.randint(90, 420), _who(rng),
                                    shipped))
        current = target


def _with_failed_retry(deploys: list[PlannedDeploy], rng: Random) -> list[PlannedDeploy]:
    """One deploy in the middle of the window failed at its deploy step; the same deploy succeeded 40 min later."""
    index = len(deploys) // 2
    retried = deploys[index]
    failed_at = retried.started - 40 * 60
    failed = PlannedDeploy(retried.service, retried.from_mark, retried.to_mark, "failed", failed_at,
                           failed_at + rng.randint(60, 200), retried.by, retried.relevant, "deploy",
                           "the deploy command exited 1: rolling out precompute: image pull timed out after 120s")
    return [*deploys[:index], failed, *deploys[index:]]


def _rolled_back(the_plan: Plan, ancestry: Ancestry, relevant_mask: int, final: int, now: int,
                 rng: Random) -> PlannedDeploy:
    """The worker's deploy of a commit containing the planted broken one: its probe failed, it was rolled back."""
    at = now - round(_ROLLBACK_HOURS_AGO * HOUR)
    target = ancestry.tip_at(at - 5 * 60)
    assert ancestry.masks[target] >> the_plan.broken & 1, "the rolled-back deploy must contain the broken commit"
    reason = ("1 of 1 check not ok: probe prediction-worker predictions critical: WORKER CRITICAL - 0 predictions "
              "in the last batch: 87 features, the model expects 85 (since {broken}); rolled back to {final}")
    return PlannedDeploy("prediction-worker", final, target, "rolled_back", at, at + rng.randint(200, 320),
                         PEOPLE["maya"].name, _relevant(ancestry, relevant_mask, final, target), "post_deploy",
                         reason)


def _relevant(ancestry: Ancestry, relevant_mask: int, old: int, new: int) -> tuple[int, ...]:
    order = ancestry.topo_order(new)  # newest first, as shipped_commits' walk lists them
    return tuple(sorted(bits(ancestry.between(old, new) & relevant_mask), key=order.__getitem__))


def _who(rng: Random) -> str:
    return rng.choice(sorted(p.name for p in PEOPLE.values()))


def _working_hours(when: int, rng: Random) -> int:
    """``when`` moved to a weekday between 15:00 and 23:00 UTC (the team's working day, US time)."""
    day = dt.datetime.fromtimestamp(when, dt.UTC)
    if day.hour >= 23:
        day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    if not 15 <= day.hour < 23:
        day = day.replace(hour=15, minute=0, second=0) + dt.timedelta(seconds=rng.randint(0, 6 * HOUR))
    return int(day.timestamp())


def _working_hours_before(when: int) -> int:
    """The last weekday moment between 15:00 and 23:00 UTC at or before ``when``."""
    day = dt.datetime.fromtimestamp(when, dt.UTC)
    while day.weekday() >= 5 or not 15 <= day.hour < 23:
        day = day.replace(minute=day.minute // 7 * 7, second=0) - dt.timedelta(hours=1)
    return int(day.timestamp())


def ledger_records(entries: list[PlannedDeploy], shas: dict[int, str], vanished: str,
                   broken: str) -> list[DeploymentRecord]:
    """The store's records of ``entries`` (commit SHAs filled in; the rollback's reason names its commits)."""
    records = []
    for e in sorted(entries, key=lambda entry: entry.started):  # ids in the order the deploys happened
        to = shas[e.to_mark] if e.to_mark is not None else vanished
        old = shas[e.from_mark] if e.from_mark is not None else None
        reason = e.reason.format(broken=broken[:12], final=(old or "")[:8]) if e.reason else None
        records.append(DeploymentRecord(
            service=e.service, to_commit=to, status=e.status, how="deploy", by=e.by,
            started_at=dt.datetime.fromtimestamp(e.started, dt.UTC), from_commit=old,
            finished_at=dt.datetime.fromtimestamp(e.finished, dt.UTC), step=e.step, reason=reason,
            relevant_commits=tuple(shas[m] for m in e.relevant)))
    return records
