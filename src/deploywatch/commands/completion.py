"""``deploywatch completion SHELL``: the shell completion script for bash, zsh or fish.

The script is click's own (the one ``_DEPLOYWATCH_COMPLETE=bash_source deploywatch`` prints): sourced, it
registers a completion function that calls ``deploywatch`` back with ``_DEPLOYWATCH_COMPLETE=bash_complete``
and the words typed so far, so what is offered always matches the installed version's commands and options.
"""

from __future__ import annotations

import sys

import click
from click.shell_completion import get_completion_class

__all__ = ["COMPLETE_VAR", "PROG_NAME", "run", "script"]

PROG_NAME = "deploywatch"
COMPLETE_VAR = "_DEPLOYWATCH_COMPLETE"


def script(command: click.Command, shell: str) -> str:
    """The completion script for ``shell`` (bash, zsh or fish) for the ``deploywatch`` command group."""
    completer = get_completion_class(shell)
    if completer is None:
        raise click.BadParameter(f"no shell completion for {shell!r}", param_hint="SHELL")
    # The template, not ShellComplete.source(): for bash that first runs `bash` to check its version (without
    # a timeout, on stderr); the script is printed for a shell that may not be this machine's.
    return completer.source_template % completer(command, {}, PROG_NAME, COMPLETE_VAR).source_vars()


def run(command: click.Command, shell: str) -> int:
    """Print the completion script for ``shell``; exit 0."""
    sys.stdout.write(script(command, shell))
    return 0
