"""Config models for the unified check and the daemon: ``[[probes]]``, ``[phases.NAME]``, ``[health]``,
``[schedule]`` and ``[server]``.

Probe headers, the heartbeat URL and the server token are secrets: kept out of ``repr`` and never printed.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from .alertconfig import Headers
from .configtypes import Duration, Finite, HttpUrl, Model, NonBlank, SecretUrl, TimeZone, Token
from .redact import register_url_secrets

__all__ = ["ACTION_TEMPLATE", "ACTION_VARIABLES", "FreshnessConfig", "HealthConfig", "HeartbeatConfig", "PhaseConfig",
           "ProbeConfig", "ScheduleConfig", "ServerConfig"]

_LISTEN = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})")


def _cron(value: str) -> str:
    from datetime import UTC, datetime

    from cronsim import CronSim, CronSimError

    try:
        CronSim(value, datetime(2026, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ValueError(f"invalid cron expression {value!r}: {exc}") from None
    return value


def _listen(value: str) -> str:
    found = _LISTEN.fullmatch(value)
    if not found or not 0 < int(found.group("port")) < 65536:
        raise ValueError("expected HOST:PORT, e.g. '127.0.0.1:8080' or '0.0.0.0:8080'")
    return value


def _processors(value: list[str]) -> list[str]:
    seen = set()
    for name in value:
        # `deploywatch complete PHASE x` never records "x ": the phase would wait forever.
        if name != name.strip():
            raise ValueError(f"processor {name!r} has leading or trailing whitespace")
        if name in seen:
            raise ValueError(f"processor {name!r} is listed twice")
        seen.add(name)
    return value


Cron = Annotated[str, AfterValidator(_cron)]
Listen = Annotated[str, AfterValidator(_listen)]
Weight = Annotated[Finite, Field(gt=0)]


class ProbeConfig(Model):
    """``[[probes]]``: a liveness test — an HTTP URL (2xx = ok; Dockerflow ``/__heartbeat__`` JSON understood)
    or a Nagios-style plugin command (exit 0 ok, 1 warning, 2 critical, 3 unknown)."""

    name: NonBlank
    url: HttpUrl | None = None
    command: NonBlank | None = None
    headers: Headers = Field(default_factory=dict, repr=False)
    timeout: Duration = 10
    weight: Weight = 1.0

    @model_validator(mode="after")
    def _one_target(self) -> ProbeConfig:
        if (self.url is None) == (self.command is None):
            raise ValueError("set exactly one of url or command")
        if self.headers and self.url is None:
            raise ValueError("'headers' apply to a url probe")
        return self


class FreshnessConfig(Model):
    """``phases.NAME.freshness``: the phase's output is fresh when max(column) is within ``within`` of now."""

    table: NonBlank
    column: NonBlank
    within: Duration


# ``on_complete``'s placeholders: ``{{ date }}`` (also ``{{ run_date }}``) and ``{{ phase }}``
ACTION_TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
ACTION_VARIABLES = ("date", "run_date", "phase")


_URL_SCHEME = re.compile(r"(?i)\s*([a-z][a-z0-9+.-]*):/")


def _action(value: str) -> str:
    scheme = _URL_SCHEME.match(value)
    # Anything but an http(s) URL runs as a shell command: "file:///x" or "ftp://…" would fail obscurely.
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        raise ValueError(f"a URL here must be http:// or https:// (got {scheme.group(1)}:), or write a shell command")
    register_url_secrets(value)  # a URL's ?token=…, or one inside a curl command
    for name in ACTION_TEMPLATE.findall(value):
        if name not in ACTION_VARIABLES:
            raise ValueError(f"unknown template variable {{{{ {name} }}}}: expected {', '.join(ACTION_VARIABLES)}")
    return value


Action = Annotated[NonBlank, AfterValidator(_action)]


class PhaseConfig(Model):
    """``[phases.NAME]``: the processors expected to report completion for each date, and the data to reconcile with."""

    processors: Annotated[list[NonBlank], Field(min_length=1), AfterValidator(_processors)]
    freshness: FreshnessConfig | None = None
    on_complete: Action | None = None  # a shell command, or an http(s) URL to POST to; {{ date }} and {{ phase }}
    on_complete_timeout: Duration = 60
    weight: Weight = 1.0
    description: str | None = None


class HealthConfig(Model):
    """``[health]``: the unified check's settings."""

    drift_weight: Weight = 1.0
    probe_services: bool = True  # every service's `health` URL becomes a probe


class HeartbeatConfig(Model):
    """``[schedule.heartbeat]``: a dead man's switch pinged around every job (healthchecks.io style)."""

    url: SecretUrl = Field(repr=False)
    timeout: Duration = 10


class ScheduleConfig(Model):
    """``[schedule]``: when ``deploywatch serve`` runs each job."""

    timezone: TimeZone = "UTC"
    drift: Cron | None = None
    canary: Cron | None = None
    check: Cron | None = None
    timeout: Duration = 3600  # a job running longer is cancelled and recorded as timed out
    catch_up: bool = True  # a run missed while the daemon was down runs once at start-up
    lease: Annotated[Duration, Field(ge=3)] = 120  # a dead daemon's running job is reaped this long after it died
    heartbeat: HeartbeatConfig | None = None

    def jobs(self) -> dict[str, str]:
        """The scheduled jobs and their cron expressions."""
        return {name: cron for name in ("drift", "canary", "check") if (cron := getattr(self, name))}


class ServerConfig(Model):
    """``[server]``: the daemon's HTTP API."""

    listen: Listen = "127.0.0.1:8080"
    token: Token | None = Field(default=None, repr=False)  # every write endpoint needs it
    protect_reads: bool = False  # read endpoints need the token too

    @property
    def host(self) -> str:
        """The host (or address) to bind."""
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        """The port to bind."""
        return int(self.listen.rsplit(":", 1)[1])



