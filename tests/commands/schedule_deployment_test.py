"""``deploywatch schedule export --format kubernetes-deployment``: the daemon as replicas on Kubernetes, checked
against what ``deploywatch serve`` needs (its options, its health endpoint, its listen address, the config's
``${VAR}``s from the Secret) and against the example in docs/operations.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from deploywatch.cli import cli, main
from deploywatch.web.endpoints import endpoint
from testing.gitrepo import GitRepo

REPO_URL = "https://git.example.com/acme/mono.git"
OPERATIONS = Path(__file__).parents[2] / "docs" / "operations.md"
CONFIG = """\
[repo]
path = "."
fetch = true

[services.api]
paths = ["api/**"]
deployed = { url = "https://api.example.com/version", field = "commit" }

[store]
url = "${DEPLOYWATCH_STORE_URL}"

[[alerts.slack]]
webhook = "${SLACK_WEBHOOK_URL}"

[schedule]
drift = "*/15 * * * *"
check = "0 * * * *"

[server]
token = "${DEPLOYWATCH_TOKEN}"
"""
SECRETS = {"DEPLOYWATCH_STORE_URL": "postgresql://deploywatch:pw-SECRET-1@db:5432/deploywatch",
           "SLACK_WEBHOOK_URL": "https://hooks.slack.example.com/services/T0/B0/SECRET2",
           "DEPLOYWATCH_TOKEN": "dw-token-SECRET-3"}


def export(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["schedule", "export", "--format", "kubernetes-deployment", "--config", str(config), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def in_repo(tmp_path: Path, text: str) -> Path:
    """The config committed at the root of a repository (as the docs example has it)."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("api", {"api/main.py": "print('hi')\n", "deploywatch.toml": text})
    return tmp_path / "repo" / "deploywatch.toml"


def by_kind(out: str) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all(out) if d}


def option_names(command: click.Command) -> set[str]:
    return {name for param in command.params for name in getattr(param, "opts", [])}


def test_the_deployment_runs_serve_as_replicas_with_secrets_probes_and_a_service(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = in_repo(tmp_path, CONFIG)
    code, out, err = export(config, capsys, "--repo-url", REPO_URL)
    assert (code, err) == (0, "")
    documents = by_kind(out)
    assert set(documents) == {"Deployment", "Service", "PodDisruptionBudget"}
    deployment = documents["Deployment"]
    assert deployment["apiVersion"] == "apps/v1" and deployment["spec"]["replicas"] == 2
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    assert documents["Service"]["spec"]["selector"] == labels
    assert documents["PodDisruptionBudget"]["spec"] == {"minAvailable": 1, "selector": {"matchLabels": labels}}
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]

    # The arguments are a serve command line the real CLI accepts, listening on the container's port.
    args = container["args"]
    serve = cli.commands["serve"]  # type: ignore[attr-defined]
    assert args[0] == "serve" and {a for a in args[1:] if a.startswith("--")} <= option_names(serve)
    assert args[args.index("--config") + 1] == "/workspace/repo/deploywatch.toml"  # the clone's config
    listen = args[args.index("--listen") + 1]
    [port] = container["ports"]
    assert listen == f"0.0.0.0:{port['containerPort']}"
    assert documents["Service"]["spec"]["ports"] == [{"name": "http", "port": port["containerPort"],
                                                      "targetPort": port["name"]}]
    # Probes ask serve's health endpoint, on the port it listens on.
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[kind]["httpGet"] == {"path": endpoint("healthz").path, "port": port["name"]}
    # SIGTERM: serve's grace period for a running job fits in the pod's.
    grace = next(p for p in serve.params if p.name == "grace").default
    assert pod["terminationGracePeriodSeconds"] > grace

    # Every ${VAR} the config reads comes from the Secret; no secret value is in the manifests.
    env = {e["name"]: e for e in container["env"]}
    assert env["DEPLOYWATCH_REPO_URL"]["value"] == REPO_URL
    for name in SECRETS:
        assert env[name]["valueFrom"] == {"secretKeyRef": {"name": "deploywatch", "key": name}}
    assert set(re.findall(r"\$\{(\w+)", CONFIG)) <= set(env)
    assert f"kubectl create secret generic deploywatch {' '.join(f'--from-literal={n}=...' for n in sorted(SECRETS))}" \
        in out
    for value in SECRETS.values():
        assert value not in out


def test_a_store_url_written_in_the_config_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    for store in ('url = "postgresql://deploywatch:pw@db/deploywatch"', 'url = "sqlite:///state.db"', ""):
        config = in_repo(tmp_path / str(len(store)), CONFIG.replace('url = "${DEPLOYWATCH_STORE_URL}"', store))
        code, out, err = export(config, capsys)
        assert (code, out) == (3, "")
        assert err.count("\n") == 1 and "store.url" in err and "${DEPLOYWATCH_STORE_URL}" in err, err
        assert "pw@" not in err


def test_without_fetch_the_export_warns_that_drift_would_not_see_new_commits(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = in_repo(tmp_path, CONFIG.replace("fetch = true\n", ""))
    code, out, err = export(config, capsys, "--repo-url", REPO_URL)
    assert code == 0 and "[repo] fetch is false" in err and "# WARNING: [repo] fetch is false" in out


def test_the_example_in_docs_operations_is_what_the_export_prints(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    [config_text] = re.findall(r"```toml\n(.*?)```", text, re.S)
    [manifests] = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert config_text == CONFIG  # the config the tests above check
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    command = re.search(r"deploywatch schedule export --format kubernetes-deployment (.*)\n", text)
    assert command is not None
    extra = command.group(1).split()
    code, out, _ = export(in_repo(tmp_path, config_text), capsys, *extra)
    assert code == 0
    assert [d for d in yaml.safe_load_all(manifests) if d] == [d for d in yaml.safe_load_all(out) if d]
