"""Slack: one incoming-webhook message per delivery, in Block Kit.

A message is a ``header`` block that counts what is firing, then one ``section`` (and a ``context`` line)
per notification, worst first: firing critical, unknown, warning, then resolved. Slack rejects a message
with more than 50 blocks, a section longer than 3000 characters or a header longer than 150, so
:func:`slack_payload` truncates text and, when the notifications do not fit, ends with "…and N more".

The webhook URL is the secret (whoever has it can post to the channel): it never appears in an error, a
``repr`` or a log line; the rate key is a hash of it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx

from ..config.alerts import SinkConfig, SlackSinkConfig
from ..core.durations import format_age
from ..core.redact import clip, mask
from ..core.render import short
from ..core.status import Status
from ..core.text import cut, plural, printable
from ..core.units import format_value
from . import http
from .model import Delivery, Event, Message, Notification

__all__ = ["MAX_BLOCKS", "SlackSink", "check_lines", "detail_lines", "drift_lines", "ordered", "slack_body",
           "slack_payload"]

MAX_BLOCKS = 50  # Slack's limit per message
MAX_SECTION = 3000  # characters of a section's text (and of a context element's)
MAX_HEADER = 150  # characters of a header's plain_text
COMMITS_SHOWN = 5  # newest relevant commits listed per drifted service

_EMOJI = {Status.CRITICAL: "🔴", Status.UNKNOWN: "🟣", Status.WARNING: "🟡", Status.OK: "✅"}
_RESOLVED = "✅"
_TEST = "🧪"


def slack_payload(message: Message, *, max_blocks: int = MAX_BLOCKS) -> dict[str, Any]:
    """The Block Kit body for ``message``: a one-line ``text`` fallback (notifications, screen readers) and
    at most ``max_blocks`` blocks; notifications that do not fit are counted in a last "…and N more"."""
    if max_blocks < 2:
        raise ValueError("max_blocks must leave room for the header and one more block")
    notifications = ordered(message.notifications)
    footer = _footer(message)
    tally = _tally(notifications)
    blocks: list[dict[str, Any]] = [_header(*tally)]
    budget = max_blocks - (1 if footer else 0)
    shown = 0
    for index, notification in enumerate(notifications):
        candidate = _notification_blocks(notification, message.sink)
        rest = len(notifications) - index - 1
        if len(blocks) + len(candidate) + (1 if rest else 0) > budget:
            candidate = candidate[:1]  # without its context line, it may still fit
            if len(blocks) + 1 + (1 if rest else 0) > budget:
                break
        blocks.extend(candidate)
        shown += 1
    if shown < len(notifications):
        if len(blocks) >= budget:  # a tiny max_blocks: the count of what is missing matters more than the footer
            footer = None
        blocks.append(_section(_more(notifications[shown:])))
    if footer:
        blocks.append(footer)
    return {"text": _fallback(*tally), "blocks": blocks}


def ordered(notifications: Iterable[Notification]) -> list[Notification]:
    """Worst first: firing critical, unknown, warning (and ok, for tests), then resolved; stable otherwise."""
    return sorted(notifications, key=lambda n: (not n.firing, -n.status.severity))


class SlackSink:
    """``[[alerts.slack]]``: one message per run to an incoming webhook (at most one per second)."""

    min_interval: float = 1.0  # Slack allows about one message per second per webhook
    per_finding: bool = False

    def __init__(self, name: str, config: SlackSinkConfig) -> None:
        self.name = name
        self.config: SinkConfig = config
        self._webhook = config.webhook
        self._timeout = float(config.timeout)
        self._secrets = http.url_secrets(config.webhook)
        self._target = config.target()

    def __repr__(self) -> str:
        return f"SlackSink(name={self.name!r}, target={self._target!r})"

    @property
    def rate_key(self) -> str:
        """A short SHA-256 of the webhook URL: sinks sharing a webhook share its rate limit."""
        return http.rate_key(self._webhook)

    def deliver(self, message: Message, client: httpx.Client) -> Delivery:
        """POST the message; Slack's ``ok`` confirms it. 429, 5xx and no response are retried (after
        ``Retry-After`` when given); any other answer (``invalid_payload``, ``channel_not_found``,
        ``channel_is_archived``, ``no_service`` …, or a 2xx with another body) is a dead letter."""
        sent = http.post_json(client, self._webhook, slack_body(message), what="Slack webhook",
                              timeout=self._timeout, secrets=self._secrets)
        if isinstance(sent, Delivery):
            return sent
        failed = http.classify(sent, "Slack webhook", self._secrets)
        if failed is not None:
            return failed
        body = sent.text.strip()
        if body == "ok":
            return Delivery.delivered()
        shown = repr(clip(body, 201, self._secrets)) if body else "an empty body"
        return Delivery.dead(f"Slack webhook: HTTP {sent.status_code} with {shown} instead of 'ok'")


def slack_body(message: Message) -> dict[str, Any]:
    """The report's summary for a report message, else the notifications' blocks."""
    if message.report is not None:
        from .report_text import slack_report_payload

        return slack_report_payload(message.report, message.generator_url)
    return slack_payload(message)


# ------------------------------------------------------------------------------------------- blocks


def _tally(notifications: Sequence[Notification]) -> tuple[list[Notification], int, int]:
    """The firing notifications (tests aside), and how many are resolved and how many are tests."""
    firing = [n for n in notifications if n.firing and n.event is not Event.TEST]
    resolved = sum(1 for n in notifications if not n.firing)
    return firing, resolved, len(notifications) - len(firing) - resolved


def _header(firing: list[Notification], resolved: int, tests: int) -> dict[str, Any]:
    parts = [_kind_count(kind, count) for kind, count in Counter(n.kind for n in firing).items()]
    if firing:
        worst = max(firing, key=lambda n: n.status.severity).status
        text = f"{_EMOJI[worst]} " + ", ".join(parts) + (f", {resolved} resolved" if resolved else "")
    elif resolved:
        text = f"{_RESOLVED} {resolved} resolved"
    elif tests:
        text = f"{_TEST} deploywatch test notification"
    else:
        text = "deploywatch: nothing to report"
    return {"type": "header", "text": {"type": "plain_text", "text": _cut(text, MAX_HEADER), "emoji": True}}


def _kind_count(kind: str, count: int) -> str:
    if kind == "drift":
        return plural(count, "drifted service")
    if kind == "check":
        return plural(count, "failing check")
    return plural(count, f"{kind} finding")


def _fallback(firing: list[Notification], resolved: int, tests: int) -> str:
    parts: list[str] = []
    if firing:
        counts = Counter(n.status for n in firing)
        by_status = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=lambda s: -s.severity))
        parts.append(f"{len(firing)} firing ({by_status})")
    if resolved:
        parts.append(f"{resolved} resolved")
    if tests:
        parts.append("test notification")
    return "deploywatch: " + (", ".join(parts) if parts else "nothing to report")


def _notification_blocks(n: Notification, sink: str) -> list[dict[str, Any]]:
    lines = [_title(n, sink), *detail_lines(n, markup=True)]
    blocks = [_section("\n".join(line for line in lines if line))]
    context = _context(n)
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(context, MAX_SECTION)}]})
    return blocks


def _title(n: Notification, sink: str) -> str:
    subject = f"*{_esc(n.subject)}*" + ("" if n.kind in ("drift", "check") else f" ({_esc(n.kind)})")
    age = format_age(n.duration_seconds) if n.duration_seconds is not None else None
    if n.event is Event.TEST:
        return (f"{_TEST} *Test notification* from deploywatch to sink `{_esc(sink)}`: if you can read this, "
                f"the sink works. {subject}: {_esc(n.summary)}")
    if n.event is Event.RESOLVED:
        return f"{_RESOLVED} {subject} · resolved" + (f" after {age}" if age else "")
    emoji = _EMOJI[n.status]
    if n.event is Event.CHANGED and n.previous_status is not None:
        return f"{emoji} {subject} · {n.previous_status} → *{n.status}*"
    if n.event is Event.REPEAT:
        return f"{emoji} {subject} · *{n.status}*, still firing" + (f" for {age}" if age else "")
    return f"{emoji} {subject} · *{n.status}*"


def _context(n: Notification) -> str:
    d = n.details
    parts: list[str] = []
    if n.kind == "drift" and n.event is not Event.TEST:
        for key in ("state", "group"):
            if d.get(key):
                parts.append(f"{key} {_esc(str(d[key]))}")
    elif n.kind == "check" and n.event is not Event.TEST:
        for key in ("metric", "table", "phase"):
            if d.get(key):
                parts.append(f"{key} `{_esc(str(d[key]))}`")
    if n.firing_since is not None and n.event is not Event.RESOLVED:
        parts.append(f"firing since {n.firing_since.strftime('%Y-%m-%d %H:%M UTC')}")
    return " · ".join(parts)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text or " ", MAX_SECTION)}}


def _more(hidden: Sequence[Notification]) -> str:
    counts = Counter("resolved" if not n.firing else str(n.status) for n in hidden)
    order = ["critical", "unknown", "warning", "ok", "resolved"]
    detail = ", ".join(f"{counts[k]} {k}" for k in order if counts[k])
    return f"…and {len(hidden)} more ({detail})"


def _footer(message: Message) -> dict[str, Any] | None:
    parts: list[str] = []
    if message.generator_url:
        url = message.generator_url.replace("|", "%7C")
        parts.append(f"<{_esc(url)}|Open in deploywatch>")
    if message.run_id:
        parts.append(f"run `{_esc(message.run_id)}`")
    if not parts:
        return None
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(" · ".join(parts), MAX_SECTION)}]}


# ------------------------------------------------------------------------------------------- details


def detail_lines(n: Notification, *, markup: bool) -> list[str]:
    """What a notification says under its title: nothing for a test, the summary once resolved, else a drift's
    or a check's details (:func:`drift_lines`, :func:`check_lines`), or the summary for other kinds.
    ``markup``: Slack mrkdwn or plain text (Alertmanager's annotations)."""
    if n.event is Event.TEST:
        return []
    if n.event is not Event.RESOLVED:
        if n.kind == "drift" and n.details.get("service") is not None:
            return drift_lines(n.details, markup=markup)
        if n.kind == "check" and n.details.get("name") is not None:
            return check_lines(n.details, markup=markup)
    return [_esc(n.summary) if markup else n.summary]


def drift_lines(details: Mapping[str, Any], *, markup: bool) -> list[str]:
    """What a drifted service's notification says: deployed and tip commits, how far behind and since when,
    the newest relevant commits, the reason and the deploy command. ``markup``: Slack mrkdwn (escaped, code
    spans) or plain text (Alertmanager's annotations)."""
    code = _code if markup else str
    esc = _esc if markup else str
    lines: list[str] = []
    deployed, tip = details.get("deployed_commit"), details.get("tip")
    if deployed or tip:
        lines.append(f"deployed {code(short(deployed))} · tip {code(short(tip))}")
    relevant, total = details.get("relevant_commits_behind"), details.get("commits_behind")
    if relevant is not None:
        text = f"{plural(relevant, 'relevant commit')} behind"
        if total is not None:
            text += f" ({total} total)"
        if details.get("drift_age_seconds") is not None:
            text += f", oldest {format_age(details['drift_age_seconds'])}"
        if details.get("commits_ahead"):
            text += f", {details['commits_ahead']} ahead"
        lines.append(text)
    if details.get("reason") and not (details.get("state") == "behind" and relevant is not None):
        lines.append(esc(str(details["reason"])))  # behind: the reason only repeats the line above
    commits = [c for c in details.get("commits") or () if isinstance(c, Mapping)]
    for commit in commits[:COMMITS_SHOWN]:
        author = f" — {esc(str(commit['author']))}" if commit.get("author") else ""
        lines.append(f"• {code(short(commit.get('sha')))} {esc(str(commit.get('subject') or ''))}{author}")
    more = (relevant if isinstance(relevant, int) else len(commits)) - min(len(commits), COMMITS_SHOWN)
    if commits and more > 0:
        lines.append(f"• …and {more} more")
    if details.get("deploy"):
        command = mask(str(details["deploy"]))
        lines.append(f"Deploy: {_code_block(command) if markup else command}")
    return lines


def check_lines(details: Mapping[str, Any], *, markup: bool) -> list[str]:
    """What a failing check's notification says: its value and thresholds, the reason, and an anomaly's
    mean, standard deviation and z-score. ``markup`` as for :func:`drift_lines`."""
    esc = _esc if markup else str
    unit = str(details.get("unit") or "number")
    value = format_value(details.get("value"), unit)
    thresholds = [f"{key} {details[key]}" for key in ("warn", "critical") if details.get(key)]
    line = f"value *{esc(value)}*" if markup else f"value {value}"
    if thresholds:
        line += f" · {esc(', '.join(thresholds))}" if markup else f" ({', '.join(thresholds)})"
    lines = [line]
    if details.get("reason"):
        lines.append(esc(str(details["reason"])))
    anomaly = details.get("anomaly")
    if isinstance(anomaly, Mapping) and anomaly.get("mean") is not None:
        z = anomaly.get("z")
        z_text = f"{z:.1f}" if isinstance(z, int | float) and math.isfinite(z) else "∞"
        lines.append(f"anomaly: mean {format_value(anomaly['mean'], unit)}, "
                     f"stddev {format_value(anomaly.get('stddev'), unit)}, z {z_text}")
    return lines


# ------------------------------------------------------------------------------------------- text


def _esc(text: str) -> str:
    """User text for mrkdwn: ``&``, ``<`` and ``>`` escaped as Slack requires (so ``<!channel>`` or a
    ``<url|link>`` cannot be injected), lone surrogates replaced so the body encodes as UTF-8."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return f"`{_esc(text.replace('`', 'ˋ'))}`"


def _code_block(text: str) -> str:
    if "\n" not in text and "`" not in text:
        return _code(text)
    return "```" + _esc(text.replace("```", "ˋˋˋ")) + "```"


def _cut(text: str, limit: int) -> str:
    # every text of a block passes here: controls are neutralised before the text is measured
    return cut(printable(text), limit)
