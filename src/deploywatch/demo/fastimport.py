"""Serialise a planned :class:`~deploywatch.demo.history.History` as a ``git fast-import`` stream.

One ``git fast-import`` process writes the whole repository in well under a second, where one
``git commit`` per commit would take many. See ``git help fast-import`` for the format.
"""

from __future__ import annotations

from .content import Person
from .history import History, PlannedCommit, PlannedTag

__all__ = ["parse_marks", "render"]


def _quote(path: str) -> bytes:
    """A C-style quoted path; quoting is always accepted and keeps spaces unambiguous."""
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'.encode()


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


def _ident(role: str, person: Person, when: int) -> bytes:
    return f"{role} {person.name} <{person.email}> {when} {person.tz}\n".encode()


def _commit(commit: PlannedCommit) -> bytes:
    out = [f"commit {commit.ref}\nmark :{commit.mark}\n".encode(),
           _ident("author", commit.author, commit.time),
           _ident("committer", commit.committer, commit.time),
           _data(commit.message)]
    if commit.parents:
        out.append(b"from :%d\n" % commit.parents[0])
        out.extend(b"merge :%d\n" % parent for parent in commit.parents[1:])
    for change in commit.changes:
        if change.content is None:
            out.append(b"D " + _quote(change.path) + b"\n")
        else:
            mode = b"100755" if change.executable else b"100644"
            out.append(b"M " + mode + b" inline " + _quote(change.path) + b"\n" + _data(change.content))
    out.append(b"\n")
    return b"".join(out)


def _tag(tag: PlannedTag) -> bytes:
    return (f"tag {tag.name}\nfrom :{tag.mark}\n".encode() + _ident("tagger", tag.tagger, tag.time)
            + _data(tag.message))


def render(history: History) -> bytes:
    """The fast-import stream for ``history``: every commit in order, then tags, then ``done``."""
    parts = [_commit(c) for c in history.commits]
    parts += [_tag(t) for t in history.tags]
    parts.append(b"done\n")
    return b"".join(parts)


def parse_marks(text: str) -> dict[int, str]:
    """Read an ``--export-marks`` file: ``:MARK SHA`` per line."""
    marks: dict[int, str] = {}
    for line in text.splitlines():
        mark, _, sha = line.partition(" ")
        if mark.startswith(":") and sha:
            marks[int(mark[1:])] = sha.strip()
    return marks
