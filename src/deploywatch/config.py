"""The configuration: pydantic models, the loader, ``${VAR}`` interpolation and errors that name the key.

The file is ``deploywatch.toml`` (found by walking up from the working directory) or the
``[tool.deploywatch]`` table of a ``pyproject.toml``. Every problem is reported as one
:class:`~deploywatch.errors.ConfigError` naming the file, the line when it can be found, the key
path (``services.web.deployed.url``) and what was expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from .alertconfig import (
    AlertmanagerSinkConfig,
    AlertMatch,
    AlertsConfig,
    GitHubSinkConfig,
    SlackSinkConfig,
    WebhookSinkConfig,
)
from .checkconfig import AnomalyConfig, CheckConfig, GateConfig, StoreConfig, WarehouseConfig
from .configerrors import config_error
from .configfile import (
    CONFIG_FILENAME,
    DEFAULT_BRANCH,
    DEFAULT_GIT_TIMEOUT,
    DEFAULT_REPO_PATH,
    find_config,
    find_line,
    key_path,
    read_config_file,
)
from .configtypes import AgeLimit, Duration, GlobStr, HttpUrl, Model, Name, NonBlank
from .errors import ConfigError
from .healthconfig import (
    FreshnessConfig,
    HealthConfig,
    HeartbeatConfig,
    PhaseConfig,
    ProbeConfig,
    ScheduleConfig,
    ServerConfig,
)
from .paths import ServicePaths, compile_glob
from .redact import register_secret

__all__ = [
    "COMMAND_SECTIONS",
    "CONFIG_FILENAME",
    "DAEMON_SECTIONS",
    "DRIFT_SECTIONS",
    "Config",
    "DeployedConfig",
    "LoadedConfig",
    "ServiceConfig",
    "Thresholds",
    "find_config",
    "load_config",
]


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


class CloudRunPreset(Model):
    """A Cloud Run service whose revision carries the commit in a label."""

    service: NonBlank
    region: NonBlank
    project: NonBlank | None = None
    label: NonBlank = "commit-sha"


class KubernetesPreset(Model):
    """A Kubernetes workload whose label or annotation carries the commit."""

    name: NonBlank
    kind: Literal["deployment", "statefulset", "daemonset", "cronjob"] = "deployment"
    namespace: NonBlank | None = None
    context: NonBlank | None = None
    label: NonBlank | None = None
    annotation: NonBlank | None = None

    @model_validator(mode="after")
    def _one_key(self) -> KubernetesPreset:
        if self.label and self.annotation:
            raise ValueError("set either label or annotation, not both")
        return self


class LambdaPreset(Model):
    """An AWS Lambda function whose tag carries the commit."""

    function: NonBlank
    region: NonBlank | None = None
    profile: NonBlank | None = None
    tag: NonBlank = "commit-sha"


_SOURCE_KINDS = ("file", "command", "url", "cloudrun", "kubernetes", "lambda")


class DeployedConfig(Model):
    """``services.NAME.deployed``: exactly one way of learning the commit a service runs."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    file: NonBlank | None = None
    command: NonBlank | None = None
    url: HttpUrl | None = None
    cloudrun: CloudRunPreset | None = None
    kubernetes: KubernetesPreset | None = None
    lambda_: LambdaPreset | None = Field(default=None, alias="lambda")
    field: NonBlank | None = None
    timeout: Duration | None = None
    headers: dict[str, str] | None = None

    @property
    def kind(self) -> str:
        """Which source this is: one of file, command, url, cloudrun, kubernetes, lambda."""
        return self._kinds()[0]

    def _kinds(self) -> list[str]:
        return [k for k in _SOURCE_KINDS if getattr(self, "lambda_" if k == "lambda" else k) is not None]

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
        if self.timeout is not None and kind == "file":
            raise ValueError("'timeout' does not apply to file sources")
        return self


class ServiceConfig(Thresholds):
    """``[services.NAME]``: a service deployed from the repository."""

    paths: Annotated[list[GlobStr], Field(min_length=1)]
    exclude: list[GlobStr] | None = None
    group: Name | None = None
    deployed: DeployedConfig
    deploy: NonBlank | None = None
    health: HttpUrl | None = None


