"""Run a subprocess and measure it: wall time, CPU time and peak RSS of the child (and its children).

``os.wait4`` gives the child's own resource usage; on Linux its ``ru_maxrss`` is the largest RSS of
the child or of any descendant it waited for (so ``deploywatch``'s figure covers the ``git`` it runs).
"""

from __future__ import annotations

import io
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    """One finished subprocess."""

    wall: float
    cpu: float
    max_rss_kib: int
    returncode: int
    stdout: bytes
    stderr: bytes


class Timeout(Exception):
    """The subprocess outlived its time limit and was killed."""


def run(cmd: Sequence[str], *, timeout: float, cwd: Path | None = None,
        env: Mapping[str, str] | None = None, keep_stdout: bool = True) -> Measured:
    """Run ``cmd`` with stdout on a pipe that is read to the end (kept, or dropped)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env) if env is not None else None,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        assert isinstance(proc.stdout, io.BufferedReader)
        lock = threading.Lock()
        state = {"reaped": False, "killed": False}

        def kill() -> None:
            with lock:
                if not state["reaped"]:
                    state["killed"] = True
                    os.kill(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        chunks: list[bytes] = []
        try:
            while block := proc.stdout.read1(1 << 20):
                if keep_stdout:
                    chunks.append(block)
            # Wait for the exit without reaping, so the timer can never signal a recycled pid.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - started
            with lock:
                state["reaped"] = True
                _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            proc.stdout.close()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if state["killed"]:
            raise Timeout(f"{cmd[0]} … timed out after {timeout:g}s")
        err.seek(0)
        return Measured(wall=wall, cpu=usage.ru_utime + usage.ru_stime, max_rss_kib=usage.ru_maxrss,
                        returncode=proc.returncode, stdout=b"".join(chunks), stderr=err.read())


@dataclass(frozen=True)
class Summary:
    """Median and minimum of repeated measurements."""

    median: float
    minimum: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(statistics.median(samples), min(samples), tuple(samples))


def compile_bytecode(package: str) -> str:
    """Compile ``package``'s modules to bytecode, as pip does when it installs a wheel.

    An editable install leaves that to the first import, which cannot write it when
    ``PYTHONDONTWRITEBYTECODE`` is set: every timed run would then compile every module again.
    Returns a line for the log.
    """
    import compileall
    import importlib.util

    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return f"{package}: not importable, no bytecode compiled"
    folder = next(iter(found.submodule_search_locations))
    ok = compileall.compile_dir(folder, quiet=1)
    return f"{package}: bytecode {'compiled' if ok else 'NOT fully compiled'} in {folder}"
