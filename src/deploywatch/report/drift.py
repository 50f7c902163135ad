"""Drift figures per service from stored drift runs: time at warning or worse, episodes, the oldest change waiting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from ..store.segments import DriftSegments, Sample, Segment

__all__ = ["BAD_STATUSES", "DriftEpisode", "ServiceDrift", "service_drift"]

BAD_STATUSES = ("warning", "unknown", "critical")  # warning or worse (ok < warning < unknown < critical)


@dataclass
class DriftEpisode:
    """A stretch of drift runs at warning or worse: from the first such run to the next run that was ok."""

    start: datetime
    end: datetime | None  # None: still at warning or worse at the window's end
    peak_relevant_behind: int | None
    worst_status: str

    def seconds(self, until: datetime) -> float:
        """Its duration (to the window's end while it lasts)."""
        return ((self.end or until) - self.start).total_seconds()


@dataclass
class ServiceDrift:
    """One service's drift in the window."""

    service: str
    known_seconds: float = 0.0  # time covered by a drift run's answer
    bad_seconds: float = 0.0  # of which at warning or worse
    runs: int = 0
    episodes: list[DriftEpisode] = field(default_factory=list)
    oldest_waiting_since: datetime | None = None  # branch time of the oldest undeployed relevant commit, newest run
    relevant_behind_now: int | None = None
    status_now: str | None = None

    @property
    def bad_share(self) -> float | None:
        """Share of the known time at warning or worse (None when no run says anything)."""
        return self.bad_seconds / self.known_seconds if self.known_seconds > 0 else None


class _Step(NamedTuple):
    """Samples of one status from ``start`` on: how many in the window and their peak."""

    start: datetime
    status: str
    runs: int
    peak: int | None


def _steps(found: DriftSegments | None, since: datetime, until: datetime) -> tuple[list[_Step], Sample | None]:
    """The service's samples in the window folded by segment, led by the newest sample before it (held from
    ``since``, not counted as a run), and the newest sample of them. A segment an edge falls in is split at it,
    sample by sample."""
    if found is None:
        return [], None
    steps: list[_Step] = []
    before = found.before.last if found.before is not None else None
    newest: Segment | Sample | None = None
    for segment in found.overlapping:
        if segment.first_at >= since and segment.last_at < until:
            steps.append(_Step(segment.first_at, segment.status, segment.runs, segment.peak_relevant))
            newest = segment
            continue
        older = [s for s in segment.samples if s.at < since]
        inside = [s for s in segment.samples if since <= s.at < until]
        if older:
            before = older[-1]
        if inside:
            steps.append(_Step(inside[0].at, segment.status, len(inside), _peak(inside)))
            newest = inside[-1]
    if before is not None:
        steps.insert(0, _Step(since, before.status, 0, before.relevant))
    if newest is None:
        return steps, before
    return steps, newest.last if isinstance(newest, Segment) else newest


def _peak(samples: Sequence[Sample]) -> int | None:
    values = [s.relevant for s in samples if s.relevant is not None]
    return max(values) if values else None


def service_drift(service: str, found: DriftSegments | None, since: datetime, until: datetime) -> ServiceDrift:
    """Each drift run's status holds from its start until the service's next drift run (or the window's end); the
    service's newest run before the window says what held at its start. Time before any run is not counted. Runs
    are read as segments (consecutive runs of one status), which give the same figures as run by run."""
    result = ServiceDrift(service)
    steps, newest = _steps(found, since, until)
    result.runs = sum(step.runs for step in steps)
    episode: DriftEpisode | None = None
    for k, step in enumerate(steps):
        end = steps[k + 1].start if k + 1 < len(steps) else until
        span = max(0.0, (end - step.start).total_seconds())
        result.known_seconds += span
        if step.status in BAD_STATUSES:
            result.bad_seconds += span
            if episode is None:
                episode = DriftEpisode(step.start, None, step.peak, step.status)
                result.episodes.append(episode)
            else:
                if step.peak is not None and (episode.peak_relevant_behind is None
                                              or step.peak > episode.peak_relevant_behind):
                    episode.peak_relevant_behind = step.peak
                if BAD_STATUSES.index(step.status) > BAD_STATUSES.index(episode.worst_status):
                    episode.worst_status = step.status
        elif episode is not None:
            episode.end = step.start
            episode = None
    if newest is not None:
        result.status_now = newest.status
        result.relevant_behind_now = newest.relevant
        if newest.age is not None:
            result.oldest_waiting_since = newest.at - timedelta(seconds=newest.age)
    return result
