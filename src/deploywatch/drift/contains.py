"""Is a commit (or a cherry-pick of it) in each service's deployed commit: what ``contains`` and the dashboard ask."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from ..core.redact import mask
from ..core.render import short
from .engine import resolve_readings
from .git import Repo
from .workspace import Workspace

__all__ = ["ContainsResult", "check_services"]


@dataclass(frozen=True)
class ContainsResult:
    """Whether one service's deployed commit contains the commit."""

    name: str
    deployed_commit: str | None
    contains: bool | None
    via: str | None
    reason: str
    relevant: bool
    deployed_value: str | None = None  # what the source reported, as read
    deployed_source: str = ""

    def to_json(self) -> dict[str, object]:
        """A ``services[]`` item of ``deploywatch.contains/v1``."""
        return {"name": self.name, "deployed_commit": self.deployed_commit,
                "deployed_value": mask(self.deployed_value) if self.deployed_value is not None else None,
                "deployed_source": mask(self.deployed_source), "contains": self.contains,
                "via": self.via, "reason": self.reason, "relevant": self.relevant}


def check_services(workspace: Workspace, target: str, *, is_merge: bool) -> list[ContainsResult]:
    """Whether each service's deployed commit contains ``target``, asking git once per distinct commit."""
    repo = workspace.repo
    names = workspace.select()
    deployed = resolve_readings(repo, workspace.read_sources(names))
    files = repo.commit_files(target)
    specs = {s.name: s for s in workspace.specs(names)}
    cache: dict[str, tuple[bool, str | None, str]] = {}
    target_patch_id = functools.cache(lambda: repo.patch_ids([target]).get(target))  # asked once, if at all
    results = []
    for name in names:
        found = deployed[name]
        relevant = any(specs[name].paths.owns(f) for f in files)
        read = (found.reading.value, found.reading.source)
        if found.commit is None:
            results.append(ContainsResult(name, None, None, None, found.reason or "unknown", relevant, *read))
            continue
        if found.commit not in cache:
            cache[found.commit] = _check(repo, target, found.commit, files, is_merge, target_patch_id)
        contains, via, reason = cache[found.commit]
        results.append(ContainsResult(name, found.commit, contains, via, reason, relevant, *read))
    return results


def _check(repo: Repo, target: str, deployed: str, files: list[bytes], is_merge: bool,
           target_patch_id: Callable[[], str | None]) -> tuple[bool, str | None, str]:
    if repo.is_ancestor(target, deployed):
        return True, "ancestor", f"deployed {short(deployed)} includes it"
    if is_merge:
        return False, None, f"deployed {short(deployed)} does not include this merge"
    if files:
        candidates = repo.commits_touching(deployed, target, files)
        for sha, patch_id in repo.patch_ids(candidates).items():
            if patch_id == target_patch_id():
                return True, "patch-id", f"cherry-picked as {short(sha)} into deployed {short(deployed)}"
    return False, None, f"deployed {short(deployed)} does not include it or a cherry-pick of it"
