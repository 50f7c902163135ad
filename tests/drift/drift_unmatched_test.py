"""A service whose ``paths`` match no file at the branch tip (a typo such as ``src/fronted/**``) never sees a
relevant commit, so it would be "ok" forever: ``drift`` makes it a warning naming the service and the glob, in the
table, Markdown and JSON, and ``config check`` warns the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo, write_config, write_deployed

NOW = "2026-09-21T15:00:00Z"
CONFIG = """
[repo]
path = "repo"
[services.frontend]
paths = ["src/fronted/**", "shared/**"]
deployed = { file = "deployed/frontend.sha" }
[services.cart]
paths = ["src/cart/**"]
deployed = { file = "deployed/cart.sha" }
[services.gone]
paths = ["src/gone/**"]
deployed = { file = "deployed/gone.sha" }
"""


@pytest.fixture
def config(git_repo: GitRepo, tmp_path: Path) -> Path:
    git_repo.commit("base", {"src/frontend/app.py": "1", "src/cart/cart.py": "1", "shared/util.py": "1"})
    for name in ("frontend", "cart"):
        write_deployed(tmp_path, name, git_repo.head())
    write_deployed(tmp_path, "gone", "0123456789abcdef0123456789abcdef01234567")  # not in the repository
    return write_config(tmp_path, CONFIG)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_drift_json_warns_about_a_glob_that_matches_no_file(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "drift", "--config", str(config), "--now", NOW, "--format", "json")
    services = {s["name"]: s for s in json.loads(out)["services"]}
    frontend = services["frontend"]
    assert frontend["state"] == "current"
    assert frontend["status"] == "warning"
    assert frontend["unmatched_paths"] == ["src/fronted/**"]
    assert "'src/fronted/**' matches no file at the tip of main" in frontend["reason"]
    assert services["cart"]["status"] == "ok" and services["cart"]["unmatched_paths"] == []
    # a service already unknown stays unknown, and still says so
    assert services["gone"]["status"] == "unknown"
    assert services["gone"]["unmatched_paths"] == ["src/gone/**"]
    assert "'src/gone/**' matches no file" in services["gone"]["reason"]
    assert code == 3


@pytest.mark.parametrize("output_format", ["table", "markdown"])
def test_drift_table_and_markdown_name_the_service_and_the_glob(config: Path, capsys: pytest.CaptureFixture[str],
                                                               output_format: str) -> None:
    code, out = run(capsys, "drift", "frontend", "--config", str(config), "--now", NOW, "--format", output_format)
    assert code == 1
    assert "frontend" in out
    # Markdown escapes the glob's asterisks so they do not turn into emphasis
    shown = out.replace("\\*", "*") if output_format == "markdown" else out
    assert "'src/fronted/**' matches no file at the tip of main" in " ".join(shown.split())


def test_config_check_names_the_service_and_the_glob(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "config", "check", "--config", str(config), "--format", "json")
    warnings = json.loads(out)["warnings"]
    assert any("services.frontend.paths" in w and "'src/fronted/**' matches no file" in w for w in warnings)
    assert code == 1
