"""Reading Cloud Build files and Kubernetes manifests without a YAML library: the shapes real files take."""

from __future__ import annotations

import pytest

from deploywatch.init.platform import CloudRunDeploy, Workload, cloud_run_deploys, image_name, workloads


def test_list_args_with_substitutions() -> None:
    text = """\
steps:
- name: gcr.io/cloud-builders/docker
  args: ['build', '-t', 'gcr.io/$PROJECT_ID/web:$COMMIT_SHA', '.']
- name: gcr.io/google.com/cloudsdktool/cloud-sdk
  entrypoint: gcloud
  args: ['run', 'deploy', '${_SERVICE}', '--image', 'gcr.io/$PROJECT_ID/web:$COMMIT_SHA', '--region', '$_REGION']
substitutions:
  _SERVICE: web-frontend   # the Cloud Run service
  _REGION: "europe-west1"
options:
  logging: CLOUD_LOGGING_ONLY
"""
    assert cloud_run_deploys(text) == [CloudRunDeploy("web-frontend", "europe-west1", None)]


def test_block_list_args_and_equals_flags() -> None:
    text = "steps:\n- name: gcr.io/cloud-builders/gcloud\n  args:\n  - run\n  - deploy\n  - api\n" \
           "  - --platform=managed\n  - --region=us-central1\n  - --project=acme-prod\n"
    assert cloud_run_deploys(text) == [CloudRunDeploy("api", "us-central1", "acme-prod")]


def test_a_region_left_to_a_variable_the_file_does_not_set_is_unknown() -> None:
    text = "steps:\n- name: gcloud\n  args: [run, deploy, api, --region, $_REGION]\n"
    assert cloud_run_deploys(text) == [CloudRunDeploy("api", None, None)]


def test_a_build_without_a_deploy_deploys_nothing() -> None:
    assert cloud_run_deploys("steps:\n- name: gcr.io/k8s-skaffold/skaffold\n  args: [skaffold, run]\n") == []


def test_workloads_of_a_multi_document_manifest() -> None:
    text = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ledger
  namespace: payments
  labels:
    name: not-this
spec:
  template:
    metadata:
      name: nor-this
    spec:
      containers:
      - name: server
        image: "ghcr.io/acme/ledger@sha256:0123"
      - image: busybox:1.36
        name: sidecar
---
apiVersion: v1
kind: Service
metadata:
  name: ledger
---
kind: CronJob
metadata:
  name: nightly
"""
    assert workloads(text) == [Workload("statefulset", "ledger", "payments", ("ghcr.io/acme/ledger@sha256:0123",
                                                                               "busybox:1.36")),
                               Workload("cronjob", "nightly", None, ())]


def test_a_helm_template_or_a_kustomize_patch_is_no_manifest() -> None:
    assert workloads("kind: Deployment\nmetadata:\n  name: {{ .Values.name }}\n") == []
    assert workloads("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: loadgenerator\n$patch: delete\n") == []


@pytest.mark.parametrize(("image", "name"), [
    ("cartservice", "cartservice"), ("gcr.io/proj/cartservice:v0.10.1", "cartservice"),
    ("localhost:5000/team/api@sha256:abc", "api"), ("redis:alpine", "redis"),
])  # fmt: skip
def test_image_name(image: str, name: str) -> None:
    assert image_name(image) == name
