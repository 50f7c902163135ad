"""Extending the last run's commit graph by the commits that are new, without walking the range again.

The walk cache (:mod:`deploywatch.drift.walkcache`) keeps, besides each commit's service masks and files, the graph
of the last drift walk: per commit its parents (as positions in the kept walk; -1 for a parent below it) and, for
the commits of the tip's first-parent chain, the committer time; and the heads it was walked from. The next run
asks git only for the commits reachable from its heads and not from the kept heads (``git log HEADS --not
KEPT_HEADS``: a handful), puts them before the kept ones (still children before parents) and computes the ancestry
masks and the first-parent chain over both in Python.

Why this is exact. The kept walk holds every commit that some but not every kept head reaches (the range of the
last run) and the kept heads themselves. A commit reachable from today's heads is therefore new, kept, or reachable
from every kept head. When each of today's heads reaches some kept head (checked on the computed masks), a commit of
the last kind is reachable from every head of today: below today's range, like the parents marked -1. (The kept
heads every kept head reached lie below the graph, as its "base"; reaching one of them is as good: git says.) So the
masks computed over new + kept are git's, and today's range is the commits some but not every head reaches. Otherwise —
a head that is neither new nor kept (a deployed commit older than the kept range), a head that reaches no kept head
(a force-push), new commits git says are kept (a kept head gone from the repository) — :func:`extend` answers None
and the history is walked as without the graph.

The first-parent chain runs from the tip along first parents while the commits are in the range; as git's
``rev-list --first-parent TIP --not BOUNDARY`` it stops where every head reaches.
"""

from __future__ import annotations

import collections
import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Ancestry", "Graph", "Grown", "extend"]

NewEntry = tuple[str, list[str], int, int, list[bytes], int]  # sha, parents, positive, relevant, files, commit time


@dataclass
class Graph:
    """A kept walk by column, children before parents (see :mod:`deploywatch.drift.walkcache` for the file)."""

    shas: list[str]
    first: list[int]  # first parent's position, -1 below the walk or none
    merges: dict[int, list[int]]  # position -> positions of the other parents (merges only)
    positive: list[int]
    relevant: list[int]
    touched: list[list[int]]  # per commit: its files (positions in ``table``) when it touches a service, else []
    table: list[bytes]
    times: list[int]  # committer time of first-parent chain commits, -1 where not known
    heads: list[str]  # the walk's heads that are in it (some but not every head reaches them)
    base: list[str]  # the walk's other heads: every head reaches them (not in ``shas``)
    index: dict[str, int]
    classes: list[tuple[int, int]] = field(default_factory=list)  # as read: (positive, relevant) per path of table
    read: Ancestry | None = None  # how the last run read it (in memory only)


@dataclass(frozen=True)
class Ancestry:
    """A graph's masks and chain as the run that kept it computed them (its heads, in bit order): the next run in
    the same process, with the same deployed commits and a tip that only moved ahead, reuses them."""

    heads: list[str]
    masks: list[int]
    branch_point: list[int]
    chain: list[int]


@dataclass
class Grown:
    """The range of today's heads over the kept graph and the new commits, ready for a history, and the graph to keep
    for the next run (the range and today's heads)."""

    order: list[int]  # positions (in new + kept) of the range's commits, children first
    masks: list[int]  # per position
    chain: list[int]  # positions of the tip's first-parent chain, tip first
    branch_point: list[int]  # per position: index in ``chain`` of its oldest chain commit reaching it, or -1
    graph: Graph  # new + kept (positions are into this one's columns)
    kept: Graph  # what to keep: the range and today's heads
    changed: bool  # whether ``kept`` differs from the graph it grew from


