"""Everything a command needs before it measures: the config, the repository, the tip, the services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import DRIFT_SECTIONS, LoadedConfig, load_config
from ..core.errors import GitError, UsageError
from . import DEFAULT_MAX_COMMITS, DriftReport, ServiceSpec, measure_drift
from .git import Repo
from .sources import Reading, read_all, source_for
from .walkcache import walk_cache

if TYPE_CHECKING:
    from .prefetch import Prefetch

__all__ = ["Workspace", "open_workspace"]


@dataclass(frozen=True)
class Workspace:
    """A loaded config and its repository."""

    loaded: LoadedConfig
    repo: Repo

    @property
    def branch(self) -> str:
        """The ref whose tip should be deployed."""
        return self.loaded.config.repo.branch

    def fetch(self) -> None:
        """``git fetch`` when ``repo.fetch`` is set: ``repo.remote``, else the remote ``repo.branch`` names."""
        if not self.loaded.config.repo.fetch:
            return
        remote = self.loaded.config.repo.remote
        if remote is None:
            head, sep, _ = self.branch.removeprefix("refs/remotes/").partition("/")
            remote = head if sep and head in self.repo.remotes() else None
        self.repo.fetch(remote)

    def tip(self) -> str:
        """The branch tip's full SHA."""
        tip = self.repo.resolve(self.branch)
        if tip is None:
            raise GitError(f"branch {self.branch!r} (repo.branch) does not exist in {self.repo.path}")
        return tip

    def select(self, names: Sequence[str] = ()) -> list[str]:
        """The services named (all, in config order, when none are); unknown names are an error."""
        known = list(self.loaded.config.services)
        if not known:
            raise UsageError(f"no services are configured in {self.loaded.path} (add [services.NAME] with paths "
                             "and a deployed source)")
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UsageError(f"unknown service {unknown[0]!r}; configured: {', '.join(known)}")
        wanted = set(names)
        return [n for n in known if not wanted or n in wanted]

    def specs(self, names: Sequence[str]) -> list[ServiceSpec]:
        """The drift engine's view of each named service."""
        services = self.loaded.config.services
        return [ServiceSpec(n, self.loaded.service_paths(n), self.loaded.thresholds(n), services[n].group,
                            services[n].deploy) for n in names]

    def drift(self, names: Sequence[str] = (), *, now: datetime, max_commits: int = DEFAULT_MAX_COMMITS,
              prefetch: Prefetch | None = None) -> DriftReport:
        """Read every selected service's deployed source (concurrently) and measure drift."""
        selected = self.select(names)
        self.fetch()
        tip = self.tip()
        readings = self.read_sources(selected)
        return measure_drift(self.repo, self.branch, tip, self.specs(selected), readings, now=now,
                             max_commits=max_commits, started=prefetch.take() if prefetch else None,
                             cache=walk_cache())

    def read_sources(self, names: Sequence[str]) -> dict[str, Reading]:
        """Ask every named service's deployed source (concurrently, bounded)."""
        services = self.loaded.config.services
        return read_all({n: source_for(self.loaded, services[n].deployed, n) for n in names})


def open_workspace(config_path: Path | str | None) -> Workspace:
    """Load the config (found by walking up when ``config_path`` is None) and check the repository."""
    return workspace_for(load_config(config_path, sections=DRIFT_SECTIONS))


def workspace_for(loaded: LoadedConfig) -> Workspace:
    """The workspace of an already loaded config (the repository checked)."""
    repo = Repo(loaded.repo_path, timeout=float(loaded.config.repo.timeout))
    repo.check()
    return Workspace(loaded, repo)

