"""``deploywatch drift --format json`` over a real repository with file, command and url sources."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from deploywatch.cli import main
from deploywatch.core.durations import format_timestamp
from deploywatch.drift.git import clean_env
from testing.gitrepo import BASE_TIME, GitRepo, write_config

NOW = format_timestamp(BASE_TIME + 3600)
NOT_IN_REPO = "0123456789abcdef0123456789abcdef01234567"


def drift(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run ``deploywatch drift --format json``; return the exit code and the services by name."""
    code = main(["drift", "--format", "json", "--config", str(config), "--now", NOW])
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "deploywatch.drift/v1"
    return code, {s["name"]: s for s in document["services"]}


@pytest.fixture
def history(git_repo: GitRepo) -> dict[str, str]:
    """Three commits on main touching ``web/``, tagged ``v1.0`` (lightweight) and ``v1.1`` (annotated)."""
    first = git_repo.commit("web: first", {"web/app.py": "v1\n"})
    git_repo.tag("v1.0", first)
    second = git_repo.commit("web: second", {"web/app.py": "v2\n"})
    git_repo.tag("v1.1", second, annotated=True)
    tip = git_repo.commit("web: third", {"web/app.py": "v3\n"})
    return {"first": first, "second": second, "tip": tip}


def service(name: str, deployed: str) -> str:
    """One ``[services.NAME]`` table over ``web/**``."""
    return f'[services.{name}]\npaths = ["web/**"]\ndeployed = {deployed}\n\n'


def test_sources_resolve_through_git_and_unknowns_exit_3(tmp_path: Path, git_repo: GitRepo,
                                                        history: dict[str, str], httpserver: HTTPServer,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    ops = tmp_path / "ops"
    (ops / "deployed").mkdir(parents=True)
    (ops / "deployed" / "abbrev.sha").write_text(history["tip"][:9] + "\n")
    (ops / "deployed" / "ghost.sha").write_text(NOT_IN_REPO + "\n")
    httpserver.expect_request("/annotated/__version__").respond_with_json({"commit": "v1.1", "version": "1.1"})
    httpserver.expect_request("/broken/__version__").respond_with_data("oops", status=500)
    config = write_config(ops, '[repo]\npath = "../repo"\n\n'
                          + service("abbreviated", '{ file = "deployed/abbrev.sha" }')
                          + service("lightweight", '{ command = "echo v1.0" }')
                          + service("annotated", f'{{ url = "{httpserver.url_for("/annotated/__version__")}" }}')
                          + service("ghost", '{ file = "deployed/ghost.sha" }')
                          + service("no-such-tag", '{ command = "echo v9.9" }')
                          + service("broken-file", '{ file = "deployed/absent.sha" }')
                          + service("broken-command", '{ command = "echo denied >&2; exit 5" }')
                          + service("broken-url", f'{{ url = "{httpserver.url_for("/broken/__version__")}" }}'))

    code, services = drift(config, capsys)

    assert code == 3
    assert services["abbreviated"]["deployed_commit"] == history["tip"]
    assert services["abbreviated"]["state"] == "current"
    assert services["lightweight"]["deployed_commit"] == history["first"]
    assert services["lightweight"]["state"] == "behind"
    assert services["lightweight"]["relevant_commits_behind"] == 2
    assert services["annotated"]["deployed_commit"] == history["second"]  # the commit, not the tag object
    assert git_repo.git("rev-parse", "v1.1") != history["second"]
    assert services["annotated"]["commits_behind"] == 1

    ghost = services["ghost"]
    assert (ghost["status"], ghost["state"], ghost["deployed_commit"]) == ("unknown", "missing", None)
    assert NOT_IN_REPO in ghost["reason"]
    assert "git fetch" in ghost["reason"]
    assert "unshallow" not in ghost["reason"]
    assert services["no-such-tag"]["state"] == "missing"
    assert "'v9.9'" in services["no-such-tag"]["reason"]
    assert "git fetch --tags" in services["no-such-tag"]["reason"]

    for name, says in [("broken-file", "file deployed/absent.sha does not exist"),
                       ("broken-command", "exited with code 5; stderr: denied"),
                       ("broken-url", "returned HTTP 500")]:
        broken = services[name]
        assert (broken["status"], broken["state"]) == ("unknown", "unknown"), name
        assert broken["deployed_commit"] is None
        assert broken["commits_behind"] is None
        assert says in broken["reason"]


def test_all_ok_exits_0(tmp_path: Path, git_repo: GitRepo, history: dict[str, str],
                        capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[repo]\npath = "repo"\n\n'
                          + service("web", f'{{ command = "echo {history["tip"][:7]}" }}'))
    code, services = drift(config, capsys)
    assert code == 0
    assert services["web"]["status"] == "ok"
    assert services["web"]["deployed_commit"] == history["tip"]


def test_shallow_clone_older_than_the_boundary_says_unshallow(tmp_path: Path, git_repo: GitRepo,
                                                               history: dict[str, str],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{git_repo.path}", str(clone)],
                   check=True, capture_output=True, timeout=60, env=clean_env({}))
    config = write_config(tmp_path, '[repo]\npath = "clone"\n\n'
                          + service("old", f'{{ command = "echo {history["first"]}" }}')
                          + service("current", f'{{ command = "echo {history["tip"]}" }}'))

    code, services = drift(config, capsys)

    assert code == 3
    old = services["old"]
    assert (old["status"], old["state"]) == ("unknown", "missing")
    assert "git fetch --unshallow" in old["reason"]
    assert services["current"]["state"] == "current"