def extend(kept: Graph, new: Sequence[NewEntry], heads: Sequence[str],
           reaches: Callable[[str, str], bool] = lambda ancestor, head: False) -> Grown | None:
    """Today's range over ``new`` (git's walk of ``heads --not kept.heads kept.base``, children first) and the kept
    graph; None when the kept graph cannot give the exact answer (see the module's docstring). ``reaches(A, H)`` says
    whether commit H reaches commit A (asked only for a head that reaches no kept head in the graph, of the kept
    heads every head reached: they lie below the graph)."""
    index = kept.index
    count = len(new)
    where = {entry[0]: k for k, entry in enumerate(new)}
    if any(sha in index for sha in where):
        return None  # a kept head is gone: git did not exclude what it reaches
    offset = count

    def position(sha: str) -> int:
        found = where.get(sha)
        if found is not None:
            return found
        found = index.get(sha)
        return -1 if found is None else found + offset

    head_at = [position(sha) for sha in heads]
    base = set(kept.base)
    if any(at < 0 and sha not in base for sha, at in zip(heads, head_at, strict=True)):
        return None  # a head older than the kept range (or unknown to it)
    first = [position(parents[0]) if parents else -1 for _, parents, *_ in new]
    first += shifted(kept.first, offset)
    merges = {k: [position(p) for p in parents[1:]] for k, (_, parents, *_) in enumerate(new) if len(parents) > 1}
    merges.update({k + offset: [p + offset if p >= 0 else -1 for p in others] for k, others in kept.merges.items()})
    total = count + len(kept.shas)
    ahead = _tip_ahead(kept, first, merges, heads, head_at, count)
    if ahead is not None:
        return _grown(kept, new, heads, head_at, first, merges, *ahead)
    # The tip's first-parent line through the graph (where the range ends on it is known once the masks are).
    line: list[int] = []
    at = head_at[0]
    while at >= 0:
        line.append(at)
        at = first[at]
    masks = [0] * total
    for bit, at in enumerate(head_at):
        if at >= 0:
            masks[at] |= 1 << bit
    # One pass, children first: each commit's heads go to its parents, and so does the number of the oldest commit
    # of the tip's first-parent line that reaches it (a commit below where the range ends on that line is reached
    # by every head: out of the range, whatever number it gets). The loop reads the columns through list iterators,
    # which see what the commit's children wrote there.
    branch_point = [-1] * total
    for number, at in enumerate(line):
        branch_point[at] = number
    merge_of = merges.get
    for k, mask, point, parent in zip(range(total), masks, branch_point, first, strict=True):
        if mask:
            if parent >= 0:
                masks[parent] |= mask
                if branch_point[parent] < point:  # noqa: PLR1730 - an if, not a call, per commit
                    branch_point[parent] = point
            others = merge_of(k)
            if others:
                for parent in others:
                    if parent >= 0:
                        masks[parent] |= mask
                        if branch_point[parent] < point:  # noqa: PLR1730 - an if, not a call, per commit
                            branch_point[parent] = point
    every = (1 << len(heads)) - 1
    kept_heads = [index[sha] + offset for sha in kept.heads]
    for bit, (sha, at) in enumerate(zip(heads, head_at, strict=True)):
        if at >= 0 and not any(masks[k] >> bit & 1 for k in kept_heads) and not any(
                reaches(base_head, sha) for base_head in kept.base):
            return None  # this head reaches no kept head: the commits below the kept range may not all be below it
    on_line = list(map(masks.__getitem__, line))
    chain = line[:on_line.index(every)] if every in on_line else line  # down to where every head reaches
    order = list(itertools.compress(range(total), map(operator.and_, map(bool, masks),
                                                       map(operator.ne, masks, itertools.repeat(every)))))
    return _grown(kept, new, heads, head_at, first, merges, order, masks, chain, branch_point)


def _tip_ahead(kept: Graph, first: list[int], merges: dict[int, list[int]], heads: Sequence[str],
               head_at: Sequence[int], count: int) -> tuple[list[int], list[int], list[int], list[int]] | None:
    """The usual daemon run, without a step per kept commit: deployed commits that were all heads of the run that
    kept the graph (the old tip among them, when a service ran it), and a tip whose first-parent line through the new
    commits leads to the old tip, the new commits reaching no kept commit the old tip did not (a merge of a branch it
    did not have). A kept commit's mask is then its old one with each bit moved to its head's place today (the new
    tip reaches what the old one did), the new commits' mask is the tip's bit alone (a deployed commit reaching one
    would have made it not new), and the kept commits' branch points move down by the new commits on the tip's line
    (a new commit off it has a newer branch point than any kept commit it reaches). Returns (order, masks, chain,
    branch point), or None to compute them all."""
    read = kept.read
    if read is None or not count or len(heads) < 2 or not 0 <= head_at[0] < count:
        return None
    was = {sha: bit for bit, sha in enumerate(read.heads)}
    moved = [was.get(sha, -1) for sha in heads[1:]]  # today's bit k + 1 is the old bit moved[k]
    old_tip = kept.index.get(read.heads[0])
    if min(moved) < 0 or old_tip is None:
        return None
    line: list[int] = []
    at = head_at[0]
    while 0 <= at < count:
        line.append(at)
        at = first[at]
    if at != old_tip + count:
        return None
    reached = read.masks
    for k in range(count):
        for parent in (first[k], *merges.get(k, ())):
            if parent >= count and not reached[parent - count] & 1:
                return None
    if moved != list(range(1, len(heads))):
        every = (1 << len(heads)) - 1
        table = {mask: sum(((mask >> bit) & 1) << k for k, bit in enumerate(moved, 1)) | (mask & 1)
                 for mask in set(reached)}
        if 0 in table.values() or every in table.values():
            return None  # a head gone since: some kept commits leave the range
        reached = list(map(table.__getitem__, reached))
    point = [-1] * count
    for number, at in enumerate(line):
        point[at] = number
    for k in range(count):  # children first: a new commit's point goes to its new parents
        for parent in (first[k], *merges.get(k, ())):
            if 0 <= parent < count and point[parent] < point[k]:
                point[parent] = point[k]
    if min(point) < 0:
        return None  # a new commit the tip's line does not reach (none should: all are the tip's)
    branch_point = point + shifted(read.branch_point, len(line))
    chain = line + list(map(operator.add, read.chain, itertools.repeat(count)))
    return list(range(count + len(kept.shas))), [1] * count + reached, chain, branch_point


