"""What each JSON-reading preset runs and where it finds the commit in the answer (see docs/config.md).

- ``cloudrun`` with ``from = "image-tag"``: ``gcloud run services describe S --region=R [--project=P]
  --format=json``, the tag of ``spec.template.spec.containers[].image``; unknown while the latest revision is
  not ready or traffic is pinned to another revision (the template is then not what serves).
- ``kubernetes`` with ``from = "image-tag"``: ``kubectl [--context C] [--namespace N] get KIND/NAME -o json``,
  the tag of the pod template's container; unknown while a rollout is in progress.
- ``cloudfunctions``: ``gcloud functions describe F --gen2 --region=R [--project=P] --format=json``, a label or
  ``buildConfig.sourceProvenance.resolvedRepoSource.commitSha``; unknown unless ``state`` is ACTIVE.
- ``ecs``: ``aws ecs describe-services --cluster C --services S [--region R] [--profile P] --output json``, then
  ``aws ecs describe-task-definition --task-definition ARN … --output json`` of the PRIMARY deployment.
- ``argocd``: ``argocd app get APP -o json``, ``status.sync.revision`` when ``status.sync.status`` is Synced.
- ``helm``: ``helm get values RELEASE [-n NS] [--kube-context C] -o json`` (a dotted ``value``) or ``helm get
  metadata … -o json`` (an ``annotation`` of a release whose status is deployed).
"""

from __future__ import annotations

from ...config import DeployedConfig
from ...config.presets import (
    ArgoCDPreset,
    CloudFunctionsPreset,
    CloudRunPreset,
    EcsPreset,
    HelmPreset,
    KubernetesPreset,
)
from .base import parse_revision
from .images import commit_in_image, commit_in_tag
from .platform import Call, PlatformSource, SourceFailure, field_at

__all__ = ["platform_source"]


def platform_source(deployed: DeployedConfig, timeout: float, cwd: str) -> PlatformSource | None:
    """The JSON-reading source of a preset, or None when the preset is a plain command (a label or a tag)."""
    if deployed.cloudrun is not None and deployed.cloudrun.from_ == "image-tag":
        return _cloudrun(deployed.cloudrun, timeout, cwd)
    if deployed.kubernetes is not None and deployed.kubernetes.from_ == "image-tag":
        return _kubernetes(deployed.kubernetes, timeout, cwd)
    if deployed.cloudfunctions is not None:
        return _cloudfunctions(deployed.cloudfunctions, timeout, cwd)
    if deployed.ecs is not None:
        return _ecs(deployed.ecs, timeout, cwd)
    if deployed.argocd is not None:
        return _argocd(deployed.argocd, timeout, cwd)
    if deployed.helm is not None:
        return _helm(deployed.helm, timeout, cwd)
    return None


