"""The platform presets of ``services.NAME.deployed``: which platform to ask, and where the commit is in its answer.

What each preset runs is written down in :mod:`deploywatch.drift.sources.factory` and in docs/config.md.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .alerts import GitHubRepo
from .types import HttpUrl, Model, NonBlank, Secret

__all__ = [
    "DEFAULT_TAG_PATTERN",
    "PRESETS",
    "ArgoCDPreset",
    "CloudFunctionsPreset",
    "CloudRunPreset",
    "EcsPreset",
    "GitHubDeploymentsPreset",
    "HelmPreset",
    "KubernetesPreset",
    "LambdaPreset",
]

# A run of 7 to 40 hex digits that is not part of a longer one: "sha-3f78685", "v1.4-3f786850e387".
DEFAULT_TAG_PATTERN = r"(?<![0-9a-f])(?P<commit>[0-9a-f]{7,40})(?![0-9a-f])"


def _tag_pattern(value: str) -> str:
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc})") from None
    if "commit" not in compiled.groupindex:
        raise ValueError("needs a group named 'commit', e.g. '^sha-(?P<commit>[0-9a-f]{7,40})$'")
    return value


TagPattern = Annotated[NonBlank, AfterValidator(_tag_pattern)]


class _ImageTag(Model):
    """Where an image tag is read: ``from = "image-tag"``, the ``container`` and the ``tag_pattern``."""

    from_: Literal["label", "image-tag"] = Field(default="label", alias="from")
    container: NonBlank | None = None  # None: the only container (several is an error at read time)
    tag_pattern: TagPattern | None = None  # None: DEFAULT_TAG_PATTERN

    @model_validator(mode="after")
    def _image_keys(self) -> _ImageTag:
        if self.from_ != "image-tag":
            for key in ("container", "tag_pattern"):
                if getattr(self, key) is not None:
                    raise ValueError(f"'{key}' applies with from = \"image-tag\"")
        return self


class CloudRunPreset(_ImageTag):
    """A Cloud Run service whose revision carries the commit in a label, or whose image tag does."""

    service: NonBlank
    region: NonBlank
    project: NonBlank | None = None
    label: NonBlank = "commit-sha"


class KubernetesPreset(_ImageTag):
    """A Kubernetes workload whose label, annotation or container image tag carries the commit."""

    name: NonBlank
    kind: Literal["deployment", "statefulset", "daemonset", "cronjob"] = "deployment"
    namespace: NonBlank | None = None
    context: NonBlank | None = None
    label: NonBlank | None = None
    annotation: NonBlank | None = None

    @model_validator(mode="after")
    def _one_key(self) -> KubernetesPreset:
        if self.label and self.annotation:
            raise ValueError("set either label or annotation, not both")
        if self.from_ == "image-tag" and (self.label or self.annotation):
            raise ValueError("from = \"image-tag\" reads the image, not a label or annotation: drop one")
        return self


class LambdaPreset(Model):
    """An AWS Lambda function whose tag carries the commit."""

    function: NonBlank
    region: NonBlank | None = None
    profile: NonBlank | None = None
    tag: NonBlank = "commit-sha"


class CloudFunctionsPreset(Model):
    """A Cloud Functions (2nd gen) function: the commit in a label, or the source its last build resolved."""

    function: NonBlank
    region: NonBlank
    project: NonBlank | None = None
    from_: Literal["label", "source"] = Field(default="label", alias="from")
    label: NonBlank = "commit-sha"


class EcsPreset(Model):
    """An Amazon ECS service: the image tag of a container in its primary deployment's task definition."""

    cluster: NonBlank
    service: NonBlank
    region: NonBlank | None = None
    profile: NonBlank | None = None
    container: NonBlank | None = None
    tag_pattern: TagPattern | None = None


class ArgoCDPreset(Model):
    """An Argo CD application: the revision it is synced to (``status.sync.revision``)."""

    app: NonBlank


class HelmPreset(Model):
    """A Helm release: a value (``image.tag``) of its user-supplied values, or an annotation of its chart."""

    release: NonBlank
    namespace: NonBlank | None = None
    context: NonBlank | None = None
    value: NonBlank | None = None
    annotation: NonBlank | None = None
    tag_pattern: TagPattern | None = None

    @model_validator(mode="after")
    def _value_or_annotation(self) -> HelmPreset:
        if (self.value is None) == (self.annotation is None):
            raise ValueError("set exactly one of value (a dotted path such as 'image.tag') and annotation")
        if self.tag_pattern is not None and self.value is None:
            raise ValueError("'tag_pattern' applies to a value (an image tag), not to an annotation")
        return self


class GitHubDeploymentsPreset(Model):
    """The latest successful GitHub deployment of an environment (the Deployments API)."""

    repo: GitHubRepo
    environment: NonBlank
    token: Secret | None = Field(default=None, repr=False)  # None: ${GITHUB_TOKEN} when reading
    api_url: HttpUrl = "https://api.github.com"


# The key of each preset in ``deployed = {…}`` and its model.
PRESETS: dict[str, type[Model]] = {
    "cloudrun": CloudRunPreset, "kubernetes": KubernetesPreset, "lambda": LambdaPreset,
    "cloudfunctions": CloudFunctionsPreset, "ecs": EcsPreset, "argocd": ArgoCDPreset, "helm": HelmPreset,
    "github": GitHubDeploymentsPreset,
}
