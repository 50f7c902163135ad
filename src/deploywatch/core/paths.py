"""Path globs with git's ``:(glob)`` pathspec semantics, and which services a path belongs to.

A glob matches a repository-relative path exactly as ``git ls-files ':(glob)PATTERN'`` and
``git rev-list -- ':(glob)PATTERN'`` do: ``*`` and ``?`` stay within one path segment, ``**`` spans
directories when it is a whole segment, and a pattern that names a directory literally
(``shared`` or ``shared/``) matches everything below it. Matching works on the path's bytes,
as git's wildmatch does, so ``?`` is one byte and non-UTF-8 names are handled.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["Glob", "GlobError", "PathClassifier", "ServicePaths", "compile_glob", "unmatched_globs"]

_GLOB_SPECIAL = frozenset(b"*?[\\")
_CHAR_CLASSES: dict[bytes, bytes] = {
    b"alnum": b"0-9A-Za-z",
    b"alpha": b"A-Za-z",
    b"blank": b" \t",
    b"cntrl": b"\\x00-\\x1f\\x7f",
    b"digit": b"0-9",
    b"graph": b"!-~",
    b"lower": b"a-z",
    b"print": b" -~",
    b"punct": b"!-/:-@\\[-`{-~",
    b"space": b" \\t\\n\\r\\x0b\\x0c",
    b"upper": b"A-Z",
    b"xdigit": b"0-9A-Fa-f",
}


class GlobError(ValueError):
    """A pattern git would reject or could never match; the message says why."""


def _byte_class(ch: int) -> bytes:
    return b"\\x%02x" % ch


def _translate_bracket(pat: bytes, i: int) -> tuple[bytes, int]:
    """Translate the bracket expression whose ``[`` is at ``pat[i]``; return (regex, index after ``]``)."""
    i += 1
    negated = False
    if i < len(pat) and pat[i] in b"!^":
        negated = True
        i += 1
    parts: list[bytes] = []
    prev: int | None = None
    first = True
    while True:
        if i >= len(pat):
            raise GlobError("unclosed '[' bracket expression")
        ch = pat[i]
        if ch == ord("]") and not first:
            i += 1
            break
        first = False
        if ch == ord("\\"):
            i += 1
            if i >= len(pat):
                raise GlobError("pattern ends with a lone backslash")
            prev = pat[i]
            parts.append(_byte_class(prev))
        elif ch == ord("-") and prev is not None and i + 1 < len(pat) and pat[i + 1] != ord("]"):
            i += 1
            hi = pat[i]
            if hi == ord("\\"):
                i += 1
                if i >= len(pat):
                    raise GlobError("pattern ends with a lone backslash")
                hi = pat[i]
            parts.pop()
            if hi >= prev:
                parts.append(_byte_class(prev) + b"-" + _byte_class(hi))
            prev = None
        elif ch == ord("[") and i + 1 < len(pat) and pat[i + 1] == ord(":"):
            end = pat.find(b"]", i + 2)
            if end < 0:
                raise GlobError("unclosed '[:class:]' in bracket expression")
            if pat[end - 1] != ord(":") or end - 1 < i + 2:
                # Not "[:name:]": git treats the '[' as an ordinary member of the set.
                prev = ch
                parts.append(_byte_class(ch))
            else:
                name = pat[i + 2 : end - 1]
                if name not in _CHAR_CLASSES:
                    raise GlobError(f"unknown character class [:{name.decode(errors='replace')}:]")
                parts.append(_CHAR_CLASSES[name])
                prev = None
                i = end
        else:
            prev = ch
            parts.append(_byte_class(ch))
        i += 1
    body = b"".join(parts)
    if not body:
        # An empty range such as [z-a] matches nothing (or everything but '/', negated).
        return (b"[^/]" if negated else b"(?!)"), i
    return (b"[^/" + body + b"]" if negated else b"(?:(?!/)[" + body + b"])"), i


def _translate(pat: bytes) -> bytes:
    """Translate a wildmatch pattern (WM_PATHNAME) to a regular expression over bytes."""
    out: list[bytes] = []
    i = 0
    n = len(pat)
    while i < n:
        ch = pat[i]
        if ch == ord("*"):
            start = i
            while i < n and pat[i] == ord("*"):
                i += 1
            at_segment_start = start == 0 or pat[start - 1] == ord("/")
            if i - start >= 2 and at_segment_start and (i == n or pat[i] == ord("/")):
                if i == n:
                    out.append(b".*")
                else:
                    out.append(b"(?:.*/)?")
                    i += 1
            else:
                out.append(b"[^/]*")
            continue
        if ch == ord("?"):
            out.append(b"[^/]")
        elif ch == ord("["):
            regex, i = _translate_bracket(pat, i)
            out.append(regex)
            continue
        elif ch == ord("\\"):
            i += 1
            if i >= n:
                raise GlobError("pattern ends with a lone backslash")
            out.append(re.escape(pat[i : i + 1]))
        else:
            out.append(re.escape(pat[i : i + 1]))
        i += 1
    return b"".join(out)


@dataclass(frozen=True)
class Glob:
    """One compiled ``:(glob)`` pattern."""

    pattern: str
    _literal: bytes = field(repr=False)
    _regex: re.Pattern[bytes] | None = field(repr=False)  # what follows the prefix (None: a literal path)

    @functools.cached_property
    def prefix(self) -> bytes:
        """The literal start of the pattern (before its first wildcard): every path it matches starts so."""
        return self._literal if self._regex is None else self._literal[:_literal_length(self._literal)]

    def matches(self, path: str | bytes) -> bool:
        """True when the repository-relative ``path`` matches, as git's pathspec would."""
        name = os.fsencode(path) if isinstance(path, str) else path
        lit = self._literal
        if name.startswith(lit) and (
            len(name) == len(lit) or lit.endswith(b"/") or name[len(lit)] == ord("/")
        ):
            return True
        if self._regex is None:
            return False
        prefix = self.prefix
        return name.startswith(prefix) and self._regex.match(name, len(prefix)) is not None


