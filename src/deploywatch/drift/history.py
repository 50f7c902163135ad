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

from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress

from ..core.paths import PathClassifier, ServicePaths
from .git import Commit, Repo
from .walkcache import ClassifiedEntry, WalkCache, classify_walk
from .walkparse import WalkEntry, parse_walk

__all__ = ["HeadCounts", "History", "StartedWalk", "start_walk"]


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
    """The walk from ``tip`` and ``heads`` with ancestry masks and per-service touch lists."""

    def __init__(self, repo: Repo, tip: str, heads: Sequence[str], services: Sequence[ServicePaths],
                 started: StartedWalk | None = None, cache: WalkCache | None = None) -> None:
        self.repo = repo
        self.tip = tip
        self.heads = list(dict.fromkeys([tip, *heads]))
        self.head_bit = {sha: 1 << k for k, sha in enumerate(self.heads)}
        self.services = list(services)
        self.classifier = PathClassifier(self.services)
        if started is not None and started.heads != self.heads:
            started.cancel()  # started for other heads: of no use here
            started = None
        walk = started or start_walk(repo, self.heads, with_paths=cache is None)
        if cache is not None:
            entries = cache.walk(repo, walk.heads, walk.boundary, self.services, self.classifier, walk.entries,
                                 walk.cancel)
        else:
            entries = classify_walk(walk.entries or repo.walk(walk.heads, walk.boundary), self.classifier)
        self.shas: list[str] = []
        self.files: dict[int, list[bytes]] = {}  # paths of commits that touch any service
        self.masks: list[int] = []
        self.touching: list[list[int]] = [[] for _ in self.services]
        self.excluded_only: list[list[int]] = [[] for _ in self.services]
        self._described: dict[str, Commit] = {}
        fp_of, fp_shas = self._propagate(entries)
        self.branch_point = fp_of  # per commit: its index in first_parent (-1: not on the branch)
        self.first_parent = {sha: k for k, sha in enumerate(fp_shas)}  # the tip's first-parent chain, tip = 0
        times = walk.first_parent_times()
        fp_times = [times[sha] for sha in fp_shas]
        # Committer time of the first-parent commit of the tip that brought each commit in (or -1).
        self.on_branch_at = [fp_times[fp] if fp >= 0 else -1 for fp in fp_of]
        self.index = dict(zip(self.shas, range(len(self.shas)), strict=True))
        self.mask_counts = Counter(self.masks)
        # Each distinct mask numbered (a few per head): a head's range is then one flag per number, and a touch list
        # is filtered in C, with no arithmetic on (heads)-bit integers per commit.
        numbers: dict[int, int] = {}
        self._mask_number = [numbers.setdefault(mask, len(numbers)) for mask in self.masks]
        self._distinct_masks = list(numbers)
        self._behind_flags: dict[int, bytes] = {}

    def _propagate(self, entries: Iterable[ClassifiedEntry]) -> tuple[list[int], list[str]]:
        """Read the classified walk (children first): ancestry masks, touch lists, and for each commit the index of
        the oldest first-parent commit of the tip that reaches it (-1 for none) and that chain."""
        pending: dict[str, int] = {}
        pending_fp: dict[str, int] = {}
        fp_of: list[int] = []
        fp_shas: list[str] = []
        next_fp: str | None = self.tip
        head_bit = self.head_bit
        masks, shas = self.masks, self.shas
        touching, excluded_only = self.touching, self.excluded_only
        bits = _BitCache()
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
            if positive:  # never for merges: git lists no paths for them, and relevance excludes them
                self.files[idx] = files
                for service in bits(relevant):
                    touching[service].append(idx)
                if positive != relevant:
                    for service in bits(positive & ~relevant):
                        excluded_only[service].append(idx)
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

    def relevant_behind(self, service: int, head: str) -> Iterator[int]:
        """Indexes of non-merge commits in ``HEAD..TIP`` that change the service's paths, newest first."""
        return self._behind(self.touching[service], head)

    def excluded_behind(self, service: int, head: str) -> Iterator[int]:
        """Indexes of commits in ``HEAD..TIP`` that changed only excluded files under the service's paths."""
        return self._behind(self.excluded_only[service], head)

    def _behind(self, indexes: list[int], head: str) -> Iterator[int]:
        """The ``indexes`` in ``HEAD..TIP`` (tip bit set, head bit clear), in their order."""
        tip_bit, bit = self.head_bit[self.tip], self.bit_of(head)
        flags = self._behind_flags.get(bit)
        if flags is None:
            flags = self._behind_flags[bit] = bytes(bool(m & tip_bit and not m & bit) for m in self._distinct_masks)
        return compress(indexes, map(flags.__getitem__, map(self._mask_number.__getitem__, indexes)))

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
        """Author, subject and committer time of the commits at ``indexes`` (one git call, cached)."""
        wanted = [self.shas[i] for i in indexes]
        missing = [sha for sha in wanted if sha not in self._described]
        self._described.update(self.repo.describe(missing))
        return {self.index[sha]: self._described[sha] for sha in wanted}


class _BitCache(dict[int, tuple[int, ...]]):
    """``bits(mask)``: the indexes of the set bits, computed once per distinct mask."""

    def __call__(self, mask: int) -> tuple[int, ...]:
        found = self.get(mask)
        if found is None:
            found = self[mask] = tuple(i for i in range(mask.bit_length()) if mask >> i & 1)
        return found


def _decode(path: bytes) -> str:
    return path.decode("utf-8", errors="surrogateescape")