def _object(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise SourceFailure(f"{what} is not a JSON object")
    return value


def _objects(value: object) -> list[dict[str, object]]:
    """The objects in a JSON list (nothing for anything else)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _revision(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise SourceFailure(f"{what} is {type(value).__name__}, expected a string")
    try:
        return parse_revision(value)
    except ValueError as exc:
        raise SourceFailure(f"{what}: {exc}") from None


def _image_commit(image: str, pattern: str | None) -> str:
    try:
        return commit_in_image(image, pattern)
    except ValueError as exc:
        raise SourceFailure(str(exc)) from None


def _container_image(containers: object, wanted: str | None, what: str) -> str:
    """The image of container ``wanted`` (or of the only container) in a list of ``{name, image}``."""
    found = _objects(containers)
    names = [str(c.get("name", "?")) for c in found]
    if wanted is None:
        if len(found) != 1:
            raise SourceFailure(f"{what} has {len(found)} containers ({', '.join(names) or 'none'}): "
                                "set container to the one whose image tag names the commit")
        chosen = found[0]
    else:
        matching = [c for c in found if c.get("name") == wanted]
        if not matching:
            raise SourceFailure(f"{what} has no container {wanted!r} (has: {', '.join(names) or 'none'})")
        chosen = matching[0]
    image = chosen.get("image")
    if not isinstance(image, str) or not image:
        raise SourceFailure(f"{what}: container {chosen.get('name', '?')!r} has no image")
    return image


# ---------------------------------------------------------------- Cloud Run


def _cloudrun(preset: CloudRunPreset, timeout: float, cwd: str) -> PlatformSource:
    argv = ("gcloud", "run", "services", "describe", preset.service, f"--region={preset.region}",
            *([f"--project={preset.project}"] if preset.project else []), "--format=json")

    def reader(call: Call) -> str:
        service = _object(call(argv), "the service")
        status = _object(service.get("status") or {}, "status")
        ready, created = status.get("latestReadyRevisionName"), status.get("latestCreatedRevisionName")
        if created and ready != created:
            raise SourceFailure(f"the latest revision {created} is not ready (serving {ready or 'nothing'}), so "
                                "its image is not what runs")
        pinned = sorted({str(t.get("revisionName")) for t in _objects(status.get("traffic"))
                         if t.get("percent") and not t.get("latestRevision") and t.get("revisionName") != ready})
        if pinned:
            raise SourceFailure(f"traffic goes to other revisions than the latest ({', '.join(pinned)}), so the "
                                "service's image is not all that serves")
        containers = field_at(service, "spec.template.spec.containers", "the service")
        return _image_commit(_container_image(containers, preset.container, "the service"), preset.tag_pattern)

    return PlatformSource("cloudrun", f"service {preset.service} in {preset.region}", argv, reader, timeout, cwd)


# ---------------------------------------------------------------- Kubernetes

_POD_TEMPLATE = {"cronjob": "spec.jobTemplate.spec.template.spec.containers"}


def _kubernetes(preset: KubernetesPreset, timeout: float, cwd: str) -> PlatformSource:
    argv = ("kubectl", *(["--context", preset.context] if preset.context else []),
            *(["--namespace", preset.namespace] if preset.namespace else []),
            "get", f"{preset.kind}/{preset.name}", "-o", "json")
    what = f"{preset.kind}/{preset.name}"

    def reader(call: Call) -> str:
        workload = _object(call(argv), what)
        _rollout_done(preset.kind, workload, what)
        containers = field_at(workload, _POD_TEMPLATE.get(preset.kind, "spec.template.spec.containers"), what)
        return _image_commit(_container_image(containers, preset.container, what), preset.tag_pattern)

    return PlatformSource("kubernetes", what, argv, reader, timeout, cwd)


def _rollout_done(kind: str, workload: dict[str, object], what: str) -> None:
    """:class:`SourceFailure` while pods of an older template may still run (the template is then not all that
    runs), as ``kubectl rollout status`` judges it."""
    if kind == "cronjob":
        return
    meta, spec, status = (_object(workload.get(part) or {}, part) for part in ("metadata", "spec", "status"))
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        raise SourceFailure(f"rollout in progress: {what} generation {generation} not observed yet")
    if kind == "deployment":
        wanted = spec.get("replicas", 1)
        updated, total = status.get("updatedReplicas", 0), status.get("replicas", 0)
        if isinstance(wanted, int) and isinstance(updated, int) and isinstance(total, int) and (
                updated < wanted or total > updated):
            raise SourceFailure(f"rollout in progress: {updated} of {total} replicas run the new template")
    elif kind == "statefulset" and status.get("updateRevision") != status.get("currentRevision"):
        raise SourceFailure(f"rollout in progress: revision {status.get('updateRevision')} is replacing "
                            f"{status.get('currentRevision')}")
    elif kind == "daemonset" and status.get("updatedNumberScheduled") != status.get("desiredNumberScheduled"):
        raise SourceFailure(f"rollout in progress: {status.get('updatedNumberScheduled')} of "
                            f"{status.get('desiredNumberScheduled')} pods run the new template")


# ---------------------------------------------------------------- Cloud Functions (2nd gen)

_RESOLVED_SHA = "buildConfig.sourceProvenance.resolvedRepoSource.commitSha"


def _cloudfunctions(preset: CloudFunctionsPreset, timeout: float, cwd: str) -> PlatformSource:
    argv = ("gcloud", "functions", "describe", preset.function, "--gen2", f"--region={preset.region}",
            *([f"--project={preset.project}"] if preset.project else []), "--format=json")

    def reader(call: Call) -> str:
        function = _object(call(argv), "the function")
        state = function.get("state")
        if state != "ACTIVE":
            raise SourceFailure(f"the function's state is {state or 'not reported'}, not ACTIVE")
        if preset.from_ == "source":
            return _revision(field_at(function, _RESOLVED_SHA, "the function's build"), _RESOLVED_SHA)
        labels = _object(function.get("labels") or {}, "labels")
        if preset.label not in labels:
            raise SourceFailure(f"the function has no label {preset.label!r} (has: "
                                f"{', '.join(sorted(labels)) or 'none'})")
        return _revision(labels[preset.label], f"label {preset.label}")

    return PlatformSource("cloudfunctions", f"function {preset.function} in {preset.region}", argv, reader, timeout,
                          cwd)


# ---------------------------------------------------------------- Amazon ECS


def _ecs(preset: EcsPreset, timeout: float, cwd: str) -> PlatformSource:
    where = [*(["--region", preset.region] if preset.region else []),
             *(["--profile", preset.profile] if preset.profile else [])]
    argv = ("aws", "ecs", "describe-services", "--cluster", preset.cluster, "--services", preset.service, *where,
            "--output", "json")

    def reader(call: Call) -> str:
        answer = _object(call(argv), "describe-services")
        services = _objects(answer.get("services"))
        if not services:
            failures = [f"{f.get('arn', '?')}: {f.get('reason', '?')}" for f in _objects(answer.get("failures"))]
            raise SourceFailure(f"describe-services found no service ({'; '.join(failures) or 'no failures given'})")
        primary = [d for d in _objects(services[0].get("deployments")) if d.get("status") == "PRIMARY"]
        if not primary:
            raise SourceFailure("the service has no PRIMARY deployment")
        if primary[0].get("rolloutState") == "FAILED":
            raise SourceFailure(f"the PRIMARY deployment failed: {primary[0].get('rolloutStateReason', '?')}")
        arn = primary[0].get("taskDefinition")
        if not isinstance(arn, str):
            raise SourceFailure("the PRIMARY deployment names no task definition")
        described = _object(call(("aws", "ecs", "describe-task-definition", "--task-definition", arn, *where,
                                  "--output", "json")), "describe-task-definition")
        containers = field_at(described, "taskDefinition.containerDefinitions", "the task definition")
        return _image_commit(_container_image(containers, preset.container, f"task definition {arn}"),
                             preset.tag_pattern)

    return PlatformSource("ecs", f"service {preset.service} in cluster {preset.cluster}", argv, reader, timeout, cwd)


# ---------------------------------------------------------------- Argo CD


def _argocd(preset: ArgoCDPreset, timeout: float, cwd: str) -> PlatformSource:
    argv = ("argocd", "app", "get", preset.app, "-o", "json")

    def reader(call: Call) -> str:
        app = _object(call(argv), "the application")
        sync = _object(field_at(app, "status.sync", "the application"), "status.sync")
        if sync.get("status") != "Synced":
            raise SourceFailure(f"the application is {sync.get('status') or 'of unknown sync status'}, not Synced: "
                                "the live state is not its revision")
        if not sync.get("revision") and sync.get("revisions"):
            raise SourceFailure("the application has several sources (status.sync.revisions); "
                                "read one with a command source")
        return _revision(field_at(sync, "revision", "status.sync"), "status.sync.revision")

    return PlatformSource("argocd", f"app {preset.app}", argv, reader, timeout, cwd)


# ---------------------------------------------------------------- Helm


def _helm(preset: HelmPreset, timeout: float, cwd: str) -> PlatformSource:
    where = [*(["-n", preset.namespace] if preset.namespace else []),
             *(["--kube-context", preset.context] if preset.context else [])]
    subject = f"release {preset.release}"
    if preset.value is not None:
        value = preset.value
        argv = ("helm", "get", "values", preset.release, *where, "-o", "json")

        def read_value(call: Call) -> str:
            found = field_at(_object(call(argv), "the values"), value, "the release's values")
            if not isinstance(found, str | int):
                raise SourceFailure(f"value {value} is {type(found).__name__}, expected a tag")
            try:
                return commit_in_tag(str(found), preset.tag_pattern, f"value {value}")
            except ValueError as exc:
                raise SourceFailure(str(exc)) from None

        return PlatformSource("helm", subject, argv, read_value, timeout, cwd)
    annotation = preset.annotation or ""
    argv = ("helm", "get", "metadata", preset.release, *where, "-o", "json")

    def read_annotation(call: Call) -> str:
        metadata = _object(call(argv), "the metadata")
        if metadata.get("status") != "deployed":
            raise SourceFailure(f"revision {metadata.get('revision', '?')} is {metadata.get('status') or '?'}, "
                                "not deployed")
        annotations = _object(metadata.get("annotations") or {}, "annotations")
        if annotation not in annotations:
            raise SourceFailure(f"the chart has no annotation {annotation!r} (has: "
                                f"{', '.join(sorted(annotations)) or 'none'})")
        return _revision(annotations[annotation], f"annotation {annotation}")

    return PlatformSource("helm", subject, argv, read_annotation, timeout, cwd)