def _literal_length(raw: bytes) -> int:
    return next((k for k, b in enumerate(raw) if b in _GLOB_SPECIAL), len(raw))


def unmatched_globs(globs: Iterable[Glob], files: Sequence[bytes]) -> list[Glob]:
    """The ``globs`` that match none of ``files`` (repository-relative paths, sorted bytewise).

    Each glob only looks at the files that start with its literal prefix (found by bisection), and stops at
    its first match, so a tree of many files costs little.
    """
    unmatched = []
    for glob in globs:
        prefix = glob.prefix
        # the paths that start with the prefix are one run of the sorted list, from where the prefix would go
        at = bisect.bisect_left(files, prefix)
        while at < len(files) and files[at].startswith(prefix):
            if glob.matches(files[at]):
                break
            at += 1
        else:
            unmatched.append(glob)
    return unmatched


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> Glob:
    """Compile ``pattern``; raise :class:`GlobError` for patterns git would refuse or never match (compiled once
    per pattern: a daemon's every run and every service sharing ``shared/**`` reuse it)."""
    if not pattern:
        raise GlobError("empty pattern")
    if pattern.startswith(":"):
        raise GlobError("pathspec magic is not allowed; write the plain glob (':(glob)' is implied)")
    if pattern.startswith("/"):
        raise GlobError("patterns are relative to the repository root; remove the leading '/'")
    if pattern in (".", "./"):
        raise GlobError("use '**' for the whole repository")
    if any(seg in ("..", ".") for seg in pattern.split("/")):
        raise GlobError("'.' and '..' segments are not allowed")
    if "//" in pattern:
        raise GlobError("empty path segment ('//')")
    raw = os.fsencode(pattern)
    prefix_len = _literal_length(raw)
    if prefix_len == len(raw):
        return Glob(pattern, raw, None)
    # git compares the literal prefix, then wildmatches the rest on its own, so a '**' right
    # after the prefix counts as the start of a pattern (``foo**/x`` matches ``foo/a/b/x``).
    # The regular expression covers the rest only (matched from the prefix on), so that services whose globs differ
    # only in their prefix (``services/NAME/**``) share one compiled expression.
    regex = re.compile(_translate(raw[prefix_len:]) + rb"\Z", re.DOTALL)
    return Glob(pattern, raw, regex)


