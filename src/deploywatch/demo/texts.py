"""The text files of the demo workspace: the config and README.txt."""

from __future__ import annotations

import datetime as dt
import json

from .platform import DEPLOY_COMMAND, deploy_commands, deploy_settings
from .scenario import BROKEN_SUBJECT, FEATURE_BRANCH, SERVICES, ServiceSpec

__all__ = ["EXCLUDE", "config_text", "readme_text"]

EXCLUDE = ("**/*.md", "docs/**")

def _toml(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def _service(spec: ServiceSpec) -> str:
    lines = [f"[services.{spec.name}]", f"# {spec.story}",
             f"paths = [{', '.join(_toml(p) for p in spec.paths)}]"]
    if spec.group:
        lines.append(f"group = {_toml(spec.group)}")
    lines.append(f"deployed = {{ file = {_toml(f'deployed/{spec.name}.sha')} }}")
    lines.append(f"deploy = {_toml(DEPLOY_COMMAND)}")
    return "\n".join(lines) + "\n" + deploy_settings(spec.name)


def config_text(built_at: dt.datetime) -> str:
    """``deploywatch.toml`` for the demo: the repository, default thresholds and the seven services."""
    head = f"""# deploywatch demo workspace, built {built_at:%Y-%m-%dT%H:%M:%SZ}; see README.txt.
# Paths are relative to this file.

[repo]
path = "repo"
branch = "main"

[defaults]
warn_commits = 3        # relevant commits behind -> warning
critical_commits = 10   #                         -> critical
warn_after = "2h"       # oldest relevant undeployed commit older than this -> warning
critical_after = "24h"  #                                                    -> critical
exclude = [{', '.join(_toml(e) for e in EXCLUDE)}]
"""
    return head + "".join("\n" + _service(spec) for spec in SERVICES)


def readme_text(directory: str, built_at: dt.datetime, fix_commit: str, tag: str) -> str:
    """README.txt: what the demo contains and the commands to try."""
    now = f"{built_at:%Y-%m-%dT%H:%M:%SZ}"
    rows = "\n".join(f"  {s.name:<24}{s.intended_status:<10}{s.story}" for s in SERVICES)
    commands = [
        ("deploywatch config check", ""),
        ("deploywatch drift", "exit code 2: prediction-worker is critical"),
        ("deploywatch drift --format json", ""),
        (f"deploywatch drift --now {now}", "ages exactly as they were when built"),
        (f"deploywatch contains {fix_commit[:12]}", "which services run the vegas-line fix?"),
        (f"deploywatch affected --base main --head {FEATURE_BRANCH}", "what would this branch redeploy?"),
        ("deploywatch skew", "the predictions group runs different shared/ code"),
    ]
    width = max(len(c) for c, _ in commands) + 2
    shown = "".join(f"  {c:<{width}}# {why}\n".rstrip() + "\n" if why else f"  {c}\n" for c, why in commands)
    deploys = "".join(f"  {c:<{width}}# {why}\n" for c, why in deploy_commands(fix_commit))
    return f"""deploywatch demo workspace
==========================

Built {now} by `deploywatch demo`. Running the demo again rebuilds this directory from scratch.

What is here
  deploywatch.toml   the config: seven services of a six-phase data platform
  repo/              a git monorepo (branch main, a few hundred commits over ~3 weeks):
                     scrapers/ raw_processors/ analytics/ precompute/ predictions/worker/
                     predictions/coordinator/ grading/ shared/ docs/
  deployed/*.sha     what each service runs now (a full SHA, an abbreviated SHA, the tag {tag},
                     or a SHA that was force-pushed away)
  bin/deploy-service.sh SERVICE [REVISION]
                     a pretend platform: "rolls out" REVISION (default: main) by writing its SHA to
                     deployed/SERVICE.sha; the deploy command of every service
  bin/check_*.sh     Nagios-style probes; prediction-worker's fails for any commit that contains
                     "{BROKEN_SUBJECT}" (the planted bug)

The services and what deploywatch should say about them
{rows}

Commands to try (from this directory, or from anywhere with --config {directory}/deploywatch.toml)
{shown}
Deploy through the guard rails (preflight, deploy, verify, post-deploy probe; rollback on failure):
{deploys}
Every deploy and rollback is in the ledger (.deploywatch/); a deploy done by hand is not, unless recorded:
  ./bin/deploy-service.sh grading && deploywatch record grading main
"""
