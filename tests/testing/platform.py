"""A pretend platform for deploy tests: a deploy script that writes the deployed commit to a file, failure modes
planted per commit, and a Nagios-style probe that fails for planted commits."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testing.gitrepo import GitRepo, write_config

DEPLOY_SH = """#!/bin/sh
# deploy.sh SERVICE COMMIT: the pretend platform. Planted files under ops/plant/ change what it does.
ops="$(dirname "$0")"
echo "deploying $1 at $2 (entry $DEPLOYWATCH_DEPLOY_ID, from ${DEPLOYWATCH_FROM_COMMIT:-none})"
echo "pushing to https://deployer:hunter2-very-secret@registry.example.com/$1"
if [ -f "$ops/plant/sleep" ]; then sleep "$(cat "$ops/plant/sleep")"; fi
if grep -qxe "$2" -e "$1 $2" "$ops/plant/fail" 2>/dev/null; then echo "error: the platform refused $2" >&2; exit 1; fi
if grep -qxe "$2" -e "$1 $2" "$ops/plant/stuck" 2>/dev/null; then echo "accepted, but nothing changes"; exit 0; fi
printf '%s\\n' "$2" > "$ops/deployed/$1.sha.tmp" && mv "$ops/deployed/$1.sha.tmp" "$ops/deployed/$1.sha"
echo "$1 now runs $2"
"""

PROBE_SH = """#!/bin/sh
# probe.sh SERVICE: critical (exit 2) when the service runs a commit planted in ops/plant/unhealthy.
ops="$(dirname "$0")"
running="$(cat "$ops/deployed/$1.sha" 2>/dev/null)"
if [ -z "$running" ]; then echo "UNKNOWN - $1 runs nothing"; exit 3; fi
if grep -qxe "$running" -e "$1 $running" "$ops/plant/unhealthy" 2>/dev/null; then
  echo "CRITICAL - $1 errors"; exit 2
fi
echo "OK - $1 healthy"
"""


@dataclass
class Platform:
    """The repository, the ops directory (scripts, deployed files, plants) and the config."""

    repo: GitRepo
    ops: Path
    config: Path
    shas: dict[str, str]

    def deployed(self, service: str) -> str:
        """What the service runs now."""
        return (self.ops / "deployed" / f"{service}.sha").read_text().strip()

    def set_deployed(self, service: str, commit: str) -> None:
        """Make the service run ``commit`` (as if deployed earlier)."""
        (self.ops / "deployed" / f"{service}.sha").write_text(commit + "\n")

    def plant(self, kind: str, *commits: str) -> None:
        """Make deploying (fail, stuck: ``COMMIT`` or ``SERVICE COMMIT``) or running (unhealthy) these commits go
        wrong."""
        (self.ops / "plant" / kind).write_text("".join(c + "\n" for c in commits))

    def configure(self, extra: str = "", *, on_failure: str = "rollback", verify_timeout: str = "3s",
                  lease: str = "60s", deny: str = "") -> None:
        """Write the config: services web and api (group pair), both deployed by deploy.sh."""
        services = ""
        for name in ("web", "api"):
            services += f"""
[services.{name}]
paths = ["{name}/**", "shared/**"]
group = "pair"
deployed = {{ file = "{self.ops}/deployed/{name}.sha" }}
deploy = "sh {self.ops}/deploy.sh {{{{ service }}}} {{{{ commit }}}}"
runbook = "https://runbooks.example.com/{name}"

[services.{name}.preflight]
require_synced = false

[services.{name}.verify]
timeout = "{verify_timeout}"
interval = "1s"

[services.{name}.post_deploy]
probes = ["{name} probe"]
on_failure = "{on_failure}"

[[probes]]
name = "{name} probe"
command = "sh {self.ops}/probe.sh {name}"
"""
        write_config(self.ops, f"""[repo]
path = "../repo"

[deploy]
lease = "{lease}"
{f"deny = [{deny}]" if deny else ""}
{services}
{extra}""")

    def cli(self, *args: str, timeout: float = 60) -> tuple[int, str, str]:
        """Run ``deploywatch ARGS --config …`` in a real process; exit code, stdout, stderr."""
        proc = subprocess.run([sys.executable, "-m", "deploywatch", *args, "--config", str(self.config)],
                              capture_output=True, text=True, timeout=timeout, env=process_env(), check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def json(self, *args: str) -> tuple[int, dict[str, Any], str]:
        """``cli`` with ``--format json``: exit code, the document, stderr."""
        code, out, err = self.cli(*args, "--format", "json")
        assert out, err
        return code, json.loads(out), err


def process_env() -> dict[str, str]:
    """The environment of a deploywatch process: this one without GIT_*, with the test's import path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def build_platform(git_repo: GitRepo, tmp_path: Path) -> Platform:
    """A history: base → web → api → shared → web again; web and api run ``base``."""
    shas = {"base": git_repo.commit("base", {"web/app.py": "1\n", "api/app.py": "1\n", "shared/lib.py": "1\n"})}
    shas["web1"] = git_repo.commit("web: one", {"web/app.py": "2\n"})
    shas["api1"] = git_repo.commit("api: one", {"api/app.py": "2\n"})
    shas["shared"] = git_repo.commit("shared: lib", {"shared/lib.py": "2\n"})
    shas["web2"] = git_repo.commit("web: two", {"web/app.py": "3\n"})
    ops = tmp_path / "ops"
    for folder in ("deployed", "plant"):
        (ops / folder).mkdir(parents=True)
    for name, text in (("deploy.sh", DEPLOY_SH), ("probe.sh", PROBE_SH)):
        script = ops / name
        script.write_text(text)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    platform = Platform(git_repo, ops, ops / "deploywatch.toml", shas)
    for name in ("web", "api"):
        platform.set_deployed(name, shas["base"])
    platform.configure()
    return platform
