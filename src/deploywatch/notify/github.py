"""GitHub issues as a sink: one issue per finding, kept in step with it.

An issue is opened when its finding fires, updated and commented on while it fires, closed (as completed) when it
resolves and reopened when it fires again.

An issue belongs to a finding through a hidden line in its body, ``<!-- deploywatch:fingerprint=… -->``. The
sink finds it by listing the issues that carry all of its labels (every state, most recently updated first,
following ``Link: rel="next"``), never through the search API, whose index lags behind writes: a retried
create would open a second issue. A second hidden line names the message that last wrote the body, so a
retry after a lost response recognises its own work instead of commenting twice.

What the issues say (title, body, comments as safe Markdown: escaped, mentions broken, secrets masked) is
:mod:`deploywatch.notify.github_text`; this module is the conversation with GitHub's REST API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..config.alerts import GitHubSinkConfig, SinkConfig
from ..core.redact import clip
from .github_text import IssueText, marker
from .github_text import applied as applied_by
from .http import SendFailed, parse_retry_after, request
from .model import Delivery, Message, Notification

__all__ = ["API_VERSION", "GitHubSink", "marker"]

API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 50  # 5,000 labelled issues; past that an old closed issue may be missed and a new one opened
SECONDARY_WAIT = 60.0  # GitHub: after a secondary rate limit without retry-after, wait at least a minute


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
        self._text = IssueText(name, config.token)

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
        applied = applied_by(issue, message.id) if issue is not None else None
        if not n.firing:
            if number is None:
                return {"issue": None, "action": "none"}
            if state == "closed":  # closed already: by this message before its response was lost, or by hand
                return {"issue": number, "action": "closed" if applied == "closed" else "none"}
            self._comment(number, self._text.resolved_comment(n, message), client)
            self._call("PATCH", f"{self._issues}/{number}", "closing the issue", client, issue_level=True,
                       json={"state": "closed", "state_reason": "completed",
                             "body": self._text.body(n, message, "closed")})
            return {"issue": number, "action": "closed"}
        if number is None:
            created = self._call("POST", self._issues, "creating an issue", client,
                                 json={"title": self._text.title(n), "body": self._text.body(n, message, "created"),
                                       "labels": list(self._github.labels)})
            number = created.get("number")
            if not isinstance(number, int):
                raise _Stop(Delivery.retry(f"{self._what('creating an issue')}: the answer has no issue number"))
            return {"issue": number, "action": "created"}
        if state == "open" and applied is not None:  # this message already did it; its response was lost
            return {"issue": number, "action": applied}
        reopen = state == "closed"
        action = "reopened" if reopen else "updated"
        self._comment(number, self._text.firing_comment(n, message, reopened=reopen), client)
        update: dict[str, Any] = {"title": self._text.title(n), "body": self._text.body(n, message, action)}
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
            raise _Stop(Delivery.retry(self._text.md.scrub(f"{self._what(what)}: {exc}"))) from None
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
        said = clip(*_message(response), [self._text.md.secret])
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


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


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
