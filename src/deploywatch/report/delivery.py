"""Delivery figures per service from the ledger and git: deploy frequency, lead times, change failures, recovery.

Lead time oracle: a service's live commits are the ``to`` commits of its succeeded entries (deploys, records and
rollbacks), in the order they finished, L0, L1, … A relevant commit C first went live at Lk when
``git rev-list --no-merges --full-history Lk ^L0 … ^L(k-1) -- <the service's pathspecs>`` lists C; its lead time
is Lk's finish time minus C's branch time (the committer time of the oldest first-parent commit of the branch
tip that contains C, as drift computes ``on_branch_at``). Commits already in L0 have no known deploy and are left
out; so are commits not on the branch. One history walk per service answers every Lk at once.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..store.deployments import DeploymentRecord

__all__ = ["CHANGE_HOWS", "FAILED_STATUSES", "Delivery", "Recovery", "Shipped", "by_service", "deliveries", "median",
           "p90", "pooled_stats", "service_delivery"]

CHANGE_HOWS = ("deploy", "record")  # rollbacks restore a known commit: they are not changes
FAILED_STATUSES = ("failed", "rolled_back", "paused")  # a paused deploy failed and waits for a human
OUTCOME_STATUSES = ("succeeded", *FAILED_STATUSES)  # started (running) and abandoned (outcome unknown) are not
WEEK = 7 * 24 * 3600
_STRIDE = 64  # pooled_stats: at most this many values of each run lie between two sampled values


@dataclass(frozen=True)
class Shipped:
    """A deploy and the relevant commits it first made live, each with the time it reached the branch and its lead
    time (the deploy's finish minus that time; 0 for a commit deployed before it reached the branch)."""

    deployment_id: int
    deployed_at: datetime
    deployed_commit: str
    previous_commit: str  # the live commit before this deploy's
    earlier_live: int  # how many distinct live commits came before it (the rev-list's negative ends)
    positions: list[int]  # the commits as positions in ``walked``: oldest on the branch first (those of one merge
    walked: list[str]  # in git's walk order, reversed); the walk's SHAs (shared by every deploy, not copied)
    on_branch_at: list[int]  # Unix seconds, per commit
    seconds: list[float]  # lead times, per commit

    @functools.cached_property
    def commits(self) -> list[str]:
        """The commits, oldest on the branch first (made when asked: a year is a million of them)."""
        return list(map(self.walked.__getitem__, self.positions))

    @property
    def oldest_commit(self) -> str:
        """The commit with the longest lead time (the first of :attr:`commits`)."""
        return self.walked[self.positions[0]]


@dataclass(frozen=True)
class Recovery:
    """A failed change and the next succeeded entry of its service (None while not recovered)."""

    failure: DeploymentRecord
    recovered_by: DeploymentRecord | None

    @property
    def seconds(self) -> float | None:
        """Failure's end to the recovering entry's end."""
        if self.recovered_by is None:
            return None
        return max(0.0, (_end(self.recovered_by) - _end(self.failure)).total_seconds())


@dataclass
class Delivery:
    """A service's (or all services') delivery figures in the window."""

    service: str | None
    window_seconds: float
    deploys: list[DeploymentRecord] = field(default_factory=list)  # succeeded changes finished in the window
    changes: list[DeploymentRecord] = field(default_factory=list)  # changes with an outcome in the window
    lead_times: list[Shipped] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)

    @property
    def deploys_per_week(self) -> float:
        """Succeeded changes per 7 days of the window."""
        return len(self.deploys) / (self.window_seconds / WEEK) if self.window_seconds > 0 else 0.0

    @property
    def failures(self) -> list[DeploymentRecord]:
        """The changes that failed (failed, rolled back or paused)."""
        return [c for c in self.changes if c.status in FAILED_STATUSES]

    @property
    def change_failure_rate(self) -> float | None:
        """Failed changes ÷ changes with an outcome (None without any)."""
        return len(self.failures) / len(self.changes) if self.changes else None

    def lead_seconds(self) -> list[float]:
        """Every lead time of the window's deploys, each deploy's reversed: ascending runs (a deploy's commits come
        oldest first, so its lead times never increase), which sort in about one pass."""
        return list(itertools.chain.from_iterable(s.seconds[::-1] for s in self.lead_times))

    def recovery_seconds(self) -> list[float]:
        """Recovery times of the failures that recovered."""
        return [s for s in (r.seconds for r in self.recoveries) if s is not None]


