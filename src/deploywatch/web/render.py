"""The dashboard's HTML: the Jinja2 environment (every value masked as it is written) and the security headers.

Templates live in ``web/templates/`` (partials start with ``_``), static files in ``web/static/`` (third-party files
carry their version in the name); both ship as package data. Every page is sent with a strict Content-Security-Policy:
no inline script or style, nothing from another origin.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from ..core.durations import format_age, format_timestamp
from ..core.redact import mask
from ..core.render import short
from ..core.text import printable
from ..core.units import format_value

__all__ = ["CSP", "HTML_HEADERS", "STATIC_DIR", "TEMPLATE_DIR", "environment", "html", "render_text"]

TEMPLATE_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HTML_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


def _finalize(value: Any) -> Any:
    """Every ``{{ … }}`` passes here: text is masked and made printable before it is escaped, so no template can
    write a secret, whatever value it is given."""
    if isinstance(value, Markup):
        return Markup(mask(str(value)))
    if isinstance(value, str):
        return mask(printable(value))
    return "" if value is None else value


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else format_age(seconds)


def _when(value: datetime | None) -> str:
    return "-" if value is None else format_timestamp(value)


@functools.cache
def environment() -> Environment:
    """The dashboard's template environment (autoescaped, masked, undefined names an error)."""
    from jinja2 import StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(default=True),
                      finalize=_finalize, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(short=short, age=_age, when=_when, value=format_value)
    return env


def html(template: str, context: Mapping[str, Any], status: int = 200,
         headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """``template`` rendered with ``context``, sent with the security headers."""
    return HTMLResponse(render_text(template, context), status_code=status, headers={**HTML_HEADERS, **(headers or {})})


def render_text(template: str, context: Mapping[str, Any]) -> str:
    """``template`` rendered with ``context``."""
    return environment().get_template(template).render(**context)