def _grown(kept: Graph, new: Sequence[NewEntry], heads: Sequence[str], head_at: Sequence[int], first: list[int],
           merges: dict[int, list[int]], order: list[int], masks: list[int], chain: list[int],
           branch_point: list[int]) -> Grown:
    """The :class:`Grown` of the range at ``order`` over new + kept (columns by position in new + kept)."""
    table = list(kept.table)
    numbers = {path: k for k, path in enumerate(table)}
    touched = [numbered(e[4], table, numbers) if e[2] else [] for e in new]
    graph = Graph([e[0] for e in new] + kept.shas, first, merges, [e[2] for e in new] + kept.positive,
                  [e[3] for e in new] + kept.relevant, touched + kept.touched, table,
                  [e[5] for e in new] + kept.times, [], [], {})
    changed = bool(new) or len(order) != len(kept.shas) or set(heads) != set(kept.heads + kept.base)
    keep = subgraph(graph, order, heads, head_at)
    if len(order) == len(graph.shas):  # positions in ``keep`` are those of ``graph``
        keep.read = Ancestry(list(heads), masks, branch_point, chain)
    return Grown(order, masks, chain, branch_point, graph, keep, changed)


def shifted(positions: list[int], offset: int) -> list[int]:
    """``positions`` moved by ``offset``, -1 (below the graph) kept as it is; in C, but for the few that are -1."""
    moved = list(map(operator.add, positions, itertools.repeat(offset)))
    if offset:
        for k in itertools.compress(range(len(positions)), map(operator.gt, itertools.repeat(0), positions)):
            moved[k] = -1
    return moved


def numbered(files: Sequence[bytes], table: list[bytes], number: dict[bytes, int] | None = None) -> list[int]:
    """``files`` as positions in ``table`` (new paths appended; ``number`` maps the table's paths to positions)."""
    if number is None:
        number = {path: k for k, path in enumerate(table)}
    found = []
    for path in files:
        k = number.get(path)
        if k is None:
            k = number[path] = len(table)
            table.append(path)
        found.append(k)
    return found


def subgraph(graph: Graph, order: Sequence[int], heads: Sequence[str], head_at: Sequence[int]) -> Graph:
    """The commits at ``order`` (positions in ``graph``, in the graph's order: today's range), parents outside it -1;
    the ``heads`` at ``head_at`` (-1: not in the graph) that are in the range are its heads, the others its base."""
    keep = list(order)
    if len(keep) == len(graph.shas):  # the whole graph (``order`` holds each position once, in order)
        first, merges, shas, positive, relevant, touched, times = (graph.first, graph.merges, graph.shas,
                                                                   graph.positive, graph.relevant, graph.touched,
                                                                   graph.times)
        inside = [sha for sha, at in zip(heads, head_at, strict=True) if at >= 0]
    else:
        renumber = [-1] * (len(graph.shas) + 1)  # position -> position in the subgraph; [-1] (a parent below) -> -1
        collections.deque(map(renumber.__setitem__, keep, range(len(keep))), maxlen=0)
        pick = renumber.__getitem__
        first = list(map(pick, map(graph.first.__getitem__, keep)))
        merges = {renumber[at]: list(map(pick, graph.merges[at])) for at in keep if at in graph.merges}
        shas = list(map(graph.shas.__getitem__, keep))
        positive, relevant = list(map(graph.positive.__getitem__, keep)), list(map(graph.relevant.__getitem__, keep))
        touched, times = list(map(graph.touched.__getitem__, keep)), list(map(graph.times.__getitem__, keep))
        inside = [sha for sha, at in zip(heads, head_at, strict=True) if at >= 0 and renumber[at] >= 0]
    return Graph(shas, first, merges, positive, relevant, touched, graph.table, times, inside,
                 [sha for sha in heads if sha not in inside], dict(zip(shas, range(len(shas)), strict=True)))
