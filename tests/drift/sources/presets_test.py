"""Presets (``cloudrun``, ``kubernetes``, ``lambda``): the exact argv each runs, through stand-in CLIs on PATH."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from deploywatch.config import DeployedConfig, LoadedConfig
from deploywatch.drift.sources import CommandSource, Reading, source_for
from testing.stand_ins import StandIns

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


@pytest.fixture
def stand_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandIns:
    """``gcloud``, ``kubectl`` and ``aws`` stand-ins, first on PATH, each printing :data:`SHA`."""
    tools = StandIns(tmp_path / "stand-ins")
    for name in ("gcloud", "kubectl", "aws"):
        tools.install(name, stdout=SHA + "\n")
    monkeypatch.setenv("PATH", tools.path_first())
    return tools


def read(loaded: LoadedConfig, deployed: dict[str, Any]) -> Reading:
    """Build the source for ``deployed`` as the config would and read it."""
    return source_for(loaded, DeployedConfig.model_validate(deployed)).read()


# ---------------------------------------------------------------- cloudrun


def test_cloudrun(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    reading = read(loaded, {"cloudrun": {"service": "prediction-worker", "region": "us-west2"}})
    assert reading.value == SHA
    assert stand_ins.calls() == [["run", "services", "describe", "prediction-worker", "--region=us-west2",
                                  "--format=value(metadata.labels.commit-sha)"]]
    assert reading.source == ("cloudrun gcloud run services describe prediction-worker --region=us-west2 "
                              "'--format=value(metadata.labels.commit-sha)'")


def test_cloudrun_with_project_and_custom_label(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    read(loaded, {"cloudrun": {"service": "api", "region": "europe-west1", "project": "acme-prod",
                               "label": "git-commit"}})
    assert stand_ins.calls() == [["run", "services", "describe", "api", "--region=europe-west1",
                                  "--project=acme-prod", "--format=value(metadata.labels.git-commit)"]]


def test_cloudrun_runs_in_the_config_directory(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    source = source_for(loaded, DeployedConfig.model_validate({"cloudrun": {"service": "api", "region": "r"}}))
    assert isinstance(source, CommandSource)
    assert source.cwd == str(loaded.base_dir)
    assert source.shell is None  # argv, never a shell: names with spaces or quotes stay one argument


def test_cloudrun_values_are_single_arguments(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    read(loaded, {"cloudrun": {"service": "api; rm -rf /", "region": "us west"}})
    assert stand_ins.calls() == [["run", "services", "describe", "api; rm -rf /", "--region=us west",
                                  "--format=value(metadata.labels.commit-sha)"]]


# ---------------------------------------------------------------- kubernetes


def test_kubernetes_deployment_default(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    assert read(loaded, {"kubernetes": {"name": "web"}}).value == SHA
    assert stand_ins.calls() == [["get", "deployment/web", "-o", "jsonpath={.metadata.labels.commit-sha}"]]


def test_kubernetes_statefulset_in_namespace_and_context(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    read(loaded, {"kubernetes": {"name": "kafka", "kind": "statefulset", "namespace": "data",
                                 "context": "gke_acme_us-west2_prod"}})
    assert stand_ins.calls() == [["--context", "gke_acme_us-west2_prod", "--namespace", "data", "get",
                                  "statefulset/kafka", "-o", "jsonpath={.metadata.labels.commit-sha}"]]


@pytest.mark.parametrize("kind", ["daemonset", "cronjob"])
def test_kubernetes_other_kinds(loaded: LoadedConfig, stand_ins: StandIns, kind: str) -> None:
    read(loaded, {"kubernetes": {"name": "agent", "kind": kind}})
    assert stand_ins.calls()[0][:2] == ["get", f"{kind}/agent"]


def test_kubernetes_label_with_dots_is_escaped_for_jsonpath(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    read(loaded, {"kubernetes": {"name": "web", "label": "app.kubernetes.io/version"}})
    assert stand_ins.calls() == [["get", "deployment/web", "-o",
                                  "jsonpath={.metadata.labels.app\\.kubernetes\\.io/version}"]]


def test_kubernetes_annotation(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    read(loaded, {"kubernetes": {"name": "web", "namespace": "prod", "annotation": "deploy.acme.com/commit"}})
    assert stand_ins.calls() == [["--namespace", "prod", "get", "deployment/web", "-o",
                                  "jsonpath={.metadata.annotations.deploy\\.acme\\.com/commit}"]]


def test_kubernetes_label_not_set_prints_nothing(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    # kubectl's jsonpath prints an empty string (exit 0) for a label that is not there
    stand_ins.install("kubectl", stdout="")
    reading = read(loaded, {"kubernetes": {"name": "web"}})
    assert reading.value is None
    assert "empty output" in (reading.error or "")


# ---------------------------------------------------------------- lambda


def test_lambda(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    assert read(loaded, {"lambda": {"function": "ingest"}}).value == SHA
    assert stand_ins.calls() == [["lambda", "get-function", "--function-name", "ingest",
                                  "--query", 'Tags."commit-sha"', "--output", "text"]]


def test_lambda_with_region_profile_and_custom_tag(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    read(loaded, {"lambda": {"function": "ingest", "region": "eu-central-1", "profile": "prod",
                             "tag": "git:sha"}})
    assert stand_ins.calls() == [["lambda", "get-function", "--function-name", "ingest",
                                  "--region", "eu-central-1", "--profile", "prod",
                                  "--query", 'Tags."git:sha"', "--output", "text"]]


def test_lambda_missing_tag_prints_none(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    stand_ins.install("aws", stdout="None\n")
    reading = read(loaded, {"lambda": {"function": "ingest"}})
    assert reading.value is None
    assert "reported no value ('None')" in (reading.error or "")


def test_lambda_cli_error_reports_exit_code_and_stderr(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    stand_ins.install("aws", exit_code=254, stderr=(
        "\nAn error occurred (ResourceNotFoundException) when calling the GetFunction operation: "
        "Function not found: arn:aws:lambda:eu-central-1:123456789012:function:ingest\n"))
    reading = read(loaded, {"lambda": {"function": "ingest"}})
    assert (reading.error or "").startswith("exited with code 254; stderr: An error occurred "
                                            "(ResourceNotFoundException)")


# ---------------------------------------------------------------- timeouts


def test_presets_use_the_default_command_timeout(loaded: LoadedConfig, stand_ins: StandIns) -> None:
    source = source_for(loaded, DeployedConfig.model_validate({"lambda": {"function": "ingest"}}))
    assert isinstance(source, CommandSource)
    assert source.timeout == 20.0


@pytest.mark.parametrize("deployed", [
    {"cloudrun": {"service": "api", "region": "us-west2"}},
    {"kubernetes": {"name": "web"}},
    {"lambda": {"function": "ingest"}},
], ids=["cloudrun", "kubernetes", "lambda"])
def test_presets_honour_the_configured_timeout(loaded: LoadedConfig, stand_ins: StandIns,
                                               deployed: dict[str, Any]) -> None:
    for name in ("gcloud", "kubectl", "aws"):
        stand_ins.install(name, stdout=SHA, sleep=20)
    started = time.monotonic()
    reading = read(loaded, {**deployed, "timeout": "1s"})
    assert time.monotonic() - started < 5
    assert reading.error == "timed out after 1s"
