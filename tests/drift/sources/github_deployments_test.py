"""``deployed = { github = { repo, environment } }``: the latest successful deployment, read from a real HTTP server
on 127.0.0.1 that speaks the documented subset of GitHub's Deployments API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploywatch.cli import main
from deploywatch.config import DeployedConfig, LoadedConfig
from deploywatch.core.durations import format_timestamp
from deploywatch.drift.sources import Reading, source_for
from testing.github_deployments import DeploymentsAPI, serve_deployments
from testing.gitrepo import BASE_TIME, GitRepo, write_config

REPO = "acme/shop"
TOKEN = "zq7Kx9-dwtest-DEPLOYMENTS-8c1e"  # matches none of redact.mask's patterns: a leak shows as itself
OLD, LIVE, NEW = ("1" * 40, "2" * 40, "3" * 40)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[DeploymentsAPI]:
    """The fake API for :data:`REPO`, readable with :data:`TOKEN` (which ``GITHUB_TOKEN`` holds)."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with serve_deployments(REPO, TOKEN) as served:
        yield served


def read(loaded: LoadedConfig, api: DeploymentsAPI, **preset: Any) -> Reading:
    """Read the ``github`` source of ``production`` against ``api``."""
    deployed = {"github": {"repo": REPO, "environment": "production", "api_url": api.url, **preset}}
    return source_for(loaded, DeployedConfig.model_validate(deployed)).read()


def test_the_latest_successful_deployment_is_the_commit(loaded: LoadedConfig, api: DeploymentsAPI) -> None:
    api.deploy(OLD, "production", "in_progress", "success", "inactive")
    live = api.deploy(LIVE, "production", "in_progress", "success")
    api.deploy("4" * 40, "staging", "success")
    api.deploy(NEW, "production", "in_progress", "failure")  # a newer attempt that never went live
    api.deploy("5" * 40, "production", "queued")
    reading = read(loaded, api)
    assert (reading.value, reading.error) == (LIVE, None)
    assert reading.source == f"github {REPO} environment production via {api.url}"
    first = api.requests[0]
    assert (first.path, first.query) == (f"/repos/{REPO}/deployments", {"environment": "production", "per_page": "30"})
    assert first.authorization == f"Bearer {TOKEN}"
    assert [r.path for r in api.requests[1:]] == [f"/repos/{REPO}/deployments/{n}/statuses"
                                                  for n in (live + 3, live + 2, live)]


def test_a_deactivated_environment_is_unknown_not_the_older_sha(loaded: LoadedConfig, api: DeploymentsAPI) -> None:
    api.deploy(OLD, "production", "success")
    gone = api.deploy(LIVE, "production", "success", "inactive")
    reading = read(loaded, api)
    assert reading.value is None
    assert reading.error == (f"github deployments of {REPO} (production): the latest deployment that is not pending "
                             f"or failed ({gone}) is inactive, so no deployment is live")


def test_no_successful_deployment_is_unknown(loaded: LoadedConfig, api: DeploymentsAPI) -> None:
    api.deploy(NEW, "production", "pending", "error")
    reading = read(loaded, api)
    assert reading.error == (f"github deployments of {REPO} (production): no successful deployment among the "
                             "latest 1 (error)")


def test_an_environment_without_deployments_is_unknown(loaded: LoadedConfig, api: DeploymentsAPI) -> None:
    api.deploy(LIVE, "staging", "success")
    assert read(loaded, api).error == f"github deployments of {REPO} (production): no deployment of environment " \
                                      "'production'"


def test_a_wrong_token_is_unknown_and_never_printed(loaded: LoadedConfig, api: DeploymentsAPI,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "zq7Kx9-dwtest-WRONG-TOKEN-77aa"
    monkeypatch.setenv("GITHUB_TOKEN", wrong)
    reading = read(loaded, api)
    assert reading.error == (f"github deployments of {REPO} (production): GET {api.url}/repos/{REPO}/deployments "
                             "returned HTTP 404; is the repository right, and may the token read deployments?")
    assert api.requests[0].authorization == f"Bearer {wrong}"
    assert wrong not in reading.source


def test_without_a_token_the_error_says_to_set_one(loaded: LoadedConfig, api: DeploymentsAPI,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    reading = read(loaded, api)
    assert (reading.error or "").endswith("returned HTTP 404; set GITHUB_TOKEN (or token) to a token that may read "
                                          "deployments")
    assert api.requests[0].authorization is None


def test_the_configured_token_wins_over_the_environment(loaded: LoadedConfig, api: DeploymentsAPI,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "zq7Kx9-dwtest-IGNORED-TOKEN-0000")
    api.deploy(LIVE, "production", "success")
    assert read(loaded, api, token=TOKEN).value == LIVE


def test_a_slow_api_times_out(loaded: LoadedConfig, api: DeploymentsAPI) -> None:
    api.deploy(LIVE, "production", "success")
    api.delay = 3.0
    deployed = {"github": {"repo": REPO, "environment": "production", "api_url": api.url}, "timeout": "1s"}
    started = time.monotonic()
    reading = source_for(loaded, DeployedConfig.model_validate(deployed)).read()
    assert time.monotonic() - started < 2.5
    assert reading.error == (f"github deployments of {REPO} (production): GET {api.url}/repos/{REPO}/deployments "
                             "timed out after 1s")


def test_an_api_that_does_not_answer_is_unknown(loaded: LoadedConfig) -> None:
    with serve_deployments(REPO, TOKEN) as gone:
        url = gone.url
    deployed = {"github": {"repo": REPO, "environment": "production", "api_url": url, "token": TOKEN}}
    reading = source_for(loaded, DeployedConfig.model_validate(deployed)).read()
    assert (reading.error or "").startswith(f"github deployments of {REPO} (production): GET {url}/repos/{REPO}/"
                                            "deployments failed:")
    assert TOKEN not in (reading.error or "")


def test_drift_reads_the_deployed_commit_from_github(tmp_path: Path, git_repo: GitRepo, api: DeploymentsAPI,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    first = git_repo.commit("web: first", {"web/app.py": "v1\n"})
    git_repo.commit("web: second", {"web/app.py": "v2\n"})
    api.deploy(first, "production", "success")
    api.deploy(first, "staging", "success")
    config = write_config(tmp_path, '[repo]\npath = "repo"\n\n' + "".join(
        f'[services.{env}]\npaths = ["web/**"]\ndeployed = {{ github = {{ repo = "{REPO}", environment = "{env}", '
        f'api_url = "{api.url}" }} }}\n\n' for env in ("production", "staging", "qa")))

    code = main(["drift", "--format", "json", "--config", str(config), "--now", format_timestamp(BASE_TIME + 3600)])
    output = capsys.readouterr().out
    services = {s["name"]: s for s in json.loads(output)["services"]}

    assert code == 3  # qa has no deployment: unknown
    for env in ("production", "staging"):
        assert services[env]["deployed_commit"] == first
        assert services[env]["commits_behind"] == int(git_repo.git("rev-list", "--count", f"{first}..main"))
    assert services["qa"]["status"] == "unknown"
    assert services["qa"]["reason"] == f"github deployments of {REPO} (qa): no deployment of environment 'qa'"
    assert TOKEN not in output
