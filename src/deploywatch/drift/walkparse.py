"""Parsing the output of deploywatch's history walk, and ordering the few commits a run finds new.

The walk is ``git log -z --name-only`` in the walk format."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from ..core.errors import GitError

__all__ = ["WalkEntry", "children_first", "parse_walk"]

WalkEntry = tuple[str, list[str], list[bytes]]


def parse_walk(chunks: Iterable[bytes]) -> Iterator[WalkEntry]:
    """Parse ``git log -z --name-only`` output made with the walk format, chunk by chunk.

    Each commit is ``\\0SHA PARENTS`` followed by ``\\0\\nPATH\\0PATH…\\0`` when it changed paths,
    or by ``\\0`` alone, so two NULs in a row (never inside a commit: paths are not empty) separate
    commits and one record is parsed at a time.
    """
    rest = b""
    for chunk in chunks:
        records = (rest + chunk).split(b"\0\0")
        rest = records.pop()
        for record in records:
            if record:
                yield _parse_record(record)
    if rest.startswith(b"\0"):
        rest = rest[1:]
    if rest.endswith(b"\0"):
        rest = rest[:-1]
    if rest:
        yield _parse_record(rest)


def _parse_record(record: bytes) -> WalkEntry:
    header, newline, paths = record.lstrip(b"\0").partition(b"\0\n")
    if b"\0" in header or (paths and not newline):
        raise GitError("unexpected git log output (is a log.* or format.* setting overriding it?)")
    sha, *parents = header.decode().split(" ")
    return sha, [p for p in parents if p], paths.split(b"\0") if newline else []



def children_first(found: list[tuple[WalkEntry, int]]) -> list[tuple[WalkEntry, int]]:
    """``found`` ordered so that every commit comes before its parents among them; otherwise as given (a commit is
    placed as soon as all its children are)."""
    position = {entry[0]: k for k, (entry, _) in enumerate(found)}
    children = [0] * len(found)
    for (_, parents, _), _ in found:
        for parent in parents:
            at = position.get(parent)
            if at is not None:
                children[at] += 1
    ready = [k for k, count in enumerate(children) if not count]
    heapq.heapify(ready)
    ordered = []
    while ready:
        k = heapq.heappop(ready)
        ordered.append(found[k])
        for parent in found[k][0][1]:
            at = position.get(parent)
            if at is not None:
                children[at] -= 1
                if not children[at]:
                    heapq.heappush(ready, at)
    return ordered
