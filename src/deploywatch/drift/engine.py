"""The drift engine: for each service, how far the deployed commit is from the branch tip.

All numbers come from one :class:`~deploywatch.drift.history.History` walk and equal what git says
(docs/drift-semantics.md): ``commits_behind`` is ``git rev-list --count DEPLOYED..TIP``,
``relevant_commits_behind`` adds ``--no-merges --full-history -- ':(glob)P'… ':(glob,exclude)E'…``,
``commits_ahead`` is ``TIP..DEPLOYED``. The age of drift is measured from when each relevant commit
reached the branch: the committer time of the first-parent commit of the tip that brought it in.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..config import EffectiveThresholds
from ..core.durations import format_age, format_timestamp
from ..core.findings import Finding
from ..core.memory import collector_paused
from ..core.paths import ServicePaths, unmatched_globs
from ..core.redact import mask
from ..core.status import Status, worst
from ..core.text import plural
from .git import Repo
from .history import Behind, History, StartedWalk
from .sources import Reading
from .walkcache import WalkCache

if TYPE_CHECKING:
    from ..config.alerts import AlertsConfig
    from ..notify.model import AlertMode
    from ..store import Store

__all__ = [
    "Deployed",
    "DriftReport",
    "RelevantCommit",
    "ServiceDrift",
    "ServiceSpec",
    "State",
    "fill_deploy_command",
    "judge",
    "measure_drift",
    "missing_reason",
    "record_drift",
    "resolve_readings",
]

DEFAULT_MAX_COMMITS = 20
_HEXISH = re.compile(r"[0-9a-fA-F]{4,64}")


class State(StrEnum):
    """Where the deployed commit stands relative to the branch tip."""

    CURRENT = "current"
    BEHIND = "behind"
    AHEAD = "ahead"
    DIVERGED = "diverged"
    MISSING = "missing"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ServiceSpec:
    """What the engine needs to know about one service."""

    name: str
    paths: ServicePaths
    thresholds: EffectiveThresholds
    group: str | None = None
    deploy: str | None = None


@dataclass(frozen=True)
class RelevantCommit:
    """A relevant commit the service does not run yet."""

    sha: str
    subject: str
    author: str
    on_branch_at: int
    files: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """The ``commits[]`` item of ``deploywatch.drift/v1``."""
        return {"sha": self.sha, "subject": self.subject, "author": self.author,
                "on_branch_at": format_timestamp(self.on_branch_at), "files": list(self.files)}


@dataclass(frozen=True)
class ServiceDrift:
    """Drift of one service."""

    name: str
    group: str | None
    status: Status
    state: State
    reason: str
    source: str
    reported: str | None = None
    deployed_commit: str | None = None
    commits_behind: int | None = None
    relevant_commits_behind: int | None = None
    excluded_commits_behind: int | None = None
    commits_ahead: int | None = None
    oldest_relevant_at: int | None = None
    drift_age_seconds: int | None = None
    commits: tuple[RelevantCommit, ...] = ()
    deploy: str | None = None
    unmatched_paths: tuple[str, ...] = ()  # globs of ``paths`` that match no file at the tip (a typo?)

    @property
    def elsewhere_commits_behind(self) -> int | None:
        """Commits behind that do not touch the service's paths (other services, docs, merges)."""
        if self.commits_behind is None or self.relevant_commits_behind is None:
            return None
        return self.commits_behind - self.relevant_commits_behind

    @property
    def composition(self) -> str:
        """``1300 behind: 10 relevant, 1290 elsewhere (3 only in its excluded files)``."""
        if self.commits_behind is None:
            return ""
        text = (f"{self.commits_behind} behind: {self.relevant_commits_behind} relevant, "
                f"{self.elsewhere_commits_behind} elsewhere")
        if self.excluded_commits_behind:
            text += f" ({self.excluded_commits_behind} only in its excluded files)"
        return text

    def finding(self, tip: str, *, commits_shown: int = 5) -> Finding:
        """This service's drift as a finding (kind ``drift``), with what a person needs to act on it."""
        details: dict[str, Any] = {
            "service": self.name, "group": self.group, "state": str(self.state), "status": str(self.status),
            "deployed_commit": self.deployed_commit, "tip": tip, "commits_behind": self.commits_behind,
            "relevant_commits_behind": self.relevant_commits_behind, "commits_ahead": self.commits_ahead,
            "drift_age_seconds": self.drift_age_seconds, "reason": mask(self.reason),
            "deploy": mask(self.deploy) if self.deploy else None,
            "commits": [{"sha": c.sha, "subject": mask(c.subject), "author": c.author,
                         "on_branch_at": format_timestamp(c.on_branch_at)} for c in self.commits[:commits_shown]],
        }
        summary = f"{self.name} {self.status}: " + (f"{self.composition}; " if self.composition else "") + self.reason
        labels = {"service": self.name, **({"group": self.group} if self.group else {})}
        return Finding("drift", self.name, self.status, mask(summary), details, labels)

    def deployed_json(self) -> dict[str, str | None]:
        """``deployed_commit`` (resolved through git; null when it could not be), ``deployed_value`` (what the
        source reported, as read; null when it could not be read) and ``deployed_source`` (the source)."""
        return {"deployed_commit": self.deployed_commit,
                "deployed_value": mask(self.reported) if self.reported is not None else None,
                "deployed_source": mask(self.source)}

    def to_json(self) -> dict[str, object]:
        """The ``services[]`` item of ``deploywatch.drift/v1``."""
        return {
            "name": self.name, "group": self.group, "status": str(self.status), "state": str(self.state),
            **self.deployed_json(), "commits_behind": self.commits_behind,
            "relevant_commits_behind": self.relevant_commits_behind, "commits_ahead": self.commits_ahead,
            "oldest_relevant_at": (format_timestamp(self.oldest_relevant_at)
                                   if self.oldest_relevant_at is not None else None),
            "drift_age_seconds": self.drift_age_seconds, "reason": self.reason,
            "unmatched_paths": list(self.unmatched_paths),
            "commits": [c.to_json() for c in self.commits],
        }


