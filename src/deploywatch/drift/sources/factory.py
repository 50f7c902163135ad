"""Turning a service's ``deployed`` config into a :class:`~deploywatch.drift.sources.base.Source`.

The presets expand to the documented commands:

- ``cloudrun``: ``gcloud run services describe SERVICE --region=R [--project=P] --format=value(metadata.labels.LABEL)``
- ``kubernetes``: ``kubectl [--context C] [--namespace N] get KIND/NAME -o jsonpath={.metadata.labels.LABEL}``
  (or ``.metadata.annotations.ANNOTATION``)
- ``lambda``: ``aws lambda get-function --function-name F [--region R] [--profile P] --query Tags."TAG" --output text``

``from = "image-tag"`` and the presets that read JSON (``cloudfunctions``, ``ecs``, ``argocd``, ``helm``) are
in :mod:`deploywatch.drift.sources.platforms`; ``github`` is :mod:`deploywatch.drift.sources.github`.
"""

from __future__ import annotations

from ...config import DeployedConfig, LoadedConfig
from ...config.file import DEFAULT_VERSION_FIELD
from .base import Source
from .command import DEFAULT_TIMEOUT as COMMAND_TIMEOUT
from .command import CommandSource
from .file import FileSource
from .ledger import LedgerSource
from .url import DEFAULT_TIMEOUT as URL_TIMEOUT
from .url import UrlSource

__all__ = ["preset_argv", "source_for"]


def source_for(loaded: LoadedConfig, deployed: DeployedConfig, service: str = "") -> Source:
    """The source a ``deployed`` table describes (of ``service``: the ledger needs its name); relative paths
    resolve against the config file."""
    kind = deployed.kind
    if kind == "file":
        assert deployed.file is not None
        return FileSource(loaded.resolve(deployed.file), deployed.file, deployed.field or DEFAULT_VERSION_FIELD)
    if kind == "url":
        assert deployed.url is not None
        return UrlSource(deployed.url, deployed.field or DEFAULT_VERSION_FIELD, float(deployed.timeout or URL_TIMEOUT),
                         dict(deployed.headers or {}))
    if kind == "ledger":
        from ...store.urls import configured_store_url

        return LedgerSource(service, configured_store_url(loaded.config.store.url, loaded.base_dir))
    timeout = float(deployed.timeout or COMMAND_TIMEOUT)
    if deployed.github is not None:
        from .github import GitHubDeploymentsSource

        github = deployed.github
        return GitHubDeploymentsSource(github.repo, github.environment, github.api_url, github.token, timeout)
    cwd = str(loaded.base_dir)
    from .platforms import platform_source

    platform = platform_source(deployed, timeout, cwd)
    if platform is not None:
        return platform
    if kind == "command":
        return CommandSource(shell=deployed.command, timeout=timeout, cwd=cwd)
    return CommandSource(argv=preset_argv(deployed), timeout=timeout, cwd=cwd, kind=kind)


def preset_argv(deployed: DeployedConfig) -> list[str]:
    """The exact argv a preset that prints the commit (a label or a tag) runs."""
    if deployed.cloudrun is not None:
        run = deployed.cloudrun
        return ["gcloud", "run", "services", "describe", run.service, f"--region={run.region}",
                *([f"--project={run.project}"] if run.project else []),
                f"--format=value(metadata.labels.{run.label})"]
    if deployed.kubernetes is not None:
        kube = deployed.kubernetes
        where, key = ("annotations", kube.annotation) if kube.annotation else ("labels", kube.label or "commit-sha")
        escaped = key.replace(".", "\\.")
        return ["kubectl", *(["--context", kube.context] if kube.context else []),
                *(["--namespace", kube.namespace] if kube.namespace else []),
                "get", f"{kube.kind}/{kube.name}", "-o", f"jsonpath={{.metadata.{where}.{escaped}}}"]
    if deployed.lambda_ is not None:
        fn = deployed.lambda_
        return ["aws", "lambda", "get-function", "--function-name", fn.function,
                *(["--region", fn.region] if fn.region else []),
                *(["--profile", fn.profile] if fn.profile else []),
                "--query", f'Tags."{fn.tag}"', "--output", "text"]
    raise ValueError(f"not a preset: {deployed.kind}")


