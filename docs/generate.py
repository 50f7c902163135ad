"""Refresh the command output embedded in the docs by running it on the demo workspace.

Every block between ``<!-- run: deploywatch ARGS -->`` and ``<!-- end -->`` in README.md and
docs/**/*.md is replaced by the real output of that command, run in a demo workspace built at a
fixed time, so the docs show what the tool prints today. ``python docs/generate.py --check`` fails
when a block is out of date (the test suite runs it).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T09:00:00Z"
BLOCK = re.compile(r"(<!-- run: (?P<cmd>[^>]+?) -->\n)(?P<body>.*?)(<!-- end -->)", re.DOTALL)
PLACEHOLDER = "~/deploywatch-demo"


def documents() -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def run(command: str, workdir: Path) -> str:
    """Run one documented command in the demo workspace; return the block to embed."""
    args = shlex.split(command)
    assert args[0] == "deploywatch", command
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("GITHUB_OUTPUT", None)
    proc = subprocess.run([sys.executable, "-m", "deploywatch", *args[1:], "--now", NOW], cwd=workdir,
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    output = (proc.stdout + proc.stderr).replace(str(workdir), PLACEHOLDER).rstrip()
    lines = [line.rstrip() for line in output.splitlines()]
    return "```console\n$ " + command + "\n" + "\n".join(lines) + f"\n$ echo $?\n{proc.returncode}\n```\n"


def refresh(text: str, workdir: Path) -> str:
    """``text`` with every run block re-rendered."""
    return BLOCK.sub(lambda m: m.group(1) + run(m.group("cmd"), workdir) + m.group(4), text)


def main() -> int:
    """Rewrite the docs (or, with --check, report stale blocks and exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check that the docs are up to date")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "deploywatch-demo"
        subprocess.run([sys.executable, "-m", "deploywatch", "demo", str(workdir), "--now", NOW],
                       capture_output=True, timeout=300, check=True)
        stale = []
        for path in documents():
            text = path.read_text(encoding="utf-8")
            new = refresh(text, workdir)
            if new != text:
                stale.append(path.relative_to(ROOT))
                if not options.check:
                    path.write_text(new, encoding="utf-8")
    if stale:
        verb = "out of date" if options.check else "updated"
        print(f"{verb}: {', '.join(map(str, stale))}" + ("; run: make docs" if options.check else ""))
        return 1 if options.check else 0
    print("docs are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
