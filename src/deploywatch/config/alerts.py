"""Config models for notifications: the ``[[alerts.*]]`` sinks and the ``[alerts]`` settings they share.

The sinks are ``[[alerts.slack]]``, ``[[alerts.github]]``, ``[[alerts.alertmanager]]`` and ``[[alerts.webhook]]``.

Webhook URLs, tokens and header values are secrets: nothing here puts them in a ``repr`` or an error, and
:meth:`SinkConfig.shown` is the only way a sink is named in output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from ..core.redact import register_secret
from .types import Duration, HttpUrl, Model, Name, NonBlank, Secret, SecretUrl

__all__ = [
    "AlertMatch",
    "AlertmanagerSinkConfig",
    "AlertsConfig",
    "GitHubSinkConfig",
    "SinkConfig",
    "SlackSinkConfig",
    "WebhookSinkConfig",
    "host_of",
]

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_HEADER = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
DEFAULT_REPEAT_INTERVAL = 4 * 3600


def _repo(value: str) -> str:
    if not _REPO.fullmatch(value) or any(part.strip(".") == "" for part in value.split("/")):
        raise ValueError("expected a GitHub repository as 'owner/name'")
    return value


def _label(value: str) -> str:
    if not value.strip() or "," in value:
        raise ValueError("expected a label name without commas (GitHub's label filter separates names with them)")
    return value


def _headers(value: dict[str, str]) -> dict[str, str]:
    for key, header in value.items():
        if not _HEADER.fullmatch(key):
            raise ValueError(f"invalid HTTP header name {key!r}")
        if "\n" in header or "\r" in header:
            raise ValueError(f"the value of header {key!r} must not contain a line break")
        if not header.isascii():  # HTTP clients send header values as ASCII: every request would fail
            raise ValueError(f"the value of header {key!r} must be ASCII")
    return value


def _secret_headers(value: dict[str, str]) -> dict[str, str]:
    for header in value.values():
        register_secret(header)  # header values are secrets (Authorization, API keys)
    return value


GitHubRepo = Annotated[str, AfterValidator(_repo)]

Label = Annotated[str, AfterValidator(_label)]
Headers = Annotated[dict[str, str], AfterValidator(_headers), AfterValidator(_secret_headers)]
FiringStatus = Literal["warning", "critical", "unknown"]


class AlertMatch(Model):
    """``match``: which findings a sink hears about. Every key given must match; within a key, any value."""

    kind: Annotated[list[NonBlank], Field(min_length=1)] | None = None  # drift, check, gate …
    status: Annotated[list[FiringStatus], Field(min_length=1)] | None = None
    subject: Annotated[list[NonBlank], Field(min_length=1)] | None = None  # fnmatch globs over subjects
    labels: dict[NonBlank, str] | None = None  # exact label values, e.g. {group = "predictions"}


class SinkConfig(Model):
    """What every sink shares: its name, routing, repeat and resolve behaviour, and the HTTP timeout."""

    type: ClassVar[str]

    name: Name | None = None  # default: the sink type, numbered when there are several ("slack", "slack-2")
    match: AlertMatch | None = None
    repeat_interval: Duration = DEFAULT_REPEAT_INTERVAL  # re-notify an unchanged firing finding this often
    send_resolved: bool = True
    resolve_after: Annotated[int, Field(ge=1, le=100)] = 1  # consecutive ok runs before "resolved"
    timeout: Duration = 10  # each HTTP request

    def target(self) -> str:
        """Where the sink sends, safe to print (host only; never a path, query, token or header)."""
        raise NotImplementedError


def host_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: safe to print (no user, password, path or query)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class SlackSinkConfig(SinkConfig):
    """``[[alerts.slack]]``: an incoming webhook (Slack's, a proxy, or any endpoint speaking its protocol)."""

    type: ClassVar[str] = "slack"
    webhook: SecretUrl = Field(repr=False)

    def target(self) -> str:
        """The webhook's host."""
        return host_of(self.webhook)


class GitHubSinkConfig(SinkConfig):
    """``[[alerts.github]]``: one issue per finding, opened, updated, reopened and closed."""

    type: ClassVar[str] = "github"
    repo: GitHubRepo
    token: Secret = Field(repr=False)
    labels: Annotated[list[Label], Field(min_length=1)] = Field(default_factory=lambda: ["deploywatch"])
    api_url: HttpUrl = "https://api.github.com"

    def target(self) -> str:
        """The repository (and the API host when it is not github.com's)."""
        host = host_of(self.api_url)
        return self.repo if host == "https://api.github.com" else f"{self.repo} via {host}"


class AlertmanagerSinkConfig(SinkConfig):
    """``[[alerts.alertmanager]]``: every firing alert posted to every instance on every run."""

    type: ClassVar[str] = "alertmanager"
    urls: Annotated[list[HttpUrl], Field(min_length=1)] = Field(repr=False)
    headers: Headers = Field(default_factory=dict, repr=False)
    # endsAt of a firing alert: Alertmanager resolves it by itself when no run re-posts it for this long
    ends_after: Duration = 6 * 3600
    repeat_interval: Duration = 0  # ignored: Alertmanager expects every run to re-post what fires

    def target(self) -> str:
        """The instances' hosts."""
        return ", ".join(host_of(u) for u in self.urls)


class WebhookSinkConfig(SinkConfig):
    """``[[alerts.webhook]]``: a JSON POST (schema ``deploywatch.notification/v1``) to any URL."""

    type: ClassVar[str] = "webhook"
    url: SecretUrl = Field(repr=False)
    headers: Headers = Field(default_factory=dict, repr=False)

    def target(self) -> str:
        """The endpoint's host."""
        return host_of(self.url)


class AlertsConfig(Model):
    """``[alerts]``: the sinks, and delivery settings shared by all of them."""

    slack: list[SlackSinkConfig] = Field(default_factory=list)
    github: list[GitHubSinkConfig] = Field(default_factory=list)
    alertmanager: list[AlertmanagerSinkConfig] = Field(default_factory=list)
    webhook: list[WebhookSinkConfig] = Field(default_factory=list)
    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 12  # then a transient failure becomes a dead letter
    retry_for: Duration = 30  # how long one run keeps retrying before leaving the rest to the next run
    dashboard_url: HttpUrl | None = None  # linked from messages (Alertmanager's generatorURL)

    def sinks(self) -> Iterator[tuple[str, SinkConfig]]:
        """Every configured sink with its effective name, in config order (slack, github, alertmanager, webhook)."""
        for name, _, _, sink in self._entries():
            yield name, sink

    def _entries(self) -> Iterator[tuple[str, str, int, SinkConfig]]:
        """(effective name, kind, index in its list, config) of every sink: the name defaults to the kind,
        numbered when there are several ("slack", "slack-2")."""
        for kind in ("slack", "github", "alertmanager", "webhook"):
            configured: list[SinkConfig] = getattr(self, kind)
            for index, sink in enumerate(configured):
                yield sink.name or (kind if index == 0 else f"{kind}-{index + 1}"), kind, index, sink

    def sink(self, name: str) -> SinkConfig | None:
        """The sink called ``name``, or None."""
        return next((s for n, s in self.sinks() if n == name), None)

    @property
    def configured(self) -> bool:
        """True when at least one sink is configured."""
        return any(True for _ in self.sinks())

    def duplicate_name(self) -> tuple[str, tuple[str | int, ...]] | None:
        """The first sink whose effective name another sink already has, with its key path; None when unique."""
        seen: set[str] = set()
        for name, kind, index, sink in self._entries():
            if name in seen:
                return name, (kind, index, "name") if sink.name else (kind, index)
            seen.add(name)
        return None
