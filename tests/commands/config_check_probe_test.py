"""``deploywatch config check --probe-sources``: each deployed source read once (a real file, a real command, a
real HTTP server on 127.0.0.1), what it read or its one-line error, and a warning naming a preset's missing CLI."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo, write_config, write_deployed

CONFIG = """\
[repo]
path = "repo"

[services.web]
paths = ["web/**"]
deployed = {{ file = "deployed/web.sha" }}

[services.api]
paths = ["api/**"]
deployed = {{ command = "echo {api}", timeout = "5s" }}

[services.site]
paths = ["web/**"]
deployed = {{ url = "http://127.0.0.1:{port}/version.json", timeout = "5s" }}

[services.gone]
paths = ["api/**"]
deployed = {{ file = "deployed/gone.sha" }}

[services.k8s]
paths = ["api/**"]
deployed = {{ kubernetes = {{ name = "api" }} }}
"""


@pytest.fixture(autouse=True)
def _no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYWATCH_CONFIG", raising=False)


@pytest.fixture
def version_server() -> Iterator[tuple[int, dict[str, str]]]:
    """A real HTTP server on 127.0.0.1 answering ``/version.json`` with the ``document`` the test sets."""
    document: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            document["requests"] = str(int(document.get("requests", "0")) + 1)
            body = json.dumps(document).encode()
            self.send_response(200 if self.path == "/version.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], document
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def setup(tmp_path: Path, version_server: tuple[int, dict[str, str]]) -> tuple[Path, GitRepo]:
    port, document = version_server
    repo = GitRepo(tmp_path / "repo")
    first = repo.commit("first", {"web/app.py": "1\n", "api/main.py": "1\n"})
    second = repo.commit("second", {"web/app.py": "2\n"})
    write_deployed(tmp_path, "web", second)
    document["commit"] = first
    config = write_config(tmp_path, CONFIG.format(api=first[:10], port=port))
    return config, repo


def path_without(tmp_path: Path, program: str) -> str:
    """A ``PATH`` holding git (and the shell's tools) but not ``program``."""
    bin_dir = tmp_path / "path-bin"
    bin_dir.mkdir()
    for tool in ("git", "sh", "echo"):
        found = shutil.which(tool)
        if found:
            os.symlink(found, bin_dir / tool)
    assert shutil.which(program, path=str(bin_dir)) is None
    return str(bin_dir)


def test_each_source_is_read_once_and_a_missing_cli_is_named(
        setup: tuple[Path, GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    config, repo = setup
    monkeypatch.setenv("PATH", path_without(tmp_path, "kubectl"))

    code = main(["config", "check", "--probe-sources", "--config", str(config), "--format", "json"])
    document = json.loads(capsys.readouterr().out)

    assert code == 1
    sources = {s["service"]: s for s in document["sources"]}
    assert sources["web"]["commit"] == repo.head() and sources["web"]["error"] is None
    assert sources["api"]["read"] == repo.head("HEAD~1")[:10]
    assert sources["api"]["commit"] == repo.head("HEAD~1")
    assert sources["site"]["commit"] == repo.head("HEAD~1")
    assert sources["gone"]["commit"] is None and "deployed/gone.sha" in sources["gone"]["error"]
    assert sources["k8s"]["commit"] is None and "\n" not in sources["k8s"]["error"]
    warnings = document["warnings"]
    assert "services.k8s.deployed: the kubernetes preset runs kubectl, which is not on PATH" in warnings
    assert any(w.startswith("services.gone.deployed: ") for w in warnings)
    assert not any(w.startswith(("services.web.", "services.api.", "services.site.")) for w in warnings)


def test_the_table_shows_what_each_source_read(setup: tuple[Path, GitRepo], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config, repo = setup
    monkeypatch.setenv("PATH", path_without(tmp_path, "kubectl"))

    main(["config", "check", "--probe-sources", "--config", str(config)])
    out = capsys.readouterr().out

    assert f"  web: {repo.head()}  ← file deployed/web.sha" in out
    assert f"  api: {repo.head('HEAD~1')} (read {repo.head('HEAD~1')[:10]})" in out
    assert "warning: services.k8s.deployed: the kubernetes preset runs kubectl, which is not on PATH" in out


def test_without_the_flag_no_source_is_read(setup: tuple[Path, GitRepo], capsys: pytest.CaptureFixture[str],
                                            version_server: tuple[int, dict[str, str]]) -> None:
    config, _ = setup

    code = main(["config", "check", "--config", str(config), "--format", "json"])
    document = json.loads(capsys.readouterr().out)

    assert "sources" not in document
    assert code == 0
    assert "requests" not in version_server[1]
    main(["config", "check", "--probe-sources", "--config", str(config), "--format", "json"])
    capsys.readouterr()
    assert version_server[1]["requests"] == "1"  # read once
