"""The file a kept walk is written to, and read back from only once every column is checked.

A JSON header line, then the payload of machine arrays (see :func:`pack`); :mod:`deploywatch.drift.walkcache` keeps
the walks."""

from __future__ import annotations

import hashlib
import itertools
import json
import operator
import os
import sys
from array import array
from collections.abc import Sequence
from typing import Any

from ..core.paths import ServicePaths
from .keptgraph import Graph

__all__ = ["SCHEMA", "decode", "describe_paths", "encode", "pack", "read", "unpack"]

SCHEMA = "deploywatch walk cache, format 3"  # a private file, not a deploywatch.NAME/v1 document


def encode(graph: Graph, classes: Sequence[tuple[int, int]], repo: str, services: Sequence[ServicePaths]) -> bytes:
    """The file for ``graph`` of ``repo`` and ``services`` (``classes``: each path of its table's masks): the header
    line (what it is for, the payload's sections and SHA-256), then the payload. Raises ValueError or OverflowError
    for a graph the format cannot hold."""
    sections, payload = pack({"files": [os.fsdecode(f) for f in graph.table], "classes": list(map(list, classes)),
                              "shas": graph.shas, "positive": graph.positive, "relevant": graph.relevant,
                              "touched": graph.touched, "first": graph.first,
                              "merges": [[k, v] for k, v in graph.merges.items()], "times": graph.times,
                              "heads": graph.heads, "base": graph.base})
    header = json.dumps({"schema": SCHEMA, "repo": repo, "paths": describe_paths(services), "count": len(graph.shas),
                         "byteorder": sys.byteorder, "sections": sections,
                         "sha256": hashlib.sha256(payload).hexdigest()})
    return header.encode() + b"\n" + payload


def read(data: bytes, repo: str, services: Sequence[ServicePaths]) -> Graph | None:
    """The kept walk in a file's ``data`` (:func:`encode`'s); None when it is not one to trust."""
    header, _, payload = data.partition(b"\n")
    try:
        return decode(json.loads(header), payload, repo, services)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError):
        return None


