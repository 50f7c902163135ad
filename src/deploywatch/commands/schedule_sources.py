"""Where an exported job gets deploywatch and the watched repository from, so that it works as printed.

A GitHub Actions runner installs deploywatch with pip: from where this deploywatch was installed (a git URL
and commit, or a package index release), read from its PEP 610 ``direct_url.json``. A Kubernetes CronJob runs
the image built by deploywatch's ``Dockerfile``, whose entrypoint (``docker/entrypoint.sh``) clones the
repository into ``REPO_DIR`` — or fetches it when a volume kept the clone — and runs ``deploywatch ARGS``.
The constants below are the image's layout; a test holds them and the ``Dockerfile`` together.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..config import LoadedConfig
from ..core.errors import GitError, UsageError
from ..drift.git import Repo

__all__ = ["IMAGE_USER", "REPO_DIR", "WORKSPACE", "build_hint", "clone_branch", "clone_url", "config_in_repo",
           "container_gaps", "default_image", "install_requirement", "without_credentials"]

WORKSPACE = "/workspace"  # the image's VOLUME and WORKDIR: the CronJob mounts its volume here
REPO_DIR = f"{WORKSPACE}/repo"  # DEPLOYWATCH_REPO_DIR in the image: where the entrypoint keeps the clone
IMAGE_USER = 10001  # the image's USER (uid and gid); the pod's fsGroup makes the volume writable for it


def default_image() -> str:
    """The tag ``docker build -t`` is told to give the image (``deploywatch:VERSION``)."""
    from ..core.version import __version__

    return f"deploywatch:{__version__}"


def without_credentials(url: str) -> str:
    """``url`` without credentials: no userinfo at all over HTTP(S) (a token may stand as the user name), no
    password elsewhere (``ssh://git@host/…`` keeps its user)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    keep_user = parts.username and parts.scheme not in ("http", "https")
    netloc = f"{parts.username}@{host}" if keep_user else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def install_requirement(distribution: metadata.Distribution | None = None) -> str | None:
    """A pip requirement another machine can install this deploywatch from, or None when it came from a local
    directory or file (an editable checkout) that only this machine can reach."""
    dist = distribution or metadata.distribution("deploywatch")
    text = dist.read_text("direct_url.json")
    if text is None:  # installed from a package index
        return f"deploywatch=={dist.version}"
    try:
        info = json.loads(text)
    except ValueError:
        return None
    url = without_credentials(str(info.get("url", "")))
    vcs = info.get("vcs_info") or {}
    if vcs.get("vcs") == "git" and url:
        revision = vcs.get("commit_id") or vcs.get("requested_revision")
        return f"deploywatch @ git+{url}" + (f"@{revision}" if revision else "")
    if "archive_info" in info and url and not url.startswith("file:"):
        return f"deploywatch @ {url}"
    return None


def build_hint(requirement: str | None, image: str) -> str:
    """The ``docker build`` command that makes ``image`` from the same deploywatch source."""
    if requirement and requirement.startswith("deploywatch @ git+"):
        url, _, revision = requirement.removeprefix("deploywatch @ git+").rpartition("@")
        if url and "://" in url:
            return f"docker build -t {image} '{url}#{revision}'"
    return f"docker build -t {image} . (in a checkout of deploywatch at the version you run)"


def clone_url(loaded: LoadedConfig, given: str | None) -> str:
    """The URL the container clones: ``given``, else the repository's ``origin`` remote (as it is: the caller
    removes credentials with :func:`without_credentials` and says so)."""
    if given:
        return given
    repo = Repo(loaded.repo_path)
    try:
        has_origin = "origin" in repo.remotes()
        url = repo.output("remote", "get-url", "origin") if has_origin else ""
    except GitError as exc:
        raise UsageError(f"cannot read the clone URL of {loaded.repo_path}: {exc}; pass --repo-url URL") from None
    if not url:
        raise UsageError(f"{loaded.repo_path} has no 'origin' remote to clone in the container: "
                         "pass --repo-url URL (the URL the CronJob clones)")
    if Path(url).is_absolute() or url.startswith("file:"):
        raise UsageError(f"the 'origin' remote of {loaded.repo_path} is a local path, which a cluster cannot "
                         "reach: pass --repo-url URL (the URL the CronJob clones)")
    return url


def clone_branch(loaded: LoadedConfig) -> str:
    """The branch the container checks out: ``[repo] branch`` as the remote names it (``origin/main`` → main)."""
    return loaded.config.repo.branch.removeprefix("origin/").removeprefix("refs/heads/")


_PROGRAMS = {"command": "its command", "cloudrun": "gcloud", "kubernetes": "kubectl", "lambda": "aws",
             "cloudfunctions": "gcloud", "ecs": "aws", "argocd": "argocd", "helm": "helm"}


def container_gaps(loaded: LoadedConfig) -> list[str]:
    """What the services need that the image and the clone do not have: programs run by their deployed sources
    (the image has deploywatch and git only), and deployed files outside the repository."""
    needs_programs: list[str] = []
    outside: list[str] = []
    for name, service in loaded.config.services.items():
        kind = service.deployed.kind
        if kind in _PROGRAMS:
            needs_programs.append(f"{name} ({_PROGRAMS[kind]})")
        elif kind == "file" and service.deployed.file is not None:
            try:
                loaded.resolve(service.deployed.file).relative_to(loaded.repo_path)
            except ValueError:
                outside.append(name)
    gaps = []
    if needs_programs:
        gaps.append(f"the image has deploywatch and git only, but deployed sources run programs: "
                    f"{', '.join(needs_programs)}; build an image FROM it that adds them (and their credentials) "
                    "and pass it with --image")
    if outside:
        gaps.append(f"deployed files outside the repository are not in the container's clone: {', '.join(outside)}; "
                    "commit them, or use a url source")
    return gaps


def config_in_repo(loaded: LoadedConfig) -> str | None:
    """The config's path inside the repository (as a clone has it), or None when it lives outside."""
    try:
        return loaded.path.resolve().relative_to(loaded.repo_path).as_posix()
    except ValueError:
        return None
