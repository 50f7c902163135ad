"""Every service in the JSON of drift, contains and skew carries what its source reported (``deployed_value``) and
the source (``deployed_source``) beside the resolved ``deployed_commit`` — also when that could not be resolved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo, write_config, write_deployed

ABSENT = "0123456789abcdef0123456789abcdef01234567"  # a SHA this repository does not have
CONFIG = """
[repo]
path = "repo"
[services.web]
paths = ["web/**"]
group = "front"
deployed = { file = "deployed/web.sha" }
[services.api]
paths = ["api/**"]
group = "front"
deployed = { file = "deployed/api.sha" }
[services.tagged]
paths = ["web/**"]
deployed = { file = "deployed/tagged.sha" }
[services.broken]
paths = ["web/**"]
deployed = { command = "echo 'no such service' >&2; exit 1" }
"""


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, str]:
    repo = GitRepo(tmp_path / "repo")
    head = repo.commit("base", {"web/a.py": "1", "api/b.py": "1"})
    repo.tag("v1.0")
    write_deployed(tmp_path, "web", head[:12])
    write_deployed(tmp_path, "api", ABSENT)
    write_deployed(tmp_path, "tagged", "v1.0")
    return write_config(tmp_path, CONFIG), head


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    main([*args, "--format", "json"])
    return json.loads(capsys.readouterr().out)


def _deployed(services: list[dict[str, Any]]) -> dict[str, tuple[Any, Any, Any]]:
    return {s["name"]: (s["deployed_commit"], s["deployed_value"], s["deployed_source"]) for s in services}


def test_drift_json_carries_the_value_read_and_its_source_for_every_service(
        workspace: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    config, head = workspace
    document = _json(capsys, "drift", "--config", str(config), "--now", "2026-09-22T00:00:00Z")
    states = {s["name"]: s["state"] for s in document["services"]}
    assert states["api"] == "missing" and states["broken"] == "unknown"
    assert _deployed(document["services"]) == {
        "web": (head, head[:12], "file deployed/web.sha"),
        "api": (None, ABSENT, "file deployed/api.sha"),  # read, but not in this repository
        "tagged": (head, "v1.0", "file deployed/tagged.sha"),
        "broken": (None, None, "command echo 'no such service' >&2; exit 1"),  # nothing read
    }


def test_contains_json_carries_the_value_read_and_its_source(
        workspace: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    config, head = workspace
    document = _json(capsys, "contains", head, "--config", str(config))
    deployed = _deployed(document["services"])
    assert deployed["api"] == (None, ABSENT, "file deployed/api.sha")
    assert deployed["web"] == (head, head[:12], "file deployed/web.sha")
    assert deployed["broken"][:2] == (None, None)


def test_skew_json_carries_the_value_read_and_its_source(
        workspace: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    config, head = workspace
    document = _json(capsys, "skew", "--config", str(config))
    (group,) = document["groups"]
    assert _deployed(group["services"]) == {"web": (head, head[:12], "file deployed/web.sha"),
                                            "api": (None, ABSENT, "file deployed/api.sha")}
