"""Output CI tools read: JUnit XML, and GitHub Actions annotations with a job summary, from one list of cases.

A report command turns its report into :class:`CiCase` items (one per service, check or item) and
:func:`emit_ci` prints them as ``--format junit`` or ``--format github`` asks. The mapping of statuses is the
same everywhere and documented in each command page's "CI formats" section (docs/commands/drift.md):

* JUnit: ``critical`` is a ``<failure>``, ``unknown`` is ``<skipped>`` (nothing was verified, so it is neither
  a pass nor a failure of the thing measured), ``warning`` passes with the warning in ``<system-out>``.
* GitHub: ``critical`` is an ``::error``, ``unknown`` and ``warning`` are ``::warning`` annotations, most severe
  first; GitHub shows at most 10 of each kind per step, so the rest are counted in one ``::notice``.
  The Markdown summary goes to ``$GITHUB_STEP_SUMMARY``, cut to GitHub's 1 MiB limit with a note.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .errors import UsageError
from .redact import mask
from .status import Status
from .text import plural, printable

if TYPE_CHECKING:
    from xml.etree import ElementTree

__all__ = ["ANNOTATIONS_PER_KIND", "CI_FORMATS", "SUMMARY_LIMIT", "CiCase", "emit_ci",
           "junit_xml", "trim_summary", "workflow_commands", "write_summary"]

CI_FORMATS = ("junit", "github")
ANNOTATIONS_PER_KIND = 10  # GitHub shows at most 10 error, 10 warning and 10 notice annotations per step
SUMMARY_LIMIT = 1024 * 1024  # GitHub refuses a step summary over 1 MiB
_KIND = {Status.CRITICAL: "error", Status.UNKNOWN: "warning", Status.WARNING: "warning"}
_TRIMMED = "\n\n> **Summary cut to GitHub's 1 MiB limit:** {dropped} not shown; run with `--format json` for all.\n"


@dataclass(frozen=True)
class CiCase:
    """One thing a CI run reports on: a service's drift, a check (or one group of it), a health item."""

    suite: str  # drift, a phase, a gate, check
    name: str
    status: Status
    message: str
    detail: str = ""
    file: str | None = None  # the file an annotation points at (the config file), relative to the repository
    line: int | None = None  # and the line in it (where the service is configured)
    seconds: float = 0.0


def junit_xml(title: str, cases: Sequence[CiCase], *, timestamp: datetime) -> str:
    """The cases as JUnit XML: one ``<testsuite>`` per suite, one ``<testcase>`` per case."""
    from xml.etree import ElementTree

    root = ElementTree.Element("testsuites", name=title, tests=str(len(cases)),
                               failures=str(_count(cases, Status.CRITICAL)), errors="0",
                               skipped=str(_count(cases, Status.UNKNOWN)), time=_seconds(sum(c.seconds for c in cases)))
    suites: dict[str, list[CiCase]] = {}
    for case in cases:
        suites.setdefault(case.suite, []).append(case)
    for name, members in suites.items():
        suite = ElementTree.SubElement(
            root, "testsuite", name=_clean(name), tests=str(len(members)),
            failures=str(_count(members, Status.CRITICAL)), errors="0",
            skipped=str(_count(members, Status.UNKNOWN)), time=_seconds(sum(c.seconds for c in members)),
            timestamp=timestamp.replace(tzinfo=None, microsecond=0).isoformat())
        for case in members:
            _testcase(suite, title, case)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _testcase(suite: ElementTree.Element, title: str, case: CiCase) -> None:
    from xml.etree import ElementTree

    element = ElementTree.SubElement(suite, "testcase", name=_clean(case.name),
                                     classname=_clean(f"{title}.{case.suite}"), time=_seconds(case.seconds))
    message, detail = _clean(case.message), _clean(case.detail)
    if case.status is Status.CRITICAL:
        ElementTree.SubElement(element, "failure", message=message, type="critical").text = detail or message
    elif case.status is Status.UNKNOWN:
        ElementTree.SubElement(element, "skipped", message=f"unknown: {message}").text = detail or None
    elif case.status is Status.WARNING:
        ElementTree.SubElement(element, "system-out").text = f"warning: {message}" + (f"\n{detail}" if detail else "")


def _count(cases: Sequence[CiCase], status: Status) -> int:
    return sum(1 for c in cases if c.status is status)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _clean(text: str) -> str:
    """Masked, and without the control characters XML 1.0 cannot hold (newlines and tabs stay)."""
    return "".join(ch if ch in "\n\t" or ch >= " " else "?" for ch in mask(text))


def workflow_commands(cases: Sequence[CiCase], *, limit: int = ANNOTATIONS_PER_KIND) -> list[str]:
    """``::error``/``::warning`` workflow commands for the cases that are not ok, most severe first, at most
    ``limit`` of each kind, then one ``::notice`` counting those GitHub would not show."""
    shown: dict[str, int] = {}
    hidden: dict[str, int] = {}
    lines = []
    for case in sorted((c for c in cases if c.status is not Status.OK), key=lambda c: -c.status.severity):
        kind = _KIND[case.status]
        if shown.get(kind, 0) >= limit:
            hidden[kind] = hidden.get(kind, 0) + 1
            continue
        shown[kind] = shown.get(kind, 0) + 1
        properties = {"title": f"{case.suite}: {case.name} is {case.status}"}
        if case.file:
            place = {"file": case.file, **({"line": str(case.line)} if case.line else {})}
            properties = {**place, **properties}
        fields = ",".join(f"{key}={_property(value)}" for key, value in properties.items())
        lines.append(f"::{kind} {fields}::{_data(case.message)}")
    if hidden:
        counted = " and ".join(plural(n, kind) for kind, n in sorted(hidden.items()))
        note = f"{counted} more not annotated (GitHub shows {limit} of each kind per step); see the summary"
        lines.append(f"::notice title=More findings::{_data(note)}")
    return lines


def _data(text: str) -> str:
    # a workflow command ends at a newline: escaped, a message cannot start a command of its own
    return printable(mask(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def trim_summary(markdown: str, limit: int = SUMMARY_LIMIT) -> str:
    """``markdown`` cut at a line boundary so that it and a note saying how much was cut fit in ``limit`` bytes."""
    if len(markdown.encode("utf-8")) <= limit:
        return markdown
    lines = markdown.splitlines(keepends=True)
    room = limit - len(_TRIMMED.format(dropped=plural(len(lines), "line")).encode("utf-8"))
    kept, size = 0, 0
    for line in lines:
        size += len(line.encode("utf-8"))
        if size > room:
            break
        kept += 1
    return "".join(lines[:kept]) + _TRIMMED.format(dropped=plural(len(lines) - kept, "line"))


def write_summary(markdown: str) -> None:
    """Append the (trimmed) summary to ``$GITHUB_STEP_SUMMARY``; print it when that is not set (outside Actions)."""
    text = trim_summary(mask(markdown).rstrip("\n") + "\n")
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        sys.stdout.write(text)
        return
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write $GITHUB_STEP_SUMMARY ({target}): {exc.strerror}") from None


def emit_ci(output_format: str, title: str, cases: Sequence[CiCase], *, markdown: str, timestamp: datetime) -> None:
    """Print ``cases`` as ``junit`` XML, or as ``github`` annotations with ``markdown`` as the job summary."""
    if output_format == "junit":
        sys.stdout.write(junit_xml(title, cases, timestamp=timestamp))
        return
    for line in workflow_commands(cases):
        sys.stdout.write(line + "\n")
    write_summary(markdown)
