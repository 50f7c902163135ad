"""``deploywatch drift`` output for people: ``--max-commits`` lists as many commits in every format (issue 10, 3.7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo, write_config, write_deployed

NOW = "2026-10-01T00:00:00Z"
SUBJECTS = [f"worker: change number {n}" for n in range(1, 6)]  # oldest first


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("max-commits")
    repo = GitRepo(root / "repo")
    base = repo.commit("base", {"worker/w.py": "0"})
    for n, subject in enumerate(SUBJECTS, 1):
        repo.commit(subject, {"worker/w.py": str(n)})
    write_deployed(root, "worker", base)
    return write_config(root, '[repo]\npath = "repo"\n'
                              '[services.worker]\npaths = ["worker/**"]\ndeployed = { file = "deployed/worker.sha" }\n')


def drift(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["drift", "--config", str(config), "--now", NOW, "--no-alerts", *args]) in (1, 2)
    return capsys.readouterr().out


def listed(output: str) -> list[str]:
    return [s for s in reversed(SUBJECTS) if s in output]


@pytest.mark.parametrize("output_format", ["table", "markdown", "json"])
@pytest.mark.parametrize("count", [0, 1, 4, 5, 9])
def test_max_commits_is_how_many_commits_every_format_lists(config: Path, capsys: pytest.CaptureFixture[str],
                                                             output_format: str, count: int) -> None:
    output = drift(config, capsys, "--format", output_format, "--max-commits", str(count))
    assert listed(output) == list(reversed(SUBJECTS))[:count]  # the newest ones
    if output_format != "json":
        hidden = len(SUBJECTS) - min(count, len(SUBJECTS))
        assert (f"…and {hidden} more" in output) == (hidden > 0)
    else:
        assert json.loads(output)["services"][0]["relevant_commits_behind"] == len(SUBJECTS)  # counts are never cut


@pytest.mark.parametrize(("output_format", "count"), [("table", 3), ("markdown", 3), ("json", 5)])
def test_without_max_commits_a_table_lists_three_and_json_twenty(config: Path, capsys: pytest.CaptureFixture[str],
                                                                 output_format: str, count: int) -> None:
    assert len(listed(drift(config, capsys, "--format", output_format))) == count
