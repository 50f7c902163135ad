"""Loading a config: read the TOML, interpolate ``${VAR}``, validate, and name the key and line of any problem.

The file is ``deploywatch.toml`` (found by walking up from the working directory) or the
``[tool.deploywatch]`` table of a ``pyproject.toml``. Every problem is reported as one
:class:`~deploywatch.core.errors.ConfigError` naming the file, the line when it can be found, the key
path (``services.web.deployed.url``) and what was expected.

This checks what the configuration alone can tell. What needs a domain (a data check's metric compiling to
SQL) is checked by that domain: :func:`deploywatch.checks.validate.load_config` is this plus the data checks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..core.errors import ConfigError
from ..core.redact import register_secret
from .alerts import (
    AlertmanagerSinkConfig,
    AlertMatch,
    AlertsConfig,
    GitHubSinkConfig,
    SlackSinkConfig,
    WebhookSinkConfig,
)
from .checks import AnomalyConfig, CheckConfig, GateConfig, StoreConfig, WarehouseConfig
from .deploy import DenyWindow, DeploySettings, GroupConfig
from .file import find_line, key_path, read_config_file
from .health import FreshnessConfig, HealthConfig, PhaseConfig, ProbeConfig
from .model import Config, LoadedConfig
from .presets import PRESETS
from .schedule import HeartbeatConfig, ScheduleConfig, ServerConfig
from .services import (
    Defaults,
    DeployedConfig,
    PostDeployConfig,
    PreflightConfig,
    RepoConfig,
    ServiceConfig,
    VerifyConfig,
)
from .translate import config_error
from .types import Model
from .web import WebConfig

__all__ = ["load_config"]


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
    _check_groups(config, shown, source.text, source.prefix)
    _check_rules(config, shown, source.text, source.prefix, unresolved)
    duplicate = config.alerts.duplicate_name()
    if duplicate is not None:
        where: tuple[str | int, ...] = (*source.prefix, "alerts", *duplicate[1])
        raise ConfigError(f"two sinks are named {duplicate[0]!r}; give each a distinct 'name'", file=shown,
                          key=key_path(where), line=find_line(source.text, where))
    return LoadedConfig(source.path.resolve(), config, source.text, tuple(unresolved), source.prefix, shown)


def _check_groups(config: Config, shown: str, text: str, prefix: tuple[str, ...]) -> None:
    """``[groups.NAME] deploy_order`` lists every service whose ``group`` is NAME exactly once, and no other."""
    for group, settings in config.groups.items():
        where: tuple[str | int, ...] = (*prefix, "groups", group, "deploy_order")

        def fail(message: str, at: tuple[str | int, ...] = where) -> ConfigError:
            return ConfigError(message, file=shown, key=key_path(at), line=find_line(text, at))

        members = [name for name, service in config.services.items() if service.group == group]
        if not members:
            raise fail(f"no service has group = {group!r}", (*prefix, "groups", group))
        seen: set[str] = set()
        for name in settings.deploy_order:
            if name in seen:
                raise fail(f"lists {name!r} twice")
            seen.add(name)
            if name not in config.services:
                raise fail(f"unknown service {name!r}; the group's services: {', '.join(members)}")
            if name not in members:
                raise fail(f"{name!r} is not in group {group!r} (its group is "
                           f"{config.services[name].group or 'not set'})")
        missing = [name for name in members if name not in seen]
        if missing:
            raise fail(f"must list every service of the group; missing: {', '.join(missing)}")


def _check_rules(config: Config, shown: str, text: str, prefix: tuple[str, ...], unresolved: list[str]) -> None:
    """A ``[[remediate.rules]]`` ``when`` names a configured check, probe or phase (a typo would never fire)."""
    known = {"check": ("checks", {c.name for c in config.checks}), "probe": ("probes", {p.name for p in config.probes}),
             "phase": ("phases", set(config.phases))}
    for index, rule in enumerate(config.remediate.rules):
        for key, (section, names) in known.items():
            value = getattr(rule.when, key)
            if value is None or section in unresolved or value in names:
                continue
            at: tuple[str | int, ...] = (*prefix, "remediate", "rules", index, "when", key)
            raise ConfigError(f"unknown {key} {value!r}; configured: {', '.join(sorted(names)) or 'none'}",
                              file=shown, key=key_path(at), line=find_line(text, at))


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


# Each section's model, by the name translate._suggest gives its table: the keys a typo is compared with.
_SECTIONS: tuple[tuple[str, type[Model]], ...] = (
    ("", Config), ("repo", RepoConfig), ("defaults", Defaults), ("service", ServiceConfig),
    ("deployed", DeployedConfig), *((f"deployed.{kind}", preset) for kind, preset in PRESETS.items()),
    ("preflight", PreflightConfig), ("warehouse", WarehouseConfig), ("store", StoreConfig), ("check", CheckConfig),
    ("anomaly", AnomalyConfig), ("gate", GateConfig), ("alerts", AlertsConfig),
    ("slack", SlackSinkConfig), ("github", GitHubSinkConfig),
    ("alertmanager", AlertmanagerSinkConfig), ("webhook", WebhookSinkConfig),
    ("match", AlertMatch), ("probes", ProbeConfig), ("phase", PhaseConfig),
    ("freshness", FreshnessConfig), ("health", HealthConfig), ("schedule", ScheduleConfig),
    ("heartbeat", HeartbeatConfig), ("server", ServerConfig),
    ("verify", VerifyConfig), ("post_deploy", PostDeployConfig), ("deploy", DeploySettings),
    ("deny", DenyWindow), ("groups", GroupConfig), ("web", WebConfig),
)
_KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    section: tuple(field.alias or name for name, field in model.model_fields.items()) for section, model in _SECTIONS
}
