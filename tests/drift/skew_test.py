"""Skew: services of one group running different versions of the code they share."""

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
paths = ["predictions/worker/**", "shared/**"]
group = "predictions"
deployed = { file = "deployed/worker.sha" }
[services.coordinator]
paths = ["predictions/coordinator/**", "shared/**"]
group = "predictions"
deployed = { file = "deployed/coordinator.sha" }
[services.analytics]
paths = ["analytics/**"]
group = "solo"
deployed = { file = "deployed/analytics.sha" }
"""


def test_skew_lists_shared_commits_one_runs_and_the_other_does_not(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    base = repo.commit("base", {"shared/v.py": "1", "predictions/worker/w.py": "1",
                                "predictions/coordinator/c.py": "1", "analytics/a.py": "1"})
    repo.commit("worker only", {"predictions/worker/w.py": "2"})
    validation = repo.commit("shared: add validation", {"shared/v.py": "2"})
    write_deployed(tmp_path, "worker", base)
    write_deployed(tmp_path, "coordinator", validation)
    write_deployed(tmp_path, "analytics", base)
    write_config(tmp_path, CONFIG)
    config = str(tmp_path / "deploywatch.toml")
    code = main(["skew", "--config", config, "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "deploywatch.skew/v1"
    assert code == 1
    (group,) = document["groups"]
    assert group["name"] == "predictions"
    (pair,) = group["skew"]
    assert (pair["service"], pair["missing_in"]) == ("coordinator", "worker")
    assert [c["sha"] for c in pair["commits"]] == [validation]  # not "worker only": worker's own code
    assert pair["commits"][0]["files"] == ["shared/v.py"]
    main(["skew", "--config", config])
    text = capsys.readouterr().out
    assert "coordinator runs 1 shared-code commit not yet in worker" in text
    assert "shared: add validation" in text
    write_deployed(tmp_path, "worker", validation)
    assert main(["skew", "--config", config]) == 0
    write_deployed(tmp_path, "worker", "0" * 40)
    assert main(["skew", "--config", config]) == 3
    assert main(["skew", "nope", "--config", config]) == 3
