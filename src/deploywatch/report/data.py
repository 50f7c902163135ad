"""Data figures: per check the share of ok runs against its SLO, incidents and anomalies; per phase, completion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ..config.checks import slo_fraction
from ..store.windows import StoredFinding

__all__ = ["CheckData", "Incident", "PhaseData", "check_data", "phase_data"]

_ORDER = ("ok", "warning", "unknown", "critical")


@dataclass(frozen=True)
class Incident:
    """A run in which the check was not ok."""

    run_id: str
    at: datetime
    status: str


@dataclass
class CheckData:
    """One check's runs in the window."""

    check: str
    slo: str | None
    runs: int = 0
    ok_runs: int = 0
    incidents: list[Incident] = field(default_factory=list)
    anomalies: int = 0

    @property
    def ok_share(self) -> float | None:
        """ok runs ÷ runs (None without runs)."""
        return self.ok_runs / self.runs if self.runs else None

    @property
    def slo_met(self) -> bool | None:
        """Whether the ok share reaches the SLO (None without an SLO or without runs)."""
        share = self.ok_share
        return None if self.slo is None or share is None else share >= slo_fraction(self.slo)


def check_name(subject: str) -> str:
    """``name`` of a check finding's subject ``name`` or ``name[group]``."""
    return subject.split("[", 1)[0]


def check_data(checks: Mapping[str, str | None], findings: Sequence[StoredFinding],
               anomalies: Mapping[str, int]) -> list[CheckData]:
    """Per configured check (name → slo): a run counts once, at its worst status over the check's groups."""
    worst: dict[tuple[str, str], tuple[datetime, str]] = {}
    for finding in findings:
        if finding.kind != "check":
            continue
        key = (check_name(finding.subject), finding.run_id)
        status = finding.status if finding.status in _ORDER else "unknown"
        if key not in worst or _ORDER.index(status) > _ORDER.index(worst[key][1]):
            worst[key] = (finding.at, status)
    result = {name: CheckData(name, slo, anomalies=anomalies.get(name, 0)) for name, slo in checks.items()}
    for (name, run_id), (at, status) in sorted(worst.items(), key=lambda item: (item[1][0], item[0][1])):
        data = result.get(name)
        if data is None:
            continue  # a check no longer configured
        data.runs += 1
        if status == "ok":
            data.ok_runs += 1
        else:
            data.incidents.append(Incident(run_id, at, status))
    return list(result.values())


@dataclass
class PhaseData:
    """One phase's run dates in the window: complete on time, complete late, or not complete."""

    phase: str
    dates: list[tuple[date, datetime | None, bool]] = field(default_factory=list)  # date, completed at, on time

    @property
    def on_time(self) -> int:
        """Dates complete by their deadline."""
        return sum(1 for _, _, on_time in self.dates if on_time)

    @property
    def on_time_share(self) -> float | None:
        """On-time dates ÷ dates due (None with none due)."""
        return self.on_time / len(self.dates) if self.dates else None


def deadline(run_date: date) -> datetime:
    """A run date is on time when complete before the end of the following day (00:00 UTC two days later)."""
    return datetime.combine(run_date + timedelta(days=2), time(), UTC)


def phase_data(phases: Mapping[str, Sequence[str]], completions: Sequence[tuple[str, str, date, datetime]],
               since: datetime, until: datetime) -> list[PhaseData]:
    """Per phase (name → expected processors), every run date from ``since``'s day whose deadline has passed by
    ``until`` or that is complete: completed when the last expected processor first reported."""
    reported: dict[tuple[str, date], dict[str, datetime]] = {}
    for phase, processor, run_date, first_at in completions:
        reported.setdefault((phase, run_date), {})[processor] = first_at
    result = []
    for phase, processors in phases.items():
        data = PhaseData(phase)
        day = since.astimezone(UTC).date()
        while day < until.astimezone(UTC).date():
            seen = reported.get((phase, day), {})
            done = max(seen[p] for p in processors) if all(p in seen for p in processors) else None
            if done is not None or deadline(day) <= until:
                data.dates.append((day, done, done is not None and done < deadline(day)))
            day += timedelta(days=1)
        result.append(data)
    return result
