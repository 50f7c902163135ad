"""The drift benchmark's in-process contender: measures drift as the daemon's job does, imports and config done.

Started once by ``drift.py --incremental`` with the project's Python; then, per line ``CACHE_FOLDER`` on stdin, it
times ``workspace_for(loaded).drift(())`` with the walk cache in that folder and prints one JSON line: wall and CPU
seconds and the ``deploywatch.drift/v1`` document (checked against git like the CLI's).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime


def main() -> int:
    from deploywatch.config import DRIFT_SECTIONS, load_config
    from deploywatch.drift.workspace import workspace_for

    loaded = load_config(sys.argv[1], sections=DRIFT_SECTIONS)
    print("ready", flush=True)
    for line in sys.stdin:
        os.environ["DEPLOYWATCH_CACHE_DIR"] = line.strip()
        os.environ["DEPLOYWATCH_WALK_CACHE"] = "1"
        wall, cpu = time.perf_counter(), time.process_time()
        report = workspace_for(loaded).drift((), now=datetime.now(UTC))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(json.dumps({"wall": wall, "cpu": cpu, "document": report.to_json()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
