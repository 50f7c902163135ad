"""deploywatch's git hooks on disk: where they go, the script they run, install with a chained backup, uninstall."""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UsageError
from ..drift.git import Repo

__all__ = ["BACKUP_SUFFIX", "HOOK_TYPES", "MARKER", "HookChange", "hooks_dir", "install_hook", "is_ours",
           "render_hook", "uninstall_hook"]

HOOK_TYPES = ("pre-push", "post-merge")
MARKER = "# deploywatch-hook: installed by 'deploywatch hooks install'; remove with 'deploywatch hooks uninstall'"
BACKUP_SUFFIX = ".deploywatch-backup"
BLOCK_EXIT = 2  # what 'deploywatch hooks run' exits with to block (1 is Python's own failure, 3 ours)

# $1 hook type. The hook's stdin is read once: git's ref lines go to the chained hook and to deploywatch.
_TEMPLATE = """#!/bin/sh
{marker}
# A failure of deploywatch itself never blocks; only a critical drift with --block-on-drift does.
hook_dir=$(dirname "$0")
input=$(cat)
if [ -x "$hook_dir/{hook}{suffix}" ]; then
    printf '%s\\n' "$input" | "$hook_dir/{hook}{suffix}" "$@" || exit $?
fi
python={python}
if [ ! -x "$python" ]; then
    echo "deploywatch: $python is gone; reinstall with 'deploywatch hooks install' ({hook} hook skipped)" >&2
    exit 0
fi
printf '%s\\n' "$input" | "$python" -m deploywatch hooks run {hook} --config {config}{block} "$@"
status=$?
if [ "$status" -eq {block_exit} ]; then
    exit 1
elif [ "$status" -ne 0 ]; then
    echo "deploywatch: the {hook} hook failed (exit $status); not blocking" >&2
fi
exit 0
"""


@dataclass(frozen=True)
class HookChange:
    """What installing or uninstalling did to one hook file, as a line for people."""

    hook: str
    path: Path
    action: str  # installed, updated, chained, removed, restored, absent, foreign

    def describe(self) -> str:
        """One line: the hook, where, and what happened to a hook that was there."""
        backup = f"{self.hook}{BACKUP_SUFFIX}"
        return {
            "installed": f"installed the {self.hook} hook: {self.path}",
            "updated": f"updated the {self.hook} hook: {self.path}",
            "chained": f"installed the {self.hook} hook: {self.path} (the existing hook was moved to {backup} "
                       "and runs first; its failure still stops the push)",
            "removed": f"removed the {self.hook} hook: {self.path}",
            "restored": f"removed the {self.hook} hook and restored the previous one from {backup}: {self.path}",
            "absent": f"no deploywatch {self.hook} hook in {self.path.parent}",
            "foreign": f"left {self.path} alone: it is not deploywatch's hook",
        }[self.action]


def hooks_dir(repo: Repo) -> Path:
    """The directory git runs hooks from (``git rev-parse --git-path hooks``: honours ``core.hooksPath``)."""
    found = Path(repo.output("rev-parse", "--git-path", "hooks"))
    return found if found.is_absolute() else repo.path / found


def is_ours(path: Path) -> bool:
    """Whether the file at ``path`` is a hook deploywatch wrote (it carries :data:`MARKER`)."""
    try:
        return path.is_file() and MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def render_hook(hook: str, *, python: str, config: Path, block_on_drift: bool) -> str:
    """The POSIX sh script of ``hook``: run a chained backup first, then ``python -m deploywatch hooks run``."""
    return _TEMPLATE.format(marker=MARKER, hook=hook, suffix=BACKUP_SUFFIX, python=shlex.quote(python),
                            config=shlex.quote(str(config)), block=" --block-on-drift" if block_on_drift else "",
                            block_exit=BLOCK_EXIT)


def install_hook(directory: Path, hook: str, script: str, *, force: bool) -> HookChange:
    """Write ``script`` as ``directory/hook``; a hook that is not ours is kept as the backup and chained.

    A second foreign hook while a backup exists would lose the first: refused unless ``force``."""
    path = directory / hook
    backup = directory / f"{hook}{BACKUP_SUFFIX}"
    directory.mkdir(parents=True, exist_ok=True)
    action = "installed"
    if is_ours(path):
        action = "updated"
    elif path.is_symlink() or path.exists():
        if path.is_dir() and not path.is_symlink():
            raise UsageError(f"{path} is a directory, not a hook; move it away first")
        if (backup.exists() or backup.is_symlink()) and not force:
            raise UsageError(f"{path} is not deploywatch's and {backup.name} already exists; move one of them "
                             f"away, or use --force to replace {backup.name} with it")
        os.replace(path, backup)  # keeps content, mode and a symlink as it was
        action = "chained"
    temporary = path.with_name(f".{hook}.deploywatch-new")
    temporary.write_text(script, encoding="utf-8")
    temporary.chmod(temporary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(temporary, path)
    return HookChange(hook, path, action)


def uninstall_hook(directory: Path, hook: str) -> HookChange:
    """Remove deploywatch's ``hook`` and put its backup back exactly as it was; leave a foreign hook alone."""
    path = directory / hook
    backup = directory / f"{hook}{BACKUP_SUFFIX}"
    if not is_ours(path):
        return HookChange(hook, path, "foreign" if path.exists() or path.is_symlink() else "absent")
    if backup.exists() or backup.is_symlink():
        os.replace(backup, path)
        return HookChange(hook, path, "restored")
    path.unlink()
    return HookChange(hook, path, "removed")