def pack(document: dict[str, Any]) -> tuple[list[int], bytes]:
    """The payload of a kept walk from its columns (as :func:`unpack` gives them back) and its sections' lengths.

    Small parts are one JSON object: the paths table and each path's masks, the distinct (positive, relevant) mask
    pairs of the commits (their "kinds"), the merges' other parents, the heads and the base. Per-commit columns are
    machine arrays in :data:`sys.byteorder`: the SHAs as raw bytes, each commit's kind (uint32), first parent (int32),
    committer time (int64), and its files as offsets (uint32, one more than commits) into one int32 array."""
    shas: list[str] = document["shas"]
    widths = set(map(len, shas))
    if len(widths) > 1:
        raise ValueError("SHAs of different lengths")
    pairs = list(zip(document["positive"], document["relevant"], strict=True))
    kinds = dict.fromkeys(pairs)
    kind = array("I", map({pair: k for k, pair in enumerate(kinds)}.__getitem__, pairs))
    touched: list[list[int]] = document["touched"]
    offsets = array("I", [0])
    offsets.extend(itertools.accumulate(map(len, touched)))
    meta = json.dumps({"files": document["files"], "classes": document["classes"], "kinds": list(map(list, kinds)),
                       "merges": document["merges"], "heads": document["heads"], "base": document["base"],
                       "sha_bytes": widths.pop() // 2 if widths else 20}, separators=(",", ":")).encode()
    parts = [meta, bytes.fromhex("".join(shas)), kind.tobytes(), array("i", document["first"]).tobytes(),
             array("q", document["times"]).tobytes(), offsets.tobytes(),
             array("i", itertools.chain.from_iterable(touched)).tobytes()]
    return list(map(len, parts)), b"".join(parts)


def unpack(sections: Any, payload: bytes) -> dict[str, Any]:
    """The columns of a kept walk's payload (see :func:`pack`); raises ValueError, TypeError or IndexError on a
    payload that is not one."""
    if type(sections) is not list or len(sections) != 7 or set(map(type, sections)) - {int} or min(sections) < 0 \
            or sum(sections) != len(payload):
        raise ValueError("sections do not cover the payload")
    bounds = list(itertools.accumulate(sections, initial=0))
    meta_part, sha_part, *columns = (payload[a:b] for a, b in itertools.pairwise(bounds))
    meta = json.loads(meta_part)
    if type(meta) is not dict or type(meta.get("kinds")) is not list or meta.get("sha_bytes") not in (20, 32):
        raise ValueError("not a kept walk")
    kind, first, times, offsets, flat = (_column(code, part) for code, part in zip("Iiqli", columns, strict=True))
    width = meta["sha_bytes"] * 2
    text = sha_part.hex()
    shas = [text[k:k + width] for k in range(0, len(text), width)]
    if offsets[:1] != [0] or offsets[-1:] != [len(flat)] or len(offsets) != len(shas) + 1:
        raise ValueError("file offsets do not cover the files")
    kinds = meta["kinds"]
    if set(map(type, kinds)) - {list} or set(map(len, kinds)) - {2}:
        raise ValueError("kinds are not mask pairs")
    positives, relevants = [p for p, _ in kinds], [r for _, r in kinds]
    return {"files": meta.get("files"), "classes": meta.get("classes"), "kinds": kinds, "shas": shas,
            "positive": list(map(positives.__getitem__, kind)), "relevant": list(map(relevants.__getitem__, kind)),
            "touched": list(map(flat.__getitem__, map(slice, offsets, itertools.islice(offsets, 1, None)))),
            "first": first,
            "merges": meta.get("merges"), "times": times, "heads": meta.get("heads"), "base": meta.get("base")}


def _column(code: str, part: bytes) -> list[int]:
    """One machine-array column (``offsets`` uses code ``l`` for uint32 here: see :func:`pack`)."""
    column = array("I" if code == "l" else code)
    column.frombytes(part)  # ValueError unless a whole number of items
    return column.tolist()


def describe_paths(services: Sequence[ServicePaths]) -> list[list[list[str]]]:
    """The service paths as the key sees them: per service (in bit order) its globs and excludes."""
    return [[[g.pattern for g in s.paths], [g.pattern for g in s.exclude]] for s in services]


def _mask_pairs(pairs: list[Any], limit: int) -> bool:
    """Whether every item is a pair [positive, relevant] of service masks below ``limit``, relevant within positive."""
    return not (set(map(type, pairs)) - {list} or set(map(len, pairs)) - {2}) and all(
        type(p) is int and type(r) is int and r >= 0 and p < limit and not r & ~p for p, r in pairs)


def decode(header: Any, payload: bytes, repo: str, services: Sequence[ServicePaths]) -> Graph | None:
    """The kept walk when the header is this repository's and paths' and the payload is intact and consistent;
    every check runs over whole columns (the file may hold a hundred thousand commits)."""
    if (not isinstance(header, dict) or header.get("schema") != SCHEMA or header.get("repo") != repo
            or header.get("paths") != describe_paths(services) or header.get("byteorder") != sys.byteorder
            or header.get("sha256") != hashlib.sha256(payload).hexdigest()):
        return None
    document = unpack(header.get("sections"), payload)
    table, shas, heads, base = document["files"], document["shas"], document["heads"], document["base"]
    classes, merges = document["classes"], document["merges"]
    positive, relevant, touched = document["positive"], document["relevant"], document["touched"]
    first, times = document["first"], document["times"]
    count = header["count"]
    if (not all(type(c) is list for c in (table, classes, merges, heads, base)) or type(count) is not int
            or not len(shas) == len(first) == len(times) == count or len(classes) != len(table)):
        return None
    limit = 1 << len(services)
    if not _mask_pairs(document["kinds"], limit) or not _mask_pairs(classes, limit):
        return None
    numbers = list(itertools.chain.from_iterable(touched))
    others = [p for _, parents in merges for p in parents]
    if (set(map(type, table)) - {str} or set(map(type, heads)) - {str} or set(map(type, base)) - {str}
            or not all(map(operator.eq, map(bool, touched), map(bool, positive)))
            or (numbers and (min(numbers) < 0 or max(numbers) >= len(table)))
            or set(map(type, merges)) - {list} or set(map(len, merges)) - {2}
            or any(type(k) is not int or not (0 <= k < count) or type(ps) is not list or not ps for k, ps in merges)
            or set(map(type, others)) - {int}
            or min(itertools.chain(first, others), default=0) < -1 or max(itertools.chain(first, others),
                                                                           default=-1) >= count
            or any(map(operator.and_, map(operator.le, itertools.repeat(0), first), map(operator.le, first,
                                                                                         range(count))))
            or any(0 <= p <= k for k, ps in merges for p in ps)):
        return None
    index = dict(zip(shas, range(count), strict=True))
    if (len(index) != count or any(h not in index for h in heads) or any(h in index for h in base)
            or len(set(heads + base)) != len(heads) + len(base)):
        return None
    graph = Graph(shas, first, dict(merges), positive, relevant, touched, [os.fsencode(f) for f in table], times,
                  heads, base, index)
    graph.classes = [(p, r) for p, r in classes]
    return graph
