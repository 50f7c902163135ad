"""Store URLs, read and written without SQLAlchemy, agree with SQLAlchemy's parsing and rendering (the oracle: the
store spelled its URLs through SQLAlchemy before, and configs and stored settings keep those spellings)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

from deploywatch.core.errors import DeploywatchError
from deploywatch.core.redact import mask
from deploywatch.store.urls import default_store_url, display_url, parse_store_url, resolve_store_url, sqlite_path

NAMES = ["state.db", "a b.db", "100% sure.db", "at@sign:colon.db", "q?mark#hash.db", "plus+tilde~.db", "ünï.db",
         "sub/dir/x.db"]


def reference_file(url: str) -> Path | None:
    """The SQLite file of ``url`` as SQLAlchemy parses it (None: in memory, a file: URI, another database)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    if parsed.query.get("mode") == "memory" or str(database).startswith("file:"):
        return None
    return Path(str(database))


def reference_resolve(url: str, base_dir: Path) -> str:
    """The resolution as SQLAlchemy does it (what resolve_store_url did when the store used SQLAlchemy)."""
    path = reference_file(url)
    if path is None or path.is_absolute():
        return url
    return make_url(url).set(database=os.path.abspath(base_dir / path)).render_as_string(hide_password=False)


@pytest.mark.parametrize("name", NAMES)
def test_default_url_is_rendered_as_sqlalchemy_renders_it(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    expected = URL.create("sqlite", database=os.path.abspath(folder / ".deploywatch" / "state.db"))
    assert default_store_url(folder) == expected.render_as_string(hide_password=False)
    assert make_url(default_store_url(folder)).database == os.path.abspath(folder / ".deploywatch" / "state.db")


@pytest.mark.parametrize("name", NAMES)
def test_relative_and_absolute_sqlite_urls_resolve_as_with_sqlalchemy(tmp_path: Path, name: str) -> None:
    written = URL.create("sqlite", database=name).render_as_string(hide_password=False)
    absolute = URL.create("sqlite", database=str(tmp_path / name)).render_as_string(hide_password=False)
    for url in (written, absolute, "sqlite:///" + name.replace(" ", "%20")):
        if "?" in url or "#" in url:
            continue
        assert resolve_store_url(url, tmp_path) == reference_resolve(url, tmp_path)
        resolved = resolve_store_url(url, tmp_path)
        assert sqlite_path(resolved) == reference_file(resolved) == parse_store_url(resolved).file


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file:x.db?mode=ro&uri=true",
                                 "sqlite:///x.db?timeout=5", "sqlite+pysqlite:///x.db", "postgresql://u:p@h/db",
                                 "postgresql+psycopg://h/db"])
def test_other_urls_resolve_as_with_sqlalchemy(tmp_path: Path, url: str) -> None:
    assert resolve_store_url(url, tmp_path) == reference_resolve(url, tmp_path)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///relative.db",
                                 "sqlite:////tmp/x.db?mode=ro", "sqlite+pysqlite:////tmp/x.db", "postgresql://h/db"])
def test_only_plain_absolute_files_have_a_lean_path(url: str) -> None:
    assert sqlite_path(url) is None


def test_a_plain_absolute_file(tmp_path: Path) -> None:
    url = URL.create("sqlite", database=str(tmp_path / "a b%c@d.db")).render_as_string(hide_password=False)
    assert sqlite_path(url) == tmp_path / "a b%c@d.db" == Path(str(make_url(url).database))


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file:x.db?mode=ro&uri=true",
                                 "sqlite:///x.db?timeout=5", "sqlite+pysqlite:///x.db", "sqlite:////tmp/a%20b.db",
                                 "sqlite:///q%3Fmark%23hash.db"])
def test_sqlite_urls_parse_as_with_sqlalchemy(url: str) -> None:
    parsed = make_url(url)
    mine = parse_store_url(url)
    assert (mine.backend, mine.database, mine.query) == ("sqlite", parsed.database, dict(parsed.query))
    assert mine.file == reference_file(url)


@pytest.mark.parametrize("url", ["postgresql://deploy:pw-1234@db.example.com:5433/dw?sslmode=require",
                                 "postgres://deploy:p%40ss@db/dw", "postgresql+psycopg://db/dw", "postgresql://h"])
def test_postgresql_urls_show_as_sqlalchemy_showed_them_without_the_password(url: str) -> None:
    mine = parse_store_url(url)
    # As the store showed them through SQLAlchemy: rendered with the password hidden, then masked.
    expected = mask(make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=True))
    assert mine.shown == expected
    assert "pw-1234" not in mine.shown and "p%40ss" not in mine.shown
    assert mine.conninfo.startswith("postgresql://")
    assert display_url(url) == mask(make_url(url).render_as_string(hide_password=True))


@pytest.mark.parametrize(("url", "expected"), [
    ("state.db", "not a valid database URL"), ("sqlite://host/x.db", "not a valid database URL"),
    ("mysql://root:pw-1234@localhost/db", "unsupported database 'mysql'"),
    ("postgresql+psycopg2://u:pw-1234@h/db", "database driver not available"),
])
def test_unusable_urls_are_one_line_errors_without_the_password(url: str, expected: str) -> None:
    with pytest.raises(DeploywatchError, match=expected) as raised:
        parse_store_url(url)
    assert "pw-1234" not in str(raised.value)
