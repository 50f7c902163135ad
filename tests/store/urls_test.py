"""Store URLs read and written without SQLAlchemy agree with SQLAlchemy's own parsing and rendering."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

from deploywatch.store.engine import parse_store_url, sqlite_file
from deploywatch.store.urls import default_store_url, resolve_store_url, sqlite_path

NAMES = ["state.db", "a b.db", "100% sure.db", "at@sign:colon.db", "q?mark#hash.db", "plus+tilde~.db", "ünï.db",
         "sub/dir/x.db"]


def reference_resolve(url: str, base_dir: Path) -> str:
    """The resolution as SQLAlchemy does it (what resolve_store_url did before it had a fast path)."""
    parsed = parse_store_url(url)
    path = sqlite_file(parsed)
    if path is None or path.is_absolute():
        return url
    return parsed.set(database=os.path.abspath(base_dir / path)).render_as_string(hide_password=False)


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
        assert sqlite_path(resolved) == sqlite_file(parse_store_url(resolved))


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
