"""The drift benchmark's in-process contender: measures drift as the daemon's job does, imports and config done.

Started once by ``drift.py --incremental`` with the project's Python; then, per line ``CACHE_FOLDER`` on stdin, it
times ``workspace_for(loaded).drift(())`` with the walk cache in that folder and prints one JSON line: wall and CPU
seconds and the ``deploywatch.drift/v1`` document (checked against git like the CLI's). A line ``CACHE_FOLDER<TAB>
PREVIOUS_CONFIG`` first runs drift with that config, untimed: the daemon's run before, in the same process (the
walk it kept is then in memory as well as in the folder).
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
        folder, _, previous = line.rstrip("\n").partition("\t")
        os.environ["DEPLOYWATCH_CACHE_DIR"] = folder
        os.environ["DEPLOYWATCH_WALK_CACHE"] = "1"
        if previous:
            workspace_for(load_config(previous, sections=DRIFT_SECTIONS)).drift((), now=datetime.now(UTC))
        wall, cpu = time.perf_counter(), time.process_time()
        report = workspace_for(loaded).drift((), now=datetime.now(UTC))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(json.dumps({"wall": wall, "cpu": cpu, "document": report.to_json()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
