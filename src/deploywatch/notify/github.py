"""GitHub issues as a sink: one issue per finding, opened when it fires, updated and commented on while it
fires, closed (as completed) when it resolves and reopened when it fires again.

An issue belongs to a finding through a hidden line in its body, ``<!-- deploywatch:fingerprint=… -->``. The
sink finds it by listing the issues that carry all of its labels (every state, most recently updated first,
following ``Link: rel="next"``), never through the search API, whose index lags behind writes: a retried
create would open a second issue. A second hidden line names the message that last wrote the body, so a
retry after a lost response recognises its own work instead of commenting twice.

Everything taken from a finding is shown as text: Markdown and HTML are escaped, ``@`` mentions are broken
so that an update pings nobody, and secrets (the token, and whatever :func:`~deploywatch.core.redact.mask`
recognises) are replaced by ``***``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..config.alerts import GitHubSinkConfig, SinkConfig
from ..core.durations import format_age, format_timestamp
from ..core.redact import clip, mask
from ..core.status import Status
from ..core.text import cut, printable
from ..core.units import format_number, format_value
from .http import SendFailed, parse_retry_after, request, scrub
from .model import Delivery, Event, Message, Notification

__all__ = ["API_VERSION", "GitHubSink", "marker"]

API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 50  # 5,000 labelled issues; past that an old closed issue may be missed and a new one opened
MAX_TITLE = 256  # GitHub's limits, in characters
MAX_BODY = 65536
MAX_COMMITS = 25  # rows of the drift body's commit table
SECONDARY_WAIT = 60.0  # GitHub: after a secondary rate limit without retry-after, wait at least a minute

_SAFE_ID = re.compile(r"[^A-Za-z0-9._:=-]")
_APPLIED = re.compile(r"<!-- deploywatch:message=(\S+) action=(created|updated|reopened|closed) -->")
_ESCAPE = re.compile(r"([\\`*_\[\]|~])")
_EMOJI = {Status.CRITICAL: "🔴", Status.UNKNOWN: "🟣", Status.WARNING: "🟡", Status.OK: "✅"}  # as in Slack


def marker(fingerprint: str) -> str:
    """The hidden line that ties an issue to a finding: ``<!-- deploywatch:fingerprint=<fingerprint> -->``."""
    return f"<!-- deploywatch:fingerprint={_safe_id(fingerprint)} -->"


def _safe_id(value: str) -> str:
    # fingerprints are hex and message ids are outbox ids; nothing may close the HTML comment early
    return _SAFE_ID.sub("_", value)


class _Stop(Exception):
    """Ends a delivery early with ``delivery`` (a failed request, an unexpected answer)."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__(delivery.error)
        self.delivery = delivery


