"""JSON answers of the API: every string masked, dates as ISO 8601, no NaN; errors as ``{"error": …}``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from starlette.responses import JSONResponse

from ..core.durations import format_timestamp
from ..core.redact import mask

__all__ = ["answer", "error", "safe"]


def safe(value: Any) -> Any:
    """``value`` (JSON-able) with every string masked, dates as ISO 8601 and non-finite numbers as null (JSON has
    no NaN or infinity)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {mask(str(k)): safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe(v) for v in value]
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def answer(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSON answer, masked."""
    return JSONResponse(safe(payload), status_code=status, headers=dict(headers or {}))


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """``{"error": message}``."""
    return answer({"error": message}, status, headers)
