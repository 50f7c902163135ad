"""The OpenAPI document is what the server does: schemathesis (every check) against a live daemon, with reads open
and with reads protected, bounded in time; and the document's shape follows the server's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploywatch.web.endpoints import ENDPOINTS
from deploywatch.web.openapi import openapi_document
from testing.daemon import TOKEN, Daemon, one_service

SETTINGS = Path(__file__).with_name("schemathesis.toml")


def small_workspace(tmp_path: Path, *, protect_reads: bool) -> Path:
    return one_service(tmp_path, extra='\n[phases.load]\nprocessors = ["loader"]\n',
                       server=f"protect_reads = {str(protect_reads).lower()}")


@pytest.mark.parametrize("protect_reads", [False, True])
def test_schemathesis_finds_no_difference_between_the_document_and_the_server(tmp_path: Path,
                                                                              protect_reads: bool) -> None:
    daemon = Daemon(small_workspace(tmp_path, protect_reads=protect_reads)).wait_ready()
    try:
        command = [str(Path(sys.executable).with_name("st")), "--config-file", str(SETTINGS), "--no-color", "run",
                   f"http://127.0.0.1:{daemon.port}/openapi.json", "--header", f"Authorization: Bearer {TOKEN}",
                   "--max-examples", "8", "--seed", "1", "--workers", "1", "--request-timeout", "10",
                   "--max-time", "12", "--generation-database", "none", "--phases", "examples,coverage,fuzzing"]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
        done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False, cwd=tmp_path,
                              env=env)
        report = done.stdout + done.stderr
        assert done.returncode == 0, report[-6000:]
        assert "13 selected / 13 total" in report
        assert "Traceback" not in daemon.output()
    finally:
        daemon.close()


@pytest.mark.parametrize("protect_reads", [False, True])
def test_the_document_follows_the_endpoint_table_and_the_settings(protect_reads: bool) -> None:
    document = openapi_document("0", protect_reads=protect_reads)
    operations = {(path, method.upper()): op for path, item in document["paths"].items()
                  for method, op in item.items()}
    assert set(operations) == {(e.path, e.method) for e in ENDPOINTS}
    for spec in ENDPOINTS:
        operation = operations[(spec.path, spec.method)]
        protected = spec.access == "write" or (spec.access == "read" and protect_reads)
        assert ("security" in operation) is protected, spec.path
        assert {"401", "403", "429"} <= set(operation["responses"]) if protected else True
        assert [p["name"] for p in operation.get("parameters", [])] == [p.name for p in spec.params]
    runs = operations[("/api/runs", "GET")]
    assert [p["schema"] for p in runs["parameters"]] == [
        {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
        {"type": "integer", "minimum": 1, "maximum": 500, "default": 20}]
