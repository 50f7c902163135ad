"""The preflight checks git answers: a clean tree, the branch, the remote, the move, what ships, schema changes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.paths import ServicePaths, compile_glob
from ..core.render import short
from ..core.status import Status
from ..core.text import plural
from ..drift.git import Repo
from ..drift.history import History
from .items import Item, composition

__all__ = ["Shipped", "check_branch", "check_clean", "check_move", "check_schema", "check_ships", "check_synced",
           "local_branch", "relevant_commits"]

_SHOWN_PATHS = 3


@dataclass(frozen=True)
class Shipped:
    """A relevant commit the deploy ships: non-merge, in ``DEPLOYED..TARGET``, touching the service's paths."""

    sha: str
    subject: str
    author: str

    def to_json(self) -> dict[str, str]:
        """A ``ships.commits[]`` item of ``deploywatch.preflight/v1``."""
        return {"sha": self.sha, "subject": self.subject, "author": self.author}


def check_clean(repo: Repo, *, required: bool) -> Item:
    """Whether the work tree and index have no changes (untracked files count: a build may pick them up)."""
    entries = repo.status_entries()
    untracked = [e[3:] for e in entries if e.startswith("??")]
    changed = [e[3:] for e in entries if not e.startswith("??")]
    if not entries:
        return Item("clean", "Working tree clean", Status.OK, "no uncommitted changes")
    parts = [plural(len(changed), "changed file")] if changed else []
    parts += [plural(len(untracked), "untracked file")] if untracked else []
    shown = ", ".join(repr(p) for p in [*changed, *untracked][:_SHOWN_PATHS])
    more = len(entries) - _SHOWN_PATHS
    reason = f"{' and '.join(parts)}: {shown}" + (f" and {more} more" if more > 0 else "")
    if not required:
        return Item("clean", "Working tree clean", Status.OK, f"{reason} (not required: require_clean = false)")
    return Item("clean", "Working tree clean", Status.CRITICAL, f"{reason}; commit or stash them")


def local_branch(repo: Repo, branch: str) -> str:
    """The local branch a required branch names: ``origin/main`` → ``main`` (unless a local ``origin/main``
    exists), ``refs/heads/main`` → ``main``."""
    name = branch.removeprefix("refs/heads/")
    head, sep, rest = name.removeprefix("refs/remotes/").partition("/")
    if sep and head in repo.remotes() and repo.resolve(f"refs/heads/{name}") is None:
        return rest
    return name


def check_branch(repo: Repo, required: str, target: str) -> Item:
    """Whether the target is on the required branch, and the work tree is on it."""
    title = "On the required branch"
    local = local_branch(repo, required)
    tip = repo.resolve(f"refs/heads/{local}")
    if tip is None:
        return Item("branch", title, Status.UNKNOWN, f"branch {local!r} (require_branch) does not exist here")
    current = repo.current_branch()
    where = f"on {current}" if current else "on a detached HEAD"
    if not repo.is_ancestor(target, tip):
        return Item("branch", title, Status.CRITICAL,
                    f"{where}: target {short(target)} is not on {local}; deploy from {local}")
    if current != local:
        return Item("branch", title, Status.WARNING, f"{where}, not {local}; target {short(target)} is on {local}")
    return Item("branch", title, Status.OK, f"on {local}, which contains target {short(target)}")


def _remote_ref(repo: Repo, repo_branch: str, remote: str | None, local: str) -> tuple[str | None, str]:
    """The remote-tracking branch to compare against, or None with the reason."""
    remotes = repo.remotes()
    if not remotes:
        return None, "no remote configured (git remote add …): cannot tell whether the target is pushed"
    head, sep, _ = repo_branch.removeprefix("refs/remotes/").partition("/")
    if sep and head in remotes:
        return repo_branch.removeprefix("refs/remotes/"), ""
    upstream = repo.upstream(local)
    if upstream is not None:
        return upstream, ""
    name = remote or (remotes[0] if len(remotes) == 1 else None)
    if name is not None and repo.resolve(f"refs/remotes/{name}/{local}") is not None:
        return f"{name}/{local}", ""
    return None, f"{local} tracks no remote branch (git push -u, or git fetch)"


