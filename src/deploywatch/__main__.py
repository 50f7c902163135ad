"""``python -m deploywatch``."""

from deploywatch.cli import entry

entry()