def median(values: Sequence[float], *, ordered: bool = False) -> float | None:
    """The median (the mean of the two middle values for an even count); None for none. ``ordered``: the values are
    sorted already."""
    if not ordered:
        return statistics.median(values) if values else None
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def p90(values: Sequence[float], *, ordered: bool = False) -> float | None:
    """The 90th percentile by nearest rank: the ⌈0.9·n⌉-th smallest value; None for none. ``ordered``: the values
    are sorted already."""
    if not values:
        return None
    ranked = values if ordered else sorted(values)
    return ranked[max(1, math.ceil(0.9 * len(ranked))) - 1]


def pooled_stats(runs: Sequence[Sequence[float]]) -> tuple[int, float | None, float | None]:
    """Count, median and p90 (nearest rank) of the sorted ``runs`` together, as :func:`median` and :func:`p90` give
    them, without sorting them all: each rank is bracketed by a sample of every 64th value, and only the values
    within the bracket are sorted."""
    count = sum(map(len, runs))
    if not count:
        return 0, None, None
    sample = sorted(itertools.chain.from_iterable(run[::_STRIDE] for run in runs))

    def at(rank: int) -> float:  # the rank-th smallest value, from 0
        low, high = 0, len(sample)  # the first sample value with more than ``rank`` values at or below it
        while low < high:
            middle = (low + high) // 2
            if sum(bisect.bisect_right(run, sample[middle]) for run in runs) > rank:
                high = middle
            else:
                low = middle + 1
        lower = sample[low - 1] if low else -math.inf  # at most ``rank`` values at or below it
        upper = sample[low] if low < len(sample) else math.inf
        starts = [bisect.bisect_right(run, lower) for run in runs]
        within = sorted(itertools.chain.from_iterable(run[start:bisect.bisect_right(run, upper, start)]
                                                      for run, start in zip(runs, starts, strict=True)))
        return within[rank - sum(starts)]

    middle = count // 2
    found = at(middle) if count % 2 else (at(middle - 1) + at(middle)) / 2
    return count, found, at(max(1, math.ceil(0.9 * count)) - 1)


def _end(record: DeploymentRecord) -> datetime:
    return record.finished_at or record.started_at


def _in(record: DeploymentRecord, since: datetime, until: datetime) -> bool:
    return since <= _end(record) < until


def service_delivery(service: str, entries: Sequence[DeploymentRecord], since: datetime, until: datetime,
                     lead_times: Sequence[Shipped]) -> Delivery:
    """Frequency, change failures and recoveries of ``service`` from its ledger ``entries`` (any order)."""
    own = sorted((e for e in entries if e.service == service), key=lambda e: (_end(e), e.id))
    result = Delivery(service, (until - since).total_seconds(), lead_times=list(lead_times))
    for entry in own:
        if entry.how not in CHANGE_HOWS or entry.status not in OUTCOME_STATUSES or not _in(entry, since, until):
            continue
        result.changes.append(entry)
        if entry.status == "succeeded":
            result.deploys.append(entry)
        else:
            after = (e for e in own if e.status == "succeeded" and (_end(e), e.id) > (_end(entry), entry.id)
                     and _end(e) < until)
            result.recoveries.append(Recovery(entry, next(after, None)))
    return result


def by_service(entries: Sequence[DeploymentRecord]) -> dict[str, list[DeploymentRecord]]:
    """``entries`` by service, in their order (so that each service's figures read its own entries only)."""
    found: dict[str, list[DeploymentRecord]] = {}
    for entry in entries:
        found.setdefault(entry.service, []).append(entry)
    return found


def live_entries(service: str, entries: Sequence[DeploymentRecord]) -> list[DeploymentRecord]:
    """The service's succeeded entries (any how), in the order they went live."""
    return sorted((e for e in entries if e.service == service and e.status == "succeeded"),
                  key=lambda e: (_end(e), e.id))


def deliveries(per_service: Sequence[Delivery], since: datetime, until: datetime) -> Delivery:
    """All services together: counts summed, lead times and recoveries pooled (a commit relevant to two services
    counts once for each)."""
    total = Delivery(None, (until - since).total_seconds())
    for one in per_service:
        total.deploys += one.deploys
        total.changes += one.changes
        total.lead_times += one.lead_times
        total.recoveries += one.recoveries
    return total


def epoch(seconds: int) -> datetime:
    """A git timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)
