"""Git itself, asked the questions whose answers every drift number must equal (docs/drift-semantics.md)."""

from __future__ import annotations

from collections.abc import Sequence

from testing.gitrepo import GitRepo


def pathspecs(paths: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """``:(glob)P`` … ``:(glob,exclude)E`` …"""
    return [f":(glob){p}" for p in paths] + [f":(glob,exclude){e}" for e in exclude]


def commits_behind(repo: GitRepo, deployed: str, tip: str) -> int:
    """``git rev-list --count DEPLOYED..TIP``."""
    return int(repo.git("rev-list", "--count", f"{deployed}..{tip}"))


def commits_ahead(repo: GitRepo, deployed: str, tip: str) -> int:
    """``git rev-list --count TIP..DEPLOYED``."""
    return int(repo.git("rev-list", "--count", f"{tip}..{deployed}"))


def relevant_commits(repo: GitRepo, deployed: str, tip: str, paths: Sequence[str],
                     exclude: Sequence[str] = ()) -> list[str]:
    """``git rev-list --no-merges --full-history DEPLOYED..TIP -- pathspecs``."""
    out = repo.git("rev-list", "--no-merges", "--full-history", f"{deployed}..{tip}", "--",
                   *pathspecs(paths, exclude))
    return out.split()


def relevant_commits_behind(repo: GitRepo, deployed: str, tip: str, paths: Sequence[str],
                            exclude: Sequence[str] = ()) -> int:
    """``git rev-list --count --no-merges --full-history DEPLOYED..TIP -- pathspecs``."""
    return int(repo.git("rev-list", "--count", "--no-merges", "--full-history", f"{deployed}..{tip}", "--",
                        *pathspecs(paths, exclude)))


def on_branch_at(repo: GitRepo, commit: str, tip: str) -> int:
    """Committer time of the oldest first-parent commit of ``tip`` that contains ``commit``."""
    chain = repo.git("rev-list", "--first-parent", "--format=%H %ct", "--no-commit-header", tip).splitlines()
    found: int | None = None
    for line in chain:  # newest first: keep the last (oldest) that still contains the commit
        sha, when = line.split()
        proc_ok = _is_ancestor(repo, commit, sha)
        if not proc_ok:
            break
        found = int(when)
    assert found is not None, f"{commit} is not on {tip}"
    return found


def _is_ancestor(repo: GitRepo, ancestor: str, descendant: str) -> bool:
    try:
        repo.git("merge-base", "--is-ancestor", ancestor, descendant)
    except AssertionError:
        return False
    return True


def ls_files(repo: GitRepo, pattern: str) -> set[str]:
    """``git ls-files ':(glob)PATTERN'``."""
    out = repo.git("ls-files", "-z", "--", f":(glob){pattern}")
    return {p for p in out.split("\0") if p}
