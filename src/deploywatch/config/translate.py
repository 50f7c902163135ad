"""Turning pydantic's validation errors into one line that names the key, the line and what was expected."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from pydantic import ValidationError

from ..core.errors import ConfigError
from ..core.redact import mask
from ..core.text import plural
from .file import find_line, key_path

__all__ = ["config_error"]



_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def config_error(exc: ValidationError, file: str, text: str, prefix: tuple[str, ...],
                 known_keys: Mapping[str, tuple[str, ...]]) -> ConfigError:
    """The first (most telling) problem of ``exc`` as a :class:`ConfigError`; ``known_keys`` feeds the
    "did you mean" hint for unknown keys."""
    errors = exc.errors(include_url=False)
    # A misspelt key also makes the real one "missing"; the unknown key (with its hint) is the cause.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(p for p in first["loc"]
                if not (isinstance(p, str) and (p.startswith("function-") or p == "[key]")))
    kind = first["type"]
    given = first.get("input")
    if kind == "extra_forbidden":
        message = "unknown key"
        hint = _suggest(str(loc[-1]), loc[:-1], known_keys) if loc else None
        if hint:
            message += f" (did you mean '{hint}'?)"
    elif kind == "missing":
        message = "required key is missing"
    elif kind in _TYPE_WORDS:
        message = f"expected {_TYPE_WORDS[kind]}, got {_show(given)}"
    elif kind == "value_error":
        message = str(first["ctx"]["error"]) if "ctx" in first else first["msg"]
    elif kind == "literal_error":
        message = f"expected one of {first['ctx']['expected']}, got {_show(given)}"
    elif kind == "too_short":
        message = "must not be empty"
    elif kind in ("greater_than_equal", "greater_than"):
        message = f"{first['msg'].lower()}, got {_show(given)}"
    else:
        message = f"{first['msg']}, got {_show(given)}"
    if len(errors) > 1:
        message += f" (and {plural(len(errors) - 1, 'more problem')})"
    full = (*prefix, *(str(p) if not isinstance(p, int) else p for p in loc))
    # The offending value may have come from the environment: never echo a secret back.
    return ConfigError(mask(message), file=file, key=key_path(full) or None, line=find_line(text, full))


def _show(value: object) -> str:
    text = mask(repr(value))  # masked before it is cut: a long secret must not show its start
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(key: str, parent: tuple[str | int, ...], known_keys: Mapping[str, tuple[str, ...]]) -> str | None:
    if not parent:
        section = ""
    elif len(parent) == 2 and parent[0] == "services":
        section = "service"
    elif len(parent) == 2 and parent[0] == "checks":
        section = "check"
    elif len(parent) == 2 and parent[0] == "gates":
        section = "gate"
    elif parent[-1] == "deployed":
        section = "deployed"
    elif len(parent) >= 2 and parent[-2] == "deployed":  # a preset: services.web.deployed.cloudrun.KEY
        section = f"deployed.{parent[-1]}"
    elif len(parent) == 3 and parent[0] == "alerts":  # alerts.slack[0].KEY
        section = str(parent[1])
    elif len(parent) == 2 and parent[0] == "probes":
        section = "probes"
    elif len(parent) == 2 and parent[0] == "phases":
        section = "phase"
    else:
        section = str(parent[-1])
    known = known_keys.get(section)
    if not known:
        return None
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return close[0] if close else None

