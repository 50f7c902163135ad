"""Rollout state where operators look, against a real ``deploywatch serve``: ``GET /api/rollouts`` (and per service)
answers what ``deploywatch rollout status --format json`` prints, ``/metrics`` has the rollout gauges, and the
service page shows the state, step and weight — for a paused rollout and after it was resumed to 100%."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.daemon import NEVER, TOKEN, Daemon
from testing.fleet import Fleet, build_fleet, valid
from testing.gitrepo import GitRepo

ANALYSIS = """
[[services.web.rollout.analysis]]
name = "error rate"
command = "{command}"
success = "< 0.01"
min_samples = 5
"""


@pytest.fixture
def fleet(git_repo: GitRepo, tmp_path: Path) -> Iterator[Fleet]:
    for fleet in build_fleet(git_repo, tmp_path):
        fleet.configure(ANALYSIS.format(command=fleet.metrics_command()),
                        extra=f'[schedule]\ndrift = "{NEVER}"\ncatch_up = false\n\n[server]\ntoken = "{TOKEN}"\n')
        yield fleet


@pytest.fixture
def paused(fleet: Fleet) -> Iterator[tuple[Fleet, Daemon]]:
    """A rollout of web paused at step 1 (10%) on no data, and the daemon serving the same store."""
    fleet.state.no_data.add(fleet.shas["web1"])
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 2 and document["deploys"][0]["status"] == "paused", err
    daemon = Daemon(fleet.config).wait_ready()
    try:
        yield fleet, daemon
        assert "Traceback" not in daemon.output() and TOKEN not in daemon.output()
    finally:
        daemon.close()


def gauges(daemon: Daemon) -> dict[str, float]:
    """The ``deploywatch_rollout_*{service="web"}`` samples of ``/metrics``."""
    text = daemon.http.get("/metrics").text
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^deploywatch_rollout_(\w+)\{service="web"\} (\S+)$', text, re.MULTILINE)}


def service_page(daemon: Daemon) -> dict[str, str]:
    """The rollout facts of ``/services/web``: state, step and weight, as text."""
    answer = daemon.http.get("/services/web")
    assert answer.status_code == 200, answer.text
    found = {}
    for name in ("state", "step", "weight"):
        match = re.search(rf'id="rollout-{name}">(.*?)</(?:p|dd)>', answer.text, re.DOTALL)
        assert match, name
        found[name] = html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()
    return found


def api(daemon: Daemon, path: str) -> Any:
    answer = daemon.http.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_api_answers_what_rollout_status_prints(paused: tuple[Fleet, Daemon]) -> None:
    fleet, daemon = paused
    status = fleet.status()
    assert status["rollout"]["state"] == "paused"
    one = valid(api(daemon, "/api/rollouts/web"))
    assert one == status
    assert api(daemon, "/api/rollouts") == {"rollouts": [status]}
    fleet.state.no_data.clear()
    code, _, err = fleet.json("rollout", "resume", "web")
    assert code == 0, err
    resumed = valid(api(daemon, "/api/rollouts/web"))
    assert resumed == fleet.status() and resumed["rollout"]["state"] == "succeeded"
    assert resumed["rollout"]["weight"] == 100 and resumed["lock"] is None


def test_unknown_services_and_services_without_a_rollout_are_404(paused: tuple[Fleet, Daemon]) -> None:
    _, daemon = paused
    answer = daemon.http.get("/api/rollouts/nope")
    assert answer.status_code == 404 and answer.json()["error"] == "no service nope: services with a rollout: web"
    assert daemon.http.get("/api/rollouts/bad%20name").status_code == 400


def test_metrics_show_the_weight_step_and_pause_of_the_rollout(paused: tuple[Fleet, Daemon]) -> None:
    fleet, daemon = paused
    assert gauges(daemon) == {"weight": 10.0, "step": 1.0, "active": 1.0, "paused": 1.0}
    assert gauges(daemon)["weight"] == fleet.service().weight
    fleet.state.no_data.clear()
    code, _, err = fleet.json("rollout", "resume", "web")
    assert code == 0, err
    assert gauges(daemon) == {"weight": 100.0, "step": 4.0, "active": 0.0, "paused": 0.0}
    assert fleet.service().weight == 100


def test_the_service_page_shows_the_rollout_state_step_and_weight(paused: tuple[Fleet, Daemon]) -> None:
    fleet, daemon = paused
    status = fleet.status()["rollout"]
    page = service_page(daemon)
    assert page["state"].startswith(f"paused · active: rollout #{status['entry_id']}")
    assert page["step"] == f"{status['step']} of 4 (10%, 25%, 50%, 100%)" and page["weight"] == "10%"
    assert "deploywatch rollout resume web" in daemon.http.get("/services/web").text
    fleet.state.no_data.clear()
    code, _, err = fleet.json("rollout", "resume", "web")
    assert code == 0, err
    page = service_page(daemon)  # the page cache is per store generation: the resume shows at once
    assert page["state"].startswith("succeeded: rollout #") and page["weight"] == "100%"
    assert page["step"] == "4 of 4 (10%, 25%, 50%, 100%)"
