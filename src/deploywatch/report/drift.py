"""Drift figures per service from stored drift runs: time at warning or worse, episodes, the oldest change waiting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..store.windows import StoredFinding

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


def _behind(finding: StoredFinding) -> int | None:
    value = finding.details.get("relevant_commits_behind")
    return int(value) if isinstance(value, int) else None


def service_drift(service: str, findings: Sequence[StoredFinding], before: Sequence[StoredFinding],
                  since: datetime, until: datetime) -> ServiceDrift:
    """Each drift run's status holds from its start until the service's next drift run (or the window's end); the
    newest run before the window says what held at its start. Time before any run is not counted."""
    result = ServiceDrift(service)
    steps = [(since, f) for f in before if f.subject == service][-1:]
    steps += [(f.at, f) for f in findings if f.kind == "drift" and f.subject == service]
    result.runs = len(steps) - (1 if steps and steps[0][1] in before else 0)
    episode: DriftEpisode | None = None
    for k, (start, finding) in enumerate(steps):
        end = steps[k + 1][0] if k + 1 < len(steps) else until
        span = max(0.0, (end - start).total_seconds())
        result.known_seconds += span
        bad = finding.status in BAD_STATUSES
        if bad:
            result.bad_seconds += span
            behind = _behind(finding)
            if episode is None:
                episode = DriftEpisode(start, None, behind, finding.status)
                result.episodes.append(episode)
            else:
                if behind is not None and (episode.peak_relevant_behind is None
                                           or behind > episode.peak_relevant_behind):
                    episode.peak_relevant_behind = behind
                if BAD_STATUSES.index(finding.status) > BAD_STATUSES.index(episode.worst_status):
                    episode.worst_status = finding.status
        elif episode is not None:
            episode.end = start
            episode = None
    if steps:
        newest = steps[-1][1]
        result.status_now = newest.status
        result.relevant_behind_now = _behind(newest)
        age = newest.details.get("drift_age_seconds")
        if isinstance(age, int | float) and not isinstance(age, bool):
            result.oldest_waiting_since = newest.at - timedelta(seconds=float(age))
    return result
