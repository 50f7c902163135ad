"""An in-memory model of the demo repository's history, written as a git fast-import stream later.

:class:`History` keeps one file tree per line of development (``main`` and open feature branches),
records commits and merges with fast-import marks, and answers the questions the demo's promises
depend on (which commits are behind a deployed commit, which of them touch a service, when each
reached ``main``), so the builder can report facts that tests then check against git itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from random import Random

from ..core.paths import ServicePaths
from .content import Person

__all__ = ["Change", "History", "Line", "PlannedCommit", "PlannedTag"]

MAIN = "main"


@dataclass(frozen=True)
class Change:
    """One file change of a commit: new content, or ``None`` to delete the file."""

    path: str
    content: str | None
    executable: bool = False


@dataclass(frozen=True)
class PlannedCommit:
    """A commit to write: its mark, parents (marks, first parent first), people, time and changes."""

    mark: int
    ref: str
    parents: tuple[int, ...]
    author: Person
    committer: Person
    time: int
    message: str
    changes: tuple[Change, ...]

    @property
    def subject(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class PlannedTag:
    """An annotated tag on the commit with ``mark``."""

    name: str
    mark: int
    tagger: Person
    time: int
    message: str


@dataclass
class Line:
    """A line of development: ``main`` or a feature branch, with its own tree and tip."""

    name: str
    tree: dict[str, str]
    tip: int | None
    ref: str = f"refs/heads/{MAIN}"
    head: str = ""  # "owner/branch" as a pull-request merge message names it
    pr_number: int = 0
    touched: dict[str, str | None] = field(default_factory=dict)
    commits: int = 0
    title: str = ""


class History:
    """Commits and tags in the order they will be written (parents always before children)."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng
        self.commits: list[PlannedCommit] = []
        self.tags: list[PlannedTag] = []
        self.main = Line(MAIN, {}, None)
        self.open: dict[str, Line] = {}
        self.locked: dict[str, str] = {}  # path → the branch that changes it until merged
        self.reserved: set[str] = set()  # paths only scripted commits may touch
        self._by_mark: dict[int, PlannedCommit] = {}

    # ------------------------------------------------------------ writing

    def commit(self, line: Line, when: int, author: Person, message: str, changes: Iterable[Change],
               *, committer: Person | None = None) -> int:
        """Record a commit of ``changes`` on ``line``; return its mark."""
        changes = tuple(changes)
        for change in changes:
            old = line.tree.get(change.path)
            if change.content is None:
                assert old is not None, f"delete of missing {change.path}"
                del line.tree[change.path]
            else:
                assert old != change.content, f"no-op change of {change.path}"
                line.tree[change.path] = change.content
            if line is not self.main:
                owner = self.locked.setdefault(change.path, line.name)
                assert owner == line.name, f"{change.path} is being changed on {owner}"
                line.touched[change.path] = change.content
            else:
                assert change.path not in self.locked, f"{change.path} is locked by a branch"
        parents = (line.tip,) if line.tip is not None else ()
        line.commits += 1
        line.title = line.title or message.split("\n", 1)[0]
        return self._add(line.ref, parents, author, committer or author, when, message, changes, line)

    def branch(self, name: str, owner: str, pr_number: int, *, keep_ref: bool = False) -> Line:
        """Start feature branch ``name`` at the tip of ``main``.

        Branches that will be merged are written through ``main``'s ref (every commit names its parent,
        so the ref ends at main's tip); ``keep_ref`` gives the branch a ref of its own that outlives the build.
        """
        assert name not in self.open, name
        ref = f"refs/heads/{name}" if keep_ref else f"refs/heads/{MAIN}"
        line = Line(name, dict(self.main.tree), self.main.tip, ref, f"{owner}/{name}", pr_number)
        self.open[name] = line
        return line

    def merge(self, line: Line, when: int, merger: Person, committer: Person) -> int:
        """Merge ``line`` into ``main`` the way a pull-request merge button does; return the mark."""
        assert line.tip is not None and self.main.tip is not None and line.commits > 0
        changes = tuple(Change(p, c) for p, c in sorted(line.touched.items()) if self.main.tree.get(p) != c)
        for change in changes:
            if change.content is None:
                self.main.tree.pop(change.path, None)
            else:
                self.main.tree[change.path] = change.content
        for path in line.touched:
            del self.locked[path]
        del self.open[line.name]
        message = f"Merge pull request #{line.pr_number} from {line.head}\n\n{line.title}\n"
        return self._add(f"refs/heads/{MAIN}", (self.main.tip, line.tip), merger, committer, when, message,
                         changes, self.main)

    def tag(self, name: str, mark: int, tagger: Person, when: int, message: str) -> None:
        """Record an annotated tag."""
        self.tags.append(PlannedTag(name, mark, tagger, when, message))

    def _add(self, ref: str, parents: tuple[int, ...], author: Person, committer: Person, when: int,
             message: str, changes: tuple[Change, ...], line: Line) -> int:
        if self.commits:
            assert when >= self.commits[-1].time, "commits must be recorded in time order"
        mark = len(self.commits) + 1
        planned = PlannedCommit(mark, ref, parents, author, committer, when,
                                message if message.endswith("\n") else message + "\n", changes)
        self.commits.append(planned)
        self._by_mark[mark] = planned
        line.tip = mark
        return mark

    # ------------------------------------------------------------ choosing files

    def pick(self, line: Line, root: str, *, suffixes: tuple[str, ...] = (".py",)) -> str | None:
        """A random file under ``root`` that ``line`` may change now, or None when there is none."""
        prefix = root.rstrip("/") + "/"
        candidates = sorted(
            p for p in line.tree
            if p.startswith(prefix) and p.endswith(suffixes) and p not in self.reserved
            and self.locked.get(p, line.name) == line.name and (line is not self.main or p not in self.locked)
        )
        return self.rng.choice(candidates) if candidates else None

    def is_free(self, path: str) -> bool:
        """True when no line has ``path`` and no branch has claimed it."""
        return (path not in self.main.tree and path not in self.locked
                and all(path not in b.tree for b in self.open.values()))

    # ------------------------------------------------------------ questions

    def get(self, mark: int) -> PlannedCommit:
        """The commit with ``mark``."""
        return self._by_mark[mark]

    def ancestors(self, mark: int) -> set[int]:
        """``mark`` and every commit reachable from it."""
        seen = {mark}
        stack = [mark]
        while stack:
            for parent in self._by_mark[stack.pop()].parents:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen

    def on_branch_at(self, tip: int) -> dict[int, int]:
        """For each commit reachable from ``tip``: the time of the first-parent commit that brought it in."""
        result: dict[int, int] = {}
        current: int | None = tip
        while current is not None:
            commit = self._by_mark[current]
            first_parent = commit.parents[0] if commit.parents else None
            before = self.ancestors(first_parent) if first_parent is not None else set()
            for mark in self.ancestors(current) - before:
                result[mark] = commit.time
            current = first_parent
        return result

    def relevant(self, marks: Iterable[int], service: ServicePaths) -> list[int]:
        """The non-merge commits among ``marks`` that change a file ``service`` owns."""
        return sorted(m for m in marks
                      if len(self._by_mark[m].parents) <= 1
                      and any(service.owns(c.path) for c in self._by_mark[m].changes))
