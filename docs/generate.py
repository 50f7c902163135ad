"""Refresh the command output embedded in the docs by running it on the demo workspace.

Every block between ``<!-- run: deploywatch ARGS -->`` and ``<!-- end -->`` in README.md and
docs/**/*.md is replaced by the real output of that command, run in a demo workspace built at a
fixed time, so the docs show what the tool prints today. ``python docs/generate.py --check`` fails
when a block is out of date (the test suite runs it).

The demo is built with a Slack sink pointing at a local stand-in for Slack's incoming webhooks (it
answers ``ok``, as Slack does); a block between ``<!-- received: slack N -->`` and ``<!-- end -->``
shows the N-th message it received (1 = the demo's drift run), exactly as sent.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T09:00:00Z"
BLOCK = re.compile(r"(<!-- run: (?P<cmd>[^>]+?) -->\n)(?P<body>.*?)(<!-- end -->)", re.DOTALL)
RECEIVED = re.compile(r"(<!-- received: slack (?P<n>\d+) -->\n)(?P<body>.*?)(<!-- end -->)", re.DOTALL)
PLACEHOLDER = "~/deploywatch-demo"
SLACK_PATH = "/services/T0DEMO/B0DEMO/demo-webhook-token"
SHOWN_SLACK = "127.0.0.1:9000"
RUN_ID = re.compile(r"run `[0-9a-f]{32}`")


class _Slack(http.server.BaseHTTPRequestHandler):
    """Slack's incoming-webhook answer to a well-formed POST: 200 ``ok``."""

    received: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok = self.path == SLACK_PATH
        if ok:
            self.received.append(json.loads(body))
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"ok" if ok else b"no_service")

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def received_block(n: int) -> str:
    """The N-th Slack message received, as pretty JSON (run ids replaced: they are random)."""
    if n > len(_Slack.received):
        return f"(only {len(_Slack.received)} messages were received)\n"
    text = json.dumps(_Slack.received[n - 1], indent=2, ensure_ascii=False)
    return "```json\n" + RUN_ID.sub("run `<run id>`", text) + "\n```\n"


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
    output = (proc.stdout + proc.stderr).replace(str(workdir), PLACEHOLDER).replace(_SLACK_HOST[0], SHOWN_SLACK)
    output = output.rstrip()
    lines = [line.rstrip() for line in output.splitlines()]
    return "```console\n$ " + command + "\n" + "\n".join(lines) + f"\n$ echo $?\n{proc.returncode}\n```\n"


def refresh(text: str, workdir: Path) -> str:
    """``text`` with every run block re-rendered."""
    text = BLOCK.sub(lambda m: m.group(1) + run(m.group("cmd"), workdir) + m.group(4), text)
    return RECEIVED.sub(lambda m: m.group(1) + received_block(int(m.group("n"))) + m.group(4), text)


_SLACK_HOST = [""]


def main() -> int:
    """Rewrite the docs (or, with --check, report stale blocks and exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check that the docs are up to date")
    options = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slack)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _SLACK_HOST[0] = f"127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "deploywatch-demo"
        subprocess.run([sys.executable, "-m", "deploywatch", "demo", str(workdir), "--now", NOW, "--slack-webhook",
                        f"http://{_SLACK_HOST[0]}{SLACK_PATH}"], capture_output=True, timeout=300, check=True)
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
    server.shutdown()
    print("docs are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
