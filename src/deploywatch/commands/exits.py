"""How a ``deploywatch`` process ends: every error as one line and an exit code, a crash logged, a quick exit.

:func:`run` runs the click group and turns what it raised into an exit code (usage errors and
:class:`~deploywatch.core.errors.DeploywatchError` as one line on stderr; anything else written, masked, to a
crash log); :func:`exit_now` ends the process with that code without tearing the interpreter down.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

import click

from ..core.errors import EXIT_UNKNOWN, DeploywatchError

__all__ = ["exit_now", "run"]


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` at once, once the output is flushed and the exit handlers have run.

    Tearing the interpreter down (freeing every module, DuckDB's with its own) takes a tenth of a short
    canary's run; once the output is flushed and the exit handlers have run there is nothing left for it to
    do, so the process ends there, as mypy's does. While another thread is still running, or the output cannot
    be flushed, the exit is the usual one.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    if any(t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    os._exit(code)


def run(group: click.Group, argv: Sequence[str] | None = None) -> int:
    """Run ``group`` on ``argv`` (default: the process's arguments); return the exit code instead of raising
    ``SystemExit``."""
    try:
        result = group.main(args=list(argv) if argv is not None else None, prog_name="deploywatch",
                            standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("deploywatch: aborted", err=True)
        return EXIT_UNKNOWN
    except click.ClickException as exc:
        click.echo(f"deploywatch: error: {' '.join(exc.format_message().split())}", err=True)  # one line
        return EXIT_UNKNOWN
    except DeploywatchError as exc:
        click.echo(f"deploywatch: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("deploywatch: interrupted", err=True)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_UNKNOWN
    except Exception:
        return _crash()
    return int(result) if isinstance(result, int) else 0


def _crash() -> int:
    import tempfile
    import traceback

    from ..core.redact import mask

    fd, path = tempfile.mkstemp(prefix="deploywatch-crash-", suffix=".log")
    with os.fdopen(fd, "w") as handle:
        handle.write(mask(traceback.format_exc()))
    click.echo(mask(f"deploywatch: internal error: {sys.exc_info()[1]!r}; details written to {path}"), err=True)
    return EXIT_UNKNOWN
