"""Config checks that need SQL: metrics compile, ``where``, ``group_by`` and tables parse, names unique, gates match.

:func:`load_config` is :func:`deploywatch.config.load_config` followed by these checks (only for configs with
checks), so a typo in a metric is a config error naming ``checks[3].metric`` and its line, not an ``unknown`` at
3 a.m. The config package cannot run them itself: it sits below the checks domain and imports none.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.file import find_line, key_path
from ..config.thresholds import ThresholdError, parse_threshold
from ..core.errors import ConfigError
from .dialects import DialectError, dialect_for_url, known_dialect

if TYPE_CHECKING:
    from ..config import Config, LoadedConfig

__all__ = ["dialects_of", "load_config", "validate_checks"]


def load_config(path: Path | str | None = None, *, environ: dict[str, str] | None = None,
                sections: Collection[str] | None = None) -> LoadedConfig:
    """Load the config (:func:`deploywatch.config.load_config`, same arguments) and check its data checks and
    gates against the SQL compiler: the full validation every command and the public API use."""
    from ..config import load_config as load

    loaded = load(path, environ=environ, sections=sections)
    validate_checks(loaded)
    return loaded


def dialects_of(config: Config) -> tuple[str, str]:
    """``(warehouse dialect, dialect the checks are written in)``; raise :class:`DialectError`."""
    warehouse = config.warehouse
    dialect = known_dialect(warehouse.dialect) if warehouse.dialect else dialect_for_url(warehouse.url)
    read = known_dialect(warehouse.read_dialect, key="read_dialect") if warehouse.read_dialect else dialect
    return dialect, read


def validate_checks(loaded: LoadedConfig) -> None:
    """Raise :class:`ConfigError` naming the key of the first check or gate that cannot work."""
    config = loaded.config
    if not (config.checks or config.gates):
        return
    # Imported here: sqlglot is only needed, and only paid for, when there are checks.
    from .compiler import compile_check_metric, parse_group, parse_table, parse_where
    from .metrics import MetricError
    from .selection import matches
    from .template import TemplateError, render, template_variables

    file, text, prefix = loaded.shown or str(loaded.path), loaded.text or "", loaded.prefix

    def fail(loc: tuple[str | int, ...], message: str) -> ConfigError:
        full = (*prefix, *loc)
        return ConfigError(message, file=file, key=key_path(full), line=find_line(text, full))

    try:
        _, read = dialects_of(config)
    except DialectError as exc:
        raise fail(("warehouse", exc.key), str(exc)) from None
    variables = template_variables(datetime(2000, 1, 1, tzinfo=UTC), None)
    seen: dict[str, int] = {}
    for index, check in enumerate(config.checks):
        if check.name in seen:
            raise fail(("checks", index, "name"),
                       f"duplicate check name {check.name!r} (also checks[{seen[check.name]}])")
        seen[check.name] = index
        try:
            if check.query is not None:
                render(check.query, variables)
                continue
            parse_table(check.table or "", read)
        except (MetricError, TemplateError) as exc:
            raise fail(("checks", index, "query" if check.query else "table"), str(exc)) from None
        if check.where is not None:
            try:
                parse_where(render(check.where, variables), read)
            except (MetricError, TemplateError) as exc:
                raise fail(("checks", index, "where"), str(exc)) from None
        for position, column in enumerate(check.group_columns):
            try:
                parse_group(column, read)
            except MetricError as exc:
                listed = (position,) if isinstance(check.group_by, list) else ()
                raise fail(("checks", index, "group_by", *listed), str(exc)) from None
        key = "metric" if check.metric is not None else "sql"
        try:
            metric = compile_check_metric(check, read)
        except MetricError as exc:
            raise fail(("checks", index, key), str(exc)) from None
        for level in ("warn", "critical"):
            threshold = getattr(check, level)
            if threshold is not None:
                try:
                    parse_threshold(threshold).check_unit(metric.unit)
                except ThresholdError as exc:
                    raise fail(("checks", index, level), str(exc)) from None
    for gate, settings in config.gates.items():
        for index, pattern in enumerate(settings.checks):
            if not any(matches(pattern, check) for check in config.checks):
                raise fail(("gates", gate, "checks", index),
                           f"{pattern!r} matches no check name or phase")
