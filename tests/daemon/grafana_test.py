"""The Grafana dashboard under docs/grafana/ names only metrics the daemon really exports (scraped from a live
``deploywatch serve`` on the demo, after a drift run and a deploy ledger entry)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from deploywatch.cli import main
from testing.daemon import Daemon, workspace

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "deploywatch.json"
_METRIC = re.compile(r"\bdeploywatch_[a-z_]+\b")
_SUFFIXES = ("_bucket", "_count", "_sum", "_created")


def _expressions(document: dict[str, object]) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "definition") and isinstance(value, str):
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return found


def test_every_expression_names_a_metric_the_daemon_exports(demo: Path, tmp_path: Path) -> None:
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    expressions = _expressions(document)
    assert len(expressions) >= 10
    config = workspace(demo, tmp_path / "ws")
    assert main(["record", "prediction-worker", "main", "--config", str(config)]) == 0
    daemon = Daemon(config).wait_ready()
    try:
        daemon.run_job("drift")
        daemon.run_job("check")
        text = daemon.http.get("/metrics").text
    finally:
        daemon.terminate()
        daemon.close()
    exported: set[str] = set()
    for family in text_string_to_metric_families(text):
        exported.add(family.name)
        exported.update(sample.name for sample in family.samples)
    named = {name for e in expressions for name in _METRIC.findall(e)}
    missing = sorted(n for n in named if n not in exported and not any(
        n.endswith(s) and n.removesuffix(s) in exported for s in _SUFFIXES))
    assert missing == [], f"the dashboard names metrics the daemon does not export: {missing}"
    assert {"deploywatch_relevant_commits_behind", "deploywatch_deployments", "deploywatch_health_score"} <= named
    assert 'how="record"' in text and 'service="prediction-worker"' in text
