"""``deploywatch drift`` with ``from = "image-tag"`` over a real repository: the commit in an image tag resolves
through git as ``git rev-parse`` resolves it, and a tag that names no single commit is ``unknown``, never ``ok``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from deploywatch.cli import main
from deploywatch.core.durations import format_timestamp
from testing.gitrepo import BASE_TIME, GitRepo, write_config
from testing.platform_json import dumps, kubernetes_workload
from testing.stand_ins import StandIns

NOW = format_timestamp(BASE_TIME + 3600)
REGISTRY = "europe-docker.pkg.dev/acme/shop"


def drift(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run ``deploywatch drift --format json``; return the exit code and the services by name."""
    code = main(["drift", "--format", "json", "--config", str(config), "--now", NOW])
    return code, {s["name"]: s for s in json.loads(capsys.readouterr().out)["services"]}


def kubectl_serving(tools: StandIns, images: dict[str, str]) -> None:
    """A ``kubectl`` whose deployment NAME runs the image ``images[NAME]`` in its ``server`` container."""
    tools.install("kubectl", answers={f"deployment/{name}": dumps(kubernetes_workload(
        [{"name": "server", "image": image}, {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0"}]))
        for name, image in images.items()})


def service(name: str, **preset: str) -> str:
    """A service over ``web/**`` read from the ``server`` container's image tag of deployment NAME."""
    extra = "".join(f", {key} = '{value}'" for key, value in preset.items())
    return (f'[services.{name}]\npaths = ["web/**"]\ndeployed = {{ kubernetes = {{ name = "{name}", '
            f'from = "image-tag", container = "server"{extra} }} }}\n\n')


def commit_sharing_a_prefix(repo: GitRepo, commit: str, length: int = 4) -> str:
    """Write a second commit object whose SHA starts with the same ``length`` hex digits as ``commit`` (found by
    varying its message, as git would hash it) and return its SHA."""
    raw = repo.git("cat-file", "commit", commit) + "\n"
    for attempt in range(1 << 22):
        content = f"{raw}probe {attempt}\n".encode()
        sha = hashlib.sha1(b"commit %d\0" % len(content) + content).hexdigest()
        if sha[:length] == commit[:length] and sha != commit:
            written = repo.git("hash-object", "-t", "commit", "-w", "--stdin", input=content)
            assert written == sha
            return sha
    raise AssertionError("no commit sharing the prefix found")


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandIns:
    """An empty ``bin`` of stand-ins, first on PATH."""
    stand_ins = StandIns(tmp_path / "stand-ins")
    monkeypatch.setenv("PATH", stand_ins.path_first())
    return stand_ins


def test_image_tags_resolve_through_git(tmp_path: Path, git_repo: GitRepo, tools: StandIns,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    first = git_repo.commit("web: first", {"web/app.py": "v1\n"})
    second = git_repo.commit("web: second", {"web/app.py": "v2\n"})
    tip = git_repo.commit("web: third", {"web/app.py": "v3\n"})
    kubectl_serving(tools, {
        "short": f"{REGISTRY}/web:{first[:7]}",
        "full": f"{REGISTRY}/web:sha-{tip}@sha256:{'e' * 64}",
        "custom": f"{REGISTRY}/web:release-42-{second[:10]}",
        "semver": f"{REGISTRY}/web:v1.4.2",
        "digest": f"{REGISTRY}/web@sha256:{'e' * 64}",
        "ghost": f"{REGISTRY}/web:deadbee",
    })
    config = write_config(tmp_path, '[repo]\npath = "repo"\n\n' + service("short") + service("full")
                          + service("custom", tag_pattern=r"^release-\d+-(?P<commit>[0-9a-f]{7,40})$")
                          + service("semver") + service("digest") + service("ghost"))

    code, services = drift(config, capsys)

    assert code == 3  # unknowns
    assert services["short"]["deployed_commit"] == git_repo.git("rev-parse", first[:7]) == first
    assert services["short"]["deployed_value"] == first[:7]
    assert services["short"]["commits_behind"] == int(git_repo.git("rev-list", "--count", f"{first}..main"))
    assert (services["full"]["deployed_commit"], services["full"]["status"]) == (tip, "ok")
    assert services["custom"]["deployed_commit"] == second
    assert services["custom"]["commits_behind"] == int(git_repo.git("rev-list", "--count", f"{second}..main"))

    for name, reason in [
        ("semver", f"kubernetes deployment/semver: image {REGISTRY}/web:v1.4.2: tag 'v1.4.2' does not match the "
                   "default tag_pattern (7-40 hex digits)"),
        ("digest", f"kubernetes deployment/digest: image {REGISTRY}/web@sha256:{'e' * 64} is pinned by digest only "
                   "(no tag): a digest does not name a commit; tag the image with the commit"),
    ]:
        assert (services[name]["status"], services[name]["deployed_commit"]) == ("unknown", None), name
        assert services[name]["reason"] == reason
    ghost = services["ghost"]
    assert (ghost["status"], ghost["state"], ghost["deployed_commit"]) == ("unknown", "missing", None)
    assert "deployed commit deadbee is not in this repository" in ghost["reason"]


def test_an_ambiguous_abbreviated_sha_is_unknown(tmp_path: Path, git_repo: GitRepo, tools: StandIns,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    tip = git_repo.commit("web: first", {"web/app.py": "v1\n"})
    twin = commit_sharing_a_prefix(git_repo, tip)
    assert git_repo.git("rev-parse", "--disambiguate=" + tip[:4]).split().count(twin) == 1
    kubectl_serving(tools, {"web": f"{REGISTRY}/web:build-{tip[:4]}", "long": f"{REGISTRY}/web:build-{tip[:12]}"})
    pattern = r"^build-(?P<commit>[0-9a-f]{4,40})$"
    config = write_config(tmp_path, '[repo]\npath = "repo"\n\n' + service("web", tag_pattern=pattern)
                          + service("long", tag_pattern=pattern))

    code, services = drift(config, capsys)

    assert code == 3
    web = services["web"]
    assert (web["status"], web["state"], web["deployed_commit"]) == ("unknown", "missing", None)
    assert web["reason"] == f"deployed commit {tip[:4]} is ambiguous: 2 commits here start with it; report a longer SHA"
    assert (services["long"]["status"], services["long"]["deployed_commit"]) == ("ok", tip)
