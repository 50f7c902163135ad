"""Field types shared by the config models: durations, globs, URLs, names, and the strict base model."""

from __future__ import annotations

import math
import re
import zoneinfo
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from ..core.durations import MAX_DURATION, parse_duration
from ..core.paths import GlobError, compile_glob

__all__ = [
    "MIN_TOKEN_LENGTH", "AgeLimit", "Duration", "Finite", "GlobStr", "HttpUrl", "Model", "Name", "NonBlank", "Secret",
    "SecretUrl", "TimeZone", "Token", "http_url", "url_with_valid_port",
]

# A bearer token shorter than this is found by brute force (and a short secret cannot be masked safely).
MIN_TOKEN_LENGTH = 16

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _duration(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a duration such as '30m', '2h' or '1d'")
    if isinstance(value, int):
        if not 0 < value <= MAX_DURATION:
            raise ValueError("expected a positive number of seconds (at most 10 years) or a duration such as '2h'")
        return value
    return parse_duration(value)


def _age_limit(value: object) -> int:
    # 0 turns an age rule off, as it does for warn_commits and critical_commits.
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return 0
    return _duration(value)


def _glob(value: str) -> str:
    try:
        compile_glob(value)
    except GlobError as exc:
        raise ValueError(f"invalid glob {value!r}: {exc}") from None
    return value


def http_url(value: str) -> str:
    """``value`` when it is an http:// or https:// URL with a host (and a valid port); ValueError otherwise."""
    url_with_valid_port(value, "an http:// or https:// URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    return value


def url_with_valid_port(value: str, noun: str) -> str:
    """``value`` when its host part parses (closed ``[IPv6]`` brackets, a numeric port in range), else a
    ValueError saying what is wrong with ``noun`` ("a SQLAlchemy URL"). Comma-separated hosts (libpq) pass."""
    try:
        parts = urlsplit(value)
    except ValueError:  # urllib's only complaint here is an unbalanced '[' or ']'
        raise ValueError(f"expected {noun} with a valid host: unclosed '[' or stray ']'") from None
    if "," not in parts.netloc:
        try:
            parts.port  # noqa: B018 - raises on a malformed or out-of-range port
        except ValueError:
            raise ValueError(f"expected {noun} with a valid port (1-65535)") from None
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def _token(value: str) -> str:
    if value != value.strip():
        raise ValueError("has leading or trailing whitespace, which a Bearer header never carries")
    if not all("!" <= ch <= "~" for ch in value):
        raise ValueError("must be printable ASCII without spaces (a Bearer header carries nothing else)")
    if len(value) < MIN_TOKEN_LENGTH:
        raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters (got {len(value)}); "
                         "generate one with: openssl rand -hex 32")
    return value


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError("expected a name of letters, digits, '-' and '_' (starting with a letter or digit)")
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: expected an IANA name such as 'UTC' or "
                         "'America/New_York'") from None
    return value


def _secret(value: str) -> str:
    from ..core.redact import register_secret

    register_secret(value)
    return value


def _url_credentials(value: str) -> str:
    from ..core.redact import register_url_secrets

    register_url_secrets(value)  # user:PASSWORD@, ?token=…, ?password=…: masked wherever they show up later
    return value


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Duration = Annotated[int, BeforeValidator(_duration)]
AgeLimit = Annotated[int, BeforeValidator(_age_limit)]
GlobStr = Annotated[str, AfterValidator(_glob)]
HttpUrl = Annotated[str, AfterValidator(http_url), AfterValidator(_url_credentials)]
Name = Annotated[str, AfterValidator(_name)]
NonBlank = Annotated[str, AfterValidator(_nonblank)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
# A value that is a secret as a whole (webhook URL, token, header value): masked wherever it appears later.
Secret = Annotated[NonBlank, AfterValidator(_secret)]
SecretUrl = Annotated[HttpUrl, AfterValidator(_secret)]
# A bearer token the daemon compares with the Authorization header: long, printable ASCII, no padding.
Token = Annotated[str, AfterValidator(_secret), AfterValidator(_token)]  # masked even when refused
# Every float in the config: TOML allows inf and nan, which turn scores and JSON answers into NaN.
Finite = Annotated[float, AfterValidator(_finite)]


class Model(BaseModel):
    """Strict, frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
