"""Keeping secrets out of everything deploywatch prints, logs or stores.

Values that came from the environment through ``${VAR}`` in the config are registered here, and
:func:`mask` replaces them, and anything that looks like a credential, with ``***``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, unquote_plus

from .text import cut

__all__ = ["clip", "mask", "mask_values", "register_secret", "register_url_secrets", "url_secrets"]

_MIN_SECRET_LEN = 4
_lock = threading.Lock()
_known: set[str] = set()
# mask() results by text, for the known secrets of one version (a new secret bumps it and empties the cache):
# the same subjects, SHAs and reasons are masked again in every run, finding and alert.
_cache: dict[str, str] = {}
_CACHE_SIZE = 8192
_version = [0]  # a list, so the functions below can bump it without `global`

_PATTERNS = [
    # userinfo in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*(?:(?:bearer|basic|token)\s+)?)[^\s,;\"']+"), r"\1***"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    # userinfo without a password: https://TOKEN@host
    (re.compile(r"(?i)\b(https?://)[^/\s:@]{8,}@"), r"\1***@"),
    # key=value credentials in query strings, flags and env assignments (GITHUB_TOKEN=…, PGPASSWORD=…,
    # AWS_SECRET_ACCESS_KEY=…, X-Amz-Signature=…)
    (re.compile(r"(?i)(?<![a-z0-9])([a-z0-9_-]*(?:token|api[_-]?key|access[_-]?key|private[_-]?key|secret|"
                r"password|passwd|signature|sig|credential)s?|pwd)(\s*[=:]\s*)[^\s&,;\"']+"), r"\1\2***"),
    # the same as command-line flags with a separate value: --token X, --password X, --api-key X
    (re.compile(r"(?i)(--[a-z0-9-]*(?:token|api-?key|secret|password|passwd|credential)s?)(\s+)(?!-)\S+"),
     r"\1\2***"),
    # custom auth headers given to curl and friends: -H 'X-Auth: value', -H "X-Api-Key: value"
    (re.compile(r"(?i)(-H\s*['\"]?(?!authorization)[a-z0-9-]*(?:auth|key|token|secret)[a-z0-9-]*\s*:\s*)[^'\"\n]+"),
     r"\1***"),
    # well-known token shapes: GitHub, Slack, AWS access keys, Google API keys
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), "***"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"), "***"),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), "***"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), "***"),
    # Slack incoming-webhook paths
    (re.compile(r"(hooks\.slack\.com/services/)[A-Za-z0-9/_-]+"), r"\1***"),
]


def register_secret(value: str) -> None:
    """Remember ``value`` so that :func:`mask` hides it wherever it appears later."""
    if len(value) >= _MIN_SECRET_LEN:
        with _lock:
            if value not in _known:
                _known.add(value)
                _version[0] += 1
                _cache.clear()


def mask_values(value: Any) -> Any:
    """``value`` with :func:`mask` applied to every string in it, through dicts, lists and tuples (JSON-like data:
    a finding's details, a notification's payload)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {key: mask_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_values(item) for item in value]
    return value


def clip(text: str, limit: int, secrets: Iterable[str] = ()) -> str:
    """``text`` masked (and each of ``secrets`` replaced by ``***``), then cut to ``limit`` characters ending in
    "…". In that order: cutting first would leave the start of a secret that straddles the cut unmasked."""
    for secret in sorted((s for s in secrets if len(s) >= _MIN_SECRET_LEN), key=len, reverse=True):
        text = text.replace(secret, "***")
    return cut(mask(text), limit)


def mask(text: str) -> str:
    """``text`` with registered secrets and credential-shaped substrings replaced by ``***``."""
    cached = _cache.get(text)
    if cached is not None:
        return cached
    with _lock:
        known = sorted(_known, key=len, reverse=True)
        version = _version[0]
    masked = text
    for value in known:
        masked = masked.replace(value, "***")
    for pattern, replacement in _PATTERNS:
        masked = pattern.sub(replacement, masked)
    with _lock:
        if version == _version[0]:  # no secret was registered meanwhile: the result is still right
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()
            _cache[text] = masked
    return masked


# Query parameters and libpq DSN words whose value is a credential: password=, pwd=, passwd=, sslpassword=,
# token=, access_token=, secret=, client_secret=, api_key=, apikey=, credentials=, sig=, signature=…
_SECRET_KEY = re.compile(r"(?i)(?:pass(?:word)?|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|"
                         r"private[_-]?key|credentials?|signature|sig|auth)$")
_USERINFO = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://([^/?#]*)@")
_DSN_WORD = re.compile(r"(?i)(?:^|\s)([a-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']+)")
_PARAM = re.compile(r";([^;=/?#]+)=([^;]*)")  # Spark Connect: sc://host:15002/;token=T;use_ssl=true


def url_secrets(url: str) -> list[str]:
    """The credentials written in a database or HTTP URL: the password of its userinfo
    (``postgresql://u:PASS@h``), the values of credential query parameters (``?password=PASS``,
    ``&token=T``), of Spark Connect parameters (``/;token=T``) and of libpq DSN words (``host=h password=PASS``)
    — each raw and percent-decoded."""
    found: list[str] = []
    userinfo = _USERINFO.match(url)
    if userinfo:
        _user, sep, password = userinfo.group(1).rpartition("@")[2].partition(":")
        if sep:
            found.append(password)
    _, sep, query = url.partition("?")
    if sep:
        for pair in query.split("#", 1)[0].split("&"):
            key, eq, value = pair.partition("=")
            if eq and _SECRET_KEY.search(unquote_plus(key)):
                found.append(value)
    for key, value in _PARAM.findall(url.split("?", 1)[0]):
        if _SECRET_KEY.search(key):
            found.append(value)
    for key, value in _DSN_WORD.findall(url):
        if _SECRET_KEY.search(key):
            found.append(value[1:-1].replace("\\'", "'").replace("\\\\", "\\") if value.startswith("'") else value)
    decoded = [unquote_plus(v) for v in found] + [unquote(v) for v in found]
    return [v for v in dict.fromkeys(found + decoded) if v]


def register_url_secrets(url: str) -> None:
    """Register every credential :func:`url_secrets` finds in ``url`` (see :func:`register_secret`)."""
    for value in url_secrets(url):
        register_secret(value)
