"""``deploywatch init`` on generated repositories: each kind of deployable directory, each way a service uses a
shared directory, the deployed sources it fills in, and the rules for writing (never over a file without
``--force``; ``--detect`` writes nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from deploywatch.cli import main
from testing.gitrepo import GitRepo

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "init.v1.json"

FILES = {
    # go.mod replace directive → libs/auth
    "services/api/go.mod": "module example.com/api\n\nrequire example.com/auth v0.0.0\n\n"
                           "replace example.com/auth => ../../libs/auth\n",
    "services/api/cmd/api/main.go": "package main\n\nfunc main() {}\n",
    "libs/auth/go.mod": "module example.com/auth\n", "libs/auth/auth.go": "package auth\n",
    # package.json file: dependency → shared/ui
    "web/package.json": json.dumps({"name": "web", "scripts": {"start": "next start"},
                                    "dependencies": {"ui": "file:../shared/ui"}}),
    "web/pages/index.js": "export default () => null\n",
    "shared/ui/package.json": json.dumps({"name": "ui", "main": "index.js"}), "shared/ui/index.js": "\n",
    # pyproject path dependency → common
    "worker/pyproject.toml": '[project]\nname = "worker"\n[project.scripts]\nworker = "worker.main:run"\n'
                             '[tool.uv.sources]\ncommon = { path = "../common" }\n',
    "worker/worker/main.py": "def run() -> None: ...\n",
    "common/common/__init__.py": "\n",
    # Dockerfile COPY from the repository's top → protos; Python import of shared → shared
    "billing/Dockerfile": "FROM python:3.12\nCOPY protos/ /app/protos/\nCOPY billing/ /app/\n",
    "billing/app.py": "from shared import money\n",
    "shared/money.py": "\n",
    "protos/billing.proto": 'syntax = "proto3";\n',
    # a Cloud Run deploy in the service's own cloudbuild.yaml, region from substitutions
    "billing/cloudbuild.yaml": "steps:\n- name: gcr.io/cloud-builders/gcloud\n"
                               "  args: ['run', 'deploy', 'billing-svc', '--region', '${_REGION}', '--project=acme']\n"
                               "substitutions:\n  _REGION: europe-west1\n",
    # functions/: one function per directory
    "functions/resize/main.py": "def resize(request): ...\n",
    "functions/notify/index.js": "exports.notify = () => {}\n",
    # not services: a library without a main, a go library, docs with a Dockerfile, a tool with no start
    "tools/lint/package.json": json.dumps({"name": "lint", "devDependencies": {"eslint": "9"}}),
    "gosdk/go.mod": "module example.com/gosdk\n", "gosdk/client.go": "package gosdk\n",
    "docs/examples/Dockerfile": "FROM scratch\n", "docs/guide.md": "# guide\n",
    # a StatefulSet manifest for the worker, in a namespace
    "deploy/k8s/worker.yaml": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: worker\n"
                              "  namespace: jobs\nspec:\n  template:\n    spec:\n      containers:\n"
                              "      - name: worker\n        image: ghcr.io/acme/worker:1.2\n",
    "README.md": "# monorepo\n",
}


@pytest.fixture(autouse=True)
def _no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYWATCH_CONFIG", raising=False)


@pytest.fixture
def mono(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "mono")
    repo.commit("monorepo", FILES)
    return repo


def init_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["init", *args, "--format", "json"])
    captured = capsys.readouterr()
    assert captured.err == ""
    document: dict[str, Any] = json.loads(captured.out)
    validator = Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert [e.message for e in validator.iter_errors(document)] == []
    return code, document


def test_each_kind_of_deployable_and_each_kind_of_shared_reference_is_found(
        mono: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = init_json(capsys, "--detect", "--repo", str(mono.path))

    assert code == 0
    assert document["config"] is None
    services = {s["name"]: s for s in document["services"]}
    assert {name: s["paths"] for name, s in services.items()} == {
        "api": ["services/api/**", "libs/auth/**"],
        "billing": ["billing/**", "protos/**", "shared/**"],
        "notify": ["functions/notify/**"],
        "resize": ["functions/resize/**"],
        "web": ["web/**", "shared/ui/**"],
        "worker": ["worker/**", "common/**", "deploy/k8s/worker.yaml"],
    }
    why = {name: {e["why"] for e in s["evidence"]} for name, s in services.items()}
    assert why["api"] == {"go.mod with package main in services/api/cmd/api/main.go"}
    assert why["web"] == {"package.json with a start script"}
    assert why["resize"] == why["notify"] == {"functions/ entry"}
    assert {e["directory"]: e["why"] for e in services["api"]["shared"]} == {"libs/auth": "names ../../libs/auth"}
    assert {e["directory"]: e["why"] for e in services["billing"]["shared"]} == {
        "protos": "COPY protos/", "shared": "imports shared"}


def test_deployed_sources_are_filled_from_cloud_build_and_manifests(
        mono: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    _, document = init_json(capsys, "--detect", "--repo", str(mono.path))

    deployed = {s["name"]: s["deployed"] for s in document["services"]}
    assert deployed["billing"]["kind"] == "cloudrun"
    assert deployed["billing"]["settings"] == {"service": "billing-svc", "region": "europe-west1", "project": "acme"}
    assert deployed["billing"]["evidence"]["file"] == "billing/cloudbuild.yaml"
    assert deployed["worker"]["kind"] == "kubernetes"
    # one container: the commit is read from its image tag
    assert deployed["worker"]["settings"] == {"name": "worker", "kind": "statefulset", "namespace": "jobs",
                                              "from": "image-tag"}
    assert deployed["web"] == {"kind": "file", "settings": {"file": "deployed/web.sha"}, "evidence": None}


def test_detect_writes_nothing(mono: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--detect", "--repo", str(mono.path)]) == 0
    out = capsys.readouterr().out

    assert not (mono.path / "deploywatch.toml").exists()
    assert "billing/cloudbuild.yaml (gcloud run deploy billing-svc)" in out
    assert "services/api/go.mod (go.mod with package main in services/api/cmd/api/main.go)" in out
    assert "wrote" not in out


def test_the_written_config_loads_and_drift_reports_unfilled_stubs_unknown(
        mono: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(mono.path / "services" / "api")  # init from inside the tree writes at its top
    assert main(["init"]) == 0
    capsys.readouterr()
    config = mono.path / "deploywatch.toml"
    text = config.read_text(encoding="utf-8")
    assert "# Write the commit you deploy to deployed/web.sha" in text
    assert "image tag" in text and "tag_pattern" in text  # the comment says where the commit is read from
    assert "#   common/ is shared: worker/pyproject.toml names ../common\n" in text
    assert 'deployed = { cloudrun = { service = "billing-svc", region = "europe-west1", project = "acme" } }' in text

    assert main(["config", "check", "--config", str(config)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("PATH", f"{tmp_path}/no-cli:/usr/bin:/bin")  # gcloud and kubectl may exist: make them fail
    (tmp_path / "no-cli").mkdir()
    for program in ("gcloud", "kubectl"):
        stub = tmp_path / "no-cli" / program
        stub.write_text("#!/bin/sh\necho 'not signed in' >&2\nexit 1\n", encoding="utf-8")
        stub.chmod(0o755)
    code = main(["drift", "--no-alerts", "--format", "json", "--config", str(config)])
    document = json.loads(capsys.readouterr().out)
    assert code == 3
    assert {s["name"]: s["status"] for s in document["services"]} == dict.fromkeys(
        ("api", "billing", "notify", "resize", "web", "worker"), "unknown")

    mono.commit("web deployed", allow_empty=True)
    (mono.path / "deployed").mkdir()
    (mono.path / "deployed" / "web.sha").write_text(mono.head() + "\n", encoding="utf-8")
    main(["drift", "--no-alerts", "--format", "json", "--config", str(config), "web"])
    web = json.loads(capsys.readouterr().out)["services"][0]
    assert (web["name"], web["status"]) == ("web", "ok")  # a filled stub is read like any file source


def test_an_existing_config_is_kept_without_force(mono: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    config = mono.path / "deploywatch.toml"
    config.write_text("# mine\n", encoding="utf-8")

    code = main(["init", "--repo", str(mono.path)])
    err = capsys.readouterr().err

    assert code == 3
    assert err.count("\n") == 1 and str(config) in err and "--force" in err
    assert config.read_text(encoding="utf-8") == "# mine\n"
    assert main(["init", "--repo", str(mono.path), "--force"]) == 0
    assert "[services.web]" in config.read_text(encoding="utf-8")


def test_a_repository_with_one_deployable_at_its_top_is_one_service(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "solo")
    repo.commit("app", {"Dockerfile": "FROM scratch\n", "app.py": "\n", "docs/a.md": "a\n"})

    _, document = init_json(capsys, "--repo", str(repo.path))

    assert [(s["name"], s["paths"]) for s in document["services"]] == [("solo", ["**"])]
    assert main(["config", "check", "--config", str(repo.path / "deploywatch.toml")]) == 0


def test_not_a_repository_is_one_line_and_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["init", "--repo", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 3
    assert err.count("\n") == 1 and "not a git repository" in err


@pytest.mark.parametrize(("where", "message"), [
    ("missing/dir/deploywatch.toml", "cannot write"),
    ("a-directory", "is a directory"),
])  # fmt: skip
def test_a_config_path_that_cannot_be_written_is_one_line_and_exit_3(
        mono: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, message: str) -> None:
    (tmp_path / "a-directory").mkdir()

    code = main(["init", "--repo", str(mono.path), "--config", str(tmp_path / where)])
    err = capsys.readouterr().err

    assert code == 3
    assert err.count("\n") == 1 and message in err and str(tmp_path / where) in err
    assert not (tmp_path / "missing").exists()


def test_a_config_written_elsewhere_points_back_at_the_repository(
        mono: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "ops" / "deploywatch.toml"
    config.parent.mkdir()

    assert main(["init", "--repo", str(mono.path / "web"), "--config", str(config)]) == 0
    capsys.readouterr()

    assert 'path = "../mono"' in config.read_text(encoding="utf-8")
    assert main(["config", "check", "--config", str(config)]) == 0


def test_a_chart_of_its_own_is_a_service_and_the_branch_is_main_on_a_feature_branch(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "platform")
    repo.commit("apps", {
        "api/Dockerfile": "FROM scratch\n",
        "charts/redis/Chart.yaml": "apiVersion: v2\nname: redis\n",
        "charts/redis/templates/statefulset.yaml": "kind: StatefulSet\nmetadata:\n  name: {{ .Release.Name }}\n",
        "charts/api/Chart.yaml": "apiVersion: v2\nname: api\n",
        "charts/api/values.yaml": "image: ghcr.io/acme/api\n",
    })
    repo.checkout("add-deploywatch", new=True)

    _, document = init_json(capsys, "--detect", "--repo", str(repo.path))

    assert document["branch"] == "main"
    services = {s["name"]: s for s in document["services"]}
    assert {name: s["paths"] for name, s in services.items()} == {"api": ["api/**"], "redis": ["charts/redis/**"]}
    assert services["redis"]["evidence"] == [{"file": "charts/redis/Chart.yaml", "why": "Helm chart"}]
    assert {"file": "charts/api/Chart.yaml", "why": "Helm chart deploying api"} in document["skipped"]


def test_a_go_module_at_the_top_with_several_programs_is_one_service_each(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "gomono")
    repo.commit("programs", {
        "go.mod": "module example.com/mono\n", "go.sum": "",
        "cmd/api/main.go": 'package main\n\nimport "example.com/mono/internal/auth"\n\nfunc main() { auth.Check() }\n',
        "cmd/worker/main.go": 'package main\n\nimport (\n\t"example.com/mono/internal/queue"\n)\n\nfunc main() {}\n',
        "internal/auth/auth.go": "package auth\n", "internal/queue/queue.go": "package queue\n",
        "lib/Dockerfile": "FROM scratch\n",  # under a shared directory: never a service
    })

    _, document = init_json(capsys, "--repo", str(repo.path))

    assert {s["name"]: s["paths"] for s in document["services"]} == {
        "api": ["cmd/api/**", "internal/auth/**", "go.mod", "go.sum"],
        "worker": ["cmd/worker/**", "internal/queue/**", "go.mod", "go.sum"],
    }
    assert main(["config", "check", "--config", str(repo.path / "deploywatch.toml")]) == 0


def test_one_program_built_at_the_top_is_the_whole_repository(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "server")
    repo.commit("server", {"Dockerfile": "FROM golang\nCOPY lib/ /src/lib/\n", "go.mod": "module example.com/s\n",
                           "cmd/server/main.go": "package main\n", "lib/x.go": "package lib\n"})

    _, document = init_json(capsys, "--detect", "--repo", str(repo.path))

    assert [(s["name"], s["paths"]) for s in document["services"]] == [("server", ["**"])]


def test_a_copy_source_beside_the_dockerfile_is_the_service_s_own(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "two")
    repo.commit("two", {"api/Dockerfile": "FROM python\nCOPY lib/ /app/lib/\nCOPY config/ /app/config/\n",
                        "api/lib/a.py": "\n", "lib/b.py": "\n", "config/app.toml": "\n",
                        "web/Dockerfile": "FROM node\n"})

    _, document = init_json(capsys, "--detect", "--repo", str(repo.path))

    assert {s["name"]: s["paths"] for s in document["services"]} == {
        "api": ["api/**", "config/**"], "web": ["web/**"]}
