"""Keeping secrets out of everything deploywatch prints, logs or stores.

Values that came from the environment through ``${VAR}`` in the config are registered here, and
:func:`mask` replaces them, and anything that looks like a credential, with ``***``.
"""

from __future__ import annotations

import re
import threading

__all__ = ["mask", "register_secret"]

_MIN_SECRET_LEN = 4
_lock = threading.Lock()
_known: set[str] = set()

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
            _known.add(value)


def mask(text: str) -> str:
    """``text`` with registered secrets and credential-shaped substrings replaced by ``***``."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        text = text.replace(value, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
