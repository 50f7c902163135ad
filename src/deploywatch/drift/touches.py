"""Which commits of a history touch which services, and a head's part of them, read per group of commits.

A commit to shared paths touches every service: with 500 services, a list per service would hold each such commit
500 times. Here the commits are grouped by their pair of service masks (paths matched, and matched but not excluded),
each group in the order the history hands lists out (newest first); a service's list is the merge of its groups,
and a head's count, oldest commit and first few are read per group through the commits' mask numbers.
"""

from __future__ import annotations

import heapq
import itertools
import operator
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import compress

__all__ = ["Behind", "Touches"]


@dataclass(frozen=True, slots=True)
class Behind:
    """Of a head's commits in some list (see :meth:`~deploywatch.drift.history.History.relevant_summary`): how
    many, the oldest (the index of the last, newest first; None for none) and the first ones."""

    count: int
    oldest: int | None
    first: list[int]


class Touches:
    """Which commits touch which services, as groups: the commits with one (positive, relevant) pair of service
    masks, newest first, as ranks (positions in ``newest``). A head's part of a group is read through the commits'
    mask numbers; how many there are, and the oldest, through a count and the last rank per mask number."""

    def __init__(self, newest: list[int], mask_number: list[int], width: int, positives: list[int],
                 relevants: list[int]) -> None:
        """``newest``: the commits' indexes newest first (as
        :meth:`~deploywatch.drift.history.History.relevant_behind` hands them out); per index, its mask's number
        (``mask_number``) and its service masks (``positives`` and ``relevants``, ``width`` services)."""
        self.newest = newest  # rank -> index
        self.mask_number = list(map(mask_number.__getitem__, newest))  # by rank
        # each commit's pair as one number, positive above relevant (ints count and sort faster than tuples)
        pairs = list(map(operator.or_, map(operator.lshift, positives, itertools.repeat(width)), relevants))
        sizes = Counter(pairs)
        kinds = sorted(sizes)
        number = {pair: k for k, pair in enumerate(kinds)}
        kind = list(map(number.__getitem__, map(pairs.__getitem__, newest)))  # by rank
        grouped = sorted(range(len(kind)), key=kind.__getitem__)  # ranks, by kind, each kind's in rank order
        self.groups: list[list[int]] = []
        self.masks_in: list[list[int]] = []  # per group: the mask numbers of its commits, each once
        self.counts: list[list[int]] = []  # per group and mask number there: how many commits have it
        self.last: list[list[int]] = []  # per group and mask number there: the oldest commit's rank
        self.relevant: list[list[int]] = [[] for _ in range(width)]  # per service: its groups
        self.excluded: list[list[int]] = [[] for _ in range(width)]  # its groups of excluded-only commits
        bits = _BitCache()
        start = 0
        low = (1 << width) - 1
        for pair in kinds:
            end = start + sizes[pair]
            positive, relevant = pair >> width, pair & low
            if positive:
                group = grouped[start:end]
                numbers = list(map(self.mask_number.__getitem__, group))
                counted = Counter(numbers)
                last = dict(zip(numbers, group, strict=True))  # the last rank per mask number wins
                self.masks_in.append(list(counted))
                self.counts.append(list(counted.values()))
                self.last.append(list(map(last.__getitem__, counted)))
                for service in bits(relevant):
                    self.relevant[service].append(len(self.groups))
                for service in bits(positive & ~relevant):
                    self.excluded[service].append(len(self.groups))
                self.groups.append(group)
            start = end

    def listed(self, groups: list[int], flags: bytes | None) -> list[int]:
        """The commits of ``groups`` (with ``flags``: only those whose mask number is flagged), newest first."""
        parts = [self.groups[g] if flags is None else self._part(g, flags) for g in groups]
        return list(map(self.newest.__getitem__, sorted(itertools.chain.from_iterable(parts))))

    def summary(self, groups: list[int], flags: bytes, limit: int) -> Behind:
        """:class:`Behind` for the flagged commits of ``groups``."""
        count, oldest, parts = 0, -1, []
        for g in groups:
            chosen = list(map(flags.__getitem__, self.masks_in[g]))
            found = sum(compress(self.counts[g], chosen))
            if found:
                count += found
                oldest = max(oldest, *compress(self.last[g], chosen))  # (found: some are chosen)
                if limit:
                    parts.append(itertools.islice(self._part(g, flags), min(found, limit)))
        first = list(map(self.newest.__getitem__, itertools.islice(heapq.merge(*parts), limit))) if parts else []
        return Behind(count, self.newest[oldest] if oldest >= 0 else None, first)

    def _part(self, g: int, flags: bytes) -> Iterator[int]:
        group = self.groups[g]
        return compress(group, map(flags.__getitem__, map(self.mask_number.__getitem__, group)))


class _BitCache(dict[int, tuple[int, ...]]):
    """``bits(mask)``: the indexes of the set bits, computed once per distinct mask."""

    def __call__(self, mask: int) -> tuple[int, ...]:
        found = self.get(mask)
        if found is None:
            found = self[mask] = tuple(i for i in range(mask.bit_length()) if mask >> i & 1)
        return found
