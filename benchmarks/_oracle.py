"""What git itself says each service's drift is, to hold deploywatch's JSON against.

Counts come straight from ``git rev-list`` (docs/drift-semantics.md). The drift age needs a
little work: a commit's time on the branch is the committer time of the first-parent commit of the tip
that brought it in, which one pass over the widest range computes for every commit at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _synthrepo import git, pathspecs


@dataclass
class Expected:
    """Git's answer for one service."""

    name: str
    deployed: str
    back: int
    commits_behind: int
    relevant: list[str]
    oldest_relevant_at: int | None
    naive_count: int | None = None


@dataclass
class Verdict:
    """Differences between deploywatch's JSON and git, per service (empty when they agree)."""

    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.checked > 0


def on_branch_times(repo: Path, oldest: str, branch: str = "main") -> dict[str, int]:
    """For every commit in ``oldest..branch``: the committer time of the first-parent commit that
    brought it onto the branch (a merge commit for merged work, else the commit itself)."""
    parents: dict[str, list[str]] = {}
    committed: dict[str, int] = {}
    for line in git(repo, "rev-list", "--parents", "--timestamp", f"{oldest}..{branch}").splitlines():
        stamp, sha, *rest = line.split()
        parents[sha] = rest
        committed[sha] = int(stamp)
    chain = git(repo, "rev-list", "--first-parent", f"{oldest}..{branch}").split()
    brought: dict[str, int] = {}
    for merge in reversed(chain):  # oldest first, so everything behind the first parent is seen
        stack = [merge]
        while stack:
            sha = stack.pop()
            if sha in brought or sha not in parents:
                continue
            brought[sha] = committed[merge]
            stack.extend(parents[sha])
    return brought


def expected(repo: Path, name: str, deployed: str, back: int, brought: dict[str, int]) -> Expected:
    """Git's ``commits_behind``, relevant commits and oldest relevant on-branch time for one service."""
    behind = int(git(repo, "rev-list", "--count", f"{deployed}..main"))
    relevant = git(repo, "rev-list", "--no-merges", "--full-history", f"{deployed}..main", "--",
                   *pathspecs(name)).split()
    oldest = min((brought[sha] for sha in relevant), default=None)
    return Expected(name, deployed, back, behind, relevant, oldest)


def _epoch(stamp: object) -> int | None:
    if not isinstance(stamp, str):
        return None
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def iso(epoch: int | None) -> str | None:
    """An epoch as ``…Z`` ISO 8601, or None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compare(report: dict[str, Any], wanted: list[Expected]) -> Verdict:
    """Hold one ``deploywatch.drift/v1`` document against git's answers."""
    verdict = Verdict()
    by_name = {s.get("name"): s for s in report.get("services", []) if isinstance(s, dict)}
    for exp in wanted:
        got = by_name.get(exp.name)
        where = f"{exp.name} (deployed {exp.deployed}, {exp.back} first-parent commits back)"
        if got is None:
            verdict.problems.append(f"{where}: missing from the JSON")
            continue
        verdict.checked += 1
        pairs: list[tuple[str, object, object]] = [
            ("deployed_commit", got.get("deployed_commit"), exp.deployed),
            ("commits_behind", got.get("commits_behind"), exp.commits_behind),
            ("relevant_commits_behind", got.get("relevant_commits_behind"), len(exp.relevant)),
            ("commits_ahead", got.get("commits_ahead"), 0),
            ("state", got.get("state"), "current" if exp.commits_behind == 0 else "behind"),
            ("oldest_relevant_at", _epoch(got.get("oldest_relevant_at")), exp.oldest_relevant_at),
        ]
        if exp.naive_count is not None and exp.naive_count != len(exp.relevant):
            verdict.problems.append(f"{where}: naive rev-list --count {exp.naive_count} "
                                    f"!= rev-list listing {len(exp.relevant)} (benchmark bug)")
        for key, have, want in pairs:
            if have != want:
                if key == "oldest_relevant_at":
                    have, want = got.get(key), iso(exp.oldest_relevant_at)
                verdict.problems.append(f"{where}: {key} deploywatch={have!r} git={want!r}")
        listed = [c.get("sha") for c in got.get("commits", []) if isinstance(c, dict)]
        strays = set(listed) - set(exp.relevant)
        if strays or len(listed) > 20 or len(listed) < min(20, len(exp.relevant)):
            verdict.problems.append(f"{where}: commits lists {len(listed)} shas, {len(strays)} not among "
                                    f"git's {len(exp.relevant)} relevant commits")
    return verdict
