"""The report document as titled tables with their notes: what the terminal, Markdown and HTML forms all show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.durations import format_age

__all__ = ["Section", "sections"]


@dataclass(frozen=True)
class Section:
    """One table of the report: a title, headers, rows of text, and how its figures were computed."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str]


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else format_age(seconds)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _delivery_row(name: str, one: dict[str, Any]) -> list[str]:
    lead, recovery = one["lead_time_seconds"], one["recovery_time_seconds"]
    return [name, str(one["deploys"]), f"{one['deploys_per_week']:.2f}", str(lead["count"]), _age(lead["median"]),
            _age(lead["p90"]), f"{one['failed_changes']}/{one['changes']}", _share(one["change_failure_rate"]),
            _age(recovery["median"]) + (f" ({recovery['unrecovered']} open)" if recovery["unrecovered"] else "")]


def sections(document: dict[str, Any]) -> list[Section]:
    """The report's tables, in the order every format shows them."""
    notes = document["notes"]
    delivery = document["delivery"]
    found = [Section(
        "Delivery", ["Service", "Deploys", "Per week", "Commits", "Lead time median", "Lead time p90",
                     "Failed changes", "Change failure rate", "Recovery median"],
        [_delivery_row(one["service"], one) for one in delivery["services"]]
        + [_delivery_row("all services", delivery["overall"])],
        [f"{name}: {notes[key]}" for name, key in (("Per week", "deploys_per_week"), ("Lead time", "lead_time"),
                                                  ("Change failure rate", "change_failure_rate"),
                                                  ("Recovery", "recovery_time"))])]
    found.append(Section(
        "Drift", ["Service", "Runs", "At warning or worse", "Episodes", "Longest episode", "Peak relevant behind",
                  "Now", "Oldest waiting since"],
        [[d["service"], str(d["runs"]), _share(d["bad_share"]), str(len(d["episodes"])),
          _age(max((e["duration_seconds"] for e in d["episodes"]), default=None)),
          str(max((e["peak_relevant_behind"] or 0 for e in d["episodes"]), default=0)),
          f"{d['status_now'] or '-'} ({d['relevant_behind_now'] if d['relevant_behind_now'] is not None else '-'} "
          "relevant behind)", d["oldest_waiting_since"] or "-"] for d in document["drift"]],
        [f"At warning or worse: {notes['drift_bad_share']}", f"Episodes: {notes['drift_episodes']}",
         f"Oldest waiting: {notes['oldest_waiting']}"]))
    found.append(Section(
        "Data checks", ["Check", "Runs", "Ok", "SLO", "Met", "Incidents", "Anomalies"],
        [[c["check"], str(c["runs"]), _share(c["ok_share"]), c["slo"] or "-",
          {True: "yes", False: "NO", None: "-"}[c["slo_met"]], str(len(c["incidents"])), str(c["anomalies"])]
         for c in document["data"]["checks"]],
        [f"Ok: {notes['check_ok_share']}"]))
    found.append(Section(
        "Phases", ["Phase", "Dates due", "On time", "Share"],
        [[p["phase"], str(p["dates"]), str(p["on_time"]), _share(p["on_time_share"])]
         for p in document["data"]["phases"]],
        [f"On time: {notes['phase_on_time']}"]))
    found.append(Section(
        "Alerts", ["Sink", "Kind", "Sent", "Waiting", "Dead"],
        [[a["sink"], a["kind"], str(a["sent"]), str(a["waiting"]), str(a["dead"])] for a in document["alerts"]],
        [f"Alerts: {notes['alerts']}"]))
    return found
