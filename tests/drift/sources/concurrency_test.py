"""``read_all``: every service's source is asked at once, and one broken source sinks no other."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from deploywatch.core.redact import register_secret
from deploywatch.drift.sources import CommandSource, FileSource, Reading, Source, read_all

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


class Exploding:
    """A source with a bug: ``read`` raises instead of returning an error reading."""

    def __init__(self, message: str) -> None:
        self.message = message

    @property
    def description(self) -> str:
        """What it would be called in output."""
        return "exploding test source"

    def read(self) -> Reading:
        """Raise, as a buggy source might."""
        raise RuntimeError(self.message)


class Recording:
    """A source that notes which thread read it and answers after a pause."""

    def __init__(self, value: str, pause: float) -> None:
        self.value, self.pause = value, pause
        self.thread: str | None = None

    @property
    def description(self) -> str:
        """What it would be called in output."""
        return f"recording {self.value}"

    def read(self) -> Reading:
        """Answer ``value`` after ``pause`` seconds."""
        self.thread = threading.current_thread().name
        time.sleep(self.pause)
        return Reading(self.description, self.value)


def test_sources_are_read_concurrently() -> None:
    sources: dict[str, Source] = {
        f"svc-{i}": CommandSource(shell=f"sleep 1; echo {i:x}{SHA[1:]}", timeout=10) for i in range(6)}
    started = time.monotonic()
    readings = read_all(sources)
    elapsed = time.monotonic() - started
    assert elapsed < 4, f"6 one-second commands took {elapsed:.1f}s"
    assert list(readings) == [f"svc-{i}" for i in range(6)]
    for i in range(6):
        assert readings[f"svc-{i}"].value == f"{i:x}{SHA[1:]}"


def test_results_are_keyed_by_service_not_completion_order() -> None:
    sources: dict[str, Source] = {"slow": Recording("aaaa111", 0.3), "fast": Recording("bbbb222", 0.0)}
    readings = read_all(sources)
    assert readings == {"slow": Reading("recording aaaa111", "aaaa111"),
                        "fast": Reading("recording bbbb222", "bbbb222")}


def test_concurrency_is_bounded() -> None:
    sources = {f"svc-{i}": Recording(f"abcd{i:03d}", 0.05) for i in range(12)}
    read_all(sources, max_workers=3)
    assert len({s.thread for s in sources.values()}) <= 3


def test_a_source_that_raises_becomes_an_error_reading(tmp_path: Path) -> None:
    sources: dict[str, Source] = {
        "good": CommandSource(shell=f"echo {SHA}", timeout=10),
        "buggy": Exploding("list index out of range"),
        "missing": FileSource(tmp_path / "deployed.sha", "deployed.sha"),
    }
    readings = read_all(sources)
    assert readings["good"].value == SHA
    assert readings["buggy"] == Reading("exploding test source", None,
                                        "source failed: RuntimeError: list index out of range")
    assert readings["missing"].error == "file deployed.sha does not exist"


def test_a_raising_source_does_not_leak_secrets() -> None:
    token = f"s3cr3t{uuid.uuid4().hex}"
    register_secret(token)
    readings = read_all({"buggy": Exploding(f"unexpected response for token {token}")})
    assert token not in (readings["buggy"].error or "")


def test_no_sources() -> None:
    assert read_all({}) == {}
