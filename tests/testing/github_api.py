"""A stateful fake of the GitHub REST API's issues endpoints, served on 127.0.0.1 for the GitHub sink's tests.

It keeps one repository's issues, comments and labels in memory and answers the subset of the API the sink
uses with GitHub's status codes, headers and JSON shapes:

- ``GET /repos/{owner}/{repo}/issues`` (``labels`` = all of them, ``state`` open/closed/all, ``sort``,
  ``direction``, ``per_page`` 30 by default and at most 100, ``page``), newest first, paginated with a ``Link``
  header in GitHub's format whose URLs point at ``/repositories/{id}/issues`` as GitHub's do;
- ``POST /repos/{owner}/{repo}/issues`` (labels that do not exist yet are created), ``GET``/``PATCH
  /repos/{owner}/{repo}/issues/{number}`` (closing with a ``state_reason``, reopening sets ``reopened``);
- ``GET``/``POST /repos/{owner}/{repo}/issues/{number}/comments``.

Every response carries the ``x-ratelimit-*`` headers. Requests need ``Authorization: Bearer <token>`` (or
``token <token>``); the repository is private, so another repository is a 404. Faults are scripted with
:meth:`GitHubAPI.fail_next`: the primary rate limit (403, ``x-ratelimit-remaining: 0``), the secondary one
(403 or 429 with ``retry-after``), 5xx, a dropped connection and a hang, each before or after the request
took effect (a lost response). Every request is recorded in :attr:`GitHubAPI.requests`.

Each request gets its own daemon thread, so a hanging request never holds up the next one; every sleep is
bounded and released when the server stops.
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from testing.http import QuietHandler, QuietServer, running

__all__ = ["DEFAULT_REPO", "DEFAULT_TOKEN", "FakeComment", "FakeIssue", "Fault", "GitHubAPI", "Recorded",
           "github_api", "github_api_factory", "serve_github"]

DEFAULT_REPO = "octo-org/alerts"
DEFAULT_TOKEN = "zq7Kx9-dwtest-MARKER-41d0c"  # matches none of redact.mask's patterns: a leak shows as itself
MAX_HANG = 5.0
RATE_LIMIT = 5000
MAX_BODY = 65536
MAX_TITLE = 256
_DOCS = "https://docs.github.com/rest"
_ISSUES = re.compile(r"/repos/([^/]+)/([^/]+)/issues")
_ISSUE = re.compile(r"/repos/([^/]+)/([^/]+)/issues/(\d+)")
_COMMENTS = re.compile(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments")
_BY_ID_ISSUES = re.compile(r"/repositories/(\d+)/issues")
_BY_ID_COMMENTS = re.compile(r"/repositories/(\d+)/issues/(\d+)/comments")

FaultKind = Literal["primary_rate_limit", "secondary_rate_limit", "error", "drop", "hang"]


@dataclass
class FakeComment:
    """One issue comment."""

    id: int
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class FakeIssue:
    """One issue as the fake stores it (labels by name)."""

    number: int
    id: int
    title: str
    body: str | None
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    comments: list[FakeComment] = field(default_factory=list)


@dataclass(frozen=True)
class Recorded:
    """One request the fake received: the path (with any API prefix), the query (last value of each key), the
    JSON body (None when there was none or it was not JSON) and the headers (lower-case names)."""

    method: str
    path: str
    query: Mapping[str, str]
    json: Any
    headers: Mapping[str, str]


@dataclass
class Fault:
    """A scripted failure for the next matching request (see :meth:`GitHubAPI.fail_next`)."""

    kind: FaultKind
    method: str | None = None
    path: str | None = None  # a regex searched in the path after the API prefix
    status: int | None = None
    retry_after: int | None = None
    reset_in: int = 60
    seconds: float = 2.0
    after: bool = False
    times: int = 1
    message: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """True when this fault applies to ``method`` ``path``."""
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or re.search(self.path, path) is not None)


@dataclass
class _Reply:
    status: int
    body: Any = None  # JSON, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["reply", "drop", "hang"] = "reply"
    seconds: float = 0.0


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, docs: str = _DOCS, **extra: Any) -> _Reply:
    return _Reply(status, {"message": message, **extra, "documentation_url": docs, "status": str(status)})


class GitHubAPI:
    """The fake's state and behaviour; :func:`serve_github` puts it on a port.

    ``url`` is what the sink's ``api_url`` should be. ``issues`` maps issue numbers to :class:`FakeIssue`.
    ``rate_remaining`` counts down with every authenticated request; at 0 every request gets the primary
    rate limit's 403 until ``rate_reset`` (epoch seconds).
    """

    def __init__(self, *, repo: str = DEFAULT_REPO, token: str = DEFAULT_TOKEN, prefix: str = "",
                 clock: Callable[[], datetime] | None = None) -> None:
        self.repo = repo
        self.token = token
        self.prefix = prefix.rstrip("/")
        self.repo_id = 1296269
        self.clock = clock or (lambda: datetime.now(UTC).replace(microsecond=0))
        self.issues: dict[int, FakeIssue] = {}
        self.labels: dict[str, dict[str, Any]] = {}  # lower-case name -> label JSON
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.rate_remaining = RATE_LIMIT
        self.rate_reset = int(time.time()) + 3600
        self.base = ""  # scheme://host:port, set when served
        self.released = threading.Event()  # set when the server stops: ends every hang
        self._lock = threading.RLock()
        self._ids = 1000

    # -- helpers for tests -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API root to configure as ``api_url`` (with the prefix, e.g. ``…/api/v3``)."""
        return f"{self.base}{self.prefix}"

    def fail_next(self, kind: FaultKind, *, method: str | None = None, path: str | None = None,
                  status: int | None = None, retry_after: int | None = None, reset_in: int = 60,
                  seconds: float = 2.0, after: bool = False, times: int = 1, message: str | None = None) -> Fault:
        """Make the next ``times`` requests matching ``method`` and the ``path`` regex fail.

        ``kind``: ``primary_rate_limit`` (``status`` 403 by default, ``x-ratelimit-remaining: 0``, reset in
        ``reset_in`` seconds), ``secondary_rate_limit`` (403 by default, ``retry-after: retry_after`` when
        given), ``error`` (``status`` 500 by default, with ``message``; 502 answers GitHub's HTML page; a 4xx
        answers GitHub's JSON error, e.g. 403 "Resource not accessible by integration"), ``drop`` (close the
        connection without a response) or ``hang`` (send nothing for ``seconds``, at most 5, then close).
        With ``after`` the request takes effect first and only its response is replaced: a lost response.
        """
        fault = Fault(kind, method, path, status, retry_after, reset_in, seconds, after, times, message)
        with self._lock:
            self.faults.append(fault)
        return fault

    def create_issue(self, title: str, body: str | None = None, labels: Sequence[str] = ("deploywatch",), *,
                     state: str = "open", state_reason: str | None = None, created_at: datetime | None = None,
                     updated_at: datetime | None = None) -> FakeIssue:
        """Add an issue directly (no request, no rate limit); ``state_reason`` defaults as GitHub's does."""
        with self._lock:
            now = self.clock()
            created = created_at or now
            issue = self._new_issue(title, body, list(labels), created)
            issue.updated_at = updated_at or created
            if state == "closed":
                issue.state, issue.state_reason = "closed", state_reason or "completed"
                issue.closed_at = issue.updated_at
            else:
                issue.state_reason = state_reason
            return issue

    def comments(self, number: int) -> list[str]:
        """The bodies of issue ``number``'s comments, oldest first."""
        with self._lock:
            return [c.body for c in self.issues[number].comments]

    def with_marker(self, text: str) -> list[FakeIssue]:
        """The issues whose body contains ``text``."""
        with self._lock:
            return [i for i in self.issues.values() if i.body and text in i.body]

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """The recorded requests with ``method`` whose path matches the regex ``path``."""
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method.upper())
                    and (path is None or re.search(path, r.path))]

    def issue_json(self, issue: FakeIssue) -> dict[str, Any]:
        """``issue`` as GitHub's REST API returns it."""
        api = f"{self.url}/repos/{self.repo}/issues/{issue.number}"
        return {
            "url": api, "repository_url": f"{self.url}/repos/{self.repo}", "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments", "events_url": f"{api}/events",
            "html_url": f"https://github.com/{self.repo}/issues/{issue.number}",
            "id": issue.id, "node_id": f"I_kwDO{issue.id:08d}", "number": issue.number, "title": issue.title,
            "user": _USER, "labels": [self.labels[name.lower()] for name in issue.labels],
            "state": issue.state, "locked": False, "assignee": None, "assignees": [], "milestone": None,
            "comments": len(issue.comments), "created_at": _iso(issue.created_at),
            "updated_at": _iso(issue.updated_at),
            "closed_at": _iso(issue.closed_at) if issue.closed_at else None,
            "author_association": "NONE", "active_lock_reason": None, "body": issue.body,
            "closed_by": _USER if issue.state == "closed" else None,
            "reactions": {"url": f"{api}/reactions", "total_count": 0},
            "timeline_url": f"{api}/timeline", "performed_via_github_app": None, "state_reason": issue.state_reason,
        }

    def comment_json(self, issue: FakeIssue, comment: FakeComment) -> dict[str, Any]:
        """``comment`` as GitHub's REST API returns it."""
        return {
            "url": f"{self.url}/repos/{self.repo}/issues/comments/{comment.id}",
            "html_url": f"https://github.com/{self.repo}/issues/{issue.number}#issuecomment-{comment.id}",
            "issue_url": f"{self.url}/repos/{self.repo}/issues/{issue.number}",
            "id": comment.id, "node_id": f"IC_kwDO{comment.id:08d}", "user": _USER,
            "created_at": _iso(comment.created_at), "updated_at": _iso(comment.updated_at),
            "author_association": "NONE", "body": comment.body, "performed_via_github_app": None,
            "reactions": {"url": f"{self.url}/repos/{self.repo}/issues/comments/{comment.id}/reactions",
                          "total_count": 0},
        }

    # -- the API ---------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> _Reply:
        """Answer one request (called by the server thread); records it and applies any scripted fault."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            payload: Any = json.loads(raw) if raw else None
            bad_json = False
        except ValueError:
            payload, bad_json = None, True
        with self._lock:
            self.requests.append(Recorded(method, parts.path, query, payload, dict(headers)))
            path = parts.path
            if self.prefix:
                if not (path == self.prefix or path.startswith(self.prefix + "/")):
                    return self._finish(_error(404, "Not Found"))
                path = path[len(self.prefix):] or "/"
            auth = self._authenticate(headers)
            if auth is not None:
                return self._finish(auth, counted=False)
            fault = next((f for f in self.faults if f.matches(method, path)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            if fault is not None and not fault.after:
                return self._finish(self._fault(fault))
            if self.rate_remaining <= 0 and time.time() < self.rate_reset:
                return self._finish(self._fault(Fault("primary_rate_limit",
                                                      reset_in=int(self.rate_reset - time.time()))))
            if bad_json:
                return self._finish(_error(400, "Problems parsing JSON"))
            reply = self._route(method, path, query, payload)
            if fault is not None:
                reply = self._fault(fault)
            return self._finish(reply)

    def _authenticate(self, headers: Mapping[str, str]) -> _Reply | None:
        value = headers.get("authorization")
        if value is None:
            return _error(401, "Requires authentication")
        scheme, _, credential = value.partition(" ")
        if scheme.lower() not in ("bearer", "token") or credential.strip() != self.token:
            return _error(401, "Bad credentials")
        return None

    def _fault(self, fault: Fault) -> _Reply:
        if fault.kind == "primary_rate_limit":
            reset = int(time.time()) + fault.reset_in
            reply = _error(fault.status or 403, "API rate limit exceeded for user ID 583231. If you reach out to "
                           "GitHub Support for help, please include the request ID 0400:3A1B:1C2D3E:4F5A6B:65F0A1B2.",
                           "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
            reply.headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
            return reply
        if fault.kind == "secondary_rate_limit":
            reply = _error(fault.status or 403, "You have exceeded a secondary rate limit. Please wait a few minutes "
                           "before you try again. If you reach out to GitHub Support for help, please include the "
                           "request ID 0400:3A1B:1C2D3E:4F5A6B:65F0A1B2.",
                           "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                           "#about-secondary-rate-limits")
            if fault.retry_after is not None:
                reply.headers["retry-after"] = str(fault.retry_after)
            return reply
        if fault.kind == "error":
            status = fault.status or 500
            if status == 502:
                page = (b"<html><body><h1>502 Bad Gateway</h1>Unicorn! This page is taking too long to load."
                        b"</body></html>")
                return _Reply(502, page, {"content-type": "text/html"})
            if status < 500:
                return _error(status, fault.message or "Forbidden")
            return _Reply(status, {"message": fault.message or "Server Error"})
        if fault.kind == "drop":
            return _Reply(0, action="drop")
        return _Reply(0, action="hang", seconds=min(fault.seconds, MAX_HANG))

    def _finish(self, reply: _Reply, *, counted: bool = True) -> _Reply:
        # an unauthenticated request counts against the per-IP limit of 60, not the token's
        if counted and self.rate_remaining > 0:
            self.rate_remaining -= 1
        limit = RATE_LIMIT if counted else 60
        remaining = reply.headers.get("x-ratelimit-remaining", str(self.rate_remaining if counted else 59))
        reply.headers = {
            "x-github-api-version-selected": "2022-11-28", "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": "0400:3A1B:1C2D3E:4F5A6B:65F0A1B2",
            "x-ratelimit-limit": str(limit), "x-ratelimit-remaining": remaining,
            "x-ratelimit-reset": str(self.rate_reset), "x-ratelimit-used": str(limit - int(remaining)),
            "x-ratelimit-resource": "core", **reply.headers,
        }
        return reply

    def _route(self, method: str, path: str, query: Mapping[str, str], payload: Any) -> _Reply:
        routes: list[tuple[re.Pattern[str], str, Callable[..., _Reply]]] = [
            (_COMMENTS, "GET", self._list_comments), (_COMMENTS, "POST", self._create_comment),
            (_ISSUE, "GET", self._get_issue), (_ISSUE, "PATCH", self._update_issue),
            (_ISSUES, "GET", self._list_issues), (_ISSUES, "POST", self._create_issue),
        ]
        for pattern, verb, handler in routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            owner, name = match.group(1), match.group(2)
            if f"{owner}/{name}".lower() != self.repo.lower():
                return _error(404, "Not Found")
            if method != verb:
                continue
            number = int(match.group(3)) if pattern.groups >= 3 else None
            return handler(number=number, query=query, payload=payload)
        by_id = _BY_ID_COMMENTS.fullmatch(path) or _BY_ID_ISSUES.fullmatch(path)
        if by_id is not None and method == "GET":
            if int(by_id.group(1)) != self.repo_id:
                return _error(404, "Not Found")
            if by_id.re is _BY_ID_COMMENTS:
                return self._list_comments(number=int(by_id.group(2)), query=query, payload=None)
            return self._list_issues(number=None, query=query, payload=None)
        return _error(404, "Not Found")

    def _list_issues(self, *, number: int | None, query: Mapping[str, str], payload: Any) -> _Reply:
        state = query.get("state", "open")
        sort = query.get("sort", "created")
        direction = query.get("direction", "desc")
        for key, value, allowed in (("state", state, ("open", "closed", "all")),
                                    ("sort", sort, ("created", "updated", "comments")),
                                    ("direction", direction, ("asc", "desc"))):
            if value not in allowed:
                return _error(422, "Validation Failed", "https://docs.github.com/rest/issues/issues"
                              "#list-repository-issues",
                              errors=[{"value": value, "resource": "Issue", "field": key, "code": "invalid"}])
        wanted = [name.strip().lower() for name in query.get("labels", "").split(",") if name.strip()]
        found = [i for i in self.issues.values()
                 if state in ("all", i.state) and all(w in {n.lower() for n in i.labels} for w in wanted)]

        def order(issue: FakeIssue) -> tuple[Any, int]:
            value = {"created": issue.created_at, "updated": issue.updated_at, "comments": len(issue.comments)}
            return value[sort], issue.number

        found.sort(key=order, reverse=direction == "desc")
        return self._page(found, query, f"/repositories/{self.repo_id}/issues", self.issue_json)

    def _page(self, items: Sequence[Any], query: Mapping[str, str], link_path: str,
              render: Callable[[Any], dict[str, Any]]) -> _Reply:
        per_page = min(max(_int(query.get("per_page"), 30), 1), 100)
        page = max(_int(query.get("page"), 1), 1)
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        reply = _Reply(200, [render(i) for i in chunk])
        if len(items) > per_page:
            def url(n: int) -> str:
                params = {k: v for k, v in query.items() if k != "page"}
                params["page"] = str(n)
                return f"{self.url}{link_path}?{urlencode(params)}"

            links: list[tuple[int, str]] = []
            if page > 1:
                links.append((min(page - 1, last), "prev"))
            if page < last:
                links += [(page + 1, "next"), (last, "last")]
            if page > 1:
                links.append((1, "first"))
            reply.headers["link"] = ", ".join(f'<{url(n)}>; rel="{rel}"' for n, rel in links)
        return reply

    def _create_issue(self, *, number: int | None, query: Mapping[str, str], payload: Any) -> _Reply:
        docs = "https://docs.github.com/rest/issues/issues#create-an-issue"
        if not isinstance(payload, dict):
            return _error(400, "Problems parsing JSON", docs)
        title = payload.get("title")
        if title is None or title == "":
            return _error(422, 'Invalid request.\n\n"title" wasn\'t supplied.', docs)
        invalid = self._invalid(payload, docs)
        if invalid is not None:
            return invalid
        issue = self._new_issue(str(title), payload.get("body"), list(payload.get("labels") or []), self.clock())
        return _Reply(201, self.issue_json(issue), {"location": f"{self.url}/repos/{self.repo}/issues/{issue.number}"})

    def _invalid(self, payload: Mapping[str, Any], docs: str) -> _Reply | None:
        title, body, labels = payload.get("title"), payload.get("body"), payload.get("labels")
        if title is not None and not isinstance(title, str | int):
            return _error(422, f"Invalid request.\n\nFor 'properties/title', {json.dumps(title)} is not a string "
                          "or integer.", docs)
        if body is not None and not isinstance(body, str):
            return _error(422, f"Invalid request.\n\nFor 'properties/body', {json.dumps(body)} is not a string "
                          "or null.", docs)
        if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
            return _error(422, "Invalid request.\n\nFor 'properties/labels', the value is not an array of "
                          "strings.", docs)
        if isinstance(title, str) and len(title) > MAX_TITLE:
            return _error(422, "Validation Failed", docs, errors=[{
                "resource": "Issue", "code": "custom", "field": "title",
                "message": f"title is too long (maximum is {MAX_TITLE} characters)"}])
        if isinstance(body, str) and len(body) > MAX_BODY:
            return _error(422, "Validation Failed", docs, errors=[{
                "resource": "Issue", "code": "custom", "field": "body",
                "message": f"body is too long (maximum is {MAX_BODY} characters)"}])
        return None

    def _get_issue(self, *, number: int | None, query: Mapping[str, str], payload: Any) -> _Reply:
        issue = self.issues.get(number or 0)
        if issue is None:
            return _error(404, "Not Found", "https://docs.github.com/rest/issues/issues#get-an-issue")
        return _Reply(200, self.issue_json(issue))

    def _writable(self, number: int | None, payload: Any, docs: str) -> FakeIssue | _Reply:
        """Issue ``number`` when it exists and ``payload`` is a JSON object; otherwise GitHub's error."""
        issue = self.issues.get(number or 0)
        if issue is None:
            return _error(404, "Not Found", docs)
        if not isinstance(payload, dict):
            return _error(400, "Problems parsing JSON", docs)
        return issue

    def _update_issue(self, *, number: int | None, query: Mapping[str, str], payload: Any) -> _Reply:
        docs = "https://docs.github.com/rest/issues/issues#update-an-issue"
        issue = self._writable(number, payload, docs)
        if isinstance(issue, _Reply):
            return issue
        invalid = self._invalid(payload, docs)
        if invalid is not None:
            return invalid
        state, reason = payload.get("state"), payload.get("state_reason")
        if state is not None and state not in ("open", "closed"):
            return _error(422, "Validation Failed", docs,
                          errors=[{"resource": "Issue", "code": "invalid", "field": "state"}])
        if reason is not None and reason not in ("completed", "not_planned", "reopened"):
            return _error(422, f"Invalid request.\n\n{json.dumps(reason)} is not a member of enum.", docs)
        if "title" in payload:
            if not payload["title"]:
                return _error(422, "Validation Failed", docs,
                              errors=[{"resource": "Issue", "code": "missing_field", "field": "title"}])
            issue.title = str(payload["title"])
        if "body" in payload:
            issue.body = payload["body"]
        if "labels" in payload:
            issue.labels = self._labels(payload["labels"] or [])
        now = self.clock()
        if state == "closed" and issue.state != "closed":
            issue.state, issue.closed_at = "closed", now
            issue.state_reason = reason if reason in ("completed", "not_planned") else "completed"
        elif state == "closed" and reason in ("completed", "not_planned"):
            issue.state_reason = reason
        elif state == "open" and issue.state == "closed":
            issue.state, issue.state_reason, issue.closed_at = "open", "reopened", None
        issue.updated_at = now
        return _Reply(200, self.issue_json(issue))

    def _list_comments(self, *, number: int | None, query: Mapping[str, str], payload: Any) -> _Reply:
        issue = self.issues.get(number or 0)
        if issue is None:
            return _error(404, "Not Found", "https://docs.github.com/rest/issues/comments#list-issue-comments")
        return self._page(issue.comments, query, f"/repositories/{self.repo_id}/issues/{issue.number}/comments",
                          lambda c: self.comment_json(issue, c))

    def _create_comment(self, *, number: int | None, query: Mapping[str, str], payload: Any) -> _Reply:
        docs = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
        issue = self._writable(number, payload, docs)
        if isinstance(issue, _Reply):
            return issue
        body = payload.get("body")
        if not body:
            return _error(422, 'Invalid request.\n\n"body" wasn\'t supplied.', docs)
        if not isinstance(body, str):
            return _error(422, "Invalid request.\n\nFor 'properties/body', the value is not a string.", docs)
        if len(body) > MAX_BODY:
            return _error(422, "Validation Failed", docs, errors=[{
                "resource": "IssueComment", "code": "custom", "field": "body",
                "message": f"body is too long (maximum is {MAX_BODY} characters)"}])
        now = self.clock()
        self._ids += 1
        comment = FakeComment(self._ids, body, now, now)
        issue.comments.append(comment)
        issue.updated_at = now
        return _Reply(201, self.comment_json(issue, comment),
                      {"location": f"{self.url}/repos/{self.repo}/issues/comments/{comment.id}"})

    def _new_issue(self, title: str, body: str | None, labels: list[str], created: datetime) -> FakeIssue:
        self._ids += 1
        number = max(self.issues, default=0) + 1
        issue = FakeIssue(number, self._ids, title, body, self._labels(labels), created, created)
        self.issues[number] = issue
        return issue

    def _labels(self, names: Sequence[str]) -> list[str]:
        # GitHub creates unknown labels (grey, no description); names are case-insensitive
        result: list[str] = []
        for name in names:
            key = name.lower()
            if key not in self.labels:
                self._ids += 1
                self.labels[key] = {"id": self._ids, "node_id": f"LA_kwDO{self._ids:08d}",
                                    "url": f"{self.url}/repos/{self.repo}/labels/{name}", "name": name,
                                    "color": "ededed", "default": False, "description": None}
            canonical = str(self.labels[key]["name"])
            if canonical not in result:
                result.append(canonical)
        return result


