"""Output for people (tables, Markdown) and for machines (JSON), from the same data.

Tables use rich (colour on a terminal, plain text in a pipe); Markdown is GitHub-flavoured.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .status import Status

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Column", "console", "emit_json", "emit_report", "markdown_table", "short", "status_style", "table"]

_STYLES = {Status.OK: "green", Status.WARNING: "yellow", Status.UNKNOWN: "magenta", Status.CRITICAL: "bold red"}
Column = tuple[str, str]  # (header, justify)
Report = TypeVar("Report")


def short(sha: str | None, length: int = 8) -> str:
    """A short SHA, or ``-``."""
    return sha[:length] if sha else "-"


def status_style(status: Status) -> str:
    """The rich style for a status."""
    return _STYLES[status]


def console() -> Console:
    """A console on stdout: colour on a terminal, plain and wide enough in a pipe."""
    from rich.console import Console

    tty = sys.stdout.isatty()
    return Console(highlight=False, soft_wrap=False, width=None if tty else 160, no_color=not tty,
                   emoji=False, markup=True)


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

    return Text(text, style=style)


def emit_json(document: dict[str, Any]) -> None:
    """Print a JSON document (UTF-8, indented)."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def emit_report(output_format: str | None, report: Report, *, as_json: Callable[[Report], dict[str, Any]],
                markdown: Callable[[Report], str], text: Callable[[Report], None]) -> None:
    """Print ``report`` as ``--format`` asks: ``json`` (the ``as_json`` document), ``markdown``, else (``table``,
    the default) for people through ``text``."""
    if output_format == "json":
        emit_json(as_json(report))
    elif output_format == "markdown":
        print(markdown(report))
    else:
        text(report)


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def status_counts(statuses: Sequence[Status]) -> str:
    """``1 critical, 2 warning, 3 ok``, worst first."""
    parts = []
    for status in sorted(set(statuses), key=lambda s: -s.severity):
        parts.append(f"{sum(1 for s in statuses if s is status)} {status}")
    return ", ".join(parts) if parts else "nothing measured"
