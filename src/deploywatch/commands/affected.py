"""``deploywatch affected``: which services a change touches, and the glob that matched each file."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import GitError, UsageError
from ..core.paths import ServicePaths
from ..core.render import console, emit_json, emit_text, markdown_table, table
from ..core.text import plural
from ..drift.git import Repo
from ..drift.workspace import open_workspace

__all__ = ["AffectedService", "match_services", "run"]


@dataclass
class AffectedService:
    """One service a change touches: each matching file with the glob that matched it."""

    name: str
    matches: list[tuple[str, str]] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """A ``services[]`` item of ``deploywatch.affected/v1``."""
        return {"name": self.name, "files": [f for f, _ in self.matches],
                "matches": [{"file": f, "glob": g} for f, g in self.matches],
                "excluded": [{"file": f, "glob": g} for f, g in self.excluded]}


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


def _changed_files(repo: Repo, base: str | None, head: str, staged: bool,
                   files: Sequence[str]) -> tuple[list[str], dict[str, str | None]]:
    chosen = sum([base is not None, staged, bool(files)])
    if chosen != 1:
        raise UsageError("give exactly one of --base REV, --staged or --files PATH")
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
        config_path: Path | None, output_format: str | None) -> int:
    """Print the affected services; exit 0 (3 when the change cannot be determined).

    ``files`` are the paths given after ``--files`` (``use_files``), used instead of asking git."""
    _check_paths(files, use_files)
    workspace = open_workspace(config_path)
    changed, revs = _changed_files(workspace.repo, base, head, staged, files)
    names = workspace.select()
    affected = match_services([workspace.loaded.service_paths(n) for n in names], changed)
    document = {"schema": "deploywatch.affected/v1", **revs, "files_changed": len(changed),
                "services": [a.to_json() for a in affected]}
    fmt = output_format or "lines"
    if fmt == "json":
        emit_json(document)
    elif fmt == "github":
        _github_output([a.name for a in affected])
        for entry in affected:
            print(entry.name)
    elif fmt == "lines":
        for entry in affected:
            print(entry.name)
    elif fmt == "markdown":
        emit_text(markdown_table(["Service", "File", "Matched by"],
                                 [[a.name, f"`{f}`", f"`{g}`"] for a in affected for f, g in a.matches]))
    else:
        rows = [[a.name if i == 0 else "", f, g] for a in affected for i, (f, g) in enumerate(a.matches)]
        console().print(table([("SERVICE", "left"), ("FILE", "left"), ("MATCHED BY", "left")], rows,
                              title=f"{len(affected)} of {plural(len(names), 'service')} affected by "
                                    f"{plural(len(changed), 'changed file')}"))
    return 0


def _github_output(names: list[str]) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        raise UsageError("--format github needs $GITHUB_OUTPUT (set by GitHub Actions)")
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(f"services={json.dumps(names)}\nany={'true' if names else 'false'}\n")
    except OSError as exc:
        raise UsageError(f"cannot write $GITHUB_OUTPUT ({target}): {exc.strerror}") from None
