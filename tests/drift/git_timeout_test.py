"""git's timeout holds when git leaves a descendant holding its pipes: an ssh that starts a background process in a
session of its own (as ``ControlPersist`` does) must not keep deploywatch waiting after git ended or was killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploywatch.core.errors import GitError
from deploywatch.drift.git import Repo
from testing.gitrepo import GitRepo, write_config, write_deployed

HELD = 30  # seconds the stray process holds the pipes: far beyond every limit below


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def _stray(pids: Path) -> str:
    """Shell that starts a process in a new session which inherits (and holds) stdout and stderr."""
    return f"setsid sleep {HELD} & echo $! >> {pids}\n"


@pytest.fixture
def pids(tmp_path: Path) -> Iterator[Path]:
    """A file the scripts append their stray processes' ids to; those processes are ended after the test."""
    path = tmp_path / "stray.pids"
    yield path
    if path.exists():
        for pid in path.read_text(encoding="utf-8").split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


@pytest.fixture
def ssh_clone(tmp_path: Path, pids: Path) -> tuple[GitRepo, dict[str, str]]:
    """A repository whose ``origin`` is reached by an ssh that starts a stray process and then hangs; and the
    environment that makes git use that ssh."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("base", {"svc/a.py": "1"})
    repo.git("remote", "add", "origin", "ssh://git@example.invalid/repo.git")
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    ssh = _script(tmp_path / "bin" / "ssh", _stray(pids) + f"sleep {HELD}\n")
    return repo, {**os.environ, "GIT_SSH": str(ssh), "GIT_SSH_VARIANT": "simple"}


def test_a_fetch_past_its_timeout_ends_at_the_timeout_though_ssh_left_a_process_holding_its_pipes(
        tmp_path: Path, ssh_clone: tuple[GitRepo, dict[str, str]]) -> None:
    repo, env = ssh_clone
    write_deployed(tmp_path, "svc", repo.head())
    config = write_config(tmp_path, '[repo]\npath = "repo"\nbranch = "origin/main"\nfetch = true\ntimeout = "3s"\n'
                                    '[services.svc]\npaths = ["svc/**"]\ndeployed = { file = "deployed/svc.sha" }\n')
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "deploywatch", "drift", "--config", str(config)], env=env,
                          capture_output=True, text=True, timeout=HELD * 3, check=False)
    elapsed = time.monotonic() - started
    assert proc.returncode == 3, proc.stderr
    assert "git fetch timed out after 3s" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 12, f"took {elapsed:.1f}s"


def test_a_git_command_past_its_timeout_is_not_held_by_a_stray_process(
        ssh_clone: tuple[GitRepo, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    repo, env = ssh_clone
    monkeypatch.setenv("GIT_SSH", env["GIT_SSH"])
    monkeypatch.setenv("GIT_SSH_VARIANT", "simple")
    started = time.monotonic()
    with pytest.raises(GitError, match=r"git fetch timed out after 2s"):
        Repo(repo.path, timeout=2).fetch("origin")
    assert time.monotonic() - started < 10


def test_a_git_that_ended_is_not_waited_for_until_its_stray_process_lets_go(
        git_repo: GitRepo, tmp_path: Path, pids: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ControlPersist case when all goes well: git answered and exited, its ssh master lives on."""
    head = git_repo.commit("base", {"a": "1"})
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True, check=True,
                              timeout=10).stdout.strip()
    _script(tmp_path / "bin" / "git", _stray(pids) + f'exec {real_git} "$@"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    repo = Repo(git_repo.path, timeout=HELD - 5)
    started = time.monotonic()
    assert repo.output("rev-parse", "HEAD") == head
    assert repo.resolve("HEAD") == head  # with input on stdin
    assert [sha for sha, _, _ in repo.walk([head])] == [head]  # streamed
    assert time.monotonic() - started < 15


def test_a_streamed_git_past_its_timeout_is_not_held_by_a_stray_process(
        git_repo: GitRepo, tmp_path: Path, pids: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git_repo.commit("base", {"a": "1"})
    _script(tmp_path / "bin" / "git", _stray(pids) + f"sleep {HELD}\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    started = time.monotonic()
    with pytest.raises(GitError, match=r"git log timed out after 1s"):
        list(Repo(git_repo.path, timeout=1).walk(["HEAD"]))
    assert time.monotonic() - started < 10


def test_a_git_that_ended_in_time_is_no_timeout_when_its_output_is_read_later(git_repo: GitRepo) -> None:
    # The first-parent listing writes to a file and ends at once; a drift walk of a million commits may take longer
    # than the timeout before it reads that file.
    first = git_repo.commit("one", {"a.txt": "1"})
    second = git_repo.commit("two", {"a.txt": "2"})
    times = Repo(git_repo.path, timeout=0.5).first_parent_times(second)
    time.sleep(1.5)
    assert set(times()) == {first, second}
