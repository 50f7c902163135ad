"""``deployed = { url = "…" }``: HTTP GET of a Dockerflow ``/__version__`` endpoint or a plain-text SHA."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...core.durations import format_age
from ...core.redact import mask
from .base import Reading, parse_revision, parse_version_document

if TYPE_CHECKING:
    import httpx

__all__ = ["UrlSource"]

DEFAULT_TIMEOUT = 10.0
_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class UrlSource:
    """GETs ``url`` (TLS verified) and reads the commit from JSON ``field`` or a plain-text body."""

    url: str
    field: str = "commit"
    timeout: float = DEFAULT_TIMEOUT
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def description(self) -> str:
        """``url URL`` with secrets masked."""
        return mask(f"url {self.url}")

    def read(self) -> Reading:
        """Fetch the version document now."""
        import httpx

        shown = mask(self.url)
        # httpx's timeout bounds each network read, not the whole request: a server that
        # trickles its body a byte at a time would hold the read forever without a deadline
        deadline = time.monotonic() + self.timeout
        try:
            # Custom headers may carry credentials, and httpx drops only Authorization on a redirect
            # to another host: with headers set, a redirect is reported instead of followed.
            with (httpx.Client(timeout=self.timeout, verify=True, follow_redirects=not self.headers,
                               headers={"User-Agent": "deploywatch", **self.headers}) as client,
                  client.stream("GET", self.url) as response):
                if response.is_redirect:
                    target = mask(response.headers.get("location", "?"))
                    return Reading(self.description, None, f"GET {shown} redirects to {target}; with headers set, "
                                                           "deploywatch does not follow redirects: use the final URL")
                if response.status_code >= 400:
                    return Reading(self.description, None, f"GET {shown} returned HTTP {response.status_code}")
                data = _read_body(response, deadline)
        except httpx.TimeoutException:
            return Reading(self.description, None, f"GET {shown} timed out after {format_age(self.timeout)}")
        except httpx.HTTPError as exc:
            return Reading(self.description, None, mask(f"GET {shown} failed: {exc or type(exc).__name__}"))
        if data is None:
            return Reading(self.description, None, f"GET {shown} returned more than 1 MiB; expected a version")
        body = data.decode(response.encoding or "utf-8", errors="replace").removeprefix("\ufeff")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "text/html" or body.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
            return Reading(self.description, None,
                           f"GET {shown} returned an HTML page (HTTP {response.status_code}), not a version")
        try:
            if content_type.endswith("json") or body.lstrip().startswith("{"):
                value = parse_version_document(body, self.field)
            else:
                value = parse_revision(body)
        except ValueError as exc:
            return Reading(self.description, None, f"GET {shown}: {exc}")
        return Reading(self.description, value)


def _read_body(response: httpx.Response, deadline: float) -> bytes | None:
    """At most 1 MiB of the body (None when there is more), raising a timeout past ``deadline``."""
    import httpx

    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > _MAX_BYTES:
            return None
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the whole response took longer than the timeout", request=response.request)
    return bytes(data)