@dataclass(frozen=True)
class ServicePaths:
    """The globs a service is built from (``paths``) and the ones it ignores (``exclude``)."""

    name: str
    paths: tuple[Glob, ...]
    exclude: tuple[Glob, ...] = ()

    def match(self, path: str | bytes) -> tuple[Glob | None, Glob | None]:
        """Return (the first ``paths`` glob that matches, the first ``exclude`` glob that matches)."""
        hit = next((g for g in self.paths if g.matches(path)), None)
        if hit is None:
            return None, None
        return hit, next((g for g in self.exclude if g.matches(path)), None)

    def owns(self, path: str | bytes) -> bool:
        """True when a change to ``path`` is relevant: it matches ``paths`` and no ``exclude``."""
        hit, excluded = self.match(path)
        return hit is not None and excluded is None


class PathClassifier:
    """Maps a path to bitmasks of the services whose globs match it, caching per path.

    Bit ``i`` stands for ``services[i]``. ``classify`` returns (matched by ``paths``, relevant =
    matched by ``paths`` and by no ``exclude``). Each distinct glob is matched once per path, however
    many services share it (every service may list ``shared/**`` and inherit the same excludes), and only
    when the path starts with the glob's literal prefix (globs are grouped by prefix: with 500 services,
    ``services/svcNNN/**`` each, a path meets a handful of globs, not 500).
    """

    def __init__(self, services: Sequence[ServicePaths]) -> None:
        self.services = tuple(services)
        self._cache: dict[bytes, tuple[int, int]] = {}
        positive: dict[str, tuple[Glob, int]] = {}
        exclude: dict[str, tuple[Glob, int]] = {}
        for bit, service in enumerate(self.services):
            for table, globs in ((positive, service.paths), (exclude, service.exclude)):
                for glob in globs:
                    _, mask = table.get(glob.pattern, (glob, 0))
                    table[glob.pattern] = (glob, mask | 1 << bit)
        self._positive = _by_prefix(positive.values())
        self._exclude = _by_prefix(exclude.values())

    def classify(self, path: bytes) -> tuple[int, int]:
        """Bitmasks (positive, relevant) of the services ``path`` belongs to."""
        cached = self._cache.get(path)
        if cached is None:
            positive = excluded = 0
            for glob, mask in _candidates(self._positive, path):
                if glob.matches(path):
                    positive |= mask
            if positive:
                for glob, mask in _candidates(self._exclude, path):
                    if mask & positive and glob.matches(path):
                        excluded |= mask
            cached = self._cache[path] = (positive, positive & ~excluded)
        return cached

    def learn(self, classified: Iterable[tuple[bytes, tuple[int, int]]]) -> None:
        """Take ``(path, (positive, relevant))`` pairs classified earlier for the same services (a kept walk's)."""
        self._cache.update(classified)

    def classify_all(self, paths: Iterable[bytes]) -> tuple[int, int]:
        """OR of :meth:`classify` over ``paths``."""
        positive = relevant = 0
        cache = self._cache
        for path in paths:
            p, r = cache.get(path) or self.classify(path)
            positive |= p
            relevant |= r
        return positive, relevant


# Globs with their service masks, grouped by literal prefix: (prefix lengths, {prefix: [(glob, mask), ...]}).
_Grouped = tuple[tuple[int, ...], dict[bytes, list[tuple[Glob, int]]]]


def _by_prefix(globs: Iterable[tuple[Glob, int]]) -> _Grouped:
    groups: dict[bytes, list[tuple[Glob, int]]] = {}
    for glob, mask in globs:
        groups.setdefault(glob.prefix, []).append((glob, mask))
    return tuple(sorted({len(prefix) for prefix in groups})), groups


def _candidates(grouped: _Grouped, path: bytes) -> Iterator[tuple[Glob, int]]:
    """The globs that may match ``path``: those whose literal prefix it starts with (no other can)."""
    lengths, groups = grouped
    for length in lengths:
        if length > len(path):
            break
        yield from groups.get(path[:length], ())