_USER = {"login": "deploywatch-bot", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==", "type": "User",
         "site_admin": False, "html_url": "https://github.com/deploywatch-bot"}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@contextmanager
def serve_github(*, repo: str = DEFAULT_REPO, token: str = DEFAULT_TOKEN, prefix: str = "",
                 clock: Callable[[], datetime] | None = None) -> Iterator[GitHubAPI]:
    """Serve a fresh :class:`GitHubAPI` on a free port of 127.0.0.1 until the block ends."""
    api = GitHubAPI(repo=repo, token=token, prefix=prefix, clock=clock)

    class Handler(QuietHandler):
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = api.handle(self.command, self.path, headers, raw)
            if reply.action == "hang":
                api.released.wait(reply.seconds)
            if reply.action in ("hang", "drop"):
                self.close_connection = True
                with suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if isinstance(reply.body, bytes):
                data = reply.body
            else:
                data = json.dumps(reply.body, indent=2).encode() if reply.body is not None else b""
                reply.headers.setdefault("content-type", "application/json; charset=utf-8")
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

    server = QuietServer(("127.0.0.1", 0), Handler)
    api.base = f"http://127.0.0.1:{server.server_address[1]}"
    with running(server):
        try:
            yield api
        finally:
            api.released.set()  # ends every hang before the server stops


@pytest.fixture
def github_api() -> Iterator[GitHubAPI]:
    """A fake GitHub API for repository ``octo-org/alerts`` accepting :data:`DEFAULT_TOKEN`."""
    with serve_github() as api:
        yield api


@pytest.fixture
def github_api_factory() -> Iterator[Callable[..., GitHubAPI]]:
    """Start more fakes with other options (``repo``, ``token``, ``prefix`` such as ``/api/v3`` for GitHub
    Enterprise, ``clock``); each is stopped at the end of the test."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        def start(**options: Any) -> GitHubAPI:
            return stack.enter_context(serve_github(**options))

        yield start
