"""Running a command on a real pseudo-terminal (its stdout a tty of a given width) and reading what it wrote."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
from collections.abc import Mapping, Sequence
from pathlib import Path


def on_terminal(args: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None, columns: int = 100,
                timeout: float = 120) -> tuple[subprocess.CompletedProcess[bytes], str]:
    """Run ``args`` with stdout on a terminal ``columns`` wide (stderr piped); the process and the terminal's text."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    try:
        proc = subprocess.run(list(args), cwd=cwd, stdout=slave, stderr=subprocess.PIPE, env=dict(env),
                              timeout=timeout, check=False)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    return proc, b"".join(chunks).decode()
