"""``deploywatch contains COMMIT``: is a commit (or a cherry-pick of it) deployed, and where?"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..core.durations import format_timestamp
from ..core.errors import UsageError
from ..core.redact import mask
from ..core.render import console, emit_json, emit_text, markdown_table, short, styled, table
from ..drift import resolve_readings
from ..drift.git import Repo
from ..drift.workspace import Workspace, open_workspace

__all__ = ["ContainsResult", "run"]


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


def run(commit: str, *, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Check every service; exit 0 when all known contain it, 1 when some do not, 3 when any is unknown."""
    workspace = open_workspace(config_path)
    repo = workspace.repo
    workspace.fetch()
    target = repo.resolve(commit)
    if target is None:
        raise UsageError(f"{commit!r} does not name a commit in {repo.path}; run git fetch, or check the SHA")
    described = repo.describe([target])[target]
    results = check_services(workspace, target, is_merge=len(described.parents) > 1)
    document = {"schema": "deploywatch.contains/v1", "generated_at": format_timestamp(now), "commit": target,
                "subject": described.subject, "services": [r.to_json() for r in results]}
    if output_format == "json":
        emit_json(document)
    else:
        _render(target, described.subject, results, markdown=output_format == "markdown")
    if any(r.contains is None for r in results):
        return 3
    return 1 if any(r.contains is False for r in results) else 0


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


def _render(target: str, subject: str, results: list[ContainsResult], *, markdown: bool) -> None:
    rows = [[r.name, short(r.deployed_commit), _word(r.contains), r.via or "-", "yes" if r.relevant else "no",
             r.reason] for r in results]
    if markdown:
        emit_text(f"### Is `{short(target)}` {subject} deployed?\n")
        emit_text(markdown_table(["Service", "Deployed", "Contains", "Via", "Touches its paths", "Reason"],
                                 [[row[0], f"`{row[1]}`", *row[2:]] for row in rows]))
        return
    for row, result in zip(rows, results, strict=True):
        row[2] = styled(row[2], _style(result.contains))
    console().print(table([("SERVICE", "left"), ("DEPLOYED", "left"), ("CONTAINS", "left"), ("VIA", "left"),
                           ("TOUCHES PATHS", "left"), ("REASON", "left")], rows, title=f"{short(target)} {subject}"))


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


def _word(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def _style(value: bool | None) -> str:
    return {True: "green", False: "yellow", None: "magenta"}[value]