def check_synced(repo: Repo, *, repo_branch: str, remote: str | None, required_branch: str, target: str,
                 required: bool) -> Item:
    """Whether the target is pushed to the remote branch and the remote has nothing the target lacks."""
    title = "In sync with the remote"
    local = local_branch(repo, required_branch)
    ref, why = _remote_ref(repo, repo_branch, remote, local)
    if ref is None:
        return Item("synced", title, Status.OK if not required else Status.UNKNOWN,
                    why + (" (not required: require_synced = false)" if not required else ""))
    remote_tip = repo.resolve(f"refs/remotes/{ref}")
    if remote_tip is None:
        return Item("synced", title, Status.UNKNOWN, f"remote branch {ref} does not exist here; run git fetch")
    unpushed = repo.count(target, remote_tip)
    missing = repo.count(remote_tip, target)
    if unpushed:
        status, reason = Status.CRITICAL, (f"target has {plural(unpushed, 'commit')} not on {ref}; push first"
                                           + (f" ({ref} also has {missing} the target lacks)" if missing else ""))
    elif missing:
        status, reason = Status.WARNING, f"{ref} has {plural(missing, 'commit')} the target lacks; pull first?"
    else:
        status, reason = Status.OK, f"target {short(target)} is the tip of {ref}"
    if not required and status is not Status.OK:
        status, reason = Status.OK, f"{reason} (not required: require_synced = false)"
    return Item("synced", title, status, reason)


def check_move(repo: Repo, deployed: str, target: str, *, allow_downgrade: bool) -> tuple[str, Item]:
    """``current``, ``forward``, ``downgrade``, ``diverged`` or ``unrelated``, and how that is judged."""
    title = "Move from deployed to target"
    move_to = f"{short(deployed)} → {short(target)}"
    if deployed == target:
        return "current", Item("move", title, Status.OK, f"{short(target)} is already deployed")
    if repo.is_ancestor(deployed, target):
        ahead = repo.count(target, deployed)
        return "forward", Item("move", title, Status.OK, f"forward: {move_to}, {plural(ahead, 'commit')} ahead")
    if repo.is_ancestor(target, deployed):
        move, reason = "downgrade", (f"downgrade: {move_to} removes {plural(repo.count(deployed, target), 'commit')}"
                                     " the service runs")
    elif repo.merge_bases([deployed, target]):
        move, reason = "diverged", (f"diverged: {move_to} removes {plural(repo.count(deployed, target), 'commit')}"
                                    f" and adds {repo.count(target, deployed)}")
    else:
        move, reason = "unrelated", f"unrelated history: {move_to} share no commit"
    if allow_downgrade:
        return move, Item("move", title, Status.WARNING, f"{reason} (allowed: --allow-downgrade)")
    return move, Item("move", title, Status.CRITICAL, f"{reason}; pass --allow-downgrade if this is intended")


def relevant_commits(repo: Repo, deployed: str, target: str, paths: ServicePaths) -> list[Shipped]:
    """``git rev-list --no-merges --full-history DEPLOYED..TARGET -- <the service's pathspecs>``, newest first,
    from drift's history walk and path matching."""
    history = History(repo, target, [deployed], [paths])
    found = list(history.relevant_behind(0, deployed))
    described = history.describe(found)
    return [Shipped(history.shas[i], described[i].subject, described[i].author) for i in found]


def check_ships(repo: Repo, deployed: str, target: str, paths: ServicePaths) -> tuple[list[Shipped], Item]:
    """What the deploy ships: the service's relevant commits and their composition."""
    title = "What the deploy ships"
    shipped = relevant_commits(repo, deployed, target, paths)
    line = composition([c.subject for c in shipped])
    if shipped:
        authors = sorted({c.author for c in shipped})
        reason = f"{line} by {plural(len(authors), 'author')}"
    elif deployed == target:
        reason = "nothing: the target is deployed"
    else:
        reason = f"no commit in {short(deployed)}..{short(target)} touches {paths.name}'s paths"
    return shipped, Item("ships", title, Status.OK, reason, {"composition": line})


def check_schema(repo: Repo, deployed: str, target: str, globs: Sequence[str]) -> tuple[list[str], Item]:
    """Files matching ``schema_paths`` that differ between the deployed commit and the target (→ warning)."""
    title = "Schema changes"
    if not globs:
        return [], Item("schema", title, Status.OK, "no schema_paths configured")
    matcher = ServicePaths("schema_paths", tuple(compile_glob(g) for g in globs), ())
    changed = [os.fsdecode(p) for p in repo.changed_files(deployed, target) if matcher.owns(p)]
    if not changed:
        return [], Item("schema", title, Status.OK, f"no file under schema_paths changes in "
                                                    f"{short(deployed)}..{short(target)}")
    shown = ", ".join(changed[:_SHOWN_PATHS]) + (f" and {len(changed) - _SHOWN_PATHS} more"
                                                 if len(changed) > _SHOWN_PATHS else "")
    return changed, Item("schema", title, Status.WARNING,
                         f"{plural(len(changed), 'schema file')} change: {shown}; review the migration")
