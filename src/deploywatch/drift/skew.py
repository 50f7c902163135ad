"""Skew: services in one ``group`` whose deployed commits differ in code they share.

Two services that both build from ``shared/**`` but run different commits may disagree: a
validation added for one is not yet in the other. From the drift walk, for each pair in a group,
deploywatch lists the non-merge commits one runs and the other does not that change a file
both services own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core.status import Status, worst
from . import DriftReport, ServiceDrift

__all__ = ["GroupSkew", "SkewCommit", "SkewPair", "find_skew"]


@dataclass(frozen=True)
class SkewCommit:
    """A commit in shared code that one service runs and another does not."""

    sha: str
    subject: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class SkewPair:
    """``service`` runs ``commits`` (in code it shares with ``missing_in``) that ``missing_in`` does not."""

    service: str
    missing_in: str
    commits: tuple[SkewCommit, ...]


@dataclass(frozen=True)
class GroupSkew:
    """Skew within one group."""

    name: str
    services: tuple[tuple[str, str | None], ...]
    pairs: tuple[SkewPair, ...]
    unknown: tuple[str, ...]
    deployed: tuple[dict[str, str | None], ...] = ()  # per service: ServiceDrift.deployed_json()

    @property
    def status(self) -> Status:
        """warning when members differ in shared code, unknown when a member's commit is unknown."""
        return worst([Status.WARNING if self.pairs else Status.OK,
                      Status.UNKNOWN if self.unknown else Status.OK])

    def to_json(self) -> dict[str, object]:
        """A ``groups[]`` item of ``deploywatch.skew/v1``."""
        return {"name": self.name, "status": str(self.status),
                "services": [{"name": n, **(self.deployed[i] if self.deployed else {"deployed_commit": c})}
                             for i, (n, c) in enumerate(self.services)],
                "unknown": list(self.unknown),
                "skew": [{"service": p.service, "missing_in": p.missing_in,
                          "commits": [{"sha": c.sha, "subject": c.subject, "files": list(c.files)}
                                      for c in p.commits]} for p in self.pairs]}


def find_skew(report: DriftReport, groups: Sequence[str] = ()) -> list[GroupSkew]:
    """Skew in every group with two or more services (or only in ``groups``)."""
    history = report.history
    assert history is not None
    bit = {s.name: 1 << i for i, s in enumerate(report.services)}
    members: dict[str, list[ServiceDrift]] = {}
    for service in report.services:
        if service.group and (not groups or service.group in groups):
            members.setdefault(service.group, []).append(service)
    # (group, service, missing_in) → [(commit index, shared files)]; subjects are fetched once for all
    found: dict[tuple[str, str, str], list[tuple[int, list[str]]]] = {}
    for group, services in members.items():
        known = [s for s in services if s.deployed_commit]
        for a in known:
            for b in known:
                if a.deployed_commit == b.deployed_commit:
                    continue
                both = bit[a.name] | bit[b.name]
                commits = [(i, files) for i in history.only_in(a.deployed_commit or "", b.deployed_commit or "")
                           if (files := history.owned_files(i, both))]
                if commits:
                    found[group, a.name, b.name] = commits
    described = history.describe(sorted({i for commits in found.values() for i, _ in commits}))
    return [
        GroupSkew(group, tuple((s.name, s.deployed_commit) for s in services),
                  tuple(SkewPair(a, b, tuple(SkewCommit(history.shas[i], described[i].subject, tuple(files))
                                             for i, files in commits))
                        for (g, a, b), commits in found.items() if g == group),
                  tuple(s.name for s in services if not s.deployed_commit),
                  tuple(s.deployed_json() for s in services))
        for group, services in members.items() if len(services) > 1
    ]
