"""Finding and reading the config file: the TOML text and its ``deploywatch`` table, before validation.

Kept apart from :mod:`deploywatch.config` so that it loads without pydantic.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError

__all__ = [
    "CONFIG_FILENAME",
    "DEFAULT_BRANCH",
    "DEFAULT_GIT_TIMEOUT",
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_REPO_PATH",
    "DEFAULT_VERSION_FIELD",
    "MAX_CONFIG_BYTES",
    "MAX_NESTING",
    "ConfigFile",
    "find_config",
    "find_line",
    "key_path",
    "read_config_file",
    "read_config_text",
    "variable_references",
]

CONFIG_FILENAME = "deploywatch.toml"
# Defaults the config models and the early walk (deploywatch.drift.prefetch) share.
DEFAULT_REPO_PATH = "."
DEFAULT_BRANCH = "main"
DEFAULT_GIT_TIMEOUT = 120
DEFAULT_VERSION_FIELD = "commit"
# DuckDB's own default is 80% of the machine's memory. Check aggregates stream, and what does not fit
# (the hash tables of COUNT(DISTINCT …)) spills to disk, so a small budget costs little time and keeps a
# canary from crowding out the pipeline it watches. Measured with DuckDB 2.0 on two tables of 10M rows
# (benchmarks/checks.py, wide): 48MB gave a 149 MB process, 40MB 141 MB at the same speed, 36MB spilled more
# and grew to 155 MB.
DEFAULT_MEMORY_LIMIT = "40MB"


@dataclass(frozen=True)
class ConfigFile:
    """A config file's path and text, and its deploywatch table as parsed (not yet interpolated)."""

    path: Path
    text: str
    raw: dict[str, Any]
    prefix: tuple[str, ...]  # ("tool", "deploywatch") in a pyproject.toml


def find_config(start: Path | None = None) -> Path:
    """The nearest ``deploywatch.toml`` (or ``pyproject.toml`` with ``[tool.deploywatch]``) at or above ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and b"[tool.deploywatch" in pyproject.read_bytes():
            return pyproject
    raise ConfigError(f"no {CONFIG_FILENAME} found in {here} or any parent directory; "
                      "pass --config PATH, or run 'deploywatch demo' to see an example")


_VARIABLE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def variable_references(text: str) -> set[str]:
    """The environment variables a config text names as ``${NAME}`` or ``${NAME:-default}``."""
    return set(_VARIABLE_REFERENCE.findall(text))


def read_config_file(path: Path | str | None = None) -> ConfigFile:
    """Read and parse the config at ``path`` (or the one :func:`find_config` finds); TOML errors name the line."""
    config_path = Path(path).expanduser() if path is not None else find_config()
    shown = str(config_path)
    text = read_config_text(config_path, shown)
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except RecursionError:
        line, key = _deepest_nesting(text)
        raise ConfigError(f"nested more than {MAX_NESTING} levels deep", file=shown, key=key, line=line) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        # Python 3.11/3.12 have no lineno/colno attributes; the position is only in the message.
        at = re.search(r"\s*\(at line (\d+), column (\d+)\)", message)
        line = getattr(exc, "lineno", None) or (int(at.group(1)) if at else None)
        if at:
            message = message[: at.start()] + message[at.end():] + f" (column {at.group(2)})"
        raise ConfigError(f"invalid TOML: {message}", file=shown, line=line) from None
    too_deep = _too_deep(raw, ())
    if too_deep is not None:
        line = find_line(text, too_deep)
        # name the key the deep value is written under, not the path down to its 33rd level
        while len(too_deep) > 1 and find_line(text, too_deep[:-1]) == line:
            too_deep = too_deep[:-1]
        raise ConfigError(f"nested more than {MAX_NESTING} levels deep", file=shown, key=key_path(too_deep),
                          line=line)
    prefix: tuple[str, ...] = ()
    if config_path.name == "pyproject.toml":
        tool = raw.get("tool", {})
        if not isinstance(tool, dict) or "deploywatch" not in tool:
            raise ConfigError("no [tool.deploywatch] table", file=shown)
        raw = tool["deploywatch"]
        prefix = ("tool", "deploywatch")
        if not isinstance(raw, dict):
            raise ConfigError("expected a table", file=shown, key="tool.deploywatch", line=find_line(text, prefix))
    return ConfigFile(config_path, text, raw, prefix)


# No config needs more than a few levels; deeper values would make validation recurse without need.
MAX_NESTING = 32
# A config is a few kilobytes; this bounds what a wrong --config (a log, /dev/zero) can make us read.
MAX_CONFIG_BYTES = 1024 * 1024


def read_config_text(config_path: Path, shown: str | None = None) -> str:
    """The file's text, refusing what is not a regular file (a FIFO would block, /dev/zero never ends) or is
    larger than :data:`MAX_CONFIG_BYTES`; a UTF-8 byte-order mark is dropped, as editors on Windows write one.
    Every problem is a :class:`ConfigError` naming ``shown`` (the path by default)."""
    shown = str(config_path) if shown is None else shown
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang before the check below can refuse it.
        fd = os.open(config_path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConfigError("file not found", file=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=shown) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError("not a regular file (a config is a TOML file)", file=shown)
        try:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", file=shown) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB: not a deploywatch config", file=shown)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read: not UTF-8 text ({exc.reason} at byte {exc.start})", file=shown) from None


def _too_deep(value: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The key path of the first value nested deeper than :data:`MAX_NESTING`, or None."""
    if len(loc) > MAX_NESTING:
        return loc
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found = _too_deep(child, (*loc, key))
        if found is not None:
            return found
    return None


