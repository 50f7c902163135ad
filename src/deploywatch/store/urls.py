"""Store URLs: the default SQLite file beside the config, relative paths made absolute, and parsing for opening."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, quote_plus, unquote

from ..core.errors import DeploywatchError
from ..core.redact import mask

__all__ = ["StoreUrl", "configured_store_url", "default_store_url", "display_url", "parse_store_url",
           "resolve_store_url", "sqlite_path", "sqlite_url"]

_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def _quote_path(path: str) -> str:
    """A database path as SQLAlchemy's ``URL.render_as_string`` wrote it: percent-quoted except letters, digits,
    ``_.-~``, space, ``+`` and ``/`` (the store's URLs keep that spelling)."""
    return quote(path, safe=" +/")


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """``sqlite:///<path>``, the path quoted as store URLs always were."""
    return "sqlite:///" + _quote_path(os.fspath(path))


def default_store_url(config_dir: Path) -> str:
    """``sqlite:///<config_dir>/.deploywatch/state.db`` with an absolute path."""
    return sqlite_url(os.path.abspath(config_dir / ".deploywatch" / "state.db"))


@dataclass(frozen=True)
class StoreUrl:
    """A parsed store URL: which database, and how it may be shown (password hidden, secrets masked)."""

    backend: Literal["sqlite", "postgresql"]
    scheme: str
    shown: str
    database: str | None = None  # SQLite: the file (or ``file:`` URI); None or ":memory:" in memory
    query: dict[str, str] = field(default_factory=dict)
    conninfo: str = ""  # PostgreSQL: the libpq URL

    @property
    def file(self) -> Path | None:
        """The SQLite file, or None for in-memory databases, ``file:`` URIs and PostgreSQL."""
        if self.backend != "sqlite" or self.database in (None, "", ":memory:") or self.query.get("mode") == "memory":
            return None
        if self.database is None or self.database.startswith("file:"):
            return None
        return Path(self.database)


def display_url(url: str) -> str:
    """A store URL as it may be shown to people: the password replaced by ``***``, secrets masked."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        userinfo, _, hostpart = rest.partition("/")[0].rpartition("@")
        user, colon, _password = userinfo.partition(":")
        tail = rest[len(rest.partition("/")[0]):]
        rest = f"{user}{':***' if colon else ''}@{hostpart}{tail}"
    return mask(f"{scheme}{sep}{rest}")


def parse_store_url(url: str) -> StoreUrl:
    """Parse a store URL (``sqlite:///…``, ``postgresql://…``); a one-line error for anything else."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme or not all(c.isalnum() or c in "+_" for c in scheme):
        raise DeploywatchError(f"cannot open store {display_url(url)}: not a valid database URL")
    scheme = scheme.lower()
    if scheme in _SQLITE_SCHEMES:
        if rest and not rest.startswith("/"):
            raise DeploywatchError(f"cannot open store {display_url(url)}: not a valid database URL "
                                   "(a SQLite URL is sqlite:///PATH)")
        database, _, query = rest[1:].partition("?")
        return StoreUrl("sqlite", scheme, display_url(url), unquote(database) if rest else None,
                        dict(parse_qsl(query, keep_blank_values=True)))
    if scheme in _POSTGRES_SCHEMES:
        shown = display_url("postgresql+psycopg://" + rest)
        query = rest.partition("?")[2]
        return StoreUrl("postgresql", scheme, shown, query=dict(parse_qsl(query, keep_blank_values=True)),
                        conninfo="postgresql://" + rest)
    backend = scheme.partition("+")[0]
    if backend in ("postgresql", "postgres", "sqlite"):
        raise DeploywatchError(f"cannot open store {display_url(url)}: database driver not available "
                               f"({scheme}: the store uses {'psycopg' if backend != 'sqlite' else 'sqlite3'})")
    raise DeploywatchError(f"cannot open store {display_url(url)}: unsupported database {backend!r} "
                           "(use a sqlite:/// or postgresql:// URL)")


def resolve_store_url(url: str, base_dir: Path) -> str:
    """Make a SQLite URL's relative file path absolute against ``base_dir`` (the config's directory).

    Other URLs, in-memory SQLite and absolute paths come back unchanged. Raises :class:`DeploywatchError`
    for a string that is not a database URL.
    """
    parsed = parse_store_url(url)
    path = parsed.file
    if path is None or path.is_absolute():
        return url
    query = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in sorted(parsed.query.items()))
    return f"{parsed.scheme}:///{_quote_path(os.path.abspath(base_dir / path))}{'?' + query if query else ''}"


def configured_store_url(url: str | None, base_dir: Path) -> str:
    """The store a config names: ``[store] url`` (relative SQLite paths against ``base_dir``, the config's
    directory), else the default file beside the config."""
    return resolve_store_url(url, base_dir) if url else default_store_url(base_dir)


def sqlite_path(url: str) -> Path | None:
    """The file of a plain ``sqlite:////absolute/path`` URL (as :func:`default_store_url` and
    :func:`resolve_store_url` make them); None for anything else (in-memory, ``file:`` URIs, query options,
    other databases)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or "#" in url:
        return None
    database = unquote(url[len(prefix):])
    return Path(database) if database.startswith("/") else None
