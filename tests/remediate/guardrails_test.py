"""Guardrails that must hold however little a run has to do: the breaker is decided on every run, even one with
no target and no rule; real git, the pretend platform's processes, a real store and a real webhook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo
from testing.platform import Platform, build_platform

T0 = "2026-12-03T12:00:00Z"


@pytest.fixture
def platform(git_repo: GitRepo, tmp_path: Path) -> Platform:
    built = build_platform(git_repo, tmp_path)
    built.set_deployed("web", built.shas["web2"])  # web is current: nothing to redeploy
    (built.ops / "deployed" / "api.sha").write_text("not-a-commit\n")  # api's commit cannot be known: unhealthy
    return built


def remediate(platform: Platform, *args: str) -> tuple[int, dict[str, Any]]:
    code, document, _ = platform.json("remediate", *args, "--now", T0)
    return code, document


def audit(platform: Platform) -> list[tuple[str, str, str]]:
    code, document, err = platform.json("audit")
    assert code == 0, err
    return [(e["kind"], e["subject"], e["decision"]) for e in document["entries"]]


def test_a_fleet_with_nothing_to_remediate_still_trips_the_breaker(platform: Platform) -> None:
    from testing.webhook_api import FakeWebhook

    with FakeWebhook() as hook:
        platform.configure(f'[remediate]\nmax_unhealthy = 40\n\n[[alerts.webhook]]\nurl = "{hook.url}"\n')
        code, document = remediate(platform)  # the dry run says it would trip, and writes nothing
        assert (code, document["decisions"], document["breaker"]) == (2, [], None)
        assert document["trips"].startswith("1 of 2 services unhealthy (50% > max_unhealthy 40%): api")
        assert "none of the selected services is drifted enough" in document["refused"]
        code, out, _ = platform.cli("remediate", "--now", T0)
        assert "BREAKER WOULD TRIP: 1 of 2 services unhealthy" in out and "TRIPPED" not in out
        assert audit(platform) == [] and hook.received == []
        assert platform.json("remediate", "status")[1]["breaker"] is None

        code, document = remediate(platform, "--apply")
        assert code == 2 and document["breaker"]["reason"] == document["trips"]
        assert audit(platform) == [("breaker", "fleet", "tripped")]
        sent = [(n["kind"], n["subject"], n["status"]) for body in hook.received for n in body["notifications"]]
        assert sent == [("remediate", "breaker", "critical")]
        assert "1 of 2 services unhealthy" in json.dumps(hook.received)
    code, status, _ = platform.json("remediate", "status")
    assert code == 2 and status["breaker"]["reason"].startswith("1 of 2 services unhealthy")


def test_a_healthy_fleet_with_nothing_to_remediate_trips_nothing(platform: Platform) -> None:
    platform.set_deployed("api", platform.shas["web2"])
    code, document = remediate(platform, "--apply")
    assert (code, document["trips"], document["decisions"]) == (0, None, [])
    assert audit(platform) == []