@dataclass(frozen=True)
class DriftReport:
    """Drift of every selected service against one branch tip."""

    branch: str
    tip: str
    generated_at: datetime
    services: tuple[ServiceDrift, ...]
    history: History | None = field(default=None, repr=False, compare=False)

    @property
    def status(self) -> Status:
        """The worst service status."""
        return worst(s.status for s in self.services)

    def to_json(self) -> dict[str, object]:
        """The ``deploywatch.drift/v1`` document."""
        return {"schema": "deploywatch.drift/v1", "generated_at": format_timestamp(self.generated_at),
                "status": str(self.status), "repo": {"branch": self.branch, "tip": self.tip},
                "services": [s.to_json() for s in self.services]}


@dataclass(frozen=True)
class Deployed:
    """A service's reading resolved through git: the commit, or the state and reason why not."""

    reading: Reading
    commit: str | None
    state: State | None = None
    reason: str | None = None


def resolve_readings(repo: Repo, readings: Mapping[str, Reading]) -> dict[str, Deployed]:
    """Resolve every reading's SHA, abbreviated SHA or tag with one git call; say why one fails."""
    resolved = repo.resolve_many(r.value for r in readings.values() if r.value is not None)
    shallow: bool | None = None
    result: dict[str, Deployed] = {}
    for name, reading in readings.items():
        if reading.value is None:
            result[name] = Deployed(reading, None, State.UNKNOWN, reading.error)
            continue
        commit = resolved.get(reading.value)
        if commit is None:
            if shallow is None:
                shallow = repo.is_shallow()
            reason = _ambiguity(repo, reading.value) or missing_reason(reading.value, shallow)
            result[name] = Deployed(reading, None, State.MISSING, reason)
        else:
            result[name] = Deployed(reading, commit)
    return result


