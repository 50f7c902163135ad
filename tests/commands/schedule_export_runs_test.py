"""``deploywatch schedule export``: every exported artefact works as printed.

The Kubernetes CronJob is read with a real YAML parser and held against the ``Dockerfile`` that builds its image
(entrypoint, user, volume, paths); then the image's entrypoint script runs for real, with the CronJob's env and
args, against a bare repository served as a ``file://`` URL: it clones, runs ``deploywatch``, and on the next run
fetches. The GitHub Actions workflow is parsed and its steps run as a runner would (the ``pip install`` only
checked for form: building deploywatch there would take minutes). The crontab line runs with ``sh`` and the
systemd ``ExecStart=`` as systemd would start it. No Docker engine is needed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from deploywatch import __version__
from deploywatch.commands.schedule_sources import install_requirement, without_credentials
from deploywatch.drift.git import clean_env
from testing.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

CONFIG = """\
[repo]
path = "."
branch = "main"

[defaults]
warn_commits = 1

[services.api]
paths = ["api/**"]
deployed = { file = "deployed/api.sha" }

[schedule]
timezone = "UTC"
drift = "*/15 * * * *"
timeout = "5m"
"""


class Monorepo:
    """A user's monorepo with deploywatch.toml at its root, pushed to a bare repository (its "origin")."""

    def __init__(self, tmp_path: Path) -> None:
        self.bare = tmp_path / "origin.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True, timeout=60,
                       env=clean_env())
        self.url = self.bare.as_uri()
        self.work = GitRepo(tmp_path / "work")
        # The exported jobs run without --now, as their schedulers would: commits dated minutes ago keep the
        # drift age under warn_after (2h) on any date, so the status (and exit code) is the commit count's.
        self.work.clock = int(time.time()) - 900
        self.deployed = self.work.commit("api v1", {"api/app.py": "1", "deploywatch.toml": CONFIG})
        # deployed/ is not below api/**: the service is current, whatever the date
        self.work.commit("record the deploy", {"deployed/api.sha": self.deployed + "\n"})
        self.work.git("remote", "add", "origin", self.url)
        self.push()
        self.config = self.work.path / "deploywatch.toml"

    def push(self) -> None:
        self.work.git("push", "-q", "origin", "main")

    def change_api(self) -> str:
        """A new commit touching the service, pushed: one relevant commit behind (warn_commits = 1)."""
        sha = self.work.commit("api v2", {"api/app.py": "2"})
        self.push()
        return sha


@pytest.fixture
def monorepo(tmp_path: Path) -> Monorepo:
    return Monorepo(tmp_path)


def export(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "deploywatch", "schedule", "export", *args], capture_output=True,
                          text=True, timeout=120, check=False, env={**os.environ, "PATH": f"{BIN}:/usr/bin:/bin"})
    return proc.returncode, proc.stdout, proc.stderr


# ---------------------------------------------------------------- the Dockerfile and the CronJob


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the repository's Dockerfile, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")))
    found = []
    for line in logical.splitlines():
        if line.strip():
            instruction, _, rest = line.strip().partition(" ")
            found.append((instruction.upper(), " ".join(rest.split())))
    return found


def image_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, rest in instructions:
        if instruction == "ENV":
            env.update(dict(item.split("=", 1) for item in shlex.split(rest)))
    return env


def only(instructions: list[tuple[str, str]], name: str) -> str:
    values = [rest for instruction, rest in instructions if instruction == name]
    assert len(values) == 1, (name, values)
    return values[0]


def cronjob(monorepo: Monorepo, *extra: str) -> dict[str, Any]:
    code, out, err = export("--format", "kubernetes", "--config", str(monorepo.config), "--repo-url", monorepo.url,
                            *extra)
    assert code == 0, err
    documents = [d for d in yaml.safe_load_all(out) if d]
    assert [d["kind"] for d in documents] == ["CronJob"]
    return documents[0]  # type: ignore[no-any-return]


