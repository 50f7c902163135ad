"""Finding details as the drift and check collectors report them, for the notifications the sink tests send."""

from __future__ import annotations

from typing import Any

from deploywatch.core.status import Status

__all__ = ["COMMIT", "drift_details", "freshness_details"]

COMMIT = {"sha": "9f2c1e7a5b3d4c6e8f0a1b2c3d4e5f6a7b8c9d0e", "subject": "predictions: retry timeouts",
          "author": "Ada Lovelace", "on_branch_at": "2026-05-03T06:00:00Z"}


def drift_details(subject: str, status: Status, **overrides: Any) -> dict[str, Any]:
    """A drifted service 14 commits behind (3 relevant, one listed), with ``overrides`` applied."""
    return {
        "service": subject, "group": "predictions", "state": "behind", "status": status.value,
        "deployed_commit": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "tip": "ffeeddccbbaa99887766554433221100ffeeddcc", "commits_behind": 14, "relevant_commits_behind": 3,
        "commits_ahead": 0, "drift_age_seconds": 93600, "reason": "3 relevant commits behind, oldest 26h",
        "deploy": "kubectl rollout restart deploy/prediction-worker", "commits": [COMMIT], **overrides,
    }


def freshness_details(status: Status, **overrides: Any) -> dict[str, Any]:
    """The freshness check ``orders_fresh`` at 14h (warn > 12h, critical > 24h), with ``overrides`` applied."""
    return {
        "name": "orders_fresh", "phase": "post-load", "table": "analytics.orders", "group": None,
        "metric": "freshness(updated_at)", "value": 50400, "unit": "seconds", "status": status.value,
        "warn": "> 12h", "critical": "> 24h", "reason": "14h is above the warn threshold 12h", "anomaly": None,
        **overrides,
    }