class Config(Model):
    """The whole ``deploywatch.toml``."""

    repo: RepoConfig = RepoConfig()
    defaults: Defaults = Defaults()
    services: Annotated[dict[Name, ServiceConfig], Field(min_length=1)] = Field(default_factory=dict)
    warehouse: WarehouseConfig = WarehouseConfig()
    store: StoreConfig = StoreConfig()
    checks: list[CheckConfig] = Field(default_factory=list)
    gates: dict[Name, GateConfig] = Field(default_factory=dict)
    alerts: AlertsConfig = AlertsConfig()
    probes: list[ProbeConfig] = Field(default_factory=list)
    phases: dict[Name, PhaseConfig] = Field(default_factory=dict)
    health: HealthConfig = HealthConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    server: ServerConfig = ServerConfig()


# The sections the drift commands (drift, contains, affected, skew) read.
DRIFT_SECTIONS = frozenset({"repo", "defaults", "services", "store", "alerts"})
# Only the daemon (serve, schedule export) reads these: no other command needs their ${VAR}s set.
DAEMON_SECTIONS = frozenset({"schedule", "server"})
# The sections every command but the daemon's may read.
COMMAND_SECTIONS = frozenset(Config.model_fields) - DAEMON_SECTIONS


@dataclass(frozen=True)
class EffectiveThresholds:
    """A service's thresholds after defaults are applied; ``None`` means the rule is off."""

    warn_commits: int | None
    critical_commits: int | None
    warn_after: int | None
    critical_after: int | None


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from."""

    path: Path
    config: Config
    text: str | None = field(default=None, compare=False, repr=False)  # the file as read (None: built in code)
    unresolved: tuple[str, ...] = ()  # sections left at their defaults: not read by the caller, a ${VAR} unset

    @property
    def base_dir(self) -> Path:
        """The directory relative paths in the config are resolved against."""
        return self.path.parent

    @property
    def repo_path(self) -> Path:
        """The repository's directory."""
        return (self.base_dir / self.config.repo.path).resolve()

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file."""
        return (self.base_dir / os.path.expanduser(relative)).resolve()

    def thresholds(self, name: str) -> EffectiveThresholds:
        """The thresholds for service ``name``: its own where set, else ``[defaults]``; 0 turns a rule off."""
        service = self.config.services[name]
        defaults = self.config.defaults

        def pick(key: str) -> int | None:
            own = getattr(service, key)
            value = own if own is not None else getattr(defaults, key)
            return value or None

        return EffectiveThresholds(pick("warn_commits"), pick("critical_commits"),
                                   pick("warn_after"), pick("critical_after"))

    def exclude(self, name: str) -> list[str]:
        """The service's ``exclude`` globs, or ``[defaults].exclude`` when it sets none."""
        own = self.config.services[name].exclude
        return list(own if own is not None else self.config.defaults.exclude)

    def service_paths(self, name: str) -> ServicePaths:
        """The compiled globs of service ``name``."""
        service = self.config.services[name]
        return ServicePaths(name, tuple(compile_glob(p) for p in service.paths),
                            tuple(compile_glob(p) for p in self.exclude(name)))


# ---------------------------------------------------------------- loading


