"""``deploywatch affected``: which services a change touches, explained, and honest about shallow clones."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from deploywatch.cli import main
from deploywatch.drift.git import clean_env
from testing.gitrepo import GitRepo, write_config

CONFIG = """
[repo]
path = "repo"
[defaults]
exclude = ["**/*.md"]
[services.worker]
paths = ["worker/**", "shared/**"]
deployed = { file = "deployed/worker.sha" }
[services.analytics]
paths = ["analytics", "shared/**"]
deployed = { file = "deployed/analytics.sha" }
[services.docs]
paths = ["docs/**"]
exclude = []
deployed = { file = "deployed/docs.sha" }
"""


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, GitRepo]:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("base", {"worker/w.py": "1", "analytics/a.py": "1", "shared/s.py": "1", "docs/d.md": "1"})
    repo.checkout("feature", new=True)
    repo.commit("touch worker and its README", {"worker/w.py": "2", "worker/README.md": "r"})
    repo.commit("touch docs", {"docs/d.md": "2"})
    write_config(tmp_path, CONFIG)
    return tmp_path / "deploywatch.toml", repo


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["affected", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_affected_explains_matches(workspace: tuple[Path, GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    config, repo = workspace
    document = run_json(capsys, "--base", "main", "--head", "feature", "--config", str(config))
    assert document["schema"] == "deploywatch.affected/v1"
    assert document["merge_base"] == repo.head("main")
    services = {s["name"]: s for s in document["services"]}
    assert set(services) == {"worker", "docs"}
    assert services["worker"]["matches"] == [{"file": "worker/w.py", "glob": "worker/**"}]
    assert services["worker"]["excluded"] == [{"file": "worker/README.md", "glob": "**/*.md"}]
    # the same files git reports
    files = repo.git("diff", "--name-only", "--no-renames", "main...feature").split()
    assert document["files_changed"] == len(files)


def test_shared_change_affects_every_sharing_service(workspace: tuple[Path, GitRepo],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = workspace
    document = run_json(capsys, "--files", "shared/s.py", "--config", str(config))
    assert [s["name"] for s in document["services"]] == ["worker", "analytics"]
    assert main(["affected", "--files", "analytics/x/y.py", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "analytics\n"


def test_staged_changes(workspace: tuple[Path, GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    config, repo = workspace
    repo.write({"analytics/new.py": "x"})
    document = run_json(capsys, "--staged", "--config", str(config))
    assert [s["name"] for s in document["services"]] == ["analytics"]


def test_github_output(workspace: tuple[Path, GitRepo], capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config, _ = workspace
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert main(["affected", "--base", "main", "--head", "feature", "--config", str(config),
                 "--format", "github"]) == 0
    assert 'services=["worker", "docs"]' in output.read_text()
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "missing" / "output"))
    assert main(["affected", "--base", "main", "--head", "feature", "--config", str(config),
                 "--format", "github"]) == 3
    assert "cannot write $GITHUB_OUTPUT" in capsys.readouterr().err
    monkeypatch.delenv("GITHUB_OUTPUT")
    assert main(["affected", "--base", "main", "--head", "feature", "--config", str(config),
                 "--format", "github"]) == 3


def test_shallow_clone_without_merge_base_is_an_error(workspace: tuple[Path, GitRepo], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, repo = workspace
    repo.checkout("main")
    for i in range(3):
        repo.commit(f"main {i}", {"worker/w.py": f"m{i}"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{repo.path}", str(clone)],
                   check=True, timeout=60, env=clean_env())
    (tmp_path / "shallow.toml").write_text(CONFIG.replace('path = "repo"', 'path = "shallow"'))
    code = main(["affected", "--base", "origin/main", "--head", "origin/feature", "--config",
                 str(tmp_path / "shallow.toml")])
    err = capsys.readouterr().err
    assert code == 3
    assert "shallow" in err
    assert "merge-base" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_arguments(workspace: tuple[Path, GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = workspace
    assert main(["affected", "--config", str(config)]) == 3
    assert "exactly one of" in capsys.readouterr().err
    assert main(["affected", "--base", "nope", "--config", str(config)]) == 3
    assert "--base 'nope'" in capsys.readouterr().err


def test_files_takes_several_paths_after_one_flag(workspace: tuple[Path, GitRepo],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = workspace
    one_flag = run_json(capsys, "--files", "worker/w.py", "docs/d.md", "--config", str(config))
    repeated = run_json(capsys, "--files", "worker/w.py", "--files", "docs/d.md", "--config", str(config))
    assert one_flag == repeated
    assert [s["name"] for s in one_flag["services"]] == ["worker", "docs"]
    assert one_flag["files_changed"] == 2
    # options may follow the paths, and the paths may follow other options
    assert main(["affected", "--config", str(config), "--files", "analytics/a.py", "worker/w.py",
                 "--format", "lines"]) == 0
    assert capsys.readouterr().out == "worker\nanalytics\n"


def test_paths_need_files_and_files_needs_paths(workspace: tuple[Path, GitRepo],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = workspace
    # a bare word is not silently taken for a file (a mistyped `affected main` would say "nothing affected")
    assert main(["affected", "main", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--files" in err and "'main'" in err
    assert main(["affected", "--files", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--files needs at least one PATH" in err