def measure_drift(repo: Repo, branch: str, tip: str, specs: Sequence[ServiceSpec],
                  readings: Mapping[str, Reading], *, now: datetime,
                  max_commits: int = DEFAULT_MAX_COMMITS, started: StartedWalk | None = None,
                  cache: WalkCache | None = None) -> DriftReport:
    """Drift of every service in ``specs``, from the sources' ``readings``, with one history walk
    (``started`` when it was begun early for the same heads, see :mod:`deploywatch.drift.prefetch`; extending the
    one kept in ``cache``, see :mod:`deploywatch.drift.walkcache`)."""
    with collector_paused():  # (see there: a fifth of a warm run's time otherwise)
        return _measured(repo, branch, tip, specs, readings, now, max_commits, started, cache)


def _measured(repo: Repo, branch: str, tip: str, specs: Sequence[ServiceSpec], readings: Mapping[str, Reading],
              now: datetime, max_commits: int, started: StartedWalk | None, cache: WalkCache | None) -> DriftReport:
    deployed = resolve_readings(repo, readings)
    heads = sorted({d.commit for d in deployed.values() if d.commit is not None})
    with ThreadPoolExecutor(max_workers=1) as pool:  # git lists the tip's files while the history is made
        listing = pool.submit(repo.tree_files, tip)
        history = History(repo, tip, heads, [s.paths for s in specs], started, cache)
        relevant = {spec.name: history.relevant_summary(index, deployed[spec.name].commit or "", max_commits)
                    for index, spec in enumerate(specs) if deployed[spec.name].commit is not None}
        described = history.describe(sorted({i for found in relevant.values() for i in found.first}))
        tree = sorted(listing.result())
    results: list[ServiceDrift] = []
    for index, spec in enumerate(specs):
        found = deployed[spec.name]
        unmatched = tuple(g.pattern for g in unmatched_globs(spec.paths.paths, tree))
        if found.commit is None:
            assert found.state is not None
            assert found.reason is not None
            results.append(ServiceDrift(spec.name, spec.group, Status.UNKNOWN, found.state,
                                        _with_unmatched(found.reason, unmatched, branch), found.reading.source,
                                        reported=found.reading.value, deploy=spec.deploy, unmatched_paths=unmatched))
            continue
        listed = tuple(
            RelevantCommit(history.shas[i], described[i].subject, described[i].author, history.on_branch_at[i],
                           tuple(history.owned_files(i, 1 << index)))
            for i in relevant[spec.name].first)
        measured = _service_drift(history, index, spec, found.reading, found.commit, relevant[spec.name],
                                  listed, branch, now)
        if unmatched:
            # a glob that matches nothing never sees a change: the service would be "ok" forever
            measured = replace(measured, status=worst([measured.status, Status.WARNING]),
                               reason=_with_unmatched(measured.reason, unmatched, branch), unmatched_paths=unmatched)
        results.append(measured)
    return DriftReport(branch, tip, now, tuple(fill_deploy_command(r, tip) for r in results), history)


def fill_deploy_command(result: ServiceDrift, tip: str) -> ServiceDrift:
    """The service's ``deploy`` template filled in for deploying the tip (what drift shows and alerts carry)."""
    if result.deploy is None or "{{" not in result.deploy:
        return result
    from dataclasses import replace

    from ..config.services import command_values, fill_command

    values = command_values(result.name, tip, result.deployed_commit, "")
    return replace(result, deploy=fill_command(result.deploy, values))


def _with_unmatched(reason: str, unmatched: Sequence[str], branch: str) -> str:
    if not unmatched:
        return reason
    globs = ", ".join(repr(p) for p in unmatched)
    verb = "matches" if len(unmatched) == 1 else "match"
    return f"{reason}; paths {globs} {verb} no file at the tip of {branch} (a typo?)"


