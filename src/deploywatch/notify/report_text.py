"""What a sink says for the scheduled report: the headline figures of a ``deploywatch.report/v1`` document.

Slack gets a short Block Kit summary (deploys, lead time median, change failure rate, the services' share of time at
warning or worse, the SLOs missed) with a link to the dashboard; the webhook gets the document itself. Every figure
is read from the document, never recomputed, so the summary always equals ``deploywatch report --format json`` for
the same window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.durations import format_age
from ..core.text import cut, printable

__all__ = ["ReportFigures", "percent", "report_figures", "slack_report_payload"]

SHOWN = 5  # services and SLOs listed by name; the rest are counted


def percent(share: float | None) -> str:
    """A share as a percentage with one decimal (``0.125`` → ``12.5%``); ``-`` when unknown."""
    return "-" if share is None else f"{share * 100:.1f}%"


@dataclass(frozen=True)
class ReportFigures:
    """The headline figures of one report, as shown (strings)."""

    window: str  # "2026-01-05T09:00:00Z to 2026-01-12T09:00:00Z"
    deploys: str  # "12 (10.5 per week)"
    lead_time_median: str  # "3h 20m (14 commits)"
    change_failure_rate: str  # "8.3% (1 of 12)"
    drift: list[str]  # "web 12.5%" per service at warning or worse part of the time, worst first
    slos_missed: list[str]  # "coverage 44.7% (target 90%)"


def report_figures(document: Mapping[str, Any]) -> ReportFigures:
    """The headline figures of ``document`` (a ``deploywatch.report/v1`` document)."""
    overall = document["delivery"]["overall"]
    lead = overall["lead_time_seconds"]
    rate = overall["change_failure_rate"]
    drifted = sorted((d for d in document["drift"] if d.get("bad_share")), key=lambda d: (-d["bad_share"],
                                                                                        d["service"]))
    missed = [c for c in document["data"]["checks"] if c.get("slo_met") is False]
    return ReportFigures(
        window=f"{document['since']} to {document['until']}",
        deploys=f"{overall['deploys']} ({overall['deploys_per_week']:g} per week)",
        lead_time_median=(f"{format_age(lead['median'])} ({lead['count']} commits)" if lead["median"] is not None
                          else "-"),
        change_failure_rate=(f"{percent(rate)} ({overall['failed_changes']} of {overall['changes']})"
                             if rate is not None else "-"),
        drift=[f"{d['service']} {percent(d['bad_share'])}" for d in drifted],
        slos_missed=[f"{c['check']} {percent(c['ok_share'])} (target {c['slo']})" for c in missed],
    )


def slack_report_payload(document: Mapping[str, Any], dashboard_url: str | None) -> dict[str, Any]:
    """The Block Kit body of the report summary: a header, the figures as fields, the drifted services and missed
    SLOs, and a link to the dashboard when ``dashboard_url`` is set."""
    figures = report_figures(document)
    fields = [("Deploys", figures.deploys), ("Lead time (median)", figures.lead_time_median),
              ("Change failure rate", figures.change_failure_rate),
              ("SLOs missed", str(len(figures.slos_missed)))]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "📊 deploywatch report", "emoji": True}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(figures.window)}]},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{_esc(value)}"}
                                       for name, value in fields]},
        _section("*At warning or worse* (share of the time)", figures.drift, "no service"),
        _section("*SLOs missed*", figures.slos_missed, "none"),
    ]
    if dashboard_url:
        link = dashboard_url.replace("|", "%7C").replace(">", "%3E")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|Open the dashboard>"}]})
    text = (f"deploywatch report {figures.window}: {figures.deploys} deploys, lead time {figures.lead_time_median}, "
            f"change failure rate {figures.change_failure_rate}, {len(figures.slos_missed)} SLOs missed")
    return {"text": cut(printable(text), 3000), "blocks": blocks}


def _section(title: str, lines: Sequence[str], empty: str) -> dict[str, Any]:
    shown = [f"• {_esc(line)}" for line in lines[:SHOWN]]
    if len(lines) > SHOWN:
        shown.append(f"• …and {len(lines) - SHOWN} more")
    body = "\n".join(shown) if shown else empty
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(printable(f"{title}\n{body}"), 3000)}}


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
