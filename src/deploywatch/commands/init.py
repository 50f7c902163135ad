"""``deploywatch init``: detect the services of the repository, say why, and write a commented config."""

from __future__ import annotations

import os
from pathlib import Path

from ..config.file import CONFIG_FILENAME
from ..core.errors import UsageError
from ..core.render import console, emit_json, styled
from ..core.text import plural
from ..drift.git import Repo
from ..init.detect import Detection, detect
from ..init.scan import scan
from ..init.write import config_text

__all__ = ["run"]


def run(*, repo_path: Path, config_path: Path | None, detect_only: bool, force: bool,
        output_format: str | None) -> int:
    """Detect (and unless ``detect_only`` write the config); an existing config without ``force`` exits 3."""
    repo = Repo(repo_path)
    repo.check()  # a directory inside a work tree becomes the work tree's top
    target = (config_path or repo.path / CONFIG_FILENAME).absolute()
    if target.is_dir():
        raise UsageError(f"{target} is a directory; --config names the file to write")
    if not detect_only and target.exists() and not force:
        raise UsageError(f"{target} exists; pass --force to overwrite it (or --detect to only print what init finds)")
    detection = detect(scan(repo))
    branch = _deployed_branch(repo)
    written = None
    if not detect_only:
        text = config_text(detection, repo_path=os.path.relpath(repo.path.resolve(), target.parent.resolve()),
                           branch=branch)
        _write_checked(target, text)
        written = target
    if output_format == "json":
        emit_json({"schema": "deploywatch.init/v1", "repo": str(repo.path), "branch": branch,
                   "config": str(written) if written else None,
                   "services": [s.to_json() for s in detection.services],
                   "skipped": [{"file": f, "why": why} for f, why in detection.skipped]})
        return 0
    _print(detection, repo.path, written)
    return 0


def _deployed_branch(repo: Repo) -> str:
    """The branch whose tip should be deployed: ``main`` or ``master`` when the repository has one (init is
    often run on a feature branch), else the branch checked out, else ``main``."""
    current = repo.current_branch()
    if current in ("main", "master"):
        return current
    found = repo.resolve_many(["refs/heads/main", "refs/heads/master"])
    return next((name.removeprefix("refs/heads/") for name, sha in found.items() if sha), current or "main")


def _write_checked(target: Path, text: str) -> None:
    """Write ``text`` beside ``target``, load it as the config (a bug here must not leave a broken file), then
    move it into place."""
    from ..config import DRIFT_SECTIONS, load_config

    partial = target.with_name(f".{target.name}.init")
    try:
        partial.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        load_config(partial, sections=DRIFT_SECTIONS)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _print(detection: Detection, repo: Path, written: Path | None) -> None:
    out = console()
    out.print(f"{repo}: {plural(len(detection.services), 'service')} found", markup=False)
    for service in detection.services:
        out.print(styled(f"\n{service.name}", "bold"))
        deployed = service.deployed
        source = deployed.toml() if deployed else "-"
        lines = [f"paths    {', '.join(service.paths)}", f"deployed {source}"]
        lines += [f"because  {file} ({why})" for file, why in service.evidence]
        lines += [f"shared   {d}/: {file} {why}" for d, (file, why) in sorted(service.shared.items())]
        if deployed and deployed.evidence:
            lines.append(f"source   {deployed.evidence[0]} ({deployed.evidence[1]})")
        for line in lines:
            out.print("  " + line, markup=False, soft_wrap=True)
    if detection.skipped:
        out.print(styled("\nnot services", "bold"))
        for file, why in detection.skipped:
            out.print(f"  {file}: {why}", markup=False, soft_wrap=True)
    if written is not None:
        out.print(f"\nwrote {written}; next: deploywatch config check --probe-sources", markup=False)