class GitHubSink:
    """``[[alerts.github]]``: one issue per fingerprint in ``config.repo``, labelled with ``config.labels``.

    Messages are per finding. ``deliver`` answers ``Delivery.delivered(issue=<number>, action=…)`` with the
    action ``created``, ``updated``, ``reopened``, ``closed`` or ``none`` (a resolved finding without an open
    issue).
    """

    # GitHub asks clients to wait a second between requests that create or change content, and limits
    # content creation to about 80 requests a minute (secondary rate limits).
    min_interval: float = 1.0
    per_finding: bool = True

    def __init__(self, name: str, config: GitHubSinkConfig) -> None:
        self.name = name
        self.config: SinkConfig = config
        self._github = config
        self._api = config.api_url.rstrip("/")
        self._issues = f"{self._api}/repos/{config.repo}/issues"
        self._origin = _origin(config.api_url)
        self._md = _Markdown(config.token)

    def __repr__(self) -> str:
        return f"GitHubSink(name={self.name!r}, repo={self._github.repo!r})"

    @property
    def rate_key(self) -> str:
        """The repository (``owner/name``): deliveries to it are spaced by ``min_interval``."""
        return self._github.repo

    def deliver(self, message: Message, client: httpx.Client) -> Delivery:
        """Bring the finding's issue up to date with the message's notification (one per message; several
        are handled in turn, and a failure stops there) and say what was done."""
        done: list[dict[str, Any]] = []
        for notification in message.notifications:
            try:
                done.append(self._deliver_one(message, notification, client))
            except _Stop as stop:
                return stop.delivery
        if not done:
            return Delivery.delivered(issue=None, action="none")
        if len(done) == 1:
            return Delivery.delivered(**done[0])
        return Delivery.delivered(issues=done)

    # -- one notification ----------------------------------------------------------------------------

    def _deliver_one(self, message: Message, n: Notification, client: httpx.Client) -> dict[str, Any]:
        issue = self._find(n.fingerprint, client)
        number = int(issue["number"]) if issue is not None else None
        state = issue.get("state") if issue is not None else None
        applied = _applied(issue, message.id) if issue is not None else None
        if not n.firing:
            if number is None:
                return {"issue": None, "action": "none"}
            if state == "closed":  # closed already: by this message before its response was lost, or by hand
                return {"issue": number, "action": "closed" if applied == "closed" else "none"}
            self._comment(number, self._resolved_comment(n, message), client)
            self._call("PATCH", f"{self._issues}/{number}", "closing the issue", client, issue_level=True,
                       json={"state": "closed", "state_reason": "completed",
                             "body": self._body(n, message, "closed")})
            return {"issue": number, "action": "closed"}
        if number is None:
            created = self._call("POST", self._issues, "creating an issue", client,
                                 json={"title": self._title(n), "body": self._body(n, message, "created"),
                                       "labels": list(self._github.labels)})
            number = created.get("number")
            if not isinstance(number, int):
                raise _Stop(Delivery.retry(f"{self._what('creating an issue')}: the answer has no issue number"))
            return {"issue": number, "action": "created"}
        if state == "open" and applied is not None:  # this message already did it; its response was lost
            return {"issue": number, "action": applied}
        reopen = state == "closed"
        action = "reopened" if reopen else "updated"
        self._comment(number, self._firing_comment(n, message, reopened=reopen), client)
        update: dict[str, Any] = {"title": self._title(n), "body": self._body(n, message, action)}
        if reopen:
            update["state"] = "open"
        self._call("PATCH", f"{self._issues}/{number}", f"{'reopening' if reopen else 'updating'} the issue",
                   client, issue_level=True, json=update)
        return {"issue": number, "action": action}

    def _find(self, fingerprint: str, client: httpx.Client) -> Mapping[str, Any] | None:
        """The finding's issue: the open one carrying the marker, else the most recently updated one."""
        wanted = marker(fingerprint)
        url: str | None = self._issues
        params: dict[str, Any] | None = {"labels": ",".join(self._github.labels), "state": "all",
                                         "sort": "updated", "direction": "desc", "per_page": PER_PAGE}
        best: Mapping[str, Any] | None = None
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = self._send("GET", url, "listing issues", client, params=params)
            params = None  # the next link carries the query
            items = _json(response, self._what("listing issues"))
            if not isinstance(items, list):
                raise _Stop(Delivery.retry(f"{self._what('listing issues')}: the answer is not a list"))
            for item in items:
                if not (isinstance(item, dict) and isinstance(item.get("number"), int)) or "pull_request" in item:
                    continue
                if wanted not in str(item.get("body") or ""):
                    continue
                if best is None or _rank(item) > _rank(best):
                    best = item
            if best is not None and best.get("state") == "open":
                break  # newest first: no later page holds a more recently updated open issue
            url = response.links.get("next", {}).get("url")
            if url is not None and _origin(url) != self._origin:
                # never send the token to another host
                raise _Stop(Delivery.dead(f"{self._what('listing issues')}: the next page is on another host"))
        return best

    def _comment(self, number: int, body: str, client: httpx.Client) -> None:
        self._call("POST", f"{self._issues}/{number}/comments", "commenting", client, issue_level=True,
                   json={"body": body})

    # -- HTTP ----------------------------------------------------------------------------------------

    def _call(self, method: str, url: str, what: str, client: httpx.Client, *, json: Any,
              issue_level: bool = False) -> dict[str, Any]:
        response = self._send(method, url, what, client, json=json, issue_level=issue_level)
        answer = _json(response, self._what(what))
        if not isinstance(answer, dict):
            raise _Stop(Delivery.retry(f"{self._what(what)}: the answer is not an object"))
        return answer

    def _send(self, method: str, url: str, what: str, client: httpx.Client, *, json: Any = None,
              params: Mapping[str, Any] | None = None, issue_level: bool = False) -> httpx.Response:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                   "Authorization": f"Bearer {self._github.token}"}
        try:
            response = request(client, method, url, timeout=self._github.timeout, json=json, headers=headers,
                               params=params)
        except SendFailed as exc:
            raise _Stop(Delivery.retry(self._md.scrub(f"{self._what(what)}: {exc}"))) from None
        failure = self._failure(response, what, issue_level=issue_level)
        if failure is not None:
            raise _Stop(failure)
        return response

    def _failure(self, response: httpx.Response, what: str, *, issue_level: bool) -> Delivery | None:
        """GitHub's status codes: rate limits are retried when they reset, 5xx are retried, and so are an
        issue that vanished between listing and changing it (the next attempt lists again); other 4xx and
        3xx are permanent."""
        status = response.status_code
        if 200 <= status < 300:
            return None
        said = clip(*_message(response), [self._md.secret])
        error = f"{self._what(what)}: HTTP {status}" + (f" ({said})" if said else "")
        if status in (403, 429):
            wait = parse_retry_after(response)
            if wait is not None:
                return Delivery.retry(error, wait)
            if status == 429 or "rate limit" in said.lower():
                return Delivery.retry(error, SECONDARY_WAIT)
            return Delivery.dead(error)
        if status >= 500:
            return Delivery.retry(error, parse_retry_after(response))
        if issue_level and status in (301, 404, 410):  # moved to another repository, or deleted
            return Delivery.retry(error)
        if status == 401:
            error += ": check the token"
        elif status == 404:
            error += ": check the repository name and that the token may read and write its issues"
        elif 300 <= status < 400:
            error += ": the repository moved; configure its new name"
        return Delivery.dead(error)

    def _what(self, what: str) -> str:
        return f"GitHub {self._github.repo}: {what}"

    # -- rendering -----------------------------------------------------------------------------------

    def _title(self, n: Notification) -> str:
        return cut(self._md.plain(f"[deploywatch] {n.kind}: {n.subject} is {n.status.value}"), MAX_TITLE)

    def _body(self, n: Notification, message: Message, action: str) -> str:
        md = self._md
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
        foot = ["", "---", f"<sub>Managed by deploywatch (sink {md.code(self.name)}): this issue is updated while "
                "the finding fires, closed when it resolves and reopened when it fires again. Edits to this "
                "description are overwritten.</sub>", "",
                f"<!-- deploywatch:message={_safe_id(message.id)} action={action} -->"]
        top, bottom = "\n".join(head), "\n".join(foot)
        middle = "\n".join(details)
        room = MAX_BODY - len(top) - len(bottom) - 40
        if len(middle) > room:
            middle = middle[:max(0, room)].rsplit("\n", 1)[0] + "\n\n_… details cut to fit GitHub's limit._"
        return md.scrub(f"{top}\n{middle}\n{bottom}")

    def _firing_comment(self, n: Notification, message: Message, *, reopened: bool) -> str:
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

    def _resolved_comment(self, n: Notification, message: Message) -> str:
        lasting = f" after {format_age(n.duration_seconds)}" if n.duration_seconds is not None else ""
        return self._comment_text(f"✅ Resolved{lasting}.", n, message)

    def _comment_text(self, head: str, n: Notification, message: Message) -> str:
        seen = f"Observed {format_timestamp(n.at)}"
        if message.run_id:
            seen += f" in run {self._md.code(message.run_id)}"
        return self._md.scrub(f"{head}\n\n> {self._md.text(n.summary)}\n\n<sub>{seen}</sub>")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _applied(issue: Mapping[str, Any], message_id: str) -> str | None:
    """The action message ``message_id`` took on ``issue``, when it was the last to write its body."""
    found = _APPLIED.search(str(issue.get("body") or ""))
    if found is None or found.group(1) != _safe_id(message_id):
        return None
    return found.group(2)


