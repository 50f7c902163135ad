"""``POST /api/deployments`` against a real ``deploywatch serve``: what ``deploywatch record`` does, with the token,
one-line 400s for bad bodies, unknown services and commits, and secrets masked in the answer and the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from testing.daemon import TOKEN, Daemon, one_service
from testing.gitrepo import GitRepo
from testing.oracle import relevant_commits

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "schemas" / "deployments.v1.json").read_text("utf-8"))


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    served = Daemon(one_service(tmp_path, deployed="{ ledger = true }")).wait_ready()
    try:
        yield served
        assert "Traceback" not in served.output() and TOKEN not in served.output()
    finally:
        served.close()


def entry_of(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    document = answer.json()
    assert list(Draft202012Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(document)) == []
    (entry,) = document["deployments"]
    return dict(entry)


def test_recording_through_the_api_chains_entries_like_the_command(daemon: Daemon, tmp_path: Path) -> None:
    repo = GitRepo.existing(tmp_path / "repo")  # the one one_service made
    first_sha = repo.head()
    assert daemon.post("/api/deployments", token=None, json={"service": "api", "commit": "main"}).status_code == 401
    assert daemon.post("/api/deployments", token="wrong-token-xxxxxxxxxxxxxxxx",
                       json={"service": "api", "commit": "main"}).status_code == 401
    first = entry_of(daemon.post("/api/deployments", json={
        "service": "api", "commit": first_sha[:9], "url": "https://bot:hunter2@ci.example.com/build/1"}))
    assert (first["id"], first["from_commit"], first["to_commit"]) == (1, None, first_sha)
    assert (first["how"], first["by"], first["status"]) == ("record", "api", "succeeded")
    assert first["url"] == "https://***@ci.example.com/build/1"

    repo.commit("api: two", {"api/main.py": "print('two')\n"})
    repo.commit("docs", {"README.md": "hi\n"})
    tip = repo.commit("api: three", {"api/util.py": "X = 3\n"})
    second = entry_of(daemon.post("/api/deployments", json={"service": "api", "commit": "main",
                                                              "by": "cloud-build", "reason": "release 3"}))
    assert (second["from_commit"], second["to_commit"], second["by"]) == (first_sha, tip, "cloud-build")
    assert second["relevant_commits"] == relevant_commits(repo, first_sha, tip, ["api/**"])
    assert len(second["relevant_commits"]) == 2
    failed = entry_of(daemon.post("/api/deployments", json={"service": "api", "commit": first_sha,
                                                              "status": "failed"}))
    assert failed["from_commit"] == tip  # the last succeeded entry, not the failed one
    with daemon.store() as store:
        assert [(r.id, r.status) for r in store.deployments()] == [(3, "failed"), (2, "succeeded"), (1, "succeeded")]
        assert store.last_succeeded_deployments()["api"].to_commit == tip
        assert "hunter2" not in repr(store.deployments())


@pytest.mark.parametrize(("body", "status", "message"), [
    (b'{"service": "nope", "commit": "main"}', 400, "unknown service 'nope'; configured: api"),
    (b'{"service": "api", "commit": "v9.9"}', 400, "unknown commit 'v9.9': not in the repository"),
    (b'{"service": "api", "commit": "main", "status": "ok"}', 400, "status must be succeeded or failed"),
    (b'{"service": "api", "commit": "main", "when": "now"}', 400, "unknown field 'when'"),
    (b'{"service": "api"}', 400, "commit must be a non-empty string"),
    (b'{"service": "api", "commit": "main", "by": "a\\u0000b"}', 400, "by must be printable text"),
    (b'[1]', 400, "the body must be a JSON object"),
    (b'{"service": "api", "commit": "main", "reason": "' + b"x" * 3000 + b'"}', 400, "reason is longer than 2000"),
])
def test_bad_bodies_are_one_line_400s_and_record_nothing(daemon: Daemon, body: bytes, status: int,
                                                         message: str) -> None:
    answer = daemon.post("/api/deployments", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
    assert message in answer.json()["error"] and "\n" not in answer.json()["error"]
    with daemon.store() as store:
        assert store.deployments() == []
