"""The report as one self-contained HTML file: Jinja2 templates shipped in the package, inline SVG bars, no JS."""

from __future__ import annotations

from typing import Any

from .sections import sections

__all__ = ["render_html", "svg_bars"]


def svg_bars(items: list[tuple[str, float]], *, unit: str, width: int = 520) -> str:
    """A horizontal bar chart of ``(label, value)`` as inline SVG (values scaled to the largest)."""
    from markupsafe import escape

    if not items:
        return ""
    top = max(value for _, value in items) or 1.0
    row, label_width = 22, 160
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{row * len(items) + 4}" '
             f'role="img" aria-label="{escape(unit)}">']
    for k, (label, value) in enumerate(items):
        y = k * row + 2
        bar = (width - label_width - 90) * value / top
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>'
                     f'<rect x="{label_width}" y="{y + 3}" width="{bar:.1f}" height="{row - 8}" fill="#4a7bd0"/>'
                     f'<text x="{label_width + bar + 4:.1f}" y="{y + 15}" font-size="12">{value:.1f} {escape(unit)}'
                     '</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(document: dict[str, Any]) -> str:
    """The whole page (autoescaped; the plots are built here, so no template runs outside text unescaped)."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(loader=jinja2.PackageLoader("deploywatch.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    delivery = document["delivery"]["services"]
    lead_plot = svg_bars([(d["service"], d["lead_time_seconds"]["median"] / 3600) for d in delivery
                          if d["lead_time_seconds"]["median"] is not None], unit="h median lead time")
    drift_plot = svg_bars([(d["service"], d["bad_share"] * 100) for d in document["drift"]
                           if d["bad_share"] is not None], unit="% at warning or worse")
    return env.get_template("report.html").render(
        doc=document, sections=sections(document), lead_plot=Markup(lead_plot), drift_plot=Markup(drift_plot))
