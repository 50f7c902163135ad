"""What the deployment files say: Cloud Run deploys in ``cloudbuild.yaml``, workloads in Kubernetes manifests.

No YAML library is a dependency, so these read the few shapes they need line by line: the tokens of a Cloud Build
step's ``args`` (list or string form, ``substitutions`` filled in) and each manifest document's ``kind``,
``metadata.name``, ``metadata.namespace`` and container ``image`` lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CloudRunDeploy", "Workload", "cloud_run_deploys", "image_name", "workloads"]

WORKLOAD_KINDS = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset",
                  "CronJob": "cronjob"}
_TOKEN = re.compile(r"""[^\s'",\[\]]+""")
_SUBSTITUTION = re.compile(r"^\s+(_[A-Z0-9_]+)\s*:\s*['\"]?([^'\"#\s]+)")
_VARIABLE = re.compile(r"\$\{?(_[A-Z0-9_]+)\}?")
_DOCUMENT = re.compile(r"^---\s*$", re.MULTILINE)


@dataclass(frozen=True)
class CloudRunDeploy:
    """``gcloud run deploy SERVICE --region R [--project P]`` found in a Cloud Build file."""

    service: str
    region: str | None
    project: str | None


@dataclass(frozen=True)
class Workload:
    """One Deployment, StatefulSet, DaemonSet or CronJob of a manifest."""

    kind: str  # the kubernetes preset's spelling: deployment, statefulset …
    name: str
    namespace: str | None
    images: tuple[str, ...]


def cloud_run_deploys(text: str) -> list[CloudRunDeploy]:
    """Every ``run deploy`` of a Cloud Build file, with ``$_VAR`` substitutions filled in from the file."""
    substitutions: dict[str, str] = {}
    in_substitutions = False
    tokens: list[str] = []
    for line in text.splitlines():
        stripped = line.split(" #", 1)[0]
        if re.match(r"^substitutions\s*:", stripped):
            in_substitutions = True
            continue
        if in_substitutions:
            if stripped and not stripped[0].isspace():
                in_substitutions = False
            elif match := _SUBSTITUTION.match(stripped):
                substitutions[match.group(1)] = match.group(2)
                continue
        tokens += _TOKEN.findall(stripped.replace("args:", " ").replace("- ", " "))
    filled = [_VARIABLE.sub(lambda m: substitutions.get(m.group(1), m.group(0)), t) for t in tokens]
    deploys = []
    for i in range(len(filled) - 2):
        if filled[i] == "run" and filled[i + 1] == "deploy" and not filled[i + 2].startswith("-"):
            rest = filled[i + 3: i + 40]
            deploys.append(CloudRunDeploy(filled[i + 2], _flag(rest, "--region"), _flag(rest, "--project")))
    return deploys


def _flag(tokens: list[str], name: str) -> str | None:
    for i, token in enumerate(tokens):
        if token.startswith(name + "="):
            value = token.split("=", 1)[1]
        elif token == name and i + 1 < len(tokens):
            value = tokens[i + 1]
        else:
            continue
        return None if "$" in value else value
    return None


def workloads(text: str) -> list[Workload]:
    """The workloads of a (multi-document) Kubernetes manifest; templated text (``{{``) and kustomize patches
    (``$patch:``) yield none."""
    found = []
    for document in _DOCUMENT.split(text):
        kind = _top_value(document, "kind")
        if kind not in WORKLOAD_KINDS or "{{" in document or "$patch:" in document:  # templates, kustomize patches
            continue
        metadata = _block(document, "metadata")
        name = _key_value(metadata, "name")
        if name is None:
            continue
        images = tuple(m.group(1) for m in re.finditer(r"^\s*-?\s*image\s*:\s*['\"]?([^'\"\s#]+)", document,
                                                       re.MULTILINE))
        found.append(Workload(WORKLOAD_KINDS[kind], name, _key_value(metadata, "namespace"), images))
    return found


def image_name(image: str) -> str:
    """The last path segment of an image reference without tag or digest (``gcr.io/p/cart:v1`` → ``cart``)."""
    without_digest = image.split("@", 1)[0]
    last = without_digest.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def _top_value(document: str, key: str) -> str | None:
    match = re.search(rf"^{key}\s*:\s*['\"]?([^'\"\s#]+)", document, re.MULTILINE)
    return match.group(1) if match else None


def _block(document: str, key: str) -> str:
    """The indented lines under a top-level ``key:``."""
    lines = document.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^{key}\s*:\s*$", line):
            block = []
            for following in lines[i + 1:]:
                if following.strip() and not following[0].isspace():
                    break
                block.append(following)
            return "\n".join(block)
    return ""


def _key_value(block: str, key: str) -> str | None:
    """The value of ``key`` at the block's first indentation level."""
    indents = [len(line) - len(line.lstrip()) for line in block.splitlines() if line.strip()]
    if not indents:
        return None
    first = min(indents)
    match = re.search(rf"^ {{{first}}}{key}\s*:\s*['\"]?([^'\"\s#]+)", block, re.MULTILINE)
    return match.group(1) if match else None
