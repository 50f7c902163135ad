"""The demo's pretend platform: a deploy script, two Nagios-style probes and the deploy settings that use them.

``bin/deploy-service.sh SERVICE [REVISION]`` "rolls out" a commit by writing its full SHA to
``deployed/SERVICE.sha`` (atomically: a temporary file, then a rename), the file the demo's ``deployed``
sources read, so ``deploywatch deploy`` can verify it. The probes are what post-deploy checking runs:
``scrapers vm`` passes while the scrapers' deployed marker is in place; ``prediction-worker predictions``
fails (exit 2, CRITICAL) whenever the worker runs a commit that contains the planted broken commit
(:data:`deploywatch.demo.scenario.BROKEN_SUBJECT`). So on the demo ``deploywatch deploy scrapers`` succeeds and
``deploywatch deploy prediction-worker`` (the tip) is rolled back to what ran before.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["DEPLOYABLE", "DEPLOY_COMMAND", "DEPLOY_SCRIPT", "PROBES_TOML", "deploy_commands", "deploy_settings",
           "write_platform"]

# Deploy commands run in the repository's work tree (repo/), so the script is one level up.
DEPLOY_COMMAND = "../bin/deploy-service.sh {{ service }} {{ commit }}"

DEPLOY_SCRIPT = """#!/bin/sh
# The demo's pretend platform: deploy-service.sh SERVICE [REVISION] "rolls out" REVISION (default: the tip
# of main) by writing its full SHA to deployed/SERVICE.sha, the file deploywatch reads as what SERVICE runs.
# `deploywatch deploy SERVICE` runs it (see deploy = … in deploywatch.toml), then verifies that file and runs
# the service's post-deploy probes; you can also run it by hand, as a deploy done outside deploywatch.
set -eu
cd "$(dirname "$0")/.."
service="${1:?usage: bin/deploy-service.sh SERVICE [REVISION]}"
revision="${2:-main}"
if [ ! -f "deployed/$service.sha" ]; then
    echo "deploy-service.sh: no service $service (no deployed/$service.sha)" >&2
    exit 1
fi
sha=$(git -C repo rev-parse --verify --quiet "$revision^{commit}") || {
    echo "deploy-service.sh: unknown revision $revision" >&2
    exit 1
}
echo "building $service image at $(git -C repo log -1 --format='%h %s' "$sha")"
echo "rolling out $service: 1/1 instances updated"
printf '%s\\n' "$sha" > "deployed/$service.sha.tmp"
mv "deployed/$service.sha.tmp" "deployed/$service.sha"
echo "deployed $service at $sha"
"""

SCRAPERS_PROBE = """#!/bin/sh
# A Nagios-style plugin for the demo (exit 0 OK, 2 CRITICAL): is the scrapers' deployed marker in place?
marker="$(dirname "$0")/../deployed/scrapers.sha"
if [ -s "$marker" ]; then
    echo "SCRAPER OK - deployed marker present | markers=1"
    exit 0
fi
echo "SCRAPER CRITICAL - no deployed marker at $marker"
exit 2
"""

WORKER_PROBE = """#!/bin/sh
# A Nagios-style plugin for the demo (exit 0 OK, 2 CRITICAL, 3 UNKNOWN): does prediction-worker write
# predictions? The planted bug: from commit {short} ("{subject}") on, the worker's
# feature vector no longer matches the model and its batches write nothing.
cd "$(dirname "$0")/.."
broken={broken}
deployed=$(head -n 1 deployed/prediction-worker.sha 2>/dev/null || true)
running=$(git -C repo rev-parse --verify --quiet "$deployed^{{commit}}") || {{
    echo "WORKER UNKNOWN - cannot tell which commit prediction-worker runs"
    exit 3
}}
if git -C repo merge-base --is-ancestor "$broken" "$running"; then
    why="87 features, the model expects 85 (since {short})"
    echo "WORKER CRITICAL - 0 predictions in the last batch: $why | predictions=0"
    exit 2
fi
echo "WORKER OK - 412 predictions in the last batch | predictions=412"
exit 0
"""

PROBES_TOML = """
# Liveness probes: any Nagios-style plugin (exit 0 ok, 1 warning, 2 critical, 3 unknown). A probe named
# "SERVICE …" is that service's: `deploywatch preflight SERVICE` runs it as the current health.
[[probes]]
name = "scrapers vm"
command = "sh bin/check_scraper.sh"

[[probes]]
name = "prediction-worker predictions"
command = "sh bin/check_worker.sh"
"""

# The services the demo's deploy story uses, and the probe each must pass after a deploy.
DEPLOYABLE = {"scrapers": "scrapers vm", "prediction-worker": "prediction-worker predictions"}


def deploy_settings(service: str) -> str:
    """The preflight, verify and post-deploy tables of ``service`` (empty for a service the story does not deploy)."""
    probe = DEPLOYABLE.get(service)
    if probe is None:
        return ""
    return f"""
[services.{service}.preflight]
require_synced = false  # the demo repository has no remote to be in sync with

[services.{service}.verify]  # until deployed/{service}.sha names the new commit
timeout = "5s"
interval = "1s"

[services.{service}.post_deploy]
probes = [{json.dumps(probe)}]
on_failure = "rollback"
"""


def write_platform(directory: Path, *, broken: str, broken_subject: str) -> None:
    """Write ``bin/``: the deploy script and the probes (``broken``: the full SHA of the planted broken commit)."""
    folder = directory / "bin"
    folder.mkdir()
    worker = WORKER_PROBE.format(short=broken[:12], subject=broken_subject, broken=broken)
    for name, text in (("deploy-service.sh", DEPLOY_SCRIPT), ("check_scraper.sh", SCRAPERS_PROBE),
                       ("check_worker.sh", worker)):
        script = folder / name
        script.write_text(text, encoding="utf-8")
        script.chmod(0o755)


def deploy_commands(fix_commit: str) -> list[tuple[str, str]]:
    """The deploys to try on the demo, in order, each with what it shows (``fix_commit``: the vegas-line fix)."""
    return [("deploywatch deploy scrapers", "preflight, deploy, verify, probe: succeeded (exit 0)"),
            ("deploywatch deploy prediction-worker", "the tip fails its probe: rolled back (exit 2)"),
            (f"deploywatch deploy prediction-worker --commit {fix_commit[:12]}", "just the vegas-line fix: succeeded"),
            ("deploywatch deployments", "the ledger, newest first: these on top of three weeks")]
