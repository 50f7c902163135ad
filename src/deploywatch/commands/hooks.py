"""``deploywatch hooks install|uninstall|run``: git hooks that name the services a push or a merge affects."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..core.errors import DeploywatchError, UsageError
from ..core.status import Status
from ..deploy.hooks import BLOCK_EXIT, HOOK_TYPES, hooks_dir, install_hook, render_hook, uninstall_hook
from ..drift.workspace import Workspace, open_workspace
from .affected import match_services

__all__ = ["PushedRef", "install", "pushed_refs", "run_hook", "uninstall"]


@dataclass(frozen=True)
class PushedRef:
    """One ref of a push: its name, the commit pushed and the commit the remote had (None: a new ref)."""

    name: str
    local: str
    remote: str | None


def _is_zero(sha: str) -> bool:
    return not sha.strip("0")


def pushed_refs(stdin: str, env: Mapping[str, str]) -> list[PushedRef]:
    """The refs of a push: git's ``<local ref> <local sha> <remote ref> <remote sha>`` lines, or the pre-commit
    framework's ``PRE_COMMIT_FROM_REF``/``PRE_COMMIT_TO_REF``; deletions are skipped."""
    if env.get("PRE_COMMIT_TO_REF"):
        source = env.get("PRE_COMMIT_FROM_REF") or ""
        return [PushedRef(env.get("PRE_COMMIT_REMOTE_BRANCH") or "HEAD", env["PRE_COMMIT_TO_REF"],
                          None if not source or _is_zero(source) else source)]
    refs = []
    for line in stdin.splitlines():
        fields = line.split()
        if len(fields) != 4:
            continue
        _local_ref, local_sha, remote_ref, remote_sha = fields
        if _is_zero(local_sha):  # a deletion ships no code
            continue
        refs.append(PushedRef(remote_ref, local_sha, None if _is_zero(remote_sha) else remote_sha))
    return refs


def install(*, config_path: Path | None, hooks: Sequence[str], block_on_drift: bool, force: bool) -> int:
    """Install deploywatch's hooks (pre-push when none is named) into the repository's hooks directory."""
    workspace = open_workspace(config_path)
    directory = hooks_dir(workspace.repo)
    config = workspace.loaded.path.resolve()
    for hook in hooks or ("pre-push",):
        script = render_hook(hook, python=sys.executable, config=config,
                             block_on_drift=block_on_drift and hook == "pre-push")
        print(install_hook(directory, hook, script, force=force).describe())
    return 0


def uninstall(*, config_path: Path | None) -> int:
    """Remove deploywatch's hooks; put back the hooks they had replaced exactly as they were."""
    workspace = open_workspace(config_path)
    directory = hooks_dir(workspace.repo)
    for hook in HOOK_TYPES:
        print(uninstall_hook(directory, hook).describe())
    return 0


def run_hook(hook: str, *, config_path: Path | None, block_on_drift: bool, now: datetime,
             stdin: str | None = None) -> int:
    """What an installed hook does; a failure of deploywatch is one line and exit 0, never a blocked push."""
    try:
        workspace = open_workspace(config_path)
        if hook == "pre-push":
            text = stdin if stdin is not None else ("" if sys.stdin.isatty() else sys.stdin.read())
            return _pre_push(workspace, pushed_refs(text, os.environ), block_on_drift=block_on_drift, now=now)
        if hook == "post-merge":
            return _post_merge(workspace, now=now)
        raise UsageError(f"unknown hook {hook!r}; known: {', '.join(HOOK_TYPES)}")
    except DeploywatchError as exc:
        print(f"deploywatch: {exc} ({hook} hook: not blocking)", file=sys.stderr)
        return 0


def _affected(workspace: Workspace, base: str, head: str) -> tuple[list[str], int]:
    """The services changed between the merge-base of ``base`` and ``head`` and ``head``, and the files count."""
    repo = workspace.repo
    bases = repo.merge_bases([base, head])
    if not bases:
        raise UsageError(f"{base[:12]} and {head[:12]} share no history; cannot tell what changed")
    changed = [os.fsdecode(p) for p in repo.changed_files(bases[0], head)]
    names = workspace.select()
    found = match_services([workspace.loaded.service_paths(n) for n in names], changed)
    return [a.name for a in found], len(changed)


def _pre_push(workspace: Workspace, refs: Sequence[PushedRef], *, block_on_drift: bool, now: datetime) -> int:
    services = workspace.loaded.config.services
    affected: list[str] = []
    for ref in refs:
        remote = ref.remote if ref.remote and workspace.repo.resolve(ref.remote) else None
        base = remote or workspace.tip()  # a new ref (or one git lacks): compared with the configured branch
        names, files = _affected(workspace, base, ref.local)
        print(f"deploywatch: {ref.name}: {len(names)} of {len(services)} services affected ({files} files changed)")
        width = max((len(n) for n in names), default=0)
        for name in names:
            command = services[name].deploy
            print(f"  {name:<{width}}  " + (f"deploy: {command}" if command else "(no deploy command configured)"))
        affected += [n for n in names if n not in affected]
    if not block_on_drift or not affected:
        return 0
    report = workspace.drift(affected, now=now)
    critical = [s for s in report.services if s.status is Status.CRITICAL]
    for service in critical:
        print(f"deploywatch: {service.name} drift is critical: {service.reason}")
    if critical:
        print("deploywatch: push blocked (--block-on-drift); deploy first, or push with git push --no-verify")
        return BLOCK_EXIT
    return 0


def _post_merge(workspace: Workspace, *, now: datetime) -> int:
    repo = workspace.repo
    before, after = repo.resolve("ORIG_HEAD"), repo.resolve("HEAD")
    if before is None or after is None:
        raise UsageError("no ORIG_HEAD: nothing to compare the merge with")
    names, files = _affected(workspace, before, after)
    print(f"deploywatch: the merge ({before[:8]}..{after[:8]}) affects {len(names)} of "
          f"{len(workspace.loaded.config.services)} services ({files} files changed)")
    if not names:
        return 0
    report = workspace.drift(names, now=now)
    width = max(len(n) for n in names)
    for service in report.services:
        detail = service.composition or service.reason
        print(f"  {service.name:<{width}}  {service.status:<8}  {detail}")
    return 0
