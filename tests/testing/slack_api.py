"""A fake Slack incoming webhook on 127.0.0.1, as strict as Slack about what it accepts.

``POST /services/T…/B…/<token>`` with a JSON object (or a form with ``payload=<json>``) answers ``200 ok``
(``text/html``) when the message is one Slack would post: ``text`` or ``blocks`` present, at most 50
blocks, known block types, header text ``plain_text`` of 1-150 characters, section text of 1-3000
characters (fields: at most 10 of at most 2000), context elements 1-10, text objects ``plain_text`` or
``mrkdwn`` (``emoji`` only on ``plain_text``). Anything else is ``400 invalid_payload``, and the reason is
kept in :attr:`Recorded.problem <testing.webhook_api.Recorded.problem>` so a failing test says what broke
the limits. Another path is ``404 no_service``. With ``rate_limit`` set, a message sooner than that many
seconds after the last accepted one gets ``429 rate_limited`` with ``Retry-After``, as Slack does past one
message per second.

Scripted failures (:meth:`FakeSlack.fail_next`) answer as Slack does: ``rate_limited`` (429,
``Retry-After``), ``server_error`` (500), ``invalid_payload`` (400), ``action_prohibited`` (403),
``no_service`` / ``channel_not_found`` (404), ``channel_is_archived`` (410), ``unexpected_body`` (200 with
another body than ``ok``), and ``hang`` (no answer for ``seconds``, then the usual one).

The default token is a marker that none of ``redact.mask``'s patterns hides: if the webhook URL leaks into
an error or a log line, ``FakeSlack.token in text`` finds it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import parse_qs

import pytest
from werkzeug import Request

from testing.webhook_api import Answer, RecordingServer, Scripted

__all__ = ["DEFAULT_TOKEN", "FakeSlack", "SlackFailure", "fake_slack", "slack_problem"]

DEFAULT_TOKEN = "Qx7dwSLACKmarker9Lp4Vn2Rt8K"  # a Slack-like 24+ character token
MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FIELD = 2000
BLOCK_TYPES = {"actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text",
               "section", "video"}

SlackFailure = Literal["rate_limited", "server_error", "invalid_payload", "action_prohibited", "no_service",
                       "channel_not_found", "channel_is_archived", "unexpected_body", "hang"]
_FAILURES: dict[str, tuple[int, str]] = {
    "rate_limited": (429, "rate_limited"),
    "server_error": (500, "internal_error"),
    "invalid_payload": (400, "invalid_payload"),
    "action_prohibited": (403, "action_prohibited"),
    "no_service": (404, "no_service"),
    "channel_not_found": (404, "channel_not_found"),
    "channel_is_archived": (410, "channel_is_archived"),
    "unexpected_body": (200, "<html><body>Please sign in</body></html>"),
}
_HTML = "text/html"


def slack_problem(payload: Any) -> str | None:
    """Why Slack would reject ``payload`` (a parsed JSON body), or None when it would post it."""
    if not isinstance(payload, dict):
        return "the body is not a JSON object"
    text, blocks = payload.get("text"), payload.get("blocks")
    if text is not None and not isinstance(text, str):
        return "text is not a string"
    if blocks is not None and not isinstance(blocks, list):
        return "blocks is not an array"
    if not text and not blocks:
        return "neither text nor blocks"
    if blocks and len(blocks) > MAX_BLOCKS:
        return f"{len(blocks)} blocks, more than {MAX_BLOCKS}"
    for index, block in enumerate(blocks or ()):
        problem = _block_problem(block)
        if problem:
            return f"blocks[{index}]: {problem}"
    return None


def _block_problem(block: Any) -> str | None:
    if not isinstance(block, dict):
        return "not an object"
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return f"unknown block type {kind!r}"
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > 255):
        return "block_id is not a string of at most 255 characters"
    if kind == "header":
        return _text_problem(block.get("text"), MAX_HEADER, plain_only=True)
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            return "a section needs text or fields"
        if text is not None and (problem := _text_problem(text, MAX_SECTION)):
            return problem
        if fields is not None:
            if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                return "fields must be an array of 1 to 10 text objects"
            for field in fields:
                if problem := _text_problem(field, MAX_FIELD):
                    return f"fields: {problem}"
        return None
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return "context elements must be an array of 1 to 10 elements"
        for element in elements:
            if isinstance(element, dict) and element.get("type") == "image":
                continue
            if problem := _text_problem(element, MAX_SECTION):
                return f"context: {problem}"
    return None


def _text_problem(obj: Any, limit: int, *, plain_only: bool = False) -> str | None:
    if not isinstance(obj, dict):
        return "text is not a text object"
    kind, text = obj.get("type"), obj.get("text")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        return f"text type {kind!r} is not one of {', '.join(allowed)}"
    if "emoji" in obj and kind != "plain_text":
        return "emoji is only allowed on plain_text"
    if not isinstance(text, str) or not text:
        return "text must be a non-empty string"
    if len(text) > limit:
        return f"text of {len(text)} characters, more than {limit}"
    return None


class FakeSlack(RecordingServer):
    """A Slack incoming webhook: :attr:`url` posts to the channel; see the module's docstring."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, team: str = "T00000001", bot: str = "B00000001",
                 rate_limit: float | None = None) -> None:
        super().__init__()
        self.token = token
        self.path = f"/services/{team}/{bot}/{token}"
        self.rate_limit = rate_limit
        self._last_accepted: float | None = None

    @property
    def url(self) -> str:
        """The webhook URL (it holds :attr:`token`, the secret)."""
        return f"{self.base_url}{self.path}"

    @property
    def received(self) -> list[dict[str, Any]]:
        """The payloads Slack posted (answered ``200 ok``), oldest first."""
        return [r.json for r in self.requests if r.status == 200 and r.response == "ok"]

    def fail_next(self, kind: SlackFailure, count: int = 1, *, retry_after: int | str | None = 1,
                  seconds: float = 5.0, body: str | None = None) -> None:
        """Answer the next ``count`` webhook posts with Slack's ``kind`` failure (``body`` replaces Slack's
        error string). ``rate_limited`` sends ``Retry-After: retry_after`` (None: no header); ``hang`` waits
        ``seconds`` before the usual answer."""
        if kind == "hang":
            self.script(Scripted(None, seconds, count))
            return
        status, error = _FAILURES[kind]
        headers = {"Retry-After": str(retry_after)} if kind == "rate_limited" and retry_after is not None else {}
        self.script(Scripted(Answer(status, body if body is not None else error, headers, _HTML), 0.0, count))

    def scriptable(self, request: Request) -> bool:
        """Scripted failures apply to posts to the webhook."""
        return request.method == "POST" and request.path == self.path

    def answer(self, request: Request, payload: Any) -> Answer:
        """Slack's answer: ``ok``, ``no_service``, ``invalid_payload`` or ``rate_limited``."""
        if request.path != self.path:
            return Answer(404, "no_service", content_type=_HTML, problem="unknown webhook path")
        if request.method != "POST":
            return Answer(400, "invalid_payload", content_type=_HTML, problem=f"{request.method} instead of POST")
        if payload is None and request.mimetype == "application/x-www-form-urlencoded":
            payload = _form_payload(request)
        problem = slack_problem(payload)
        if problem:
            return Answer(400, "invalid_payload", content_type=_HTML, problem=problem)
        now = time.monotonic()
        if self.rate_limit is not None and self._last_accepted is not None:
            wait = self._last_accepted + self.rate_limit - now
            if wait > 0:
                return Answer(429, "rate_limited", {"Retry-After": str(max(1, round(wait)))}, _HTML,
                              problem="rate limited")
        self._last_accepted = now
        return Answer(200, "ok", content_type=_HTML)

    def _reset_state(self) -> None:
        self._last_accepted = None


def _form_payload(request: Request) -> Any:
    values = parse_qs(request.get_data(as_text=True)).get("payload")
    try:
        return json.loads(values[0]) if values else None
    except ValueError:
        return None


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running :class:`FakeSlack`; post to ``fake_slack.url``."""
    with FakeSlack() as slack:
        yield slack
