"""What the platform CLIs print, in the JSON shapes their documentation gives, for the JSON-reading presets' tests.

Each function returns the document one command prints (``json.dumps`` it into a stand-in's ``stdout``); the
keyword arguments are the parts a test varies. The ``*_NOT_FOUND`` constants are the tools' own error text for a
missing object, with the exit code each exits with.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["ARGOCD_NOT_FOUND", "ECS_MISSING", "GCLOUD_FUNCTION_NOT_FOUND", "GCLOUD_RUN_NOT_FOUND", "HELM_NOT_FOUND",
           "KUBECTL_NOT_FOUND", "argocd_app", "cloudrun_service", "dumps", "ecs_services", "ecs_task_definition",
           "function_gen2", "helm_metadata", "kubernetes_workload"]

GCLOUD_RUN_NOT_FOUND = ("ERROR: (gcloud.run.services.describe) Cannot find service [frontend]\n", 1)
GCLOUD_FUNCTION_NOT_FOUND = ("ERROR: (gcloud.functions.describe) NOT_FOUND: Resource 'projects/acme-prod/locations/"
                             "us-central1/functions/ingest' was not found\n", 1)
KUBECTL_NOT_FOUND = ('Error from server (NotFound): deployments.apps "frontend" not found\n', 1)
ARGOCD_NOT_FOUND = ('time="2026-12-03T10:00:00Z" level=fatal msg="rpc error: code = NotFound desc = '
                    'applications.argoproj.io \\"guestbook\\" not found"\n', 20)
HELM_NOT_FOUND = ("Error: release: not found\n", 1)
ECS_MISSING = {"services": [], "failures": [
    {"arn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web", "reason": "MISSING"}]}


def dumps(document: object) -> str:
    """The document as the tools print it (indented JSON and a newline)."""
    return json.dumps(document, indent=2) + "\n"


def cloudrun_service(image: str, *, ready: str = "frontend-00003-kex", created: str | None = None,
                     traffic: list[dict[str, Any]] | None = None, containers: list[dict[str, Any]] | None = None
                     ) -> dict[str, Any]:
    """``gcloud run services describe frontend --format=json`` (a Knative Service of the Cloud Run Admin API v1)."""
    return {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "frontend", "namespace": "123456789012", "generation": 3,
                     "labels": {"cloud.googleapis.com/location": "us-central1"},
                     "annotations": {"run.googleapis.com/ingress": "all"}},
        "spec": {"template": {"metadata": {"annotations": {"autoscaling.knative.dev/maxScale": "100"}},
                              "spec": {"containerConcurrency": 80, "timeoutSeconds": 300,
                                       "serviceAccountName": "123456789012-compute@developer.gserviceaccount.com",
                                       "containers": containers or [
                                           {"image": image, "ports": [{"containerPort": 8080, "name": "http1"}],
                                            "resources": {"limits": {"cpu": "1000m", "memory": "512Mi"}}}]}},
                 "traffic": [{"latestRevision": True, "percent": 100}]},
        "status": {"observedGeneration": 3, "latestReadyRevisionName": ready,
                   "latestCreatedRevisionName": created or ready,
                   "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-01T10:00:00Z"}],
                   "traffic": traffic or [{"latestRevision": True, "percent": 100, "revisionName": ready}],
                   "url": "https://frontend-abcdefghij-uc.a.run.app"},
    }


def kubernetes_workload(containers: list[dict[str, Any]], *, kind: str = "Deployment", replicas: int = 2,
                        updated: int | None = None, total: int | None = None) -> dict[str, Any]:
    """``kubectl get deployment/frontend -o json`` (apps/v1); ``updated``/``total`` replicas for a rollout."""
    template = {"metadata": {"labels": {"app": "frontend"}}, "spec": {"containers": containers}}
    spec: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": {"app": "frontend"}},
                            "template": template}
    status: dict[str, Any] = {"observedGeneration": 4, "replicas": total if total is not None else replicas,
                              "updatedReplicas": updated if updated is not None else replicas,
                              "readyReplicas": replicas, "availableReplicas": replicas}
    if kind == "CronJob":
        spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
        status = {"lastScheduleTime": "2026-12-03T09:00:00Z"}
    return {"apiVersion": "batch/v1" if kind == "CronJob" else "apps/v1", "kind": kind,
            "metadata": {"name": "frontend", "namespace": "default", "generation": 4,
                         "annotations": {"deployment.kubernetes.io/revision": "4"}},
            "spec": spec, "status": status}


def function_gen2(*, labels: dict[str, str] | None = None, commit: str | None = None,
                  state: str = "ACTIVE") -> dict[str, Any]:
    """``gcloud functions describe ingest --gen2 --region=us-central1 --format=json`` (the v2 Function resource)."""
    build: dict[str, Any] = {
        "build": "projects/123456789012/locations/us-central1/builds/6d1c2b7e-0000-4b5a-9e3f-1f0c5a1b2c3d",
        "runtime": "python312", "entryPoint": "handle",
        "source": {"repoSource": {"projectId": "acme-prod", "repoName": "github_acme_app", "branchName": "main",
                                  "dir": "functions/ingest"}},
        "dockerRepository": "projects/acme-prod/locations/us-central1/repositories/gcf-artifacts"}
    if commit is not None:
        build["sourceProvenance"] = {"resolvedRepoSource": {"projectId": "acme-prod", "repoName": "github_acme_app",
                                                            "commitSha": commit, "dir": "functions/ingest"}}
    return {"name": "projects/acme-prod/locations/us-central1/functions/ingest", "environment": "GEN_2",
            "buildConfig": build, "state": state, "updateTime": "2026-12-01T10:00:00.123456789Z",
            "serviceConfig": {"service": "projects/acme-prod/locations/us-central1/services/ingest",
                              "revision": "ingest-00004-dol", "uri": "https://ingest-abcdefghij-uc.a.run.app",
                              "availableMemory": "256M", "timeoutSeconds": 60},
            "labels": labels or {}, "url": "https://us-central1-acme-prod.cloudfunctions.net/ingest"}


def ecs_services(task_definition: str, *, rollout: str = "COMPLETED") -> dict[str, Any]:
    """``aws ecs describe-services --cluster prod --services web --output json``."""
    arn = "arn:aws:ecs:us-east-1:123456789012"
    return {"services": [{
        "serviceArn": f"{arn}:service/prod/web", "serviceName": "web", "clusterArn": f"{arn}:cluster/prod",
        "status": "ACTIVE", "desiredCount": 2, "runningCount": 2, "pendingCount": 0, "launchType": "FARGATE",
        "taskDefinition": task_definition,
        "deployments": [{"id": "ecs-svc/1234567890123456789", "status": "PRIMARY", "taskDefinition": task_definition,
                         "desiredCount": 2, "pendingCount": 0, "runningCount": 2, "failedTasks": 0,
                         "rolloutState": rollout, "rolloutStateReason": "ECS deployment ecs-svc/1234567890123456789 "
                                                                        "completed."}]}],
        "failures": []}


def ecs_task_definition(containers: list[dict[str, Any]], revision: int = 42) -> dict[str, Any]:
    """``aws ecs describe-task-definition --task-definition ARN --output json``."""
    return {"taskDefinition": {
        "taskDefinitionArn": f"arn:aws:ecs:us-east-1:123456789012:task-definition/web:{revision}",
        "family": "web", "revision": revision, "status": "ACTIVE", "networkMode": "awsvpc",
        "containerDefinitions": [{"cpu": 0, "essential": True, "portMappings": [], **c} for c in containers]}}


def argocd_app(*, revision: str | None, sync: str = "Synced", revisions: list[str] | None = None) -> dict[str, Any]:
    """``argocd app get guestbook -o json`` (an argoproj.io/v1alpha1 Application)."""
    synced: dict[str, Any] = {"status": sync, "comparedTo": {"source": {
        "repoURL": "https://github.com/acme/deploy.git", "path": "guestbook", "targetRevision": "HEAD"}}}
    if revision is not None:
        synced["revision"] = revision
    if revisions is not None:
        synced["revisions"] = revisions
    return {"metadata": {"name": "guestbook", "namespace": "argocd"},
            "spec": {"project": "default", "source": {"repoURL": "https://github.com/acme/deploy.git",
                                                      "path": "guestbook", "targetRevision": "HEAD"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"}},
            "status": {"sync": synced, "health": {"status": "Healthy"},
                       "summary": {"images": ["gcr.io/heptio-images/ks-guestbook-demo:0.2"]}}}


def helm_metadata(annotations: dict[str, str], *, status: str = "deployed") -> dict[str, Any]:
    """``helm get metadata web -n prod -o json`` (Helm 3.13 and later)."""
    return {"name": "web", "chart": "web", "version": "0.1.0", "appVersion": "1.16.0", "annotations": annotations,
            "dependencies": [], "namespace": "prod", "revision": 3, "status": status,
            "deployedAt": "2026-12-01T10:00:00.123456789Z"}
