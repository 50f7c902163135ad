"""The commented ``deploywatch.toml`` written from a detection."""

from __future__ import annotations

import json

from .detect import DOC_EXCLUDES, Deployed, Detection, Service

__all__ = ["config_text"]

_HEADER = """\
# deploywatch.toml, written by `deploywatch init` from the files listed above each service.
# Check it with `deploywatch config check --probe-sources`, then run `deploywatch drift`.
# Every key is described in deploywatch's docs/config.md.
"""


def config_text(detection: Detection, *, repo_path: str, branch: str) -> str:
    """The config: ``[repo]``, ``[defaults]`` excluding documentation, one ``[services.NAME]`` per service."""
    parts = [_HEADER, "[repo]", f"path = {_q(repo_path)}", f"branch = {_q(branch)}", "",
             "[defaults]", "# Documentation changes never make a service drift.",
             f"exclude = [{', '.join(_q(g) for g in DOC_EXCLUDES)}]", ""]
    if not detection.services:
        parts += ["# No deployable directory was found. Add one block per service:",
                  "# [services.web]", '# paths = ["web/**"]', '# deployed = { file = "deployed/web.sha" }', ""]
    for service in detection.services:
        parts += _service(service)
    return "\n".join(parts)


def _service(service: Service) -> list[str]:
    lines = [f"# {service.name}, found from:", *(f"#   {f} ({why})" for f, why in service.evidence)]
    for directory, (file, why) in sorted(service.shared.items()):
        lines.append(f"#   {directory}/ is shared: {file} {why}")
    lines += [f"[services.{service.name}]", f"paths = [{', '.join(_q(p) for p in service.paths)}]"]
    deployed = service.deployed or Deployed("file", {"file": f"deployed/{service.name}.sha"})
    lines += _deployed_comment(service.name, deployed)
    lines += [f"deployed = {deployed.toml()}", ""]
    return lines


def _deployed_comment(name: str, deployed: Deployed) -> list[str]:
    where = f" (from {deployed.evidence[0]}: {deployed.evidence[1]})" if deployed.evidence else ""
    if deployed.kind == "cloudrun":
        return [f"# The Cloud Run service{where};",
                "# the preset reads its revision's commit-sha label: deploy with --labels=commit-sha=$COMMIT_SHA",
                '# (or set label = "…" to the label you use).']
    if deployed.kind == "kubernetes":
        workload = f"{deployed.settings.get('kind', 'deployment')}/{deployed.settings['name']}"
        if deployed.settings.get("from") == "image-tag":
            lines = [f"# The Kubernetes workload{where};",
                     "# the preset reads the commit from its container's image tag (a 7-40 hex run, e.g.",
                     '# cart:3f2a9c0; set tag_pattern = "…(?P<commit>…)…" for another layout, or from = "label"',
                     "# to read a commit-sha label)."]
        else:
            lines = [f"# The Kubernetes workload{where};",
                     f"# the preset reads its commit-sha label: kubectl label {workload} commit-sha=$COMMIT when you",
                     '# deploy (or set label = "…" or annotation = "…" to the one you use; with one container per pod,',
                     '# from = "image-tag", container = "…" reads the commit from the image tag).']
        if "namespace" not in deployed.settings:
            lines.append('# Add namespace = "…" and context = "…" when they are not kubectl\'s current ones.')
        return lines
    return ["# Nothing said where this service runs: until its deployed commit is known its drift is unknown.",
            f"# Write the commit you deploy to {deployed.settings['file']} (beside this file), or replace this",
            '# with a source: { url = "https://…/version.json" }, { command = "…" }, { cloudrun = { … } },',
            "# { kubernetes = { … } }, { lambda = { … } } or { ledger = true } (see docs/config.md)."]


def _q(value: str) -> str:
    return json.dumps(value)
