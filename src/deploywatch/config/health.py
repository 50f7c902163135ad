"""Config models for the unified check: ``[[probes]]``, ``[phases.NAME]`` and ``[health]``.

Probe headers are secrets: kept out of ``repr`` and never printed.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from ..core.redact import register_url_secrets
from .alerts import Headers
from .types import Duration, Finite, HttpUrl, Model, NonBlank

__all__ = ["ACTION_TEMPLATE", "ACTION_VARIABLES", "FreshnessConfig", "HealthConfig", "PhaseConfig", "ProbeConfig"]


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