def _deepest_nesting(text: str) -> tuple[int | None, str | None]:
    """Where a value too deep for the TOML parser starts: (line, key path), found by counting brackets outside
    strings and comments — only called after the parser gave up, so the text is at least that deep."""
    depth, start_line, start_key = 0, None, None
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line) if depth == 0 else None
        if header:
            table = _split_dotted(header.group(1))
            continue
        key = _KEY.match(line) if depth == 0 else None
        quote = None
        for char in line:
            if quote:
                quote = None if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char == "#":
                break
            elif char in "[{":
                if depth == 0:
                    start_line, start_key = number, key_path((*table, *_split_dotted(key.group(1)))) if key else None
                depth += 1
                if depth > MAX_NESTING:
                    return start_line, start_key
            elif char in "]}":
                depth = max(depth - 1, 0)
    return None, None


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


_KEY_PART = re.compile(r"\s*(\"[^\"]*\"|'[^']*'|[^.]+?)\s*(?:\.|$)")


def _split_dotted(key: str) -> tuple[str, ...]:
    # Dots inside quotes belong to the key: [services."web.api"] is two parts, not three.
    return tuple(p.strip("\"'") for p in _KEY_PART.findall(key))


def find_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """Best effort: the line where the key at ``loc`` (or its nearest parent) is written.

    ``[[name]]`` headers are counted, so ``checks[3].metric`` is found in the fourth ``[[checks]]`` table.
    """
    want = tuple(loc)
    if not any(isinstance(p, str) for p in want):
        return None
    best: tuple[int, int] | None = None  # (matched parts, line number)
    table: tuple[str | int, ...] = ()
    arrays: dict[tuple[str | int, ...], int] = {}  # array-of-tables path -> index of its latest element
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            parts = _split_dotted(header.group(1))
            if line.lstrip().startswith("[["):
                table = _indexed(parts[:-1], arrays) + parts[-1:]
                arrays[table] = arrays.get(table, -1) + 1
                table = (*table, arrays[table])
                # the header also names the array itself: "services" for [[services]]
                candidate = table if want[: len(table)] == table else table[:-1]
            else:
                table = _indexed(parts, arrays)
                candidate = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            candidate = table + _split_dotted(key.group(1))
            # an inline table on the same line: deployed = { url = "…" }
            rest = want[len(candidate):] if want[: len(candidate)] == candidate else ()
            for part in rest:
                if isinstance(part, str) and re.search(rf"[{{,]\s*{re.escape(part)}\s*=", line):
                    candidate = (*candidate, part)
                else:
                    break
        if want[: len(candidate)] == candidate and (best is None or len(candidate) > best[0]):
            best = (len(candidate), number)
    return best[1] if best else None


def _indexed(parts: tuple[str, ...], arrays: dict[tuple[str | int, ...], int]) -> tuple[str | int, ...]:
    """``[checks.anomaly]`` belongs to the latest ``[[checks]]``: ``("checks", 2, "anomaly")``."""
    path: tuple[str | int, ...] = ()
    for part in parts:
        path = (*path, part)
        if path in arrays:
            path = (*path, arrays[path])
    return path


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def key_path(loc: tuple[str | int, ...]) -> str:
    """``services.web.deployed.url``: names that are not plain are quoted, indexes shown as ``[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (part if _NAME.fullmatch(part) else f'"{part}"')
    return out
