"""The exceptions deploywatch raises, in one place.

Every error a user can cause is a :class:`DeploywatchError`: the CLI prints its one-line
message and exits 3 (Nagios "unknown / could not run") without a traceback.

    DeploywatchError
    ├── ConfigError      the configuration is missing or invalid (names file, key path and line)
    ├── GitError         git is missing, failed, timed out, or the history cannot answer
    └── UsageError       a command-line argument is invalid (a revision that does not exist …)
"""

from __future__ import annotations

EXIT_UNKNOWN = 3


class DeploywatchError(Exception):
    """Base class for user-facing failures; ``str(err)`` is a complete one-line message."""

    exit_code = EXIT_UNKNOWN


class ConfigError(DeploywatchError):
    """The configuration file is missing, unreadable or invalid."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 line: int | None = None) -> None:
        self.file = file
        self.key = key
        self.line = line
        self.detail = message
        where = ""
        if file:
            where = file + (f":{line}" if line else "")
        if key:
            where = f"{where}: {key}" if where else key
        super().__init__(f"{where}: {message}" if where else message)


class GitError(DeploywatchError):
    """A git command failed, timed out, or git is not installed."""


class UsageError(DeploywatchError):
    """A command-line argument is invalid."""
