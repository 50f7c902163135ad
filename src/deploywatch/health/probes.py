"""Probes: is a service alive? An HTTP URL or a Nagios-style plugin command.

An HTTP probe answers 2xx when ok (Dockerflow ``/__heartbeat__`` JSON understood); a plugin command exits 0 ok, 1
warning, 2 critical, 3 unknown.

Nothing is ok without evidence: a probe is ok only on a 2xx (whose body does not say otherwise) or exit 0.
Probe headers are secrets: they are sent, never shown; targets are shown without query strings or user
info, commands by their program name, and everything a server or plugin says is masked.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..config.health import ProbeConfig
from ..core.durations import format_age
from ..core.findings import Finding
from ..core.procs import run_shell, signal_name
from ..core.redact import clip, mask
from ..core.status import Status
from ..core.text import plural

if TYPE_CHECKING:
    import httpx

    from ..config import LoadedConfig

__all__ = ["ProbeResult", "plugin_text", "probe_configs", "run_probes"]

MAX_BODY = 1 << 20  # bytes of a probe's response body read
_SUMMARY_CHARS = 300

# Dockerflow's heartbeat statuses, and the health+json draft's (pass, warn, fail).
_BODY_STATUS = {"ok": Status.OK, "pass": Status.OK, "warning": Status.WARNING, "warn": Status.WARNING,
                "error": Status.CRITICAL, "fail": Status.CRITICAL}
_NAGIOS = {0: Status.OK, 1: Status.WARNING, 2: Status.CRITICAL, 3: Status.UNKNOWN}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class ProbeResult:
    """What one probe found."""

    name: str
    target: str  # display-safe: scheme://host[:port]/path without the query, or the command's program name
    status: Status
    summary: str
    seconds: float
    weight: float = 1.0
    value: float | None = None  # HTTP: the response time in seconds; command: the exit code

    def as_json(self) -> dict[str, Any]:
        """The probe as JSON."""
        return {"name": self.name, "target": self.target, "status": str(self.status), "summary": self.summary,
                "seconds": round(self.seconds, 3), "value": self.value, "weight": self.weight}

    def finding(self) -> Finding:
        """This result as a finding (kind ``probe``)."""
        details = {"target": self.target, "status": str(self.status), "summary": self.summary,
                   "seconds": round(self.seconds, 3), "value": self.value}
        return Finding("probe", self.name, self.status, f"{self.name} {self.status}: {self.summary}", details,
                       {"probe": self.name})


def probe_configs(loaded: LoadedConfig) -> list[ProbeConfig]:
    """The ``[[probes]]`` of the config and, when ``[health] probe_services`` (the default), one probe named
    ``"<service> health"`` per service with a ``health`` URL (unless a ``[[probes]]`` entry has that name)."""
    config = loaded.config
    probes = list(config.probes)
    if config.health.probe_services:
        taken = {p.name for p in probes}
        for name, service in config.services.items():
            if service.health is not None and f"{name} health" not in taken:
                probes.append(ProbeConfig(name=f"{name} health", url=service.health))
    return probes


def run_probes(probes: Sequence[ProbeConfig], *, concurrency: int = 8,
               cwd: Path | str | None = None) -> list[ProbeResult]:
    """Run ``probes`` concurrently (at most ``concurrency`` at once); results in the order of ``probes``.

    Commands run in ``cwd`` (give the config's directory, as for ``deployed`` commands).
    """
    if not probes:
        return []
    workers = max(1, min(concurrency, len(probes)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deploywatch-probe") as pool:
        return list(pool.map(lambda probe: run_probe(probe, cwd=cwd), probes))


def run_probe(probe: ProbeConfig, *, cwd: Path | str | None = None) -> ProbeResult:
    """Run one probe now."""
    started = time.monotonic()
    if probe.url is not None:
        status, summary, value = _probe_url(probe.url, probe.headers, float(probe.timeout))
        target = display_url(probe.url)
    else:
        assert probe.command is not None
        status, summary, value = _probe_command(probe.command, float(probe.timeout), cwd)
        target = program_name(probe.command)
    summary = _hide(summary, probe.headers)
    return ProbeResult(probe.name, target, status, summary, time.monotonic() - started, probe.weight, value)


def _hide(text: str, headers: Mapping[str, str]) -> str:
    for value in sorted(headers.values(), key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, "***")
            _, _, credential = value.partition(" ")  # "Bearer TOKEN": the token alone may be echoed too
            if len(credential) >= 4:
                text = text.replace(credential, "***")
    return mask(text)


def display_url(url: str) -> str:
    """``scheme://host[:port]/path``: no user info, query or fragment; masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return mask(f"{parts.scheme}://{host}{port}{parts.path or '/'}")


def program_name(command: str) -> str:
    """The program a shell command runs (its file name), skipping leading ``NAME=value`` assignments."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    for word in words:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word, flags=re.DOTALL):
            continue
        return mask(os.path.basename(word.rstrip("/")) or word)
    return "sh"


# ---------------------------------------------------------------- HTTP


def _probe_url(url: str, headers: Mapping[str, str], timeout: float) -> tuple[Status, str, float | None]:
    """(status, summary, seconds to the whole response) of a GET of ``url``."""
    import httpx

    shown = format_age(timeout)
    started = time.monotonic()
    deadline = started + timeout
    try:
        # Custom headers may carry credentials, and httpx drops only Authorization on a redirect to another
        # host: with headers set, a redirect is reported instead of followed (as for `deployed` URLs).
        with (httpx.Client(timeout=timeout, verify=True, follow_redirects=not headers, trust_env=True,
                           headers={"User-Agent": "deploywatch", **headers}) as client,
              client.stream("GET", url) as response):
            body, complete = _read_body(response, deadline)
            elapsed = time.monotonic() - started
            return (*_judge(response, body, complete, bool(headers)), elapsed)
    except httpx.TimeoutException:
        return Status.CRITICAL, f"no answer within {shown}", None
    except httpx.TooManyRedirects:
        return Status.CRITICAL, "too many redirects", None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError, ValueError, TypeError) as exc:
        # the exception's text may quote a header value
        return Status.CRITICAL, f"request not sent: the URL or a header cannot be encoded ({type(exc).__name__})", None
    except httpx.HTTPError as exc:
        return Status.CRITICAL, f"cannot connect: {_reason(exc)}", None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and cause.strerror and cause.strerror not in text:
        text = f"{text} ({cause.strerror})"
    return _clip(text.splitlines()[0])


def _read_body(response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
    """At most :data:`MAX_BODY` bytes of the body and whether that is all of it; a timeout past ``deadline``."""
    import httpx

    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the whole response took longer than the timeout", request=response.request)
        if len(data) > MAX_BODY:
            return bytes(data[:MAX_BODY]), False
    return bytes(data), True


def _judge(response: httpx.Response, body: bytes, complete: bool, with_headers: bool) -> tuple[Status, str]:
    code = response.status_code
    if response.is_redirect:
        location = response.headers.get("location")
        where = display_url(str(response.url.join(location))) if location else "?"
        why = "not followed: the probe sends headers" if with_headers else "not followed"
        return Status.CRITICAL, f"HTTP {code} redirect to {where} ({why})"
    heartbeat = _heartbeat(body) if complete else None
    if 200 <= code < 300:
        if heartbeat is not None:
            return heartbeat
        return Status.OK, f"HTTP {code}" + ("" if complete else " (body over 1 MiB, not inspected)")
    if code >= 500 and heartbeat is not None:
        status, summary = heartbeat
        if status is Status.OK:  # a server error is never ok, whatever the body says
            return Status.CRITICAL, f"HTTP {code} although the body says {summary}"
        return status, f"{summary} (HTTP {code})"
    return Status.CRITICAL, f"HTTP {code}"


def _heartbeat(body: bytes) -> tuple[Status, str] | None:
    """A Dockerflow heartbeat (``{"status": "ok"|"warning"|"error", "checks": {…}, "details": {…}}``) judged,
    or None when the body is not one."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text.startswith("{"):
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("status"), str):
        return None
    word = document["status"].strip().lower()
    status = _BODY_STATUS.get(word)
    if status is None:
        return None
    checks = document.get("checks")
    details = document.get("details")
    checks = checks if isinstance(checks, dict) else {}
    details = details if isinstance(details, dict) else {}
    failing = []
    for name, value in checks.items():
        state = _check_state(value)
        if state.strip().lower() not in ("ok", "pass"):
            failing.append(f"{name} {state}" + _message(details.get(name)))
    if status is Status.OK and not failing:
        counted = f" ({plural(len(checks), 'check')} ok)" if checks else ""
        return Status.OK, f"heartbeat {word}{counted}"
    if not failing:
        return status, f"heartbeat {word} (no failing check named)"
    return status, _clip(f"heartbeat {word}: {'; '.join(failing)}")


def _check_state(value: object) -> str:
    """A check's state: Dockerflow's string, or the first state not ok of health+json's ``[{"status": …}]``."""
    items = value if isinstance(value, list) else [value]
    states = [str(item.get("status")) if isinstance(item, dict) else str(item) for item in items]
    return next((s for s in states if s.strip().lower() not in ("ok", "pass")), states[0] if states else "ok")


def _message(detail: object) -> str:
    """The first message of a Dockerflow ``details`` entry (``{"status", "level", "messages": {id: text}}``)."""
    if not isinstance(detail, dict):
        return ""
    messages = detail.get("messages")
    if isinstance(messages, dict) and messages:
        return f": {next(iter(messages.values()))}"
    if isinstance(messages, list) and messages:
        return f": {messages[0]}"
    return ""


def _clip(text: str) -> str:
    """One masked line of at most :data:`_SUMMARY_CHARS` (masked before it is cut: no half secret shows)."""
    return clip(_CONTROL.sub(" ", text).strip(), _SUMMARY_CHARS)


# ---------------------------------------------------------------- commands


def _probe_command(command: str, timeout: float, cwd: Path | str | None) -> tuple[Status, str, float | None]:
    """(status, summary, exit code) of a Nagios plugin."""
    outcome = run_shell(command, timeout=timeout, cwd=cwd)
    code = outcome.returncode
    if code is None:  # it did not start, or ran past the timeout
        return Status.UNKNOWN, outcome.problem or "did not run", None
    text = plugin_text(outcome.stdout)
    tail = outcome.stderr_tail()
    if code < 0:
        return Status.UNKNOWN, _join(f"killed by {signal_name(-code)}", text, tail), float(code)
    status = _NAGIOS.get(code)
    if status is not None:
        return status, text or f"exit {code}, no output", float(code)
    if code == 127:
        why = "command not found (exit 127)"
    elif code == 126:
        why = "command not executable (exit 126)"
    elif code > 128 and _is_signal(code - 128):
        why = f"exit {code}: killed by {signal_name(code - 128)}"
    else:
        why = f"exit {code} is not a plugin status (0 ok, 1 warning, 2 critical, 3 unknown)"
    return Status.UNKNOWN, _join(why, text, tail), float(code)


def _is_signal(number: int) -> bool:
    try:
        signal.Signals(number)
    except ValueError:
        return False
    return True


def _join(why: str, text: str, tail: str) -> str:
    said = text or (f"stderr: {tail}" if tail else "")
    return _clip(f"{why}: {said}" if said else why)


def plugin_text(stdout: bytes) -> str:
    """The first line of a plugin's output without its performance data (after ``|``), masked."""
    decoded = stdout.decode("utf-8", errors="replace")
    first = next((line for line in decoded.splitlines() if line.strip()), "")
    return _clip(first.split("|", 1)[0])
