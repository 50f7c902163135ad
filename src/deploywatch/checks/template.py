"""``{{ yesterday }}`` and friends in ``where`` and ``query``: dates from ``--date`` and ``--now``.

``now`` is the run's instant (ISO 8601, UTC); ``today`` is its date in the warehouse time zone;
``run_date`` (also ``date``) is ``--date`` when given, else ``today``; ``yesterday`` is the day before
``run_date``. Only these names exist: an unknown name is a config error, not an empty string.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..core.durations import format_timestamp

__all__ = ["TEMPLATE_NAMES", "TemplateError", "render", "template_names", "template_variables"]

TEMPLATE_NAMES = ("today", "yesterday", "run_date", "date", "now")
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class TemplateError(ValueError):
    """A ``{{ name }}`` that is not one of :data:`TEMPLATE_NAMES`, or a stray ``{{``."""


def template_variables(now: datetime, run_date: date | None, timezone: str = "UTC") -> dict[str, str]:
    """The values of every template name for a run at ``now`` about ``run_date``."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    day = run_date or today
    return {"today": today.isoformat(), "yesterday": (day - timedelta(days=1)).isoformat(),
            "run_date": day.isoformat(), "date": day.isoformat(), "now": format_timestamp(now)}


def template_names(text: str) -> set[str]:
    """The known names ``text`` uses as ``{{ name }}``."""
    return {name for name in _PLACEHOLDER.findall(text) if name in TEMPLATE_NAMES}


def render(text: str, variables: dict[str, str]) -> str:
    """``text`` with every ``{{ name }}`` replaced; raise :class:`TemplateError` for unknown names."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise TemplateError(f"unknown template variable {{{{ {name} }}}}: expected one of "
                                f"{', '.join(TEMPLATE_NAMES)}")
        return variables[name]

    rendered = _PLACEHOLDER.sub(replace, text)
    if "{{" in rendered or "}}" in rendered:
        raise TemplateError("unbalanced '{{' or '}}' in template")
    return rendered
