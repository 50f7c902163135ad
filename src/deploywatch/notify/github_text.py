"""What a GitHub issue of the GitHub sink says: its title, body and comments, as safe Markdown.

Everything taken from a finding is shown as text: Markdown and HTML are escaped, ``@`` mentions are broken
so that an update pings nobody, and secrets (the token, and whatever :func:`~deploywatch.core.redact.mask`
recognises) are replaced by ``***``. The body carries two hidden lines: the finding's :func:`marker`, by which
:mod:`deploywatch.notify.github` finds the issue, and the message that last wrote it (read back by
:func:`applied`), by which a retry recognises its own work.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.durations import format_age, format_timestamp
from ..core.redact import mask
from ..core.status import Status
from ..core.text import cut, printable
from ..core.units import format_number, format_value
from .http import scrub
from .model import Event, Message, Notification

__all__ = ["MAX_BODY", "MAX_TITLE", "IssueText", "Markdown", "applied", "marker", "safe_id"]

MAX_TITLE = 256  # GitHub's limits, in characters
MAX_BODY = 65536
MAX_COMMITS = 25  # rows of the drift body's commit table

_SAFE_ID = re.compile(r"[^A-Za-z0-9._:=-]")
_APPLIED = re.compile(r"<!-- deploywatch:message=(\S+) action=(created|updated|reopened|closed) -->")
_ESCAPE = re.compile(r"([\\`*_\[\]|~])")
_EMOJI = {Status.CRITICAL: "🔴", Status.UNKNOWN: "🟣", Status.WARNING: "🟡", Status.OK: "✅"}  # as in Slack


def marker(fingerprint: str) -> str:
    """The hidden line that ties an issue to a finding: ``<!-- deploywatch:fingerprint=<fingerprint> -->``."""
    return f"<!-- deploywatch:fingerprint={safe_id(fingerprint)} -->"


def safe_id(value: str) -> str:
    """``value`` fit for a hidden line: every character outside ``A-Za-z0-9._:=-`` replaced by ``_``."""
    # fingerprints are hex and message ids are outbox ids; nothing may close the HTML comment early
    return _SAFE_ID.sub("_", value)


def applied(issue: Mapping[str, Any], message_id: str) -> str | None:
    """The action message ``message_id`` took on ``issue``, when it was the last to write its body."""
    found = _APPLIED.search(str(issue.get("body") or ""))
    if found is None or found.group(1) != safe_id(message_id):
        return None
    return found.group(2)


class IssueText:
    """The texts of the issues of sink ``sink``, with ``token`` (and every registered secret) masked."""

    def __init__(self, sink: str, token: str) -> None:
        self.sink = sink
        self.md = Markdown(token)

    def title(self, n: Notification) -> str:
        """The issue's title: kind, subject and status on one line, within GitHub's limit."""
        return cut(self.md.plain(f"[deploywatch] {n.kind}: {n.subject} is {n.status.value}"), MAX_TITLE)

    def body(self, n: Notification, message: Message, action: str) -> str:
        """The issue's description: the finding's facts and details, with the hidden lines naming its
        fingerprint and the message (and ``action``) that wrote it last."""
        md = self.md
        status = f"**{n.status.value}**"
        if n.firing and n.previous_status is not None and n.previous_status is not n.status:
            status += f" (was {n.previous_status.value})"
        elif not n.firing:
            status += " — resolved"
        facts = [("Status", status)]
        if n.firing_since is not None:
            since = format_timestamp(n.firing_since)
            facts.append(("Firing since" if n.firing else "Fired", f"{since} ({format_age(n.duration_seconds)})"))
        facts.append(("Observed", format_timestamp(n.at)))
        if n.labels:
            facts.append(("Labels", ", ".join(f"{md.text(k)}={md.text(v)}" for k, v in sorted(n.labels.items()))))
        if message.run_id:
            facts.append(("Run", md.code(message.run_id)))
        if message.generator_url:
            facts.append(("Dashboard", f"<{md.plain(message.generator_url)}>"))
        head = [marker(n.fingerprint), "",
                f"## {_EMOJI.get(n.status, '')} {md.text(n.kind)}: {md.text(n.subject)} is {n.status.value}", "",
                f"> {md.text(n.summary)}", "", *_bullets(facts), ""]
        details = _details(md, n.kind, n.details)
        foot = ["", "---", f"<sub>Managed by deploywatch (sink {md.code(self.sink)}): this issue is updated while "
                "the finding fires, closed when it resolves and reopened when it fires again. Edits to this "
                "description are overwritten.</sub>", "",
                f"<!-- deploywatch:message={safe_id(message.id)} action={action} -->"]
        top, bottom = "\n".join(head), "\n".join(foot)
        middle = "\n".join(details)
        room = MAX_BODY - len(top) - len(bottom) - 40
        if len(middle) > room:
            middle = middle[:max(0, room)].rsplit("\n", 1)[0] + "\n\n_… details cut to fit GitHub's limit._"
        return md.scrub(f"{top}\n{middle}\n{bottom}")

    def firing_comment(self, n: Notification, message: Message, *, reopened: bool) -> str:
        """The comment added when the finding fires again, changes status, repeats, or is a test."""
        status = f"**{n.status.value}**"
        if n.event is Event.TEST:
            head = f"🧪 Test notification from deploywatch: this sink can update issues ({status})."
        elif reopened:
            head = f"{_EMOJI.get(n.status, '')} Fired again: {status}."
        elif n.event is Event.CHANGED and n.previous_status is not None:
            head = f"{_EMOJI.get(n.status, '')} Status changed: **{n.previous_status.value} → {n.status.value}**."
        elif n.event is Event.REPEAT:
            lasting = f" for {format_age(n.duration_seconds)}" if n.duration_seconds is not None else ""
            head = f"{_EMOJI.get(n.status, '')} Still firing{lasting}: {status}."
        else:
            head = f"{_EMOJI.get(n.status, '')} Firing: {status}."
        return self._comment_text(head, n, message)

    def resolved_comment(self, n: Notification, message: Message) -> str:
        """The comment added before the issue is closed."""
        lasting = f" after {format_age(n.duration_seconds)}" if n.duration_seconds is not None else ""
        return self._comment_text(f"✅ Resolved{lasting}.", n, message)

    def _comment_text(self, head: str, n: Notification, message: Message) -> str:
        seen = f"Observed {format_timestamp(n.at)}"
        if message.run_id:
            seen += f" in run {self.md.code(message.run_id)}"
        return self.md.scrub(f"{head}\n\n> {self.md.text(n.summary)}\n\n<sub>{seen}</sub>")


def _bullets(facts: list[tuple[str, str]]) -> list[str]:
    return [f"- **{label}:** {value}" for label, value in facts]


@dataclass(frozen=True)
class Markdown:
    """Turns finding values into safe Markdown: secrets masked, markup escaped, mentions broken."""

    secret: str = field(repr=False)

    def scrub(self, text: str) -> str:
        """``text`` without the token or anything :func:`mask` recognises, controls neutralised (every title,
        body and comment passes here)."""
        return printable(mask(scrub(text, [self.secret])))

    def plain(self, value: object) -> str:
        """One line of text, secrets masked (titles, link targets)."""
        return " ".join(self.scrub(str(value)).split())

    def text(self, value: object) -> str:
        """Inline Markdown showing ``value`` as it is: no markup, HTML, mentions or hidden comments."""
        escaped = _ESCAPE.sub(r"\\\1", html.escape(self.plain(value), quote=False))
        return escaped.replace("@", "@\u200b")

    def code(self, value: object) -> str:
        """``value`` in monospace (an HTML ``<code>``, so that any character can be escaped)."""
        return f"<code>{html.escape(self.plain(value), quote=False).replace('@', '&#64;')}</code>"


def _details(md: Markdown, kind: str, details: Mapping[str, Any]) -> list[str]:
    if not details:
        return []
    if kind == "drift":
        return _drift(md, details)
    if kind == "check":
        return _check(md, details)
    facts = [(md.text(key), _value(md, value)) for key, value in details.items() if value is not None]
    return ["### Details", "", *_bullets(facts)] if facts else []


def _value(md: Markdown, value: Any) -> str:
    if isinstance(value, str):
        return md.text(value)
    if isinstance(value, bool | int | float):
        return md.text(value)
    return md.code(cut(json.dumps(value, default=str, sort_keys=True), 500))


def _drift(md: Markdown, d: Mapping[str, Any]) -> list[str]:
    facts: list[tuple[str, str]] = []
    if d.get("service") is not None:
        facts.append(("Service", md.text(d["service"])))
    if d.get("group") is not None:
        facts.append(("Group", md.text(d["group"])))
    if d.get("state") is not None:
        facts.append(("State", md.text(d["state"])))
    if d.get("deployed_commit"):
        facts.append(("Deployed commit", md.code(str(d["deployed_commit"])[:12])))
    if d.get("tip"):
        facts.append(("Branch tip", md.code(str(d["tip"])[:12])))
    behind, relevant = d.get("commits_behind"), d.get("relevant_commits_behind")
    if behind is not None:
        facts.append(("Commits behind", f"{md.text(behind)}" + (f" ({md.text(relevant)} relevant)"
                                                                if relevant is not None else "")))
    if d.get("commits_ahead"):
        facts.append(("Commits ahead", md.text(d["commits_ahead"])))
    if isinstance(d.get("drift_age_seconds"), int | float):
        facts.append(("Drifting for", format_age(d["drift_age_seconds"])))
    if d.get("reason"):
        facts.append(("Reason", md.text(d["reason"])))
    if d.get("deploy"):
        facts.append(("Deploy with", md.code(d["deploy"])))
    lines = ["### Drift", "", *_bullets(facts)]
    commits = [c for c in d.get("commits") or () if isinstance(c, Mapping)]
    if commits:
        shown = commits[:MAX_COMMITS]
        lines += ["", f"#### Relevant commits not deployed ({len(commits)})", "",
                  "| Commit | Subject | Author | On the branch since |", "| --- | --- | --- | --- |"]
        lines += [f"| {md.code(str(c.get('sha') or '')[:12])} | {md.text(c.get('subject') or '')} | "
                  f"{md.text(c.get('author') or '')} | {md.text(c.get('on_branch_at') or '')} |" for c in shown]
        if len(commits) > len(shown):
            lines += ["", f"… and {len(commits) - len(shown)} more."]
    return lines


def _check(md: Markdown, d: Mapping[str, Any]) -> list[str]:
    facts: list[tuple[str, str]] = []
    for key, label in (("name", "Check"), ("phase", "Phase"), ("table", "Table")):
        if d.get(key) is not None:
            facts.append((label, md.text(d[key])))
    group = d.get("group")
    if isinstance(group, Mapping):
        facts.append(("Group", ", ".join(f"{md.text(k)}={md.text(v)}" for k, v in group.items())))
    elif group is not None:
        facts.append(("Group", md.text(group)))
    if d.get("metric") is not None:
        facts.append(("Metric", md.text(d["metric"])))
    if "value" in d:
        facts.append(("Value", md.text(format_value(d.get("value"), str(d.get("unit") or "")))))
    limits = [f"{level} {md.code(d[level])}" for level in ("warn", "critical") if d.get(level)]
    if limits:
        facts.append(("Thresholds", ", ".join(limits)))
    if d.get("reason"):
        facts.append(("Reason", md.text(d["reason"])))
    anomaly = d.get("anomaly")
    if isinstance(anomaly, Mapping):
        z, mean, stddev = anomaly.get("z"), anomaly.get("mean"), anomaly.get("stddev")
        shown = f"z = {format_number(z)} (mean {format_number(mean)}, stddev {format_number(stddev)})"
        facts.append(("Anomaly", md.text(shown)))
    return ["### Check", "", *_bullets(facts)]
