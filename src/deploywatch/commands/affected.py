"""``deploywatch affected``: which services a change touches, and the glob that matched each file."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import GitError, UsageError
from ..core.paths import ServicePaths
from ..core.render import console, emit_json, emit_text, markdown_table, markdown_text, table
from ..core.status import Status
from ..core.text import plural
from ..drift.git import Repo
from ..drift.workspace import Workspace, open_workspace

__all__ = ["AffectedService", "Change", "UnknownService", "commits_touching", "match_services", "render_markdown",
           "run", "since_deployed"]


@dataclass
class AffectedService:
    """One service a change touches: each matching file with the glob that matched it."""

    name: str
    matches: list[tuple[str, str]] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)  # commits in base..head that change a matching file
    base: str | None = None  # with --since deployed: the commit the service runs now

    @property
    def files(self) -> list[str]:
        """The changed files that make the service affected."""
        return [f for f, _ in self.matches]

    def to_json(self) -> dict[str, object]:
        """A ``services[]`` item of ``deploywatch.affected/v1``."""
        return {"name": self.name, "files": self.files,
                "matches": [{"file": f, "glob": g} for f, g in self.matches],
                "excluded": [{"file": f, "glob": g} for f, g in self.excluded],
                "commits": self.commits, "base": self.base}


@dataclass(frozen=True)
class UnknownService:
    """A service whose deployed commit is not known (``--since deployed``): what it would ship cannot be said."""

    name: str
    reason: str

    def to_json(self) -> dict[str, object]:
        """An ``unknown[]`` item of ``deploywatch.affected/v1``."""
        return {"name": self.name, "reason": self.reason}


@dataclass
class Change:
    """What ``affected`` found: the services, those it could not judge, and the revisions it compared."""

    affected: list[AffectedService]
    unknown: list[UnknownService]
    revs: dict[str, str | None]
    files_changed: int


def match_services(services: Sequence[ServicePaths], files: Sequence[str]) -> list[AffectedService]:
    """Services with at least one file matching ``paths`` and no ``exclude``; explain each match."""
    result = []
    for service in services:
        entry = AffectedService(service.name)
        for path in files:
            hit, excluded = service.match(path)
            if hit is None:
                continue
            if excluded is None:
                entry.matches.append((path, hit.pattern))
            else:
                entry.excluded.append((path, excluded.pattern))
        if entry.matches:
            result.append(entry)
    return result


def commits_touching(repo: Repo, service: ServicePaths, base: str, head: str) -> list[str]:
    """Commits in ``base..head`` (newest first, merges left out) that change a file of ``service``: what
    ``git log --no-merges base..head -- PATHS ':!EXCLUDES'`` lists."""
    found = []
    for sha, _, paths in repo.walk([head], [base]):
        if any(hit is not None and excluded is None for hit, excluded in map(service.match, paths)):
            found.append(sha)
    return found


def since_deployed(workspace: Workspace, names: Sequence[str], head: str) -> Change:
    """Per service, what deploying ``head`` now would ship: the files and commits between the commit it runs
    and ``head``. A service whose deployed commit is unknown is reported as such, never as all or nothing."""
    from ..drift.engine import State, resolve_readings

    repo = workspace.repo
    head_sha = repo.resolve(head)
    if head_sha is None:
        raise UsageError(f"--head {head!r} does not name a commit in {repo.path}; run git fetch?")
    deployed = resolve_readings(repo, workspace.read_sources(names))
    shallow = repo.is_shallow()
    change = Change([], [], {"base": "deployed", "head": head_sha, "merge_base": None}, 0)
    changed: set[str] = set()
    for name in names:
        found = deployed[name]
        if found.commit is None:
            if shallow and found.state is State.MISSING:
                raise GitError(f"{name}: deployed commit {found.reading.value} is not in this shallow clone; "
                               "fetch the history (fetch-depth: 0 in actions/checkout, or git fetch --unshallow)")
            change.unknown.append(UnknownService(name, found.reason or "the deployed commit is unknown"))
            continue
        if shallow and not repo.merge_bases([found.commit, head_sha]):
            raise GitError(f"{name}: the shallow clone lacks the history between its deployed commit "
                           f"{found.commit[:12]} and {head}; fetch-depth: 0 in actions/checkout "
                           "(or git fetch --unshallow)")
        files = [os.fsdecode(p) for p in repo.changed_files(found.commit, head_sha)]
        service = workspace.loaded.service_paths(name)
        for entry in match_services([service], files):
            entry.base = found.commit
            entry.commits = commits_touching(repo, service, found.commit, head_sha)
            change.affected.append(entry)
            changed.update(entry.files)
    change.files_changed = len(changed)
    return change


def _changed_files(repo: Repo, base: str | None, head: str, staged: bool,
                   files: Sequence[str]) -> tuple[list[str], dict[str, str | None]]:
    chosen = sum([base is not None, staged, bool(files)])
    if chosen != 1:
        raise UsageError("give exactly one of --base REV, --since deployed, --staged or --files PATH")
    if files:
        return sorted(set(files)), {"base": None, "head": None, "merge_base": None}
    if staged:
        return [os.fsdecode(p) for p in repo.staged_files()], {"base": "INDEX", "head": "HEAD", "merge_base": None}
    assert base is not None
    resolved = repo.resolve_many([base, head])
    for name, flag in ((base, "--base"), (head, "--head")):
        if resolved[name] is None:
            raise UsageError(f"{flag} {name!r} does not name a commit in {repo.path}; run git fetch?")
    base_sha, head_sha = resolved[base], resolved[head]
    assert base_sha is not None and head_sha is not None
    bases = repo.merge_bases([base_sha, head_sha])
    if not bases:
        if repo.is_shallow():
            raise GitError(f"the history is shallow and lacks the merge-base of {base} and {head}; fetch "
                           "more history (git fetch --unshallow, or fetch-depth: 0 in actions/checkout)")
        raise GitError(f"{base} and {head} share no history; there is no merge-base to compare against")
    merge_base = bases[0]
    paths = [os.fsdecode(p) for p in repo.changed_files(merge_base, head_sha)]
    return paths, {"base": base_sha, "head": head_sha, "merge_base": merge_base}


def _check_paths(files: Sequence[str], use_files: bool) -> None:
    """Paths are taken only after ``--files``: a stray word (``affected main``) is not silently a file name."""
    if use_files and not files:
        raise UsageError("--files needs at least one PATH (e.g. --files api/app.py shared/util.py)")
    if files and not use_files:
        raise UsageError(f"unexpected argument {files[0]!r}: give paths after --files "
                         f"(--files {shlex.join(files)}), or a revision with --base")


def run(*, base: str | None, head: str, staged: bool, files: Sequence[str], use_files: bool,
        config_path: Path | None, output_format: str | None, since: str | None = None) -> int:
    """Print the affected services; exit 0, 3 when the change cannot be determined or (``--since deployed``)
    a service's deployed commit is unknown: the run fails closed.

    ``files`` are the paths given after ``--files`` (``use_files``), used instead of asking git."""
    _check_paths(files, use_files)
    if since is not None and (base is not None or staged or files):
        raise UsageError("--since deployed compares each service with its deployed commit: drop --base, "
                         "--staged and --files")
    workspace = open_workspace(config_path)
    names = workspace.select()
    if since is not None:
        change = since_deployed(workspace, names, head)
    else:
        changed, revs = _changed_files(workspace.repo, base, head, staged, files)
        change = Change(match_services([workspace.loaded.service_paths(n) for n in names], changed), [], revs,
                        len(changed))
        merge_base, head_sha = revs["merge_base"], revs["head"]
        if merge_base is not None and head_sha is not None:
            for entry in change.affected:
                entry.commits = commits_touching(workspace.repo, workspace.loaded.service_paths(entry.name),
                                                 merge_base, head_sha)
    _emit(change, names, output_format or "lines")
    return Status.UNKNOWN.exit_code if change.unknown else 0


def _emit(change: Change, names: Sequence[str], fmt: str) -> None:
    affected = change.affected
    if fmt == "json":
        emit_json({"schema": "deploywatch.affected/v1", **change.revs, "files_changed": change.files_changed,
                   "services": [a.to_json() for a in affected], "unknown": [u.to_json() for u in change.unknown]})
    elif fmt == "github":
        from .affected_github import write_github

        write_github(change, names)
    elif fmt == "lines":
        for entry in affected:
            print(entry.name)
    elif fmt == "markdown":
        emit_text(render_markdown(change))
    else:
        rows = [[a.name if i == 0 else "", f, g] for a in affected for i, (f, g) in enumerate(a.matches)]
        rows += [[u.name, "-", f"unknown: {u.reason}"] for u in change.unknown]
        console().print(table([("SERVICE", "left"), ("FILE", "left"), ("MATCHED BY", "left")], rows,
                              title=f"{len(affected)} of {plural(len(names), 'service')} affected by "
                                    f"{plural(change.files_changed, 'changed file')}"))
    for unknown in change.unknown:
        print(f"deploywatch: {unknown.name}: unknown, so what deploying it would ship is unknown: {unknown.reason}",
              file=sys.stderr)


def render_markdown(change: Change) -> str:
    """The affected services as a GitHub-flavoured Markdown table, then those whose deployed commit is unknown."""
    rows = [[a.name, f"`{f}`", f"`{g}`"] for a in change.affected for f, g in a.matches]
    text = markdown_table(["Service", "File", "Matched by"], rows)
    if change.unknown:
        text += "\n\n" + "\n".join(f"- **{u.name}**: unknown ({markdown_text(u.reason)})" for u in change.unknown)
    return text
