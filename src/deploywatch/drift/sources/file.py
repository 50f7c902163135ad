"""``deployed = { file = "…" }``: a file holding a SHA, or a Dockerflow ``version.json``."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from ...config.file import DEFAULT_VERSION_FIELD
from .base import Reading, parse_revision, parse_version_document

__all__ = ["FileSource"]

_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class FileSource:
    """Reads the deployed commit from a file (plain SHA or tag, or JSON with a ``field``)."""

    path: Path
    shown_path: str
    field: str = DEFAULT_VERSION_FIELD

    @property
    def description(self) -> str:
        """``file PATH``."""
        return f"file {self.shown_path}"

    def read(self) -> Reading:
        """Read the file now."""
        try:
            mode = self.path.stat().st_mode
            if not stat.S_ISREG(mode):  # a FIFO or a device would block the read
                kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
                return Reading(self.description, None, f"{self.shown_path} is {kind}; expected a file holding a SHA")
            with self.path.open("rb") as handle:
                data = handle.read(_MAX_BYTES + 1)
        except FileNotFoundError:
            return Reading(self.description, None, f"file {self.shown_path} does not exist")
        except OSError as exc:
            return Reading(self.description, None, f"cannot read {self.shown_path}: {exc.strerror}")
        if len(data) > _MAX_BYTES:
            return Reading(self.description, None, f"{self.shown_path} is larger than 1 MiB; expected a SHA")
        try:
            # utf-8-sig: a byte-order mark (Windows editors write one) is not part of the SHA
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return Reading(self.description, None, f"{self.shown_path} is not UTF-8 text; expected a SHA")
        try:
            value = (parse_version_document(text, self.field) if text.lstrip().startswith("{")
                     else parse_revision(text))
        except ValueError as exc:
            return Reading(self.description, None, f"{self.shown_path}: {exc}")
        return Reading(self.description, value)
