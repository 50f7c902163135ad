"""Config models for the daemon: ``[schedule]`` (with its heartbeat) and ``[server]``.

The heartbeat URL and the server token are secrets: kept out of ``repr`` and never printed.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from .types import Duration, Model, SecretUrl, TimeZone, Token

__all__ = ["HeartbeatConfig", "ScheduleConfig", "ServerConfig"]

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


Cron = Annotated[str, AfterValidator(_cron)]
Listen = Annotated[str, AfterValidator(_listen)]


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
    # the weekly report to the alert sinks; each covers the time since the previous slot
    report: Cron | None = None
    remediate: Cron | None = None  # deploywatch remediate --apply (its guardrails and kill switch apply)
    timeout: Duration = 3600  # a job running longer is cancelled and recorded as timed out
    catch_up: bool = True  # a run missed while the daemon was down runs once at start-up
    lease: Annotated[Duration, Field(ge=3)] = 120  # a dead daemon's running job is reaped this long after it died
    heartbeat: HeartbeatConfig | None = None

    def jobs(self) -> dict[str, str]:
        """The scheduled jobs and their cron expressions."""
        return {name: cron for name in ("drift", "canary", "check", "report", "remediate")
                if (cron := getattr(self, name))}


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



