"""Alert figures: notifications per sink and kind in the window, from the outbox (sent, waiting, dead)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["AlertCount", "alert_counts"]


@dataclass
class AlertCount:
    """Notifications of one kind to one sink: ``sent`` delivered, ``waiting`` pending, ``dead`` given up."""

    sink: str
    kind: str
    sent: int = 0
    waiting: int = 0
    dead: int = 0


def alert_counts(outbox: Sequence[tuple[str, str, datetime, Mapping[str, Any]]]) -> list[AlertCount]:
    """Every notification of every outbox row created in the window (a row may carry several), by sink and kind; a
    scheduled report's row counts once, as kind ``report``."""
    counts: dict[tuple[str, str], AlertCount] = {}
    for sink, state, _, payload in outbox:
        notifications = payload.get("notifications") if isinstance(payload, Mapping) else None
        if isinstance(payload, Mapping) and payload.get("kind") == "report":
            notifications = [{"kind": "report"}]  # a scheduled report: one message, no notifications
        for notification in notifications if isinstance(notifications, list) else [{}]:
            kind = str(notification.get("kind") or "unknown") if isinstance(notification, Mapping) else "unknown"
            count = counts.setdefault((sink, kind), AlertCount(sink, kind))
            if state == "delivered":
                count.sent += 1
            elif state == "dead":
                count.dead += 1
            else:
                count.waiting += 1
    return [counts[key] for key in sorted(counts)]
