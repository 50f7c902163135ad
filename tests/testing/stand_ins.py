"""Stand-in executables (``gcloud``, ``kubectl``, ``aws`` …) that record how they were called.

A stand-in is a small Python script written into a ``bin`` directory that the test puts first on
``PATH``. Each run appends its argv as one JSON line to a log file and prints a fixed answer, so a
test can assert the exact command line a preset runs without any cloud CLI installed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

_SCRIPT = """\
#!{python}
import json, sys, time
with open({log!r}, "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
time.sleep({sleep!r})
sys.stderr.write({stderr!r})
answers = {answers!r}
sys.stdout.write(next((answers[arg] for arg in sys.argv[1:] if arg in answers), {stdout!r}))
sys.exit({exit_code!r})
"""


class StandIns:
    """A ``bin`` directory of recording stand-ins and the log they share."""

    def __init__(self, directory: Path) -> None:
        self.bin = directory / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        self.log = directory / "calls.jsonl"

    def install(self, name: str, *, stdout: str = "", stderr: str = "", exit_code: int = 0,
                sleep: float = 0.0, answers: Mapping[str, str] | None = None) -> Path:
        """Write an executable ``name`` that records its argv, then prints ``stdout`` and exits; ``answers`` maps
        an argument (a subcommand such as ``describe-task-definition``) to what to print instead when it is given."""
        path = self.bin / name
        path.write_text(_SCRIPT.format(python=sys.executable, log=str(self.log), sleep=sleep, stderr=stderr,
                                       stdout=stdout, exit_code=exit_code, answers=dict(answers or {})),
                        encoding="utf-8")
        path.chmod(0o755)
        return path

    def path_first(self) -> str:
        """A ``PATH`` value with the stand-ins first and the rest of the current ``PATH`` after."""
        return os.pathsep.join([str(self.bin), os.environ.get("PATH", os.defpath)])

    def calls(self) -> list[list[str]]:
        """Every recorded argv (without the program name), oldest first."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line]
