"""HTTP for sinks: one client, requests with a deadline, and the status-code rules every sink shares.

Errors are described without the URL: a webhook URL or a query string may hold a secret, and
:func:`scrub` takes a sink's secrets (:func:`url_secrets`, header values) out of whatever an error quotes.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..core.redact import clip, mask
from .model import Delivery

__all__ = ["SendFailed", "classify", "new_client", "parse_retry_after", "post_json", "rate_key", "request", "scrub",
           "scrub_delivery", "url_secrets"]

USER_AGENT = "deploywatch"
MAX_RETRY_AFTER = 3600.0  # a peer asking for more than an hour gets an hour


class SendFailed(Exception):
    """The request got no HTTP response (timeout, refused, TLS, reset); the message is display-safe."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.delivery = Delivery.retry(message)


def new_client() -> httpx.Client:
    """A client for one delivery pass: TLS verified, no redirects (a redirect would carry the body and
    headers elsewhere); proxies from the environment (``HTTPS_PROXY``, ``NO_PROXY``) are honoured."""
    from ..core.version import __version__

    return httpx.Client(verify=True, follow_redirects=False, trust_env=True,
                        headers={"User-Agent": f"{USER_AGENT}/{__version__}"})


def request(client: httpx.Client, method: str, url: str, *, timeout: float, json: Any = None,
            headers: Mapping[str, str] | None = None, params: Mapping[str, Any] | None = None) -> httpx.Response:
    """Send one request and read the whole response within ``timeout`` seconds (connect, write, read
    and the body together); raise :class:`SendFailed` when no response came."""
    deadline = time.monotonic() + timeout
    try:
        with client.stream(method, url, json=json, headers=dict(headers or {}), params=params,
                           timeout=httpx.Timeout(timeout)) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("response too slow", request=response.request)
                if len(body) > 8 << 20:
                    raise SendFailed(f"{method} answered with more than 8 MiB")
            response._content = bytes(body)  # keep the body read from the stream (response.text, .json())
            return response
    except httpx.TimeoutException:
        raise SendFailed(f"{method} timed out after {timeout:g}s") from None
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        # the request cannot be built (a malformed URL, a header value that is not ASCII, a body that is not
        # JSON): retrying cannot help, and the exception's text may quote part of the URL or a header value
        failed = SendFailed(f"{method} not sent: the URL, a header or the body cannot be encoded "
                            f"({type(exc).__name__})")
        failed.delivery = Delivery.dead(str(failed))
        raise failed from None
    except httpx.HTTPError as exc:
        # httpx's messages for connection errors name the host at most; mask anyway
        reason = mask(str(exc)) or type(exc).__name__
        raise SendFailed(f"{method} failed: {reason}") from None


def post_json(client: httpx.Client, url: str, body: Any, *, what: str, timeout: float,
              headers: Mapping[str, str] | None = None, secrets: Iterable[str] = ()) -> httpx.Response | Delivery:
    """POST ``body`` as JSON: the response, or — when none came — the :class:`Delivery` saying so, its error
    starting with ``what`` (the sink) and with ``secrets`` scrubbed out."""
    try:
        return request(client, "POST", url, timeout=timeout, json=body, headers=headers)
    except SendFailed as exc:
        return scrub_delivery(exc.delivery, f"{what}: ", secrets)


def parse_retry_after(response: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta seconds or an HTTP date), GitHub's ``x-ratelimit-reset``
    (epoch seconds) when ``x-ratelimit-remaining`` is 0, or None."""
    wall = time.time() if now is None else now
    value = response.headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isascii() and value.isdigit():  # not "²", which isdigit() accepts and float() does not
            return min(float(value), MAX_RETRY_AFTER)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return min(max(0.0, when.timestamp() - wall), MAX_RETRY_AFTER)
    reset = response.headers.get("x-ratelimit-reset")
    if reset and response.headers.get("x-ratelimit-remaining") == "0":
        try:
            return min(max(0.0, float(reset) - wall), MAX_RETRY_AFTER)
        except ValueError:
            return None
    return None


def classify(response: httpx.Response, what: str, secrets: Iterable[str] = ()) -> Delivery | None:
    """The common rules: None for a 2xx (the sink decides what else confirms); 429 and 5xx are retried
    (honouring ``Retry-After``); any other status is a permanent failure. ``what`` names the call; ``secrets``
    are scrubbed out of the body the error quotes."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    snippet = _snippet(response, secrets)
    if status == 429:
        return Delivery.retry(f"{what}: HTTP 429 rate limited{snippet}", parse_retry_after(response))
    if status >= 500:
        return Delivery.retry(f"{what}: HTTP {status}{snippet}", parse_retry_after(response))
    return Delivery.dead(f"{what}: HTTP {status}{snippet}")


def _snippet(response: httpx.Response, secrets: Iterable[str]) -> str:
    text = response.text.strip().replace("\n", " ")
    if not text:
        return ""
    return f" ({clip(text, 201, secrets)})"  # up to 200 characters of the reply and "…"


class _HideUrlPaths(logging.Filter):
    """httpx logs every request's full URL at INFO; keep only the origin (a webhook's path is its secret)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(_origin(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


def _origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}/…"


_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _HideUrlPaths) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_HideUrlPaths())


def rate_key(url: str) -> str:
    """A short SHA-256 of ``url``: sinks posting to the same URL share its rate limit; never the URL itself."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every one of ``secrets`` (a URL, its path, a header value …) replaced by ``***``."""
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that may hold a secret: the URL itself, its path and query, its password, and each
    path segment long enough to be a token (Slack's ``/services/T…/B…/<token>``)."""
    parts = urlsplit(url)
    found = [url, parts.path, parts.query, parts.password or ""]
    found += [segment for segment in parts.path.split("/") if len(segment) >= 12]
    return [s for s in found if s and s != "/"]


def scrub_delivery(delivery: Delivery, prefix: str, secrets: Iterable[str]) -> Delivery:
    """``delivery`` with ``prefix`` before its error and ``secrets`` scrubbed out of it."""
    error = scrub(prefix + (delivery.error or ""), secrets)
    return Delivery(delivery.ok, error, delivery.permanent, delivery.retry_after, delivery.detail)
