"""Where the store lives: the default SQLite file beside the config, and relative SQLite paths made absolute."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote

__all__ = ["default_store_url", "resolve_store_url", "sqlite_path", "sqlite_url"]


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """``sqlite:///<path>`` written as SQLAlchemy's ``URL.render_as_string`` writes it, without importing it: the
    database part percent-quoted except letters, digits, ``_.-~``, space, ``+`` and ``/``."""
    return "sqlite:///" + quote(os.fspath(path), safe=" +/")


def default_store_url(config_dir: Path) -> str:
    """``sqlite:///<config_dir>/.deploywatch/state.db`` with an absolute path."""
    return sqlite_url(os.path.abspath(config_dir / ".deploywatch" / "state.db"))


def resolve_store_url(url: str, base_dir: Path) -> str:
    """Make a SQLite URL's relative file path absolute against ``base_dir`` (the config's directory).

    Other URLs, in-memory SQLite and absolute paths come back unchanged. Raises :class:`DeploywatchError`
    for a string that is not a database URL.
    """
    plain = _plain_sqlite_database(url)
    if plain is not None:  # the common case, without importing SQLAlchemy
        if plain in ("", ":memory:") or plain.startswith("file:") or os.path.isabs(plain):
            return url
        return sqlite_url(os.path.abspath(base_dir / plain))
    from .engine import parse_store_url, sqlite_file

    parsed = parse_store_url(url)
    path = sqlite_file(parsed)
    if path is None or path.is_absolute():
        return url
    absolute = os.path.abspath(base_dir / path)
    return parsed.set(database=absolute).render_as_string(hide_password=False)


def _plain_sqlite_database(url: str) -> str | None:
    """The database part of ``sqlite:///DATABASE`` without query options (percent-decoded), else None."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or "#" in url:
        return None
    return unquote(url[len(prefix):])


def sqlite_path(url: str) -> Path | None:
    """The file of a plain ``sqlite:////absolute/path`` URL (as :func:`default_store_url` and
    :func:`resolve_store_url` make them), read without SQLAlchemy; None for anything else (in-memory,
    ``file:`` URIs, query options, other databases), which only the full store opens."""
    database = _plain_sqlite_database(url)
    if database is None or not database.startswith("/"):
        return None
    return Path(database)
