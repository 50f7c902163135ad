"""Output for people follows the reader's terminal: ``--color``, ``NO_COLOR``, ``COLUMNS`` (issue 10, 3.4).

The terminal cases run ``deploywatch drift`` on a real pseudo-terminal of a fixed size.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from testing import terminal
from testing.gitrepo import GitRepo, env_without_git, write_config, write_deployed

NOW = "2026-10-01T00:00:00Z"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # a colour or another text attribute
LONG_SUBJECT = "worker: " + "a long subject that goes on " * 8


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("render")
    repo = GitRepo(root / "repo")
    base = repo.commit("base", {"worker/w.py": "1", "web/w.py": "1"})
    repo.commit(LONG_SUBJECT, {"worker/w.py": "2"})
    write_deployed(root, "worker", base)
    write_deployed(root, "web", repo.head())
    write_config(root, '[repo]\npath = "repo"\n'
                       '[services.worker]\npaths = ["worker/**"]\ndeployed = { file = "deployed/worker.sha" }\n'
                       'critical_commits = 1\n'
                       '[services.web]\npaths = ["web/**"]\ndeployed = { file = "deployed/web.sha" }\n')
    return root


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in env_without_git().items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")}
    return {**env, "TERM": "xterm-256color", **extra}


def _command(*args: str, color: str | None = None) -> list[str]:
    return [sys.executable, "-m", "deploywatch", *(["--color", color] if color else []), "drift", "--now", NOW,
            *args]


def on_terminal(workspace: Path, *, color: str | None = None, columns: int = 100, **env: str) -> str:
    """What ``deploywatch drift`` writes to a terminal ``columns`` wide."""
    proc, text = terminal.on_terminal(_command(color=color), env=_env(**env), cwd=workspace, columns=columns)
    assert proc.returncode == 2, proc.stderr
    return text


def piped(workspace: Path, *args: str, color: str | None = None, **env: str) -> str:
    proc = subprocess.run(_command(*args, color=color), cwd=workspace, capture_output=True, text=True,
                          env=_env(**env), timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    return proc.stdout


def test_a_terminal_gets_colours(workspace: Path) -> None:
    assert SGR.search(on_terminal(workspace))


@pytest.mark.parametrize("value", ["1", "0", "false", "anything"])
def test_no_color_with_any_value_turns_colours_off_on_a_terminal(workspace: Path, value: str) -> None:
    output = on_terminal(workspace, NO_COLOR=value)
    assert "worker" in output
    assert SGR.findall(output) == []


def test_an_empty_no_color_is_not_set(workspace: Path) -> None:
    assert SGR.search(on_terminal(workspace, NO_COLOR=""))


def test_color_never_on_a_terminal_and_always_in_a_pipe(workspace: Path) -> None:
    assert SGR.findall(on_terminal(workspace, color="never")) == []
    assert SGR.search(piped(workspace, color="always"))
    assert SGR.search(piped(workspace, color="always", NO_COLOR="1"))  # asked for on the command line
    assert SGR.findall(piped(workspace)) == []


def test_a_terminal_sets_the_width(workspace: Path) -> None:
    output = SGR.sub("", on_terminal(workspace, color="never", columns=90)).replace("\r", "")
    assert _table_width(output) <= 90


def _table_width(output: str) -> int:
    """The width of the table: its rule under the headers (explanations below it are soft-wrapped lines)."""
    return max(len(line) for line in output.splitlines() if line.startswith("─"))


@pytest.mark.parametrize("columns", [60, 100, 400])
def test_columns_sets_the_width_of_piped_output(workspace: Path, columns: int) -> None:
    output = piped(workspace, COLUMNS=str(columns))
    assert _table_width(output) <= columns
    if columns == 400:  # wide enough for the long subject on one line
        assert LONG_SUBJECT.strip() in output
    else:
        assert LONG_SUBJECT.strip() not in output


def test_a_pipe_without_columns_is_160_wide(workspace: Path) -> None:
    assert 120 < _table_width(piped(workspace)) <= 160


@pytest.mark.parametrize("color", [None, "never", "always"])
def test_piped_tables_carry_no_trailing_spaces(workspace: Path, color: str | None) -> None:
    output = piped(workspace, color=color)
    assert "SERVICE" in output
    assert [line for line in SGR.sub("", output).splitlines() if line != line.rstrip()] == []
