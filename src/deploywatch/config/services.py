"""``[repo]``, ``[defaults]`` and ``[services.NAME]`` with its ``deployed`` source: what drift reads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from .file import DEFAULT_BRANCH, DEFAULT_GIT_TIMEOUT, DEFAULT_REPO_PATH
from .presets import (
    ArgoCDPreset,
    CloudFunctionsPreset,
    CloudRunPreset,
    EcsPreset,
    GitHubDeploymentsPreset,
    HelmPreset,
    KubernetesPreset,
    LambdaPreset,
)
from .rollout import RolloutConfig
from .templates import COMMAND_VARIABLES, TEMPLATE_NAME, template_check
from .types import AgeLimit, Duration, GlobStr, HttpUrl, Model, Name, NonBlank

__all__ = [
    "COMMAND_VARIABLES",
    "CloudRunPreset",
    "CommandTemplate",
    "Defaults",
    "DeployedConfig",
    "KubernetesPreset",
    "LambdaPreset",
    "PostDeployConfig",
    "PreflightConfig",
    "RepoConfig",
    "ServiceConfig",
    "Thresholds",
    "VerifyConfig",
    "command_values", "fill_command",
]

CommandTemplate = Annotated[NonBlank, AfterValidator(template_check(COMMAND_VARIABLES))]


def command_values(service: str, commit: str, from_commit: str | None, deploy_id: str) -> dict[str, str]:
    """The variables of a ``deploy`` or ``rollback`` template (``from_commit`` empty when not known)."""
    return {"service": service, "commit": commit, "short_commit": commit[:12], "from_commit": from_commit or "",
            "deploy_id": deploy_id}


def fill_command(template: str, values: dict[str, str]) -> str:
    """``template`` with every ``{{ name }}`` replaced by its value, shell-quoted (an empty value is ``''``)."""
    import shlex

    return TEMPLATE_NAME.sub(lambda m: shlex.quote(values.get(m.group(1), "")), template)


class RepoConfig(Model):
    """``[repo]``: where the repository is and which ref should be deployed."""

    path: NonBlank = DEFAULT_REPO_PATH
    branch: NonBlank = DEFAULT_BRANCH
    fetch: bool = False
    remote: NonBlank | None = None
    timeout: Duration = DEFAULT_GIT_TIMEOUT


class Thresholds(Model):
    """When drift becomes a warning or critical; 0 disables a rule, ``None`` inherits."""

    warn_commits: Annotated[int, Field(ge=0)] | None = None
    critical_commits: Annotated[int, Field(ge=0)] | None = None
    warn_after: AgeLimit | None = None
    critical_after: AgeLimit | None = None


class Defaults(Thresholds):
    """``[defaults]``: thresholds and excludes every service inherits."""

    warn_commits: Annotated[int, Field(ge=0)] | None = 3
    critical_commits: Annotated[int, Field(ge=0)] | None = 10
    warn_after: AgeLimit | None = 2 * 3600
    critical_after: AgeLimit | None = 24 * 3600
    exclude: list[GlobStr] = Field(default_factory=list)


_SOURCE_KINDS = ("file", "command", "url", "cloudrun", "kubernetes", "lambda", "cloudfunctions", "ecs", "argocd",
                 "helm", "github", "ledger")


class DeployedConfig(Model):
    """``services.NAME.deployed``: exactly one way of learning the commit a service runs."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    file: NonBlank | None = None
    command: NonBlank | None = None
    url: HttpUrl | None = None
    cloudrun: CloudRunPreset | None = None
    kubernetes: KubernetesPreset | None = None
    lambda_: LambdaPreset | None = Field(default=None, alias="lambda")
    cloudfunctions: CloudFunctionsPreset | None = None
    ecs: EcsPreset | None = None
    argocd: ArgoCDPreset | None = None
    helm: HelmPreset | None = None
    github: GitHubDeploymentsPreset | None = None
    ledger: bool | None = None  # true: the last succeeded entry of the deploy ledger (in the store); false: unset
    field: NonBlank | None = None
    timeout: Duration | None = None
    headers: dict[str, str] | None = None

    @property
    def kind(self) -> str:
        """Which source this is: one of :data:`_SOURCE_KINDS`."""
        return self._kinds()[0]

    def _kinds(self) -> list[str]:
        return [k for k in _SOURCE_KINDS if getattr(self, "lambda_" if k == "lambda" else k) not in (None, False)]

    @model_validator(mode="after")
    def _exactly_one(self) -> DeployedConfig:
        kinds = self._kinds()
        if len(kinds) != 1:
            found = f" (found {', '.join(kinds)})" if kinds else ""
            raise ValueError(f"set exactly one source: {', '.join(_SOURCE_KINDS)}{found}")
        kind = kinds[0]
        if self.field is not None and kind not in ("file", "url"):
            raise ValueError(f"'field' applies to file and url sources, not {kind}")
        if self.headers is not None and kind != "url":
            raise ValueError(f"'headers' applies to url sources, not {kind}")
        if self.timeout is not None and kind in ("file", "ledger"):
            raise ValueError(f"'timeout' does not apply to {kind} sources")
        return self


class PreflightConfig(Model):
    """``services.NAME.preflight``: what ``deploywatch preflight`` requires before the service is deployed."""

    require_branch: NonBlank | None = None  # None: [repo] branch
    require_clean: bool = True
    require_synced: bool = True
    tests: NonBlank | None = None
    tests_timeout: Duration = 600
    schema_paths: list[GlobStr] = Field(default_factory=list)


class VerifyConfig(Model):
    """``services.NAME.verify``: after the deploy command, wait until the ``deployed`` source reports the commit."""

    timeout: Annotated[Duration, Field(ge=1)] = 600
    interval: Annotated[Duration, Field(ge=1)] = 15


class PostDeployConfig(Model):
    """``services.NAME.post_deploy``: after verify, soak ``wait``, then these checks and probes must pass."""

    wait: Duration = 0
    checks: list[NonBlank] = Field(default_factory=list)  # data check names, globs or phases
    probes: list[NonBlank] = Field(default_factory=list)  # probe names ("<service> health" for `health`)
    on_failure: Literal["rollback", "alert", "pause"] = "rollback"


class ServiceConfig(Thresholds):
    """``[services.NAME]``: a service deployed from the repository."""

    paths: Annotated[list[GlobStr], Field(min_length=1)]
    exclude: list[GlobStr] | None = None
    group: Name | None = None
    deployed: DeployedConfig
    deploy: CommandTemplate | None = None
    rollback: CommandTemplate | None = None  # None: `deploy` with the commit to return to
    deploy_timeout: Annotated[Duration, Field(ge=1)] = 900
    health: HttpUrl | None = None
    runbook: HttpUrl | None = None
    preflight: PreflightConfig = PreflightConfig()
    verify: VerifyConfig = VerifyConfig()
    post_deploy: PostDeployConfig = PostDeployConfig()
    rollout: RolloutConfig | None = None  # a progressive rollout (config/rollout.py)

    @model_validator(mode="after")
    def _rollback_needs_deploy(self) -> ServiceConfig:
        if self.rollback is not None and self.deploy is None:
            raise ValueError("'rollback' needs 'deploy' (the command that deploys the service)")
        if self.rollout is not None and self.deploy is None:
            raise ValueError("'rollout' needs 'deploy' (the command that deploys the new revision)")
        return self

