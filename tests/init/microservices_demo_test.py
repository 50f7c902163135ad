"""``deploywatch init`` on a repository shaped like GoogleCloudPlatform/microservices-demo (built here, no network):
twelve services with the right paths, ``protos/`` where a service's build reads it, a config that loads, and
drift that runs on it with every deployed commit unknown (never ok) until the sources answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo
from testing.microservices_demo import SERVICES, build_microservices_demo
from testing.stand_ins import StandIns


@pytest.fixture(autouse=True)
def _no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYWATCH_CONFIG", raising=False)


@pytest.fixture
def boutique(tmp_path: Path) -> GitRepo:
    return build_microservices_demo(tmp_path / "microservices-demo")


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--format", "json"])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, json.loads(captured.out)


def expected_paths(name: str, uses_protos: bool) -> list[str]:
    return [f"src/{name}/**", *(["protos/**"] if uses_protos else []), f"kubernetes-manifests/{name}.yaml"]


def test_init_finds_the_twelve_services_with_protos_where_their_build_reads_it(
        boutique: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "init", "--repo", str(boutique.path))

    assert code == 0
    services = {s["name"]: s for s in document["services"]}
    assert sorted(services) == sorted(s.name for s in SERVICES)
    for s in SERVICES:
        found = services[s.name]
        assert found["directory"] == s.directory  # cartservice's Dockerfile is in src/cartservice/src
        assert found["paths"] == expected_paths(s.name, s.uses_protos), s.name
        assert found["deployed"]["kind"] == "kubernetes"
        assert found["deployed"]["settings"] == {"name": s.name, "from": "image-tag"}  # one container: its tag
        assert found["deployed"]["evidence"]["file"] == f"kubernetes-manifests/{s.name}.yaml"
        evidence = {e["file"] for e in found["evidence"]}
        assert any(f.startswith(s.directory + "/") and "Dockerfile" in f for f in evidence), s.name
        shared = {e["directory"]: e["file"] for e in found["shared"]}
        assert shared == ({"protos": f"{s.directory}/genproto.sh"} if s.uses_protos else {}), s.name
    skipped = {(e["file"], e["why"]) for e in document["skipped"]}
    assert ("kubernetes-manifests/redis.yaml", "deployment redis-cart: no source directory of that name") in skipped
    assert any(file == "helm-chart/Chart.yaml" and why.startswith("Helm chart deploying") for file, why in skipped)
    assert any(file == "cloudbuild.yaml" for file, _ in skipped)
    assert document["config"] == str(boutique.path / "deploywatch.toml")


def test_the_written_config_loads_and_owns_what_git_lists(boutique: GitRepo,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--repo", str(boutique.path)]) == 0
    capsys.readouterr()
    config = boutique.path / "deploywatch.toml"

    code, document = run_json(capsys, "config", "check", "--config", str(config))

    assert code == 0, document["warnings"]
    assert document["warnings"] == []
    for service in document["services"]:
        uses_protos = next(s.uses_protos for s in SERVICES if s.name == service["name"])
        roots = [p.removesuffix("/**") for p in expected_paths(service["name"], uses_protos)]
        listed = boutique.git("ls-files", "-z", "--", *roots, ":(exclude,glob)**/*.md", ":(exclude)docs")
        assert service["files_owned"] == len([p for p in listed.split("\0") if p]), service["name"]
        assert service["exclude"] == ["**/*.md", "docs/**"]


def test_drift_on_the_written_config_runs_and_every_service_is_unknown(
        boutique: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["init", "--repo", str(boutique.path)]) == 0
    capsys.readouterr()
    stand_ins = StandIns(tmp_path / "cluster")
    stand_ins.install("kubectl", stderr="The connection to the server localhost:8080 was refused\n", exit_code=1)
    monkeypatch.setenv("PATH", stand_ins.path_first())

    code, document = run_json(capsys, "drift", "--no-alerts", "--config", str(boutique.path / "deploywatch.toml"))

    assert code == 3
    assert {s["name"]: s["status"] for s in document["services"]} == {s.name: "unknown" for s in SERVICES}
    assert sorted(call[-3] for call in stand_ins.calls()) == sorted(f"deployment/{s.name}" for s in SERVICES)
