"""``deploywatch contains``: ancestry and cherry-picks, checked against git."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo, write_config, write_deployed

CONFIG = """
[repo]
path = "repo"
[services.worker]
paths = ["worker/**"]
deployed = { file = "deployed/worker.sha" }
[services.release]
paths = ["worker/**"]
deployed = { file = "deployed/release.sha" }
[services.old]
paths = ["other/**"]
deployed = { file = "deployed/old.sha" }
[services.lost]
paths = ["worker/**"]
deployed = { file = "deployed/lost.sha" }
"""


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, GitRepo, dict[str, str]]:
    repo = GitRepo(tmp_path / "repo")
    base = repo.commit("base", {"worker/w.py": "1\n", "other/o.py": "1\n"})
    fix = repo.commit("fix(worker): handle nulls", {"worker/w.py": "2\n"})
    tip = repo.commit("worker: more", {"worker/x.py": "1\n"})
    repo.checkout("release", new=True, start=base)
    repo.commit("release: bump", {"other/o.py": "rel\n"})
    picked = repo.cherry_pick(fix)
    repo.checkout("main")
    write_deployed(tmp_path, "worker", tip)
    write_deployed(tmp_path, "release", picked)
    write_deployed(tmp_path, "old", base)
    write_deployed(tmp_path, "lost", "feedfacefeedfacefeedfacefeedfacefeedface")
    write_config(tmp_path, CONFIG)
    return tmp_path / "deploywatch.toml", repo, {"fix": fix, "picked": picked, "base": base, "tip": tip}


def test_contains_by_ancestry_and_patch_id(workspace: tuple[Path, GitRepo, dict[str, str]],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config, repo, shas = workspace
    code = main(["contains", shas["fix"][:9], "--config", str(config), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "deploywatch.contains/v1"
    assert document["commit"] == shas["fix"]
    by_name = {s["name"]: s for s in document["services"]}
    assert (by_name["worker"]["contains"], by_name["worker"]["via"]) == (True, "ancestor")
    assert (by_name["release"]["contains"], by_name["release"]["via"]) == (True, "patch-id")
    assert shas["picked"][:8] in by_name["release"]["reason"]
    assert by_name["old"]["contains"] is False
    assert by_name["old"]["relevant"] is False
    assert by_name["lost"]["contains"] is None
    assert code == 3  # one service's deployed commit is unknown
    # git agrees about ancestry
    repo.git("merge-base", "--is-ancestor", shas["fix"], shas["tip"])
    with pytest.raises(AssertionError):
        repo.git("merge-base", "--is-ancestor", shas["fix"], shas["picked"])


def test_exit_codes(workspace: tuple[Path, GitRepo, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    config, _, shas = workspace
    write_deployed(config.parent, "lost", shas["tip"])
    assert main(["contains", shas["fix"], "--config", str(config)]) == 1  # 'old' lacks it
    write_deployed(config.parent, "old", shas["tip"])
    assert main(["contains", shas["fix"], "--config", str(config)]) == 0
    assert main(["contains", "deadbeef" * 5, "--config", str(config)]) == 3
    assert "does not name a commit" in capsys.readouterr().err
