"""Output for people (tables, Markdown) and for machines (JSON), from the same data.

Tables use rich: colour as ``--color`` and ``NO_COLOR`` say, the terminal's width or ``COLUMNS``, no trailing
spaces in a pipe. Markdown is GitHub-flavoured. Text from outside is shown through
:func:`~deploywatch.core.text.printable` in both.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .indented import indented_json
from .status import Status
from .text import json_text, printable

if TYPE_CHECKING:
    from rich.console import Console

    from .ci import CiCase

__all__ = ["COLOR_MODES", "Column", "console", "emit_json", "emit_report", "emit_text", "markdown_table",
           "markdown_text", "set_color", "short", "status_counts", "status_style", "styled", "table"]

_STYLES = {Status.OK: "green", Status.WARNING: "yellow", Status.UNKNOWN: "magenta", Status.CRITICAL: "bold red"}
Column = tuple[str, str]  # (header, justify)
Report = TypeVar("Report")


def short(sha: str | None, length: int = 8) -> str:
    """A short SHA, or ``-``."""
    return sha[:length] if sha else "-"


def status_style(status: Status) -> str:
    """The rich style for a status."""
    return _STYLES[status]


COLOR_MODES = ("auto", "always", "never")
_color_mode = "auto"
_PIPED_WIDTH = 160  # wide enough for every table when COLUMNS does not say otherwise
# Spaces that pad a line to the table's width, before any of rich's colour codes that close the line.
_TRAILING_SPACES = re.compile(r"[ ]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def set_color(mode: str) -> None:
    """``--color``: ``auto`` (colour on a terminal unless ``NO_COLOR`` is set to anything), ``always`` or
    ``never``; every :func:`console` made afterwards follows it."""
    global _color_mode  # noqa: PLW0603  (one process prints one command's output)
    if mode not in COLOR_MODES:
        raise ValueError(f"unknown colour mode {mode!r}")
    _color_mode = mode


def console() -> Console:
    """A console on stdout for people: colours as ``--color`` and ``NO_COLOR`` say, the terminal's width (or
    ``COLUMNS``, else 160 in a pipe), text from outside shown through :func:`~deploywatch.core.text.printable`, and
    no trailing spaces in a pipe."""
    tty = sys.stdout.isatty()
    colors: Literal["auto", "standard"] | None
    if _color_mode == "always":
        colors = "standard"  # what our styles need, whatever the terminal or pipe says it can do
    elif _color_mode == "never" or os.environ.get("NO_COLOR", "") != "" or not tty:
        colors = None
    else:
        colors = "auto"
    width = None if tty else _columns() or _PIPED_WIDTH
    return _console_class()(highlight=False, soft_wrap=False, width=width, force_terminal=tty,
                            color_system=colors, emoji=False, markup=False)


def _columns() -> int | None:
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


@functools.cache
def _console_class() -> type[Console]:
    from rich.console import Console
    from rich.segment import Segment
    from rich.text import Text

    class SafeConsole(Console):
        """A console that cannot be made to print a control character it was given as text."""

        def render_str(self, text: str, **options: Any) -> Text:
            # every str printed or put in a table passes here, before it is measured and laid out
            return super().render_str(printable(text), **options)

        def _render_buffer(self, buffer: Iterable[Segment]) -> str:
            # and anything that reached a Text another way (Text.append) is neutralised here, at the last step
            safe = (segment if segment.control else Segment(printable(segment.text), segment.style)
                    for segment in buffer)
            rendered = super()._render_buffer(safe)
            return rendered if self.is_terminal else _TRAILING_SPACES.sub(r"\1", rendered)

    return SafeConsole


def table(columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, title: str | None = None) -> Any:
    """A rich table; cells may be plain strings or rich renderables."""
    from rich import box
    from rich.table import Table

    result = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False,
                   show_edge=False)
    for header, justify in columns:
        result.add_column(header, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        result.add_row(*row)
    return result


def styled(text: str, style: str) -> Any:
    """Text with a rich style, no markup interpretation of ``text``."""
    from rich.text import Text

    return Text(printable(text), style=style)


def emit_json(document: dict[str, Any]) -> None:
    """Print a JSON document (UTF-8, indented)."""
    sys.stdout.write(json_text(indented_json(document)) + "\n")


def emit_report(output_format: str | None, report: Report, *, as_json: Callable[[Report], dict[str, Any]],
                markdown: Callable[[Report], str], text: Callable[[Report], None],
                ci: Callable[[Report], tuple[str, Sequence[CiCase]]] | None = None,
                now: datetime | None = None) -> None:
    """Print ``report`` as ``--format`` asks: ``json`` (the ``as_json`` document), ``markdown``, ``junit`` or
    ``github`` (the title and cases ``ci`` makes, see :mod:`deploywatch.core.ci`), else (``table``, the default)
    for people through ``text``."""
    if output_format == "json":
        emit_json(as_json(report))
    elif output_format == "markdown":
        emit_text(markdown(report))
    elif output_format in ("junit", "github") and ci is not None:
        from datetime import UTC

        from .ci import emit_ci

        title, cases = ci(report)
        emit_ci(output_format, title, cases, markdown=markdown(report), timestamp=now or datetime.now(UTC))
    else:
        text(report)


def emit_text(text: str) -> None:
    """Print text for people that does not go through rich (Markdown, plain lines): controls neutralised."""
    sys.stdout.write(printable(text) + "\n")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]~])")


def markdown_text(value: object) -> str:
    """Text from outside (a commit subject, a reason) shown as it is in Markdown: emphasis, code, links and HTML
    escaped, so that it cannot change the document's structure."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _md_cell(value: object) -> str:
    # a pipe would end the cell and a newline the row; an empty cell reads as a missing value
    text = " ".join(str(value).replace("|", "\\|").split())
    return text or "-"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; cells are Markdown (see :func:`markdown_text`), an empty one shows
    ``-``."""
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def status_counts(statuses: Sequence[Status]) -> str:
    """``1 critical, 2 warning, 3 ok``, worst first."""
    parts = []
    for status in sorted(set(statuses), key=lambda s: -s.severity):
        parts.append(f"{sum(1 for s in statuses if s is status)} {status}")
    return ", ".join(parts) if parts else "nothing measured"
