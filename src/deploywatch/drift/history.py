"""One history walk and the in-memory ancestry every drift number is read from.

Instead of one ``git rev-list -- paths`` per service, deploywatch walks the commits reachable from
the branch tip and every deployed commit, minus what all of them share (their common ancestors),
once, with the files each commit changed. While reading the walk (children before parents, as git
streams it) it propagates a bitmask per commit: bit *k* is set when head *k* (the tip or a deployed
commit) can reach it. ``DEPLOYED..TIP`` is then "tip bit set, deployed bit clear", and a commit is
relevant to a service when it is not a merge and changed a path the service owns.

With a walk cache (:mod:`deploywatch.drift.walkcache`) the entries come already classified, from the
walk kept by the last run and the diffs of the commits it does not know; the rest is the same.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import TypeVar

from ..core.paths import PathClassifier, ServicePaths
from .git import Commit, Repo
from .keptgraph import Ancestry, Graph, Grown, numbered, subgraph
from .touches import Behind, Touches
from .walkcache import ClassifiedEntry, KeptWalk, WalkCache, classify_walk
from .walkparse import WalkEntry, parse_walk

__all__ = ["Behind", "HeadCounts", "History", "StartedWalk", "start_walk"]

_T = TypeVar("_T")

# Commits described (author, subject, committer time: what their SHA names, whatever the repository), up to a bound.
_DESCRIBED: dict[str, Commit] = {}
_DESCRIBED_KEPT = 200_000


@dataclass(frozen=True, slots=True)
class HeadCounts:
    """Commit counts of one head against the tip."""

    behind: int
    ahead: int


@dataclass
class StartedWalk:
    """A history walk under way: git is running, ``entries`` yields commits as its output arrives (None: the
    walk with paths is not started; the history reads it from the walk cache or starts it)."""

    heads: list[str]
    boundary: list[str]
    entries: Iterator[WalkEntry] | None
    first_parent_times: Callable[[], dict[str, int]]  # Repo.first_parent_times, also under way
    cancel: Callable[[], None] = field(default=lambda: None)


def start_walk(repo: Repo, heads: Sequence[str],
               relay: Callable[[Generator[bytes, None, None]], Iterator[bytes]] | None = None, *,
               with_paths: bool = True) -> StartedWalk:
    """Start the walk from ``heads`` (the tip first) down to their common ancestors; ``relay`` may
    hand git's output on through another thread (see :mod:`deploywatch.drift.prefetch`). Without
    ``with_paths`` only the first-parent chain is started (for a history read from the walk cache)."""
    tip = heads[0]
    boundary = repo.merge_bases(heads, octopus=True) if len(heads) > 1 else [tip]
    if not with_paths:
        return StartedWalk(list(heads), boundary, None, repo.first_parent_times(tip, boundary))
    output = repo.walk_output(heads, boundary)  # git starts walking now, and so does the shorter walk below
    entries = parse_walk(relay(output) if relay else output)
    # Closing the stream stops git (with a relay, its owner says how to stop it).
    return StartedWalk(list(heads), boundary, entries, repo.first_parent_times(tip, boundary), output.close)


class History:
    """The walk from ``tip`` and ``heads`` with ancestry masks and which commits touch which services."""

    def __init__(self, repo: Repo, tip: str, heads: Sequence[str], services: Sequence[ServicePaths],
                 started: StartedWalk | None = None, cache: WalkCache | None = None) -> None:
        self.repo = repo
        self.tip = tip
        self.heads = list(dict.fromkeys([tip, *heads]))
        self.head_bit = {sha: 1 << k for k, sha in enumerate(self.heads)}
        self.services = list(services)
        self.classifier = PathClassifier(self.services)
        self.shas: list[str] = []
        self.files: Mapping[int, list[bytes]] = {}  # paths of commits that touch any service
        self.masks: list[int] = []
        kept = cache.open(repo, self.services) if cache is not None else None
        if kept is not None and kept.graph is not None:
            self.classifier.learn(zip(kept.graph.table, kept.graph.classes, strict=True))
        if started is not None and started.heads != self.heads:
            started.cancel()  # started for other heads: of no use here
            started = None
        grown = kept.extend(repo, self.heads, self.classifier) if kept is not None and started is None else None
        # per commit: the services it touches (as a bitmask), and of those the ones it is relevant to; what a walk
        # recorded for the graph to keep
        positives, relevants, walked = (self._grown(grown) if grown is not None
                                        else self._walked(repo, started, kept))
        self.mask_counts = Counter(self.masks)
        # Each distinct mask numbered (a few per head): a head's range is then one flag per number, and a touch list
        # is filtered in C, with no arithmetic on (heads)-bit integers per commit.
        self._distinct_masks = list(self.mask_counts)
        self._mask_number = list(map({mask: k for k, mask in enumerate(self._distinct_masks)}.__getitem__,
                                     self.masks))
        self._behind_flags: dict[int, bytes] = {}
        self._touches = Touches(self._newest_first(), self._mask_number, len(self.services), positives, relevants)
        if kept is not None:
            if walked is not None:
                kept.save(walked.graph(self, positives, relevants), self.classifier)
            elif grown is not None and grown.changed:
                kept.keep(grown, self.classifier)

    def _walked(self, repo: Repo, started: StartedWalk | None,
                kept: KeptWalk | None) -> tuple[list[int], list[int], _Columns | None]:
        """The history from git's walk (with the masks of commits the kept walk knows); the commits' service masks,
        and (with a walk cache) what the walk recorded for the graph to keep."""
        walk = started or start_walk(repo, self.heads, with_paths=kept is None)
        if kept is not None:
            entries = kept.walk(repo, walk.heads, walk.boundary, self.classifier, walk.entries, walk.cancel)
        else:
            entries = classify_walk(walk.entries or repo.walk(walk.heads, walk.boundary), self.classifier)
        keep = _Columns() if kept is not None else None
        positives: list[int] = []
        relevants: list[int] = []
        fp_of, fp_shas = self._propagate(entries, positives, relevants, keep)
        self.branch_point = fp_of  # per commit: its index in first_parent (-1: not on the branch)
        self.first_parent = dict(zip(fp_shas, range(len(fp_shas)), strict=True))  # the tip's first-parent chain
        times = walk.first_parent_times()
        fp_times = [*map(times.__getitem__, fp_shas), -1]  # [-1]: not on the branch
        # Committer time of the first-parent commit of the tip that brought each commit in (or -1).
        self.on_branch_at = list(map(fp_times.__getitem__, fp_of))
        self.index = dict(zip(self.shas, range(len(self.shas)), strict=True))
        if keep is not None:
            keep.times = times
        return positives, relevants, keep

    def _grown(self, grown: Grown) -> tuple[list[int], list[int], None]:
        """The history from the kept graph extended by the new commits (see :mod:`.keptgraph`); column operations
        in C, not a Python step per commit (a warm run's budget is a fraction of one ``git log``)."""
        graph, order = grown.graph, grown.order
        whole = len(order) == len(graph.shas)  # the usual case: every commit of the graph is in today's range

        def pick(column: list[_T]) -> list[_T]:
            return column if whole else list(map(column.__getitem__, order))

        self.shas = pick(graph.shas)
        self.masks = pick(grown.masks)
        self.branch_point = pick(grown.branch_point)
        self.first_parent = dict(zip(map(graph.shas.__getitem__, grown.chain), range(len(grown.chain)), strict=True))
        fp_times = [*map(graph.times.__getitem__, grown.chain), -1]  # [-1]: not on the branch
        self.on_branch_at = list(map(fp_times.__getitem__, self.branch_point))
        self.index = dict(zip(self.shas, range(len(self.shas)), strict=True))
        positives, relevants = pick(graph.positive), pick(graph.relevant)
        self.files = _Files(positives, pick(graph.touched), graph.table)
        return positives, relevants, None

    def _newest_first(self) -> list[int]:
        """The commits' indexes by the time they reached the branch, newest first; ties (commits one merge brought)
        in index order."""
        return sorted(range(len(self.shas)), key=self.on_branch_at.__getitem__, reverse=True)

    def _propagate(self, entries: Iterable[ClassifiedEntry], positives: list[int], relevants: list[int],
                   keep: _Columns | None) -> tuple[list[int], list[str]]:
        """Read the classified walk (children first): ancestry masks, service masks, and for each commit the index of
        the oldest first-parent commit of the tip that reaches it (-1 for none) and that chain."""
        pending: dict[str, int] = {}
        pending_fp: dict[str, int] = {}
        fp_of: list[int] = []
        fp_shas: list[str] = []
        next_fp: str | None = self.tip
        head_bit = self.head_bit
        masks, shas = self.masks, self.shas
        files_of: dict[int, list[bytes]] = {}
        self.files = files_of
        keep_parents, keep_touched, keep_table, keep_number = ((keep.parents, keep.touched, keep.table, keep.number)
                                                               if keep is not None else (None, [], [], {}))
        for idx, (sha, parents, positive, relevant, files) in enumerate(entries):
            mask = pending.pop(sha, 0) | head_bit.get(sha, 0)
            fp = pending_fp.pop(sha, -1)
            if sha == next_fp:  # the chain's own index is older than any inherited one
                fp = len(fp_shas)
                fp_shas.append(sha)
                next_fp = parents[0] if parents else None
            for parent in parents:
                pending[parent] = pending.get(parent, 0) | mask
                if fp > pending_fp.get(parent, -1):
                    pending_fp[parent] = fp
            shas.append(sha)
            masks.append(mask)
            fp_of.append(fp)
            positives.append(positive)
            relevants.append(relevant)
            if positive:  # never for merges: git lists no paths for them, and relevance excludes them
                files_of[idx] = files
            if keep_parents is not None:
                keep_parents.append(parents)
                keep_touched.append(numbered(files, keep_table, keep_number) if positive else [])
        return fp_of, fp_shas

    # ------------------------------------------------------------ queries

    def bit_of(self, head: str) -> int:
        """The mask bit of ``head``; 0 when ``head`` lies at or below the walk's boundary."""
        return self.head_bit[head] if head in self.index else 0

    def counts(self, head: str) -> HeadCounts:
        """``git rev-list --count HEAD..TIP`` and ``TIP..HEAD`` from the masks."""
        tip_bit, bit = self.head_bit[self.tip], self.bit_of(head)
        behind = ahead = 0
        for mask, count in self.mask_counts.items():
            if mask & tip_bit and not mask & bit:
                behind += count
            elif mask & bit and not mask & tip_bit:
                ahead += count
        return HeadCounts(behind, ahead)

    def reaches_tip(self, head: str) -> bool:
        """True when ``head`` is an ancestor of (or equal to) the tip."""
        if head not in self.index:
            return True  # at or below the boundary: an ancestor of every head
        return bool(self.masks[self.index[head]] & self.head_bit[self.tip])

    def relevant_behind(self, service: int, head: str) -> list[int]:
        """Indexes of non-merge commits in ``HEAD..TIP`` that change the service's paths, newest first: by the time
        they reached the branch, then (commits one merge brought) in walk order. That walk order is git's
        ``--topo-order`` for a walked history and may differ for one extended from the walk cache (the same commits)."""
        return self._touches.listed(self._touches.relevant[service], self._flags(head))

    def relevant_summary(self, service: int, head: str, limit: int) -> Behind:
        """How many of :meth:`relevant_behind` there are, the oldest and the first ``limit`` of them, without listing
        them all (with hundreds of services, each lists every commit to its shared paths)."""
        return self._touches.summary(self._touches.relevant[service], self._flags(head), limit)

    def excluded_behind(self, service: int, head: str) -> int:
        """How many commits in ``HEAD..TIP`` changed only excluded files under the service's paths."""
        return self._touches.summary(self._touches.excluded[service], self._flags(head), 0).count

    def touching(self, service: int) -> list[int]:
        """Every commit of the walk that changes the service's paths (not merges), newest first."""
        return self._touches.listed(self._touches.relevant[service], None)

    def _flags(self, head: str) -> bytes:
        """Per distinct mask number: whether commits with that mask are in ``HEAD..TIP`` (tip bit set, head bit
        clear)."""
        tip_bit, bit = self.head_bit[self.tip], self.bit_of(head)
        flags = self._behind_flags.get(bit)
        if flags is None:
            flags = self._behind_flags[bit] = bytes(bool(m & tip_bit and not m & bit) for m in self._distinct_masks)
        return flags

    def only_in(self, head: str, other: str) -> Iterator[int]:
        """Indexes of non-merge commits that change some service's files, reachable from ``head`` but not ``other``."""
        bit, other_bit = self.bit_of(head), self.bit_of(other)
        masks = self.masks
        return (i for i in self.files if masks[i] & bit and not masks[i] & other_bit)

    def owned_files(self, idx: int, services: int) -> list[str]:
        """The files commit ``idx`` changed that every service in the bitmask ``services`` owns."""
        classify = self.classifier.classify
        return [_decode(f) for f in self.files.get(idx, ()) if classify(f)[1] & services == services]

    def describe(self, indexes: Iterable[int]) -> dict[int, Commit]:
        """Author, subject and committer time of the commits at ``indexes`` (one git call for those this process has
        not described before: a commit's are part of its SHA, so a daemon's next run asks only for new ones)."""
        wanted = [self.shas[i] for i in indexes]
        missing = [sha for sha in wanted if sha not in _DESCRIBED]
        if missing:
            if len(_DESCRIBED) > _DESCRIBED_KEPT:
                _DESCRIBED.clear()
            _DESCRIBED.update(self.repo.describe(missing))
        return {self.index[sha]: _DESCRIBED[sha] for sha in wanted}


class _Files(Mapping[int, list[bytes]]):
    """The files of the commits that touch a service, by index, kept as positions in a table of paths."""

    def __init__(self, positive: list[int], numbers: list[list[int]], table: list[bytes]) -> None:
        self._positive, self._numbers, self._table = positive, numbers, table

    def __getitem__(self, idx: int) -> list[bytes]:
        if idx not in self:
            raise KeyError(idx)
        return list(map(self._table.__getitem__, self._numbers[idx]))

    def __iter__(self) -> Iterator[int]:
        return itertools.compress(range(len(self._positive)), self._positive)

    def __len__(self) -> int:
        return len(self._positive) - self._positive.count(0)

    def __contains__(self, idx: object) -> bool:
        return type(idx) is int and 0 <= idx < len(self._positive) and self._positive[idx] != 0


class _Columns:
    """What a walk's commits add to the graph kept for the next run, besides what the history keeps anyway: their
    parents, and the files of those that touch a service as positions in one table of paths."""

    def __init__(self) -> None:
        self.parents: list[list[str]] = []
        self.touched: list[list[int]] = []
        self.table: list[bytes] = []
        self.number: dict[bytes, int] = {}
        self.times: dict[str, int] = {}  # the tip's first-parent chain's committer times

    def graph(self, history: History, positives: list[int], relevants: list[int]) -> Graph:
        """The walk as a graph: the range (the commits some but not every head reaches) and the heads."""
        times = self.times
        index = history.index
        first = [index.get(p[0], -1) if p else -1 for p in self.parents]
        merges = {k: [index.get(p, -1) for p in ps[1:]] for k, ps in enumerate(self.parents) if len(ps) > 1}
        whole = Graph(history.shas, first, merges, positives, relevants, self.touched, self.table,
                      list(map(times.get, history.shas, itertools.repeat(-1))), [], [], index)
        every = (1 << len(history.heads)) - 1
        order = list(compress(range(len(history.masks)), map(operator.ne, history.masks, itertools.repeat(every))))
        kept = subgraph(whole, order, history.heads, [index.get(h, -1) for h in history.heads])
        # The masks and chain of the range, by its positions, for the next run in this process (the chain ends where
        # every head reaches; a branch point counts along it, so it needs no renumbering).
        position = dict(zip(order, range(len(order)), strict=True))
        chain = list(itertools.takewhile(position.__contains__, map(index.__getitem__, history.first_parent)))
        kept.read = Ancestry(list(history.heads), list(map(history.masks.__getitem__, order)),
                             list(map(history.branch_point.__getitem__, order)), list(map(position.__getitem__, chain)))
        return kept


def _decode(path: bytes) -> str:
    return path.decode("utf-8", errors="surrogateescape")
