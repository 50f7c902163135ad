"""``[services.NAME.rollout]``: a progressive rollout's traffic command, weight steps, soak and analyses.

A rollout deploys the new revision with no traffic, then for each step sets its weight with the ``traffic``
command, soaks ``interval`` and measures every ``[[…rollout.analysis]]``. The templates' variables are shell-quoted
when substituted (``config/services.py``'s ``fill_command``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from ..core.durations import parse_duration
from .templates import COMMAND_VARIABLES, template_check
from .types import Finite, Model, NonBlank

__all__ = ["ANALYSIS_VARIABLES", "TRAFFIC_VARIABLES", "AnalysisConfig", "RolloutConfig", "rollout_values"]

# The traffic command sets the new revision's share of traffic; an analysis command prints one number, or one
# per line (samples), for the revision its ``target`` names (``canary``, or ``baseline`` with baseline_compare).
TRAFFIC_VARIABLES = (*COMMAND_VARIABLES, "weight", "step")
ANALYSIS_VARIABLES = (*TRAFFIC_VARIABLES, "since", "target", "revision")


def _soak(value: object) -> int:
    """A duration that may be zero (``"0s"`` or ``0``): tests and dry runs soak nothing."""
    if value in (0, "0", "0s") and not isinstance(value, bool):
        return 0
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a duration such as '0s', '30s' or '5m'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("expected zero or more seconds, or a duration such as '5m'")
        return value
    return parse_duration(value)


def _success(value: str) -> str:
    from .thresholds import parse_threshold

    parse_threshold(value)  # a ThresholdError is a ValueError: pydantic names the key
    return value


Soak = Annotated[int, BeforeValidator(_soak)]
TrafficTemplate = Annotated[NonBlank, AfterValidator(template_check(TRAFFIC_VARIABLES))]
AnalysisTemplate = Annotated[NonBlank, AfterValidator(template_check(ANALYSIS_VARIABLES))]
SuccessText = Annotated[str, AfterValidator(_success)]


class AnalysisConfig(Model):
    """``[[services.NAME.rollout.analysis]]``: one measurement taken after each step's soak.

    Either ``command`` (numbers on stdout) judged by ``success`` (the values that pass, e.g. ``"< 0.01"``) or by a
    Mann-Whitney U test against the stable revision (``baseline_compare``); or ``checks`` / ``probes``: pass when
    ok, or with ``baseline_compare`` their values since the step began against their stored values from before the
    deploy (the newest ones, or those within ``baseline_window``). ``shadow`` measures and records without
    enforcing."""

    name: NonBlank | None = None
    command: AnalysisTemplate | None = None
    checks: list[NonBlank] = Field(default_factory=list)
    probes: list[NonBlank] = Field(default_factory=list)
    success: SuccessText | None = None
    aggregate: Literal["mean", "median", "max", "min"] = "mean"
    consecutive_failures: Annotated[int, Field(ge=1)] = 1
    min_samples: Annotated[int, Field(ge=1)] = 1
    baseline_compare: bool = False
    worse: Literal["higher", "lower"] = "higher"  # baseline_compare: which direction of the canary is a regression
    alpha: Annotated[Finite, Field(gt=0, lt=1)] = 0.05
    shadow: bool = False
    baseline_window: Soak | None = None  # checks/probes with baseline_compare: the stored values this long before
    interval: Soak | None = None  # between re-measurements after a failing one; None: the rollout's interval
    timeout: Annotated[int, Field(ge=1)] = 120  # seconds, per command run

    @model_validator(mode="after")
    def _one_kind(self) -> AnalysisConfig:
        kinds = [k for k, v in (("command", self.command), ("checks", self.checks), ("probes", self.probes)) if v]
        if len(kinds) != 1:
            found = f" (found {', '.join(kinds)})" if kinds else ""
            raise ValueError(f"set exactly one of command, checks, probes{found}")
        if self.command is not None and self.success is None and not self.baseline_compare:
            raise ValueError("a command analysis needs 'success' (such as '< 0.01') or baseline_compare = true")
        if self.baseline_window is not None and (self.command is not None or not self.baseline_compare):
            raise ValueError("baseline_window chooses the stored values a checks or probes analysis with "
                             "baseline_compare = true compares against; set baseline_compare, or drop it")
        if self.command is None and self.success is not None:
            raise ValueError("'success' judges a command's numbers; checks and probes pass when ok")
        return self

    @property
    def title(self) -> str:
        """Its name, else what it runs."""
        return self.name or (self.command or ", ".join(self.checks or self.probes))


class RolloutConfig(Model):
    """``[services.NAME.rollout]``: how ``deploywatch deploy`` shifts traffic to the new revision."""

    traffic: TrafficTemplate
    steps: Annotated[list[Annotated[int, Field(ge=1, le=100)]], Field(min_length=1)]
    interval: Soak = 300
    traffic_timeout: Annotated[int, Field(ge=1)] = 120
    analysis: list[AnalysisConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rising_to_100(self) -> RolloutConfig:
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)):
            raise ValueError("steps must rise, such as [10, 25, 50, 100]")
        if self.steps[-1] != 100:
            raise ValueError("the last step must be 100 (the new revision takes all traffic)")
        titles = [a.title for a in self.analysis]
        twice = sorted({t for t in titles if titles.count(t) > 1})
        if twice:
            raise ValueError(f"two analyses are named {twice[0]!r}: give each a different 'name'")
        return self


def rollout_values(base: dict[str, str], *, weight: int, step: int, since: str = "", target: str = "canary",
                   revision: str = "") -> dict[str, str]:
    """The variables of a traffic or analysis template: the deploy's (``command_values``) and the rollout's."""
    return {**base, "weight": str(weight), "step": str(step), "since": since, "target": target,
            "revision": revision or base.get("commit", "")}