def _ambiguity(repo: Repo, value: str) -> str | None:
    """Why an abbreviated SHA that names no single commit is ambiguous (None when it is not): git's
    ``rev-parse --disambiguate`` lists the objects it could name, ``cat-file`` says which are commits."""
    if not _HEXISH.fullmatch(value) or len(value) >= 40:
        return None
    listed = repo.run("rev-parse", f"--disambiguate={value.lower()}", ok_codes=(0, 128)).stdout.split()
    if len(listed) < 2:
        return None
    types = repo.run("cat-file", "--batch-check=%(objecttype)", input=b"".join(o + b"\n" for o in listed)).stdout
    commits = types.split().count(b"commit")
    if commits < 2:
        return None
    return f"deployed commit {value} is ambiguous: {commits} commits here start with it; report a longer SHA"


def missing_reason(value: str, shallow: bool) -> str:
    if _HEXISH.fullmatch(value):
        if shallow:
            return f"deployed commit {value} is not in this shallow clone; run git fetch --unshallow"
        return (f"deployed commit {value} is not in this repository; run git fetch "
                "(was it force-pushed away, or is the SHA wrong?)")
    return f"deployed revision {value!r} names no commit here; run git fetch --tags, or check the source"


def _service_drift(history: History, index: int, spec: ServiceSpec, reading: Reading, commit: str,
                   relevant: Behind, listed: tuple[RelevantCommit, ...], branch: str, now: datetime) -> ServiceDrift:
    counts = history.counts(commit)
    excluded = history.excluded_behind(index, commit)
    oldest = history.on_branch_at[relevant.oldest] if relevant.oldest is not None else None
    age = max(0, int(now.timestamp()) - oldest) if oldest is not None else None
    if commit == history.tip:
        state = State.CURRENT
    elif history.reaches_tip(commit):
        state = State.BEHIND
    else:
        state = State.DIVERGED if counts.behind else State.AHEAD
    status, reason = judge(state, relevant.count, counts.behind, counts.ahead, age, spec.thresholds, branch)
    return ServiceDrift(spec.name, spec.group, status, state, reason, reading.source, reading.value, commit,
                        counts.behind, relevant.count, excluded, counts.ahead, oldest, age, listed, spec.deploy)


def judge(state: State, relevant: int, behind: int, ahead: int, age: int | None,
           limits: EffectiveThresholds, branch: str) -> tuple[Status, str]:
    status = Status.OK
    parts: list[str] = []
    if ahead:
        status = Status.WARNING
        parts.append(f"{plural(ahead, 'commit')} not on {branch}: production runs code the branch does not have")
    if relevant:
        by_count = _level(relevant, limits.warn_commits, limits.critical_commits, inclusive=True)
        by_age = _level(age or 0, limits.warn_after, limits.critical_after, inclusive=False)
        status = worst([status, by_count, by_age])
        parts.append(f"{plural(relevant, 'relevant commit')} behind, oldest {format_age(age)}")
    elif state is State.CURRENT:
        parts.append(f"runs the tip of {branch}")
    elif behind:
        parts.append(f"{plural(behind, 'commit')} behind, none touch its paths")
    return status, "; ".join(parts)


def _level(value: int, warn: int | None, critical: int | None, *, inclusive: bool) -> Status:
    def over(limit: int | None) -> bool:
        return limit is not None and (value >= limit if inclusive else value > limit)

    if over(critical):
        return Status.CRITICAL
    if over(warn):
        return Status.WARNING
    return Status.OK


def record_drift(store: Store, report: DriftReport, alerts: AlertsConfig, mode: AlertMode, *, started_at: datetime,
                 now: datetime) -> str:
    """Store the drift run with one finding per service, and send the notifications that are due; return the
    run's id. Shared by ``deploywatch drift`` and the daemon's drift job."""
    # imported here: measuring drift needs neither the store nor the alert sinks
    from ..notify.dispatch import record_and_notify
    from ..store.records import RunRecord

    status = report.status
    run = RunRecord(id=uuid.uuid4().hex, command="drift", started_at=started_at, finished_at=datetime.now(UTC),
                    run_date=None, status=str(status), exit_code=status.exit_code, score=None,
                    details={"branch": report.branch, "tip": report.tip, "services": len(report.services)})
    findings = [s.finding(report.tip) for s in report.services]
    record_and_notify(store, run, findings, [], alerts, mode, now=now)
    return run.id
