"""``deploywatch affected --since deployed``: per service, what deploying now would ship (files and commits since
the commit it runs), failing closed on an unknown deployed commit and on a shallow clone; paths-filter outputs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from deploywatch.cli import main
from deploywatch.drift.git import clean_env
from testing.gitrepo import GitRepo, write_config, write_deployed

CONFIG = """
[repo]
path = "repo"
[services.api]
paths = ["api/**"]
deployed = { file = "deployed/api.sha" }
[services.worker]
paths = ["worker/**", "shared/**"]
exclude = ["**/*.md"]
deployed = { file = "deployed/worker.sha" }
[services.web]
paths = ["web/**"]
deployed = { file = "deployed/web.sha" }
"""
GLOBS = {"api": ["api/**"], "worker": ["worker/**", "shared/**"], "web": ["web/**"]}
EXCLUDES = {"worker": ["**/*.md"]}


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Path, GitRepo]:
    repo = GitRepo(tmp_path / "repo")
    base = repo.commit("base", {"api/a.py": "0", "worker/w.py": "0", "shared/s.py": "0", "web/x.js": "0"})
    repo.commit("api: one", {"api/a.py": "1"})
    api_deployed = repo.commit("worker: readme only", {"worker/README.md": "r"})
    repo.commit("api: two", {"api/a.py": "2", "api/b.py": "new"})
    repo.commit("shared: util", {"shared/s.py": "1"})
    repo.commit("web: style", {"web/x.js": "1"})
    write_deployed(tmp_path, "api", api_deployed)
    write_deployed(tmp_path, "worker", base)
    write_deployed(tmp_path, "web", repo.head())
    return write_config(tmp_path, CONFIG), repo


def oracle(repo: GitRepo, service: str, deployed: str) -> tuple[list[str], list[str]]:
    """The files and commits git itself names for the service between its deployed commit and HEAD."""
    spec = [f":(glob){g}" for g in GLOBS[service]] + [f":(glob,exclude){g}" for g in EXCLUDES.get(service, [])]
    files = repo.git("diff", "--name-only", "--no-renames", deployed, "HEAD", "--", *spec).split()
    commits = repo.git("log", "--no-merges", "--format=%H", f"{deployed}..HEAD", "--", *spec).split()
    return sorted(files), commits


def test_each_service_is_compared_with_the_commit_it_runs(scene: tuple[Path, GitRepo],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    config, repo = scene
    assert main(["affected", "--since", "deployed", "--config", str(config), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["base"] == "deployed" and document["unknown"] == []
    services = {s["name"]: s for s in document["services"]}
    assert set(services) == {"api", "worker"}  # web runs HEAD: deploying it now ships nothing
    for name, entry in services.items():
        deployed = (config.parent / "deployed" / f"{name}.sha").read_text().strip()
        assert entry["base"] == deployed
        assert (sorted(entry["files"]), entry["commits"]) == oracle(repo, name, deployed)
    # the worker's README changed too, but its exclude keeps it out
    assert services["worker"]["files"] == ["shared/s.py"]
    assert services["worker"]["excluded"] == [{"file": "worker/README.md", "glob": "**/*.md"}]


def test_an_unknown_deployed_commit_fails_closed(scene: tuple[Path, GitRepo], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = scene
    write_deployed(tmp_path, "web", "f" * 40)  # not in the repository: not "everything", not HEAD~1
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    code = main(["affected", "--since", "deployed", "--config", str(config), "--format", "github"])
    captured = capsys.readouterr()
    assert code == 3
    assert "web: unknown" in captured.err
    assert captured.out.startswith("::warning title=affected%3A web is unknown::")
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs["web"] == "unknown" and json.loads(outputs["unknown"]) == ["web"]
    assert json.loads(outputs["changes"]) == ["api", "worker"]
    assert "**web**: unknown" in (tmp_path / "summary.md").read_text()


def test_paths_filter_outputs(scene: tuple[Path, GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    config, repo = scene
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    assert main(["affected", "--since", "deployed", "--config", str(config), "--format", "github"]) == 0
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert json.loads(outputs["changes"]) == ["api", "worker"] and outputs["any"] == "true"
    assert (outputs["api"], outputs["worker"], outputs["web"]) == ("true", "true", "false")
    api_deployed = (config.parent / "deployed" / "api.sha").read_text().strip()
    files, commits = oracle(repo, "api", api_deployed)
    assert sorted(json.loads(outputs["api_files"])) == files and outputs["api_count"] == str(len(files))
    assert json.loads(outputs["api_commits"]) == commits
    assert json.loads(outputs["web_files"]) == [] and json.loads(outputs["web_commits"]) == []
    everything = json.loads(outputs["all"])
    assert everything["api"] == "true" and everything["api_commits"] == commits
    assert "### Affected services: 2 of 3" in (tmp_path / "summary.md").read_text()


def test_base_mode_lists_each_services_commits(scene: tuple[Path, GitRepo],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config, repo = scene
    assert main(["affected", "--base", "HEAD~3", "--config", str(config), "--format", "json"]) == 0
    services = {s["name"]: s for s in json.loads(capsys.readouterr().out)["services"]}
    base = repo.git("rev-parse", "HEAD~3").strip()
    for name, entry in services.items():
        assert entry["commits"] == oracle(repo, name, base)[1]
    assert set(services) == {"api", "worker", "web"}


def test_a_shallow_clone_without_the_deployed_commit_says_fetch_depth_0(
        scene: tuple[Path, GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, repo = scene
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo.path}", str(clone)],
                   check=True, timeout=60, env=clean_env())
    (tmp_path / "shallow.toml").write_text(CONFIG.replace('path = "repo"', 'path = "shallow"'))
    code = main(["affected", "--since", "deployed", "--config", str(tmp_path / "shallow.toml")])
    err = capsys.readouterr().err
    assert code == 3
    assert "fetch-depth: 0" in err and "shallow" in err
    assert len(err.strip().splitlines()) == 1


def test_json_follows_the_schema(scene: tuple[Path, GitRepo], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema

    config, _ = scene
    write_deployed(tmp_path, "web", "f" * 40)
    assert main(["affected", "--since", "deployed", "--config", str(config), "--format", "json"]) == 3
    document = json.loads(capsys.readouterr().out)
    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "schemas" / "affected.v1.json").read_text())
    jsonschema.validate(document, schema)
    assert document["unknown"][0]["name"] == "web" and "not in this repository" in document["unknown"][0]["reason"]


def test_a_service_named_like_an_aggregate_output_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("base", {"any/a.py": "0"})
    config = write_config(tmp_path, '[repo]\npath = "repo"\n[services.any]\npaths = ["any/**"]\n'
                                    'deployed = { file = "deployed/any.sha" }\n')
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    assert main(["affected", "--files", "any/a.py", "--config", str(config), "--format", "github"]) == 3
    err = capsys.readouterr().err
    assert "service 'any'" in err and "rename the service" in err
    assert not (tmp_path / "out").exists() or (tmp_path / "out").read_text() == ""


def test_since_deployed_takes_no_other_base(scene: tuple[Path, GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = scene
    assert main(["affected", "--since", "deployed", "--base", "main", "--config", str(config)]) == 3
    assert "drop --base" in capsys.readouterr().err
