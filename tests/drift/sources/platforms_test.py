"""The JSON-reading presets (``from = "image-tag"``, ``cloudfunctions``, ``ecs``, ``argocd``, ``helm``): the exact
commands each runs and where it finds the commit, through stand-in CLIs on PATH that print the tools' JSON."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from deploywatch.config import DeployedConfig, LoadedConfig
from deploywatch.drift.sources import Reading, source_for
from testing.platform_json import (
    ARGOCD_NOT_FOUND,
    ECS_MISSING,
    GCLOUD_FUNCTION_NOT_FOUND,
    GCLOUD_RUN_NOT_FOUND,
    HELM_NOT_FOUND,
    KUBECTL_NOT_FOUND,
    argocd_app,
    cloudrun_service,
    dumps,
    ecs_services,
    ecs_task_definition,
    function_gen2,
    helm_metadata,
    kubernetes_workload,
)
from testing.stand_ins import StandIns

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
REGISTRY = "us-docker.pkg.dev/acme-prod/images"
TASK = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:42"


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandIns:
    """An empty ``bin`` of stand-ins, first on PATH; each test installs the tools it needs."""
    stand_ins = StandIns(tmp_path / "stand-ins")
    monkeypatch.setenv("PATH", stand_ins.path_first())
    return stand_ins


def read(loaded: LoadedConfig, deployed: dict[str, Any]) -> Reading:
    """Build the source for ``deployed`` as the config would and read it."""
    return source_for(loaded, DeployedConfig.model_validate(deployed)).read()


# ---------------------------------------------------------------- cloudrun, from = "image-tag"

CLOUDRUN = {"service": "frontend", "region": "us-central1", "from": "image-tag"}


def test_cloudrun_image_tag_is_the_commit(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("gcloud", stdout=dumps(cloudrun_service(f"{REGISTRY}/frontend:{SHA[:7]}")))
    reading = read(loaded, {"cloudrun": {**CLOUDRUN, "project": "acme-prod"}})
    assert (reading.value, reading.error) == (SHA[:7], None)
    assert tools.calls() == [["run", "services", "describe", "frontend", "--region=us-central1",
                              "--project=acme-prod", "--format=json"]]


def test_cloudrun_tag_with_digest_still_reads_the_tag(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("gcloud", stdout=dumps(cloudrun_service(f"{REGISTRY}/frontend:sha-{SHA}@sha256:{'a' * 64}")))
    assert read(loaded, {"cloudrun": CLOUDRUN}).value == SHA


def test_cloudrun_digest_only_image_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("gcloud", stdout=dumps(cloudrun_service(f"{REGISTRY}/frontend@sha256:{'a' * 64}")))
    reading = read(loaded, {"cloudrun": CLOUDRUN})
    assert reading.value is None
    assert reading.error == (f"cloudrun service frontend in us-central1: image {REGISTRY}/frontend@sha256:{'a' * 64} "
                             "is pinned by digest only (no tag): a digest does not name a commit; tag the image with "
                             "the commit")


def test_cloudrun_revision_not_ready_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("gcloud", stdout=dumps(cloudrun_service(f"{REGISTRY}/frontend:{SHA}", ready="frontend-00003-kex",
                                                          created="frontend-00004-zot")))
    reading = read(loaded, {"cloudrun": CLOUDRUN})
    assert reading.value is None
    assert "the latest revision frontend-00004-zot is not ready (serving frontend-00003-kex)" in (reading.error or "")


def test_cloudrun_traffic_pinned_to_an_older_revision_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    traffic = [{"revisionName": "frontend-00002-abc", "percent": 90},
               {"latestRevision": True, "revisionName": "frontend-00003-kex", "percent": 10}]
    tools.install("gcloud", stdout=dumps(cloudrun_service(f"{REGISTRY}/frontend:{SHA}", traffic=traffic)))
    reading = read(loaded, {"cloudrun": CLOUDRUN})
    assert reading.value is None
    assert "traffic goes to other revisions than the latest (frontend-00002-abc)" in (reading.error or "")


def test_cloudrun_not_found_is_unknown_with_gclouds_words(loaded: LoadedConfig, tools: StandIns) -> None:
    stderr, code = GCLOUD_RUN_NOT_FOUND
    tools.install("gcloud", stderr=stderr, exit_code=code)
    reading = read(loaded, {"cloudrun": CLOUDRUN})
    assert reading.error == ("cloudrun service frontend in us-central1: gcloud exited with code 1; stderr: "
                             "ERROR: (gcloud.run.services.describe) Cannot find service [frontend]")


def test_cloud_cli_missing_from_path_is_unknown(loaded: LoadedConfig, tools: StandIns,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tools.bin))
    reading = read(loaded, {"cloudrun": CLOUDRUN})
    assert reading.error == "cloudrun service frontend in us-central1: gcloud not found on PATH"


# ---------------------------------------------------------------- kubernetes, from = "image-tag"

SERVER = {"name": "server", "image": f"{REGISTRY}/frontend:v0.10.1-{SHA[:12]}"}
PROXY = {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0"}


def test_kubernetes_image_tag_of_the_named_container(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("kubectl", stdout=dumps(kubernetes_workload([PROXY, SERVER])))
    reading = read(loaded, {"kubernetes": {"name": "frontend", "namespace": "prod", "from": "image-tag",
                                           "container": "server"}})
    assert (reading.value, reading.error) == (SHA[:12], None)
    assert tools.calls() == [["--namespace", "prod", "get", "deployment/frontend", "-o", "json"]]


def test_kubernetes_custom_tag_pattern_reads_its_commit_group(loaded: LoadedConfig, tools: StandIns) -> None:
    image = {"name": "server", "image": f"{REGISTRY}/frontend:build-1234-g{SHA[:9]}"}
    tools.install("kubectl", stdout=dumps(kubernetes_workload([image])))
    reading = read(loaded, {"kubernetes": {"name": "frontend", "from": "image-tag",
                                           "tag_pattern": r"^build-\d+-g(?P<commit>[0-9a-f]+)$"}})
    assert reading.value == SHA[:9]


def test_kubernetes_tag_that_matches_no_pattern_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("kubectl", stdout=dumps(kubernetes_workload([{"name": "server", "image": "web:v1.2.3"}])))
    reading = read(loaded, {"kubernetes": {"name": "frontend", "from": "image-tag"}})
    assert reading.error == ("kubernetes deployment/frontend: image web:v1.2.3: tag 'v1.2.3' does not match the "
                             "default tag_pattern (7-40 hex digits)")


def test_kubernetes_several_containers_need_container(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("kubectl", stdout=dumps(kubernetes_workload([SERVER, PROXY])))
    reading = read(loaded, {"kubernetes": {"name": "frontend", "from": "image-tag"}})
    assert reading.error == ("kubernetes deployment/frontend: deployment/frontend has 2 containers (server, "
                             "istio-proxy): set container to the one whose image tag names the commit")


def test_kubernetes_rollout_in_progress_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("kubectl", stdout=dumps(kubernetes_workload([SERVER], replicas=3, updated=1, total=4)))
    reading = read(loaded, {"kubernetes": {"name": "frontend", "from": "image-tag"}})
    assert reading.error == "kubernetes deployment/frontend: rollout in progress: 1 of 4 replicas run the new template"


@pytest.mark.parametrize(("kind", "status", "says"), [
    ("deployment", {"observedGeneration": 3}, "rollout in progress: deployment/frontend generation 4 not observed yet"),
    ("statefulset", {"observedGeneration": 4, "currentRevision": "frontend-7c9d", "updateRevision": "frontend-5f6b"},
     "rollout in progress: revision frontend-5f6b is replacing frontend-7c9d"),
    ("daemonset", {"observedGeneration": 4, "desiredNumberScheduled": 3, "updatedNumberScheduled": 1},
     "rollout in progress: 1 of 3 pods run the new template"),
])
def test_kubernetes_rollouts_of_every_kind_are_unknown(loaded: LoadedConfig, tools: StandIns, kind: str,
                                                      status: dict[str, Any], says: str) -> None:
    workload = kubernetes_workload([SERVER], kind=kind.capitalize())
    workload["status"] = status
    tools.install("kubectl", stdout=dumps(workload))
    reading = read(loaded, {"kubernetes": {"name": "frontend", "kind": kind, "from": "image-tag"}})
    assert reading.error == f"kubernetes {kind}/frontend: {says}"


@pytest.mark.parametrize(("kind", "status"), [
    ("statefulset", {"observedGeneration": 4, "currentRevision": "frontend-5f6b", "updateRevision": "frontend-5f6b"}),
    ("daemonset", {"observedGeneration": 4, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3}),
])
def test_kubernetes_finished_rollouts_read_the_image(loaded: LoadedConfig, tools: StandIns, kind: str,
                                                     status: dict[str, Any]) -> None:
    workload = kubernetes_workload([SERVER], kind=kind.capitalize())
    workload["status"] = status
    tools.install("kubectl", stdout=dumps(workload))
    assert read(loaded, {"kubernetes": {"name": "frontend", "kind": kind, "from": "image-tag"}}).value == SHA[:12]


def test_kubernetes_cronjob_reads_the_job_template(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("kubectl", stdout=dumps(kubernetes_workload([SERVER], kind="CronJob")))
    assert read(loaded, {"kubernetes": {"name": "frontend", "kind": "cronjob", "from": "image-tag"}}).value == SHA[:12]


def test_kubernetes_not_found_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    stderr, code = KUBECTL_NOT_FOUND
    tools.install("kubectl", stderr=stderr, exit_code=code)
    reading = read(loaded, {"kubernetes": {"name": "frontend", "from": "image-tag"}})
    assert reading.error == ('kubernetes deployment/frontend: kubectl exited with code 1; stderr: Error from server '
                             '(NotFound): deployments.apps "frontend" not found')


def test_kubernetes_output_that_is_not_json_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("kubectl", stdout="NAME       READY   UP-TO-DATE\nfrontend   2/2     2\n")
    reading = read(loaded, {"kubernetes": {"name": "frontend", "from": "image-tag"}})
    assert (reading.error or "").startswith("kubernetes deployment/frontend: kubectl printed invalid JSON")


# ---------------------------------------------------------------- cloudfunctions (2nd gen)

FUNCTION = {"function": "ingest", "region": "us-central1"}


def test_cloudfunctions_label(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("gcloud", stdout=dumps(function_gen2(labels={"commit-sha": SHA, "team": "data"})))
    assert read(loaded, {"cloudfunctions": {**FUNCTION, "project": "acme-prod"}}).value == SHA
    assert tools.calls() == [["functions", "describe", "ingest", "--gen2", "--region=us-central1",
                              "--project=acme-prod", "--format=json"]]


def test_cloudfunctions_source_reads_the_resolved_commit(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("gcloud", stdout=dumps(function_gen2(commit=SHA)))
    assert read(loaded, {"cloudfunctions": {**FUNCTION, "from": "source"}}).value == SHA


def test_cloudfunctions_source_from_a_storage_upload_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("gcloud", stdout=dumps(function_gen2()))
    reading = read(loaded, {"cloudfunctions": {**FUNCTION, "from": "source"}})
    assert reading.error == ("cloudfunctions function ingest in us-central1: the function's build has no "
                             "buildConfig.sourceProvenance")


def test_cloudfunctions_missing_label_names_the_labels_it_has(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("gcloud", stdout=dumps(function_gen2(labels={"team": "data"})))
    reading = read(loaded, {"cloudfunctions": FUNCTION})
    assert reading.error == ("cloudfunctions function ingest in us-central1: the function has no label "
                             "'commit-sha' (has: team)")


def test_cloudfunctions_deploying_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("gcloud", stdout=dumps(function_gen2(labels={"commit-sha": SHA}, state="DEPLOYING")))
    reading = read(loaded, {"cloudfunctions": FUNCTION})
    assert reading.error == ("cloudfunctions function ingest in us-central1: the function's state is DEPLOYING, "
                             "not ACTIVE")


def test_cloudfunctions_not_found(loaded: LoadedConfig, tools: StandIns) -> None:
    stderr, code = GCLOUD_FUNCTION_NOT_FOUND
    tools.install("gcloud", stderr=stderr, exit_code=code)
    reading = read(loaded, {"cloudfunctions": FUNCTION})
    assert (reading.error or "").startswith("cloudfunctions function ingest in us-central1: gcloud exited with code "
                                            "1; stderr: ERROR: (gcloud.functions.describe) NOT_FOUND")


# ---------------------------------------------------------------- ecs

ECS = {"cluster": "prod", "service": "web", "region": "us-east-1", "profile": "prod"}
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def test_ecs_reads_the_primary_task_definitions_image_tag(loaded: LoadedConfig, tools: StandIns) -> None:
    containers = [{"name": "web", "image": f"{ECR}/web:{SHA}"}, {"name": "log-router", "image": "fluent-bit:3.1"}]
    tools.install("aws", answers={"describe-services": dumps(ecs_services(TASK)),
                                  "describe-task-definition": dumps(ecs_task_definition(containers))})
    reading = read(loaded, {"ecs": {**ECS, "container": "web"}})
    assert (reading.value, reading.error) == (SHA, None)
    assert tools.calls() == [
        ["ecs", "describe-services", "--cluster", "prod", "--services", "web", "--region", "us-east-1",
         "--profile", "prod", "--output", "json"],
        ["ecs", "describe-task-definition", "--task-definition", TASK, "--region", "us-east-1", "--profile", "prod",
         "--output", "json"]]


def test_ecs_missing_service_is_unknown_with_the_failure(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("aws", stdout=dumps(ECS_MISSING))  # describe-services exits 0 for a missing service
    reading = read(loaded, {"ecs": ECS})
    assert reading.error == ("ecs service web in cluster prod: describe-services found no service "
                             "(arn:aws:ecs:us-east-1:123456789012:service/prod/web: MISSING)")
    assert len(tools.calls()) == 1


def test_ecs_failed_rollout_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("aws", stdout=dumps(ecs_services(TASK, rollout="FAILED")))
    assert "the PRIMARY deployment failed" in (read(loaded, {"ecs": ECS}).error or "")


def test_ecs_credentials_error(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("aws", exit_code=253, stderr="\nUnable to locate credentials. You can configure credentials by "
                                               "running \"aws configure\".\n")
    reading = read(loaded, {"ecs": ECS})
    assert reading.error == ("ecs service web in cluster prod: aws exited with code 253; stderr: Unable to locate "
                             "credentials. You can configure credentials by running \"aws configure\".")


# ---------------------------------------------------------------- argocd


def test_argocd_synced_revision(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("argocd", stdout=dumps(argocd_app(revision=SHA)))
    assert read(loaded, {"argocd": {"app": "guestbook"}}).value == SHA
    assert tools.calls() == [["app", "get", "guestbook", "-o", "json"]]


def test_argocd_out_of_sync_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("argocd", stdout=dumps(argocd_app(revision=SHA, sync="OutOfSync")))
    reading = read(loaded, {"argocd": {"app": "guestbook"}})
    assert reading.error == ("argocd app guestbook: the application is OutOfSync, not Synced: the live state is not "
                             "its revision")


def test_argocd_multi_source_app_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("argocd", stdout=dumps(argocd_app(revision=None, revisions=[SHA, "1.2.0"])))
    assert "several sources" in (read(loaded, {"argocd": {"app": "guestbook"}}).error or "")


def test_argocd_not_found(loaded: LoadedConfig, tools: StandIns) -> None:
    stderr, code = ARGOCD_NOT_FOUND
    tools.install("argocd", stderr=stderr, exit_code=code)
    reading = read(loaded, {"argocd": {"app": "guestbook"}})
    assert (reading.error or "").startswith("argocd app guestbook: argocd exited with code 20; stderr: time=")
    assert "NotFound" in (reading.error or "")


# ---------------------------------------------------------------- helm


def test_helm_value_path(loaded: LoadedConfig, tools: StandIns) -> None:
    values = {"image": {"repository": f"{REGISTRY}/web", "tag": SHA[:8]}, "replicaCount": 2}
    tools.install("helm", stdout=dumps(values))
    reading = read(loaded, {"helm": {"release": "web", "namespace": "prod", "context": "gke-prod",
                                     "value": "image.tag"}})
    assert reading.value == SHA[:8]
    assert tools.calls() == [["get", "values", "web", "-n", "prod", "--kube-context", "gke-prod", "-o", "json"]]


def test_helm_value_absent_names_the_path(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("helm", stdout=dumps({"replicaCount": 2}))
    reading = read(loaded, {"helm": {"release": "web", "value": "image.tag"}})
    assert reading.error == "helm release web: the release's values has no image"


def test_helm_annotation_of_a_deployed_release(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("helm", stdout=dumps(helm_metadata({"acme.com/commit": SHA})))
    assert read(loaded, {"helm": {"release": "web", "annotation": "acme.com/commit"}}).value == SHA
    assert tools.calls() == [["get", "metadata", "web", "-o", "json"]]


def test_helm_failed_release_is_unknown(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("helm", stdout=dumps(helm_metadata({"acme.com/commit": SHA}, status="failed")))
    reading = read(loaded, {"helm": {"release": "web", "annotation": "acme.com/commit"}})
    assert reading.error == "helm release web: revision 3 is failed, not deployed"


def test_helm_release_not_found(loaded: LoadedConfig, tools: StandIns) -> None:
    stderr, code = HELM_NOT_FOUND
    tools.install("helm", stderr=stderr, exit_code=code)
    reading = read(loaded, {"helm": {"release": "web", "value": "image.tag"}})
    assert reading.error == "helm release web: helm exited with code 1; stderr: Error: release: not found"


# ---------------------------------------------------------------- timeouts and secrets


def test_one_timeout_covers_every_call_of_a_preset(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("aws", sleep=20, answers={"describe-services": dumps(ecs_services(TASK))})
    started = time.monotonic()
    reading = read(loaded, {"ecs": ECS, "timeout": "1s"})
    assert time.monotonic() - started < 5
    assert reading.error == "ecs service web in cluster prod: aws timed out after 1s"


def test_secrets_in_stderr_are_masked(loaded: LoadedConfig, tools: StandIns) -> None:
    tools.install("helm", exit_code=1, stderr="Error: Kubernetes cluster unreachable: Get "
                                              "\"https://admin:hunter2-secret@10.0.0.1/version\": dial tcp\n")
    reading = read(loaded, {"helm": {"release": "web", "value": "image.tag"}})
    assert "hunter2-secret" not in (reading.error or "")
    assert "cluster unreachable" in (reading.error or "")
