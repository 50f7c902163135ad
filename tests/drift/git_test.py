"""git.py: a clean environment, timeouts, clear errors, and a walk parser that survives odd names."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from deploywatch.cli import main
from deploywatch.core.errors import GitError
from deploywatch.drift.git import Repo, clean_env, parse_walk
from testing import oracle
from testing.gitrepo import GitRepo, write_config, write_deployed
from testing.stand_ins import StandIns


def test_walk_parses_names_with_newlines_tabs_and_non_utf8(git_repo: GitRepo) -> None:
    odd = ["\nstarts with newline.py", "tab\there.py", "quote\"and'apostrophe.py", "space dir/x y.py"]
    first = git_repo.commit("odd names", dict.fromkeys(odd, "1"))
    git_repo.commit("empty", allow_empty=True)
    repo = Repo(git_repo.path)
    entries = list(repo.walk([git_repo.head()]))
    assert [len(paths) for _, _, paths in entries] == [0, len(odd)]
    assert sorted(entries[1][2]) == sorted(name.encode() for name in odd)
    assert entries[1][0] == first
    assert entries[0][1] == [first]
    described = repo.describe([entries[0][0], first])
    assert [described[sha].subject for sha, _, _ in entries] == ["empty", "odd names"]


def test_walk_parser_handles_any_chunking(git_repo: GitRepo) -> None:
    for i in range(5):
        git_repo.commit(f"c{i}", {f"d{i}/a b.py": "1", "\nnl.py": str(i)})
    git_repo.commit("merge-less empty", allow_empty=True)
    repo = Repo(git_repo.path)
    whole = repo.run("log", "--topo-order", "-z", "--name-only", "--no-renames", "--root",
                     "--format=%x00%H %P", "HEAD").stdout
    expected = list(parse_walk([whole]))
    assert len(expected) == 6
    for size in (1, 2, 3, 7, 41):
        chunks = [whole[k:k + size] for k in range(0, len(whole), size)]
        assert list(parse_walk(chunks)) == expected
    assert list(repo.walk([git_repo.head()])) == expected


def test_inherited_git_environment_is_ignored(git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    base = git_repo.commit("base", {"a/x.py": "1"})
    git_repo.commit("more", {"a/x.py": "2"})
    write_deployed(tmp_path, "a", base)
    config = write_config(tmp_path, '[repo]\npath = "repo"\n[services.a]\npaths = ["a"]\n'
                                    'deployed = { file = "deployed/a.sha" }\n')
    elsewhere = tmp_path / "elsewhere"
    subprocess.run(["git", "init", "-q", str(elsewhere)], check=True, timeout=30, env=clean_env())
    monkeypatch.setenv("GIT_DIR", str(elsewhere / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(elsewhere))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "nope"))
    assert main(["drift", "--config", str(config), "--format", "json", "--now", "2026-09-21T13:00:00Z"]) == 0
    service = json.loads(capsys.readouterr().out)["services"][0]
    assert service["commits_behind"] == 1


def test_timeouts_are_errors_not_hangs(git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git_repo.commit("base", {"a": "1"})
    head = git_repo.head()
    stand_ins = StandIns(tmp_path / "hanging")
    stand_ins.install("git", sleep=60)  # a git that never answers in time, e.g. a stalled network filesystem
    monkeypatch.setenv("PATH", stand_ins.path_first())
    started = time.monotonic()
    with pytest.raises(GitError, match=r"git log timed out after 0\.5s"):
        list(Repo(git_repo.path, timeout=0.5).walk([head]))
    with pytest.raises(GitError, match=r"git rev-parse timed out after 0\.5s"):
        Repo(git_repo.path, timeout=0.5).check()
    assert time.monotonic() - started < 30  # killed at the timeout, not left to run its 60 s


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a git repository"):
        Repo(tmp_path).check()
    with pytest.raises(GitError, match="does not exist"):
        Repo(tmp_path / "missing").check()


def test_git_not_installed(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GitError, match="git is not installed"):
        Repo(git_repo.path).check()


def test_unknown_branch_is_a_clear_error(git_repo: GitRepo, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    git_repo.commit("base", {"a": "1"})
    write_deployed(tmp_path, "a", git_repo.head())
    config = write_config(tmp_path, '[repo]\npath = "repo"\nbranch = "production"\n[services.a]\npaths = ["a"]\n'
                                    'deployed = { file = "deployed/a.sha" }\n')
    assert main(["drift", "--config", str(config)]) == 3
    assert "branch 'production' (repo.branch) does not exist" in capsys.readouterr().err


def test_fetch_true_measures_against_the_fetched_tip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    upstream = GitRepo(tmp_path / "upstream")
    base = upstream.commit("base", {"svc/a.py": "1"})
    subprocess.run(["git", "clone", "-q", str(upstream.path), str(tmp_path / "repo")], check=True, timeout=60,
                   env=clean_env())
    clone = GitRepo.__new__(GitRepo)
    clone.path = tmp_path / "repo"
    upstream.commit("fix after the clone", {"svc/a.py": "2"})
    write_deployed(tmp_path, "svc", base)
    config = write_config(tmp_path, '[repo]\npath = "repo"\nbranch = "origin/main"\nfetch = true\n'
                                    '[services.svc]\npaths = ["svc/**"]\ndeployed = { file = "deployed/svc.sha" }\n')
    main(["drift", "--config", str(config), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["repo"]["tip"] == upstream.head()
    assert report["services"][0]["relevant_commits_behind"] == oracle.relevant_commits_behind(
        upstream, base, upstream.head(), ["svc/**"])


def test_output_settings_in_the_users_config_do_not_change_results(git_repo: GitRepo, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    base = git_repo.commit("base", {"svc/a.py": "1", "other/b.py": "1"})
    git_repo.commit("svc change", {"svc/a.py": "2"})
    for key, value in (("log.showSignature", "true"), ("diff.relative", "true"), ("color.ui", "always"),
                       ("log.showRoot", "false"), ("diff.renames", "copies")):
        git_repo.git("config", key, value)
    write_deployed(tmp_path, "svc", base)
    # repo.path names a folder inside the work tree: paths are still relative to its top
    config = write_config(tmp_path, '[repo]\npath = "repo/other"\n[services.svc]\npaths = ["svc/**"]\n'
                                    'deployed = { file = "deployed/svc.sha" }\n')
    main(["drift", "--config", str(config), "--format", "json", "--now", "2026-09-21T15:00:00Z"])
    service = json.loads(capsys.readouterr().out)["services"][0]
    assert (service["commits_behind"], service["relevant_commits_behind"]) == (1, 1)
    assert main(["config", "check", "--config", str(config), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["services"][0]["files_owned"] == 1


def test_remote_access_variables_survive_the_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -i key")
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    env = clean_env()
    assert env["GIT_SSH_COMMAND"] == "ssh -i key"
    assert "GIT_DIR" not in env


def test_repo_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(GitError, match="not a directory"):
        Repo(tmp_path / "file").check()