def test_dockerfile_builds_the_image_the_cronjob_runs(monorepo: Monorepo) -> None:
    document = cronjob(monorepo)
    pod = document["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    instructions = dockerfile()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    # the tag: the version the Dockerfile installs, from the source tree it is built in (written in core/version.py)
    assert "version" in project["dynamic"]
    assert container["image"] == f"deploywatch:{__version__}"
    copies = [shlex.split(rest) for instruction, rest in instructions if instruction == "COPY"]
    copied = {source: parts[-1] for parts in copies for source in parts[:-1]}
    assert {"pyproject.toml", project["readme"], "src"} <= set(copied)
    source_dir = copied["pyproject.toml"].rstrip("/")
    assert copied["src"].rstrip("/") == f"{source_dir}/src"
    assert any(re.search(rf"pip install .*{re.escape(source_dir)}(\s|$)", rest)
               for instruction, rest in instructions if instruction == "RUN")
    assert any(re.search(r"apt-get install .*\bgit\b", rest) for instruction, rest in instructions
               if instruction == "RUN")
    for source in copied:  # the build context keeps what the Dockerfile copies
        ignored = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                   if p.strip() and not p.startswith("#")]
        assert (ROOT / source).exists(), source
        assert not any(fnmatch(source, pattern) for pattern in ignored), source

    # no command: the image's ENTRYPOINT (the script) runs with the CronJob's args
    assert "command" not in container
    entrypoint = json.loads(only(instructions, "ENTRYPOINT"))
    assert entrypoint == [copied["docker/entrypoint.sh"]]
    assert os.access(ROOT / "docker" / "entrypoint.sh", os.X_OK)

    # the user, the volume and the paths agree
    uid, gid = (int(v) for v in only(instructions, "USER").split(":"))
    assert pod["securityContext"] == {"runAsUser": uid, "runAsGroup": gid, "fsGroup": gid}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "workspace")
    assert mount["mountPath"] == only(instructions, "VOLUME") == only(instructions, "WORKDIR")
    assert {"name": "workspace", "emptyDir": {}} in pod["volumes"]
    repo_dir = image_env(instructions)["DEPLOYWATCH_REPO_DIR"]
    assert repo_dir.startswith(mount["mountPath"] + "/")
    assert container["args"] == ["drift", "--config", f"{repo_dir}/deploywatch.toml"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"DEPLOYWATCH_REPO_URL": monorepo.url, "DEPLOYWATCH_REPO_BRANCH": "main"}
    script = (ROOT / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    for name in [*env, "DEPLOYWATCH_REPO_DIR"]:
        assert f"${{{name}" in script, name


def run_container(document: dict[str, Any], volume: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the CronJob's container as the image would, on this machine: the entrypoint script with the pod's env
    and args, the image's ENV, and the volume's mount path mapped to ``volume``."""
    pod = document["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    mount = container["volumeMounts"][0]["mountPath"]

    def local(value: str) -> str:
        return value.replace(mount, str(volume), 1) if value.startswith(mount) else value

    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    env.update({k: local(v) for k, v in image_env(dockerfile()).items() if k != "HOME"})
    env.update({e["name"]: local(e["value"]) for e in container["env"]})
    return subprocess.run(["sh", str(ROOT / "docker" / "entrypoint.sh"), *map(local, container["args"])],
                          capture_output=True, text=True, timeout=120, env=env, cwd=volume, check=False)


def test_cronjob_container_clones_runs_the_job_then_fetches(monorepo: Monorepo, tmp_path: Path) -> None:
    document = cronjob(monorepo)
    volume, home = tmp_path / "volume", tmp_path / "home"
    volume.mkdir()
    home.mkdir()

    first = run_container(document, volume, home)
    assert first.returncode == 0, first.stdout + first.stderr  # drift: api is current
    assert "cloning" in first.stderr and "api" in first.stdout
    clone = GitRepo.__new__(GitRepo)
    clone.path = volume / "repo"
    assert clone.git("rev-parse", "HEAD") == monorepo.work.head()
    assert monorepo.url not in first.stdout + first.stderr  # the URL may carry a token: never printed

    tip = monorepo.change_api()
    again = run_container(document, volume, home)  # the volume kept the clone: fetched, not cloned
    assert again.returncode == 1, again.stdout + again.stderr  # one relevant commit behind, warn_commits = 1
    assert "fetching" in again.stderr and "cloning" not in again.stderr
    assert clone.git("rev-parse", "HEAD") == tip


def test_container_refuses_a_volume_that_is_not_a_clone(monorepo: Monorepo, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    (volume / "repo").mkdir(parents=True)
    (volume / "repo" / "stray").write_text("x")
    proc = run_container(cronjob(monorepo), volume, tmp_path)
    assert proc.returncode == 3
    assert "is not a git clone" in proc.stderr and proc.stdout == ""


def test_kubernetes_clones_the_origin_remote_without_credentials(monorepo: Monorepo) -> None:
    monorepo.work.git("remote", "set-url", "origin", "https://ci-bot:s3cr3t-t0ken@git.example.com/acme/mono.git")
    code, out, err = export("--format", "kubernetes", "--config", str(monorepo.config))
    assert code == 0, err
    container = next(yaml.safe_load_all(out))["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "DEPLOYWATCH_REPO_URL", "value": "https://git.example.com/acme/mono.git"} in container["env"]
    assert "s3cr3t" not in out + err and "credentials removed" in err
    monorepo.work.git("remote", "set-url", "origin", str(monorepo.bare))
    code, out, err = export("--format", "kubernetes", "--config", str(monorepo.config))
    assert (code, out) == (3, "") and err.count("\n") == 1 and "--repo-url" in err


def test_kubernetes_warns_about_what_the_container_lacks(monorepo: Monorepo, tmp_path: Path) -> None:
    extra = """
[services.web]
paths = ["web/**"]
deployed = { command = "./bin/deployed-sha web" }

[services.worker]
paths = ["worker/**"]
deployed = { kubernetes = { name = "worker" } }

[services.batch]
paths = ["batch/**"]
deployed = { file = "../outside/batch.sha" }
"""
    monorepo.config.write_text(CONFIG + extra, encoding="utf-8")
    code, out, err = export("--format", "kubernetes", "--config", str(monorepo.config), "--repo-url", monorepo.url)
    assert code == 0, err
    assert "deployed sources run programs: web (its command), worker (kubectl); build an image FROM it" in err
    assert "deployed files outside the repository are not in the container's clone: batch;" in err
    assert err.count("\n") == 2 and out.count("# WARNING: ") == 2


# ---------------------------------------------------------------- GitHub Actions


def test_workflow_installs_deploywatch_and_runs_the_job_on_a_checkout(monorepo: Monorepo, tmp_path: Path) -> None:
    requirement = "deploywatch @ git+https://git.example.com/acme/deploywatch@0123456789abcdef0123456789abcdef01234567"
    code, out, err = export("--format", "github-actions", "--config", str(monorepo.config), "--install", requirement)
    assert code == 0, err
    workflow = yaml.safe_load(out)
    assert [c["cron"] for c in workflow["on"]["schedule"]] == ["*/15 * * * *"]
    steps = workflow["jobs"]["drift"]["steps"]
    assert steps[0] == {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}}
    install, _ = (shlex.split(step["run"]) for step in steps if "run" in step)
    assert install[:4] == ["python", "-m", "pip", "install"] and len(install) == 5
    parsed = Requirement(install[4])
    assert (parsed.name, parsed.url) == ("deploywatch", requirement.split(" @ ")[1])

    # the job step, as a runner runs it: bash -e in a full checkout of the repository
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", monorepo.url, str(checkout)], check=True, timeout=60, env=clean_env())
    run = next(step["run"] for step in steps if "run" in step and "pip" not in step["run"])
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run], cwd=checkout,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "api" in proc.stdout


def test_workflow_without_a_reachable_deploywatch_is_an_error(monorepo: Monorepo) -> None:
    code, out, err = export("--format", "github-actions", "--config", str(monorepo.config))
    expected = install_requirement()
    if expected is None:  # this deploywatch is a local (editable) checkout: nothing a runner could install
        assert (code, out) == (3, "") and err.count("\n") == 1 and "--install" in err
    else:
        assert code == 0 and shlex.join(["python", "-m", "pip", "install", expected]) in out


def _distribution(tmp_path: Path, direct_url: dict[str, Any] | None) -> metadata.Distribution:
    info = tmp_path / "deploywatch-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: deploywatch\nVersion: 0.1.0\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    return metadata.PathDistribution(info)


@pytest.mark.parametrize(("direct_url", "expected"), [
    (None, "deploywatch==0.1.0"),
    ({"url": "https://git.example.com/acme/deploywatch", "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
     "deploywatch @ git+https://git.example.com/acme/deploywatch@abc123"),
    ({"url": "https://x-access-token:ghs_secret@git.example.com/acme/deploywatch",
      "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
     "deploywatch @ git+https://git.example.com/acme/deploywatch@abc123"),
    ({"url": "ssh://git@git.example.com/acme/deploywatch", "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
     "deploywatch @ git+ssh://git@git.example.com/acme/deploywatch@abc123"),
    ({"url": "https://files.example.com/deploywatch-0.1.0-py3-none-any.whl", "archive_info": {}},
     "deploywatch @ https://files.example.com/deploywatch-0.1.0-py3-none-any.whl"),
    ({"url": "file:///home/me/deploywatch", "dir_info": {"editable": True}}, None),
    ({"url": "file:///tmp/deploywatch-0.1.0-py3-none-any.whl", "archive_info": {}}, None),
])
def test_install_requirement_follows_where_deploywatch_came_from(tmp_path: Path, direct_url: dict[str, Any] | None,
                                                                 expected: str | None) -> None:
    assert install_requirement(_distribution(tmp_path, direct_url)) == expected


def test_without_credentials() -> None:
    assert without_credentials("https://tok@h.example/r.git") == "https://h.example/r.git"
    assert without_credentials("https://u:p@h.example:8443/r.git") == "https://h.example:8443/r.git"
    assert without_credentials("ssh://git:pw@h.example/r.git") == "ssh://git@h.example/r.git"
    assert without_credentials("git@h.example:acme/r.git") == "git@h.example:acme/r.git"


# ---------------------------------------------------------------- crontab and systemd run on this machine


def test_crontab_line_runs_as_cron_would(monorepo: Monorepo, tmp_path: Path) -> None:
    monorepo.change_api()  # one relevant commit behind: the job exits 1, so it did run drift on this config
    code, out, err = export("--format", "crontab", "--config", str(monorepo.config))
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if ln.startswith("*/15 "))
    command = line.split(" ", 5)[5].replace("\\%", "%")  # cron: the rest of the line, `\%` a literal `%`
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh"}, check=False)
    assert proc.returncode == 1, proc.stderr
    assert (monorepo.work.path / ".deploywatch-drift.lock").exists()


def test_systemd_service_runs_as_systemd_would(monorepo: Monorepo, tmp_path: Path) -> None:
    monorepo.change_api()
    code, out, err = export("--format", "systemd", "--config", str(monorepo.config))
    assert code == 0, err
    units = dict(re.findall(r"### (\S+)\n(.*?)(?=\n### |\Z)", out, flags=re.S))
    if shutil.which("systemd-analyze"):  # systemd's own reading of the units, where it is installed
        for name, body in units.items():
            (tmp_path / name).write_text(body, encoding="utf-8")
        verify = subprocess.run(["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in units)],
                                capture_output=True, text=True, timeout=60, check=False)
        assert verify.returncode == 0, verify.stderr
    service = units["deploywatch-drift.service"]
    values = dict(re.findall(r"^(\w+)=(.*)$", service, flags=re.M))
    # systemd's own unescaping of ExecStart=: %% is %, $$ is $, then shell-like quoting
    argv = shlex.split(values["ExecStart"].replace("%%", "%").replace("$$", "$"))
    assert Path(argv[0]).is_absolute()  # systemd needs an absolute path
    proc = subprocess.run(argv, cwd=shlex.split(values["WorkingDirectory"])[0], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "api" in proc.stdout