def load_config(path: Path | str | None = None, *, environ: dict[str, str] | None = None,
                sections: Collection[str] | None = None) -> LoadedConfig:
    """Read, interpolate and validate the config at ``path`` (or the one :func:`find_config` finds).

    ``sections`` names the top-level sections the caller reads (all when None). A ``${VAR}`` that is not set is
    an error only in those; a section the caller does not read and that names an unset variable is left at its
    defaults (named in :attr:`LoadedConfig.unresolved`), so that a token only ``serve`` needs does not stop
    ``drift``. Every other problem is an error wherever it is.
    """
    source = read_config_file(path)
    shown = str(source.path)
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    unresolved: list[str] = []
    for section, value in source.raw.items():
        try:
            raw[section] = _interpolate(value, (section,), env, shown, source.text, source.prefix)
        except _UnsetVariable:
            if sections is None or section in sections:
                raise
            unresolved.append(section)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise config_error(exc, shown, source.text, source.prefix, _KNOWN_KEYS) from None
    if not (config.services or config.checks or config.phases or config.probes or unresolved):
        full = (*source.prefix, "services")
        raise ConfigError("required key is missing: configure services ([services.NAME]), data checks "
                          "([[checks]]), phases or probes", file=shown, key=key_path(full),
                          line=find_line(source.text, full))
    for section in ("services", "phases", "gates"):
        clash = _case_clash(getattr(config, section))
        if clash is not None:
            named: tuple[str | int, ...] = (*source.prefix, section, clash[1])
            raise ConfigError(f"differs from {clash[0]!r} only in case; names must differ in more than case",
                              file=shown, key=key_path(named), line=find_line(source.text, named))
    duplicate = config.alerts.duplicate_name()
    if duplicate is not None:
        where: tuple[str | int, ...] = (*source.prefix, "alerts", *duplicate[1])
        raise ConfigError(f"two sinks are named {duplicate[0]!r}; give each a distinct 'name'", file=shown,
                          key=key_path(where), line=find_line(source.text, where))
    if config.checks or config.gates:
        from .checks.validate import validate_checks

        validate_checks(config, shown, source.text, source.prefix)
    return LoadedConfig(source.path.resolve(), config, source.text, tuple(unresolved))


def _case_clash(names: dict[str, Any]) -> tuple[str, str] | None:
    """The first two names that differ only in case (first, second), or None. They would be one service on a
    case-insensitive file system, in a Prometheus label match and to the user reading `grading` and `Grading`."""
    seen: dict[str, str] = {}
    for name in names:
        if name.casefold() in seen:
            return seen[name.casefold()], name
        seen[name.casefold()] = name
    return None


class _UnsetVariable(ConfigError):
    """A ``${VAR}`` whose variable is not set (and has no default)."""


_VAR = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _interpolate(value: Any, loc: tuple[str | int, ...], env: Any, file: str, text: str,
                 prefix: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*loc, k), env, file, text, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), env, file, text, prefix) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def fail(message: str) -> ConfigError:
        full = (*prefix, *loc)
        return ConfigError(message, file=file, key=key_path(full), line=find_line(text, full))

    if "\0" in value:
        raise fail("contains a NUL character")
    if "$" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        body = match.group(1)
        if body is None:
            raise fail("unterminated '${' (write '$$' for a literal '$')")
        name, sep, default = body.partition(":-")
        if not _VAR_NAME.fullmatch(name):
            raise fail(f"invalid variable reference '${{{body}}}': expected ${{NAME}} or ${{NAME:-default}}")
        # ${VAR:-default} falls back when VAR is unset or empty, as in the shell.
        if name in env and (env[name] or not sep):
            register_secret(env[name])
            return str(env[name])
        if sep:
            return default
        full = (*prefix, *loc)
        raise _UnsetVariable(f"environment variable {name} is not set (use ${{{name}:-default}} for a fallback)",
                             file=file, key=key_path(full), line=find_line(text, full))

    return _VAR.sub(replace, value)


_KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    section: tuple(field.alias or name for name, field in model.model_fields.items())
    for section, model in (("", Config), ("repo", RepoConfig), ("defaults", Defaults), ("service", ServiceConfig),
                           ("deployed", DeployedConfig), ("cloudrun", CloudRunPreset),
                           ("kubernetes", KubernetesPreset), ("lambda", LambdaPreset),
                           ("warehouse", WarehouseConfig), ("store", StoreConfig), ("check", CheckConfig),
                           ("anomaly", AnomalyConfig), ("gate", GateConfig), ("alerts", AlertsConfig),
                           ("slack", SlackSinkConfig), ("github", GitHubSinkConfig),
                           ("alertmanager", AlertmanagerSinkConfig), ("webhook", WebhookSinkConfig),
                           ("match", AlertMatch), ("probes", ProbeConfig), ("phase", PhaseConfig),
                           ("freshness", FreshnessConfig), ("health", HealthConfig), ("schedule", ScheduleConfig),
                           ("heartbeat", HeartbeatConfig), ("server", ServerConfig))
}
