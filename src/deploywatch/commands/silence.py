"""``deploywatch silence add|list|expire``: keep matching findings from being sent for a while."""

from __future__ import annotations

import getpass
import os
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks.validate import load_config
from ..config import COMMAND_SECTIONS
from ..core.durations import format_age, format_timestamp, parse_duration
from ..core.errors import UsageError
from ..core.render import console, emit_json, styled, table

if TYPE_CHECKING:
    from ..store.alerts import SilenceRecord

__all__ = ["add", "expire", "list_silences"]


def _author() -> str:
    if os.environ.get("DEPLOYWATCH_USER"):
        return os.environ["DEPLOYWATCH_USER"]
    try:
        return getpass.getuser()  # LOGNAME, USER, LNAME, USERNAME, then the password database
    except Exception:
        return "unknown"


def _json(record: SilenceRecord, now: datetime) -> dict[str, Any]:
    from ..notify.matchers import matcher_from_json

    end = record.expired_at or record.ends_at
    return {"id": record.id, "matchers": [str(matcher_from_json(m)) for m in record.matchers],
            "comment": record.comment, "created_by": record.created_by,
            "created_at": format_timestamp(record.created_at), "starts_at": format_timestamp(record.starts_at),
            "ends_at": format_timestamp(end), "active": record.active(now)}


def add(matchers: Sequence[str], *, duration: str, comment: str, author: str | None, config_path: Path | None,
        output_format: str | None, now: datetime) -> int:
    """Create a silence; print its id."""
    from ..checks.runner import open_store
    from ..notify.matchers import parse_matcher
    from ..store.alerts import SilenceRecord

    if not matchers:
        raise UsageError("give at least one --match NAME=VALUE (e.g. --match service=prediction-worker)")
    parsed = [parse_matcher(m) for m in matchers]
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None
    if not comment.strip():
        raise UsageError("--comment must say why (it is shown with the silence)")
    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    record = SilenceRecord(id=secrets.token_hex(4), matchers=[m.as_json() for m in parsed], comment=comment.strip(),
                           created_by=author or _author(), created_at=now, starts_at=now,
                           ends_at=now + timedelta(seconds=seconds))
    with open_store(loaded) as store:
        store.add_silence(record)
    if (output_format or "table") == "json":
        emit_json({"schema": "deploywatch.silence/v1", **_json(record, now)})
    else:
        console().print(f"silence {record.id} added: {' '.join(str(m) for m in parsed)} until "
                        f"{format_timestamp(record.ends_at)} ({format_age(seconds)})")
    return 0


def list_silences(*, config_path: Path | None, output_format: str | None, now: datetime, include_expired: bool) -> int:
    """List silences (active ones, or every one with ``include_expired``)."""
    from ..checks.runner import open_store

    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    with open_store(loaded) as store:
        records = store.silences(now=now, include_expired=include_expired)
    items = [_json(r, now) for r in records]
    if (output_format or "table") == "json":
        emit_json({"schema": "deploywatch.silences/v1", "silences": items})
    elif not items:
        console().print("no silences" if include_expired else "no active silences")
    else:
        columns = [("ID", "left"), ("MATCHERS", "left"), ("ENDS", "left"), ("LEFT", "right"), ("BY", "left"),
                   ("COMMENT", "left")]
        rows = [[i["id"], " ".join(i["matchers"]), i["ends_at"],
                 format_age((r.ends_at - now).total_seconds()) if i["active"] else styled("expired", "dim"),
                 i["created_by"], i["comment"]] for i, r in zip(items, records, strict=True)]
        console().print(table(columns, rows, title="Silences"))
    return 0


def expire(silence_id: str, *, config_path: Path | None, now: datetime) -> int:
    """End a silence now."""
    from ..checks.runner import open_store

    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    with open_store(loaded) as store:
        record = store.expire_silence(silence_id, now)
    if record is None:
        raise UsageError(f"no silence with id {silence_id!r} (see `deploywatch silence list --all`)")
    console().print(f"silence {record.id} expired")
    return 0
