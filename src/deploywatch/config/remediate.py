"""``[remediate]``: the guardrails of ``deploywatch remediate`` and its ``[[remediate.rules]]``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .types import Duration, Model, NonBlank

__all__ = ["RemediateSettings", "RuleConfig", "RuleWhen"]


class RuleWhen(Model):
    """``when``: the finding a rule watches (exactly one of ``check``, ``probe``, ``phase``), the status it fires
    on, and in how many consecutive stored runs. ``unknown`` fires a rule only when it says so."""

    check: NonBlank | None = None
    probe: NonBlank | None = None
    phase: NonBlank | None = None
    status: Literal["warning", "critical", "unknown"] = "critical"
    for_runs: Annotated[int, Field(ge=1, le=100)] = 1

    @model_validator(mode="after")
    def _one_subject(self) -> RuleWhen:
        if sum(x is not None for x in (self.check, self.probe, self.phase)) != 1:
            raise ValueError("set exactly one of check, probe or phase")
        return self

    @property
    def kind(self) -> str:
        """The kind of finding watched: ``check``, ``probe`` or ``completion``."""
        return "check" if self.check else "probe" if self.probe else "completion"

    @property
    def subject(self) -> str:
        """The watched check, probe or phase."""
        return self.check or self.probe or self.phase or ""


class RuleConfig(Model):
    """``[[remediate.rules]]``: run a command when a finding holds, at most ``max_per_day`` times a day."""

    name: NonBlank
    when: RuleWhen
    run: NonBlank  # {{ date }}, {{ group }}, {{ subject }}, {{ status }}: the finding's template variables
    max_per_day: Annotated[int, Field(ge=1)] = 1
    timeout: Annotated[Duration, Field(ge=1)] = 600


class RemediateSettings(Model):
    """``[remediate]``: which drifted services are redeployed, and the guardrails that keep it from running away."""

    enabled: bool = True  # the kill switch in the file; `deploywatch remediate pause` is the one in the store
    min_status: Literal["warning", "critical"] = "critical"
    max_per_run: Annotated[int, Field(ge=1)] = 1
    min_interval: Duration = 3600  # between two remediations of one service
    backoff: Annotated[Duration, Field(ge=1)] = 3600  # after a failure, doubled per failure in a row
    max_backoff: Annotated[Duration, Field(ge=1)] = 86400
    max_unhealthy: Annotated[int, Field(ge=0, le=100)] = 50  # percent of services; more trips the breaker
    max_failures: Annotated[int, Field(ge=1)] = 3  # this many remediations failed in a row trip the breaker
    rules: list[RuleConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_rules(self) -> RemediateSettings:
        names = [rule.name for rule in self.rules]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"rule names must be unique: {', '.join(twice)}")
        return self
