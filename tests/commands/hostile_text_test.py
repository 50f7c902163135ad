"""Text from commits and warehouses cannot act on a reader's terminal or viewer (issue 10, 2.11).

A commit subject and an author name carrying ESC sequences (clear screen, set the window title), BEL, CR, an
8-bit CSI and a right-to-left override reach every output for people neutralised; JSON keeps them as they are.
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.alertmanager_api import FakeAlertmanager
from testing.github_api import DEFAULT_REPO, DEFAULT_TOKEN, GitHubAPI, serve_github
from testing.gitrepo import GitRepo, env_without_git, write_config, write_deployed
from testing.slack_api import FakeSlack

NOW = "2026-10-01T00:00:00Z"
SUBJECT = "x \x1b[2J\x1b]0;pwned\x07 \x9b31m red\r over \u202eevil [bold]b[/bold]"
AUTHOR = "Mallory \x1b[31mRed\x1b[0m"
BIDI = {"\u061c", "\u200e", "\u200f", "\u2028", "\u2029", *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A))}


def unsafe(text: str) -> list[str]:
    """The characters of ``text`` that act on a terminal or reorder text: controls other than newline and tab,
    and the bidirectional formatting characters."""
    return sorted({c for c in text if (unicodedata.category(c) == "Cc" and c not in "\n\t") or c in BIDI})


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    repo = GitRepo(tmp_path / "repo")
    base = repo.commit("base", {"worker/w.py": "1"})
    repo.write({"worker/w.py": "2"})
    stamp = f"@{repo.clock + 60} +0000"
    repo.git("commit", "-q", "--no-verify", "-m", SUBJECT,
             env={"GIT_AUTHOR_NAME": AUTHOR, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
    write_deployed(tmp_path, "worker", base)
    write_config(tmp_path, '[repo]\npath = "repo"\n[store]\nurl = "sqlite:///state.db"\n'
                           '[services.worker]\npaths = ["worker/**"]\ndeployed = { file = "deployed/worker.sha" }\n'
                           'critical_commits = 1\n')
    return tmp_path


def drift(workspace: Path, *args: str, color: str = "auto") -> subprocess.CompletedProcess[str]:
    env = {**env_without_git(), "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "deploywatch", "--color", color, "drift", "--now", NOW, *args]
    return subprocess.run(command, cwd=workspace,
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def test_the_commit_really_carries_the_control_characters(workspace: Path) -> None:
    proc = drift(workspace, "--format", "json", "--no-alerts")
    assert unsafe(proc.stdout) == []  # the JSON text escapes them all (\u009b, \u202e), not only C0
    service = json.loads(proc.stdout)["services"][0]
    assert service["commits"][0]["subject"] == SUBJECT  # JSON keeps the raw value: its escaping is safe
    assert service["commits"][0]["author"] == AUTHOR


@pytest.mark.parametrize("output_format", ["table", "markdown"])
def test_piped_drift_output_carries_no_control_characters(workspace: Path, output_format: str) -> None:
    proc = drift(workspace, "--format", output_format, "--no-alerts")
    assert proc.returncode == 2, proc.stderr
    assert unsafe(proc.stdout) == []
    if output_format == "table":
        assert "\\x1b[2J\\x1b]0;pwned\\x07" in proc.stdout  # shown, as an escape, not dropped
        assert "[bold]b[/bold]" in proc.stdout  # and not read as rich markup either
    else:
        assert "\\x1b" in proc.stdout and "pwned" in proc.stdout


def test_drift_on_a_terminal_carries_only_its_own_colours(workspace: Path) -> None:
    proc = drift(workspace, "--no-alerts", color="always")
    assert "\x1b[" in proc.stdout  # rich's colours are there …
    assert "\x1b[2J" not in proc.stdout and "\x1b]0;" not in proc.stdout and "\x07" not in proc.stdout  # … ours not
    assert [c for c in unsafe(proc.stdout) if c != "\x1b"] == []


@pytest.fixture
def sinks() -> Iterator[tuple[FakeSlack, GitHubAPI, FakeAlertmanager]]:
    with FakeSlack() as slack, serve_github() as github, FakeAlertmanager() as alertmanager:
        yield slack, github, alertmanager


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_notifications_carry_no_control_characters(workspace: Path,
                                                   sinks: tuple[FakeSlack, GitHubAPI, FakeAlertmanager]) -> None:
    slack, github, alertmanager = sinks
    config = workspace / "deploywatch.toml"
    config.write_text(config.read_text(encoding="utf-8")
                      + f'[[alerts.slack]]\nwebhook = "{slack.url}"\n'
                      + f'[[alerts.github]]\nrepo = "{DEFAULT_REPO}"\ntoken = "{DEFAULT_TOKEN}"\n'
                        f'api_url = "{github.url}"\n'
                      + f'[[alerts.alertmanager]]\nurls = ["{alertmanager.url}"]\n', encoding="utf-8")
    proc = drift(workspace, "--format", "json")
    assert proc.returncode == 2, proc.stderr
    assert len(slack.received) == 1
    slack_text = list(_strings(slack.received[0]))
    assert any("pwned" in s for s in slack_text)
    assert unsafe("".join(slack_text)) == []
    [issue] = github.issues.values()
    assert "pwned" in issue.body  # type: ignore[operator]
    assert unsafe(issue.title + (issue.body or "")) == []
    alerts = [a for post in alertmanager.posts for a in post]
    assert alerts and any("pwned" in s for a in alerts for s in _strings(a))
    assert unsafe("".join(s for a in alerts for s in _strings(a))) == []


def test_the_dry_run_preview_carries_no_control_characters(workspace: Path) -> None:
    config = workspace / "deploywatch.toml"
    config.write_text(config.read_text(encoding="utf-8") + '[[alerts.webhook]]\nurl = "http://127.0.0.1:9/hook"\n',
                      encoding="utf-8")
    proc = drift(workspace, "--dry-run-alerts")
    assert "would send to webhook" in proc.stderr
    assert "pwned" in proc.stderr
    assert unsafe(proc.stderr) == []
