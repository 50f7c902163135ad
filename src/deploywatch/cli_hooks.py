"""The ``hooks`` command group (``install``, ``uninstall``, ``run``) for the click group (registered by ``cli.py``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from .commands.options import config_option, parse_now

__all__ = ["COMMANDS", "hooks"]

_HOOKS = ("pre-push", "post-merge")  # deploy/hooks.py HOOK_TYPES, spelled here so --help stays fast


@click.group()
def hooks() -> None:
    """Git hooks that name the services a push or a merge affects."""


@hooks.command("install")
@click.option("--pre-push", "pre_push", is_flag=True,
              help="Install the pre-push hook: affected services and their deploy commands (the default).")
@click.option("--post-merge", "post_merge", is_flag=True,
              help="Install the post-merge hook: services the merge affected and their drift.")
@click.option("--block-on-drift", is_flag=True,
              help="The pre-push hook stops the push when an affected service's drift is critical.")
@click.option("--force", is_flag=True,
              help="Replace an existing <hook>.deploywatch-backup when another hook must be chained.")
@config_option
def hooks_install(pre_push: bool, post_merge: bool, block_on_drift: bool, force: bool,
                  config_path: Path | None) -> int:
    """Install deploywatch's git hooks in the config's repository (an existing hook is kept and runs first)."""
    from .commands import hooks as command

    chosen = [name for name, wanted in (("pre-push", pre_push), ("post-merge", post_merge)) if wanted]
    return command.install(config_path=config_path, hooks=chosen, block_on_drift=block_on_drift, force=force)


@hooks.command("uninstall")
@config_option
def hooks_uninstall(config_path: Path | None) -> int:
    """Remove deploywatch's git hooks and restore the hooks they had replaced."""
    from .commands import hooks as command

    return command.uninstall(config_path=config_path)


@hooks.command("run")
@click.argument("hook", type=click.Choice(_HOOKS))
@click.argument("git_args", nargs=-1)
@click.option("--block-on-drift", is_flag=True, help="Exit 2 when an affected service's drift is critical.")
@click.option("--now", callback=parse_now, metavar="ISO8601", help="Fix 'now' for drift ages.")
@config_option
def hooks_run(hook: str, git_args: tuple[str, ...], block_on_drift: bool, now: datetime,
              config_path: Path | None) -> int:
    """What an installed HOOK runs (git's arguments are accepted and ignored); never fails a push by itself."""
    from .commands import hooks as command

    del git_args  # the remote's name and URL, or post-merge's squash flag: nothing deploywatch needs
    return command.run_hook(hook, config_path=config_path, block_on_drift=block_on_drift, now=now)


COMMANDS = (hooks,)