def _rank(issue: Mapping[str, Any]) -> tuple[bool, str, int]:
    # open first, then the most recently updated (ISO 8601 in UTC sorts as text), then the newest
    return issue.get("state") == "open", str(issue.get("updated_at") or ""), int(issue["number"])


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise _Stop(Delivery.retry(f"{what}: HTTP {response.status_code} with a body that is not JSON")) from None


def _message(response: httpx.Response) -> tuple[str, int]:
    """GitHub's ``message`` (and its validation ``errors``), or a body that is not HTML; with how much of it to
    show (the caller masks, then cuts)."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        text = " ".join(data["message"].split())
        errors = data.get("errors")
        if isinstance(errors, list):
            said = [e.get("message") or " ".join(str(e[k]) for k in ("resource", "field", "code") if e.get(k))
                    for e in errors if isinstance(e, dict)] + [e for e in errors if isinstance(e, str)]
            if said:
                text += ": " + "; ".join(str(s) for s in said)
        return text, 300
    if "html" in response.headers.get("content-type", ""):
        return "", 0
    return " ".join(response.text.split()), 200


def _bullets(facts: list[tuple[str, str]]) -> list[str]:
    return [f"- **{label}:** {value}" for label, value in facts]


@dataclass(frozen=True)
class _Markdown:
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


def _details(md: _Markdown, kind: str, details: Mapping[str, Any]) -> list[str]:
    if not details:
        return []
    if kind == "drift":
        return _drift(md, details)
    if kind == "check":
        return _check(md, details)
    facts = [(md.text(key), _value(md, value)) for key, value in details.items() if value is not None]
    return ["### Details", "", *_bullets(facts)] if facts else []


def _value(md: _Markdown, value: Any) -> str:
    if isinstance(value, str):
        return md.text(value)
    if isinstance(value, bool | int | float):
        return md.text(value)
    return md.code(cut(json.dumps(value, default=str, sort_keys=True), 500))


def _drift(md: _Markdown, d: Mapping[str, Any]) -> list[str]:
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


def _check(md: _Markdown, d: Mapping[str, Any]) -> list[str]:
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
