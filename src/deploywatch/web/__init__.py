"""The daemon's HTTP side: the Starlette API (:mod:`.app`), its OpenAPI document and the Prometheus metrics."""

from __future__ import annotations

from .app import DaemonContext, create_app
from .metrics import DaemonMetrics

__all__ = ["DaemonContext", "DaemonMetrics", "create_app"]
