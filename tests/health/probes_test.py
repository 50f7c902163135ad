"""Probes against real HTTP servers on 127.0.0.1 and real Nagios-style plugin scripts."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from deploywatch import load_config
from deploywatch.config.health import ProbeConfig
from deploywatch.core.procs import MAX_OUTPUT, run_shell
from deploywatch.core.redact import register_secret
from deploywatch.core.status import Status
from deploywatch.health.probes import ProbeResult, probe_configs, run_probes
from testing.http import Reply, closed_port, self_signed_context, serve

JSON = {"Content-Type": "application/json"}


def url_probe(url: str, **settings: Any) -> ProbeResult:
    (result,) = run_probes([ProbeConfig.model_validate({"name": "web", "url": url, **settings})])
    return result


def heartbeat(status: str, **checks: str) -> bytes:
    """A Dockerflow ``/__heartbeat__`` body; each check not ok gets a details entry with a message."""
    details = {name: {"status": state, "level": 30 if state == "warning" else 40,
                      "messages": {f"{name}.E001": f"{name} says {state}"}}
               for name, state in checks.items() if state != "ok"}
    return json.dumps({"status": status, "checks": checks, "details": details}).encode()


def shown(result: ProbeResult) -> str:
    """Everything a probe result can put in front of people or into the store."""
    finding = result.finding()
    return json.dumps([repr(result), result.as_json(), finding.summary, dict(finding.details), dict(finding.labels)],
                      default=str)


# ---------------------------------------------------------------- HTTP answers


def test_2xx_is_ok_with_the_response_time() -> None:
    with serve({"/health": Reply(204), "/ok": Reply(200, b"fine")}) as server:
        results = run_probes([ProbeConfig(name="a", url=server.url("/health")),
                              ProbeConfig(name="b", url=server.url("/ok"), weight=2.5)])
    assert [(r.name, r.status, r.summary) for r in results] == [("a", Status.OK, "HTTP 204"),
                                                                ("b", Status.OK, "HTTP 200")]
    assert all(r.value is not None and 0 < r.value < 2 for r in results)
    assert results[1].weight == 2.5
    assert results[0].target == f"http://127.0.0.1:{server.port}/health"


@pytest.mark.parametrize("code", [503, 500, 404, 401])
def test_errors_are_critical(code: int) -> None:
    with serve({"/": Reply(code, b"<html>down</html>")}) as server:
        result = url_probe(server.url("/"))
    assert (result.status, result.summary) == (Status.CRITICAL, f"HTTP {code}")


@pytest.mark.parametrize(("code", "body", "status", "summary"), [
    (200, heartbeat("ok", database="ok", cache="ok"), Status.OK, "heartbeat ok (2 checks ok)"),
    (200, heartbeat("warning", database="ok", migrations="warning"), Status.WARNING,
     "heartbeat warning: migrations warning: migrations says warning"),
    (500, heartbeat("error", database="error", cache="warning", queue="ok"), Status.CRITICAL,
     "heartbeat error: database error: database says error; cache warning: cache says warning (HTTP 500)"),
    (200, heartbeat("error", database="error"), Status.CRITICAL,
     "heartbeat error: database error: database says error"),
    (503, heartbeat("warning", cache="warning"), Status.WARNING, "heartbeat warning: cache warning: cache says warning "
                                                                 "(HTTP 503)"),
    # a server error is never ok, whatever the body claims
    (500, heartbeat("ok", database="ok"), Status.CRITICAL,
     "HTTP 500 although the body says heartbeat ok (1 check ok)"),
    # health+json's words
    (200, b'{"status": "pass"}', Status.OK, "heartbeat pass"),
    (503, b'{"status": "fail", "checks": {"db:responseTime": [{"status": "pass"}, {"status": "fail"}]}}',
     Status.CRITICAL, "heartbeat fail: db:responseTime fail (HTTP 503)"),
    (200, b'{"status": "warning", "checks": {}}', Status.WARNING, "heartbeat warning (no failing check named)"),
    # JSON that is not a heartbeat: the HTTP status alone decides
    (200, b'{"status": "green"}', Status.OK, "HTTP 200"),
    (500, b'{"status": "green"}', Status.CRITICAL, "HTTP 500"),
    (502, b"not json {", Status.CRITICAL, "HTTP 502"),
    (404, heartbeat("ok"), Status.CRITICAL, "HTTP 404"),
])
def test_dockerflow_heartbeat(code: int, body: bytes, status: Status, summary: str) -> None:
    with serve({"/__heartbeat__": Reply(code, body, JSON)}) as server:
        result = url_probe(server.url("/__heartbeat__"))
    assert (result.status, result.summary) == (status, summary)


def test_a_hanging_server_is_critical_at_the_timeout() -> None:
    with serve({"/slow": Reply(200, b"late", delay=3.0)}) as server:
        started = time.monotonic()
        result = url_probe(server.url("/slow"), timeout=1)
        elapsed = time.monotonic() - started
    assert (result.status, result.summary, result.value) == (Status.CRITICAL, "no answer within 1s", None)
    assert 0.9 < elapsed < 2.5


def test_the_deadline_covers_the_whole_body() -> None:
    # every byte arrives well within a read timeout, the whole body does not arrive within the deadline
    with serve({"/trickle": Reply(200, b"x" * 40, trickle=0.1)}) as server:
        started = time.monotonic()
        result = url_probe(server.url("/trickle"), timeout=1)
        elapsed = time.monotonic() - started
    assert (result.status, result.summary) == (Status.CRITICAL, "no answer within 1s")
    assert elapsed < 2.5


def test_a_huge_body_is_not_read_past_1_mib() -> None:
    with serve({"/big": Reply(200, b"", stream_bytes=16 << 20)}) as server:
        result = url_probe(server.url("/big"))
    assert (result.status, result.summary) == (Status.OK, "HTTP 200 (body over 1 MiB, not inspected)")
    assert result.seconds < 5


def test_connection_refused_and_dns_failures_are_critical_with_the_reason() -> None:
    results = run_probes([ProbeConfig(name="refused", url=f"http://127.0.0.1:{closed_port()}/"),
                          ProbeConfig(name="dns", url="http://deploywatch-test.invalid/", timeout=5)])
    assert [r.status for r in results] == [Status.CRITICAL, Status.CRITICAL]
    assert results[0].summary.startswith("cannot connect: ")
    assert "refused" in results[0].summary.lower()
    assert results[1].summary.startswith("cannot connect: ")
    assert results[1].value is None


def test_tls_is_verified(tmp_path: Path) -> None:
    context = self_signed_context(tmp_path)
    if context is None:
        pytest.skip("openssl is not installed")
    with serve({"/": Reply(200, b"ok")}, tls=context) as server:
        result = url_probe(server.url("/"))
    assert result.status is Status.CRITICAL
    assert "certificate" in result.summary.lower()


def test_redirects_are_followed_without_headers_and_reported_with_them() -> None:
    with serve({"/old": Reply(302, b"", {"Location": "/new?token=abc123secret"}), "/new": Reply(200)}) as server:
        followed = url_probe(server.url("/old"))
        refused = url_probe(server.url("/old"), headers={"X-Api-Key": "k3y-for-redirect-test"})
        paths = [s.path for s in server.seen]
    assert (followed.status, followed.summary) == (Status.OK, "HTTP 200")
    assert refused.status is Status.CRITICAL
    assert refused.summary == (f"HTTP 302 redirect to http://127.0.0.1:{server.port}/new "
                               "(not followed: the probe sends headers)")
    assert paths == ["/old", "/new?token=abc123secret", "/old"]


# ---------------------------------------------------------------- secrets


def test_headers_are_sent_and_never_shown(httpserver: HTTPServer) -> None:
    token = f"tok{uuid.uuid4().hex}"
    key = f"key{uuid.uuid4().hex}"
    query = f"q{uuid.uuid4().hex}"
    # a server that echoes what it was sent, in a failing check's message
    body = {"status": "error", "checks": {"auth": "error"},
            "details": {"auth": {"status": "error", "messages": {"x": f"rejected Bearer {token} and key {key}"}}}}
    httpserver.expect_request("/__heartbeat__", headers={"Authorization": f"Bearer {token}", "X-Api-Key": key}
                              ).respond_with_json(body, status=500)
    result = url_probe(httpserver.url_for("/__heartbeat__") + f"?signature={query}",
                       headers={"Authorization": f"Bearer {token}", "X-Api-Key": key})
    assert len(httpserver.log) == 1  # the expectation above matched: both headers were sent
    assert result.status is Status.CRITICAL
    assert result.summary == "heartbeat error: auth error: rejected *** and key *** (HTTP 500)"
    assert result.target == f"http://localhost:{httpserver.port}/__heartbeat__"
    text = shown(result)
    for secret in (token, key, query):
        assert secret not in text
    assert "headers" not in repr(ProbeConfig(name="p", url="http://x/", headers={"A": token}))
    assert token not in repr(ProbeConfig(name="p", url="http://x/", headers={"A": token}))


def test_a_url_with_user_info_is_shown_without_it(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("ok")
    result = url_probe(f"http://user:pa55word@localhost:{httpserver.port}/")
    assert result.status is Status.OK
    assert result.target == f"http://localhost:{httpserver.port}/"
    assert "pa55word" not in shown(result)


# ---------------------------------------------------------------- commands


def plugin(tmp_path: Path, body: str, name: str = "check_thing") -> str:
    """A plugin script in ``tmp_path``; returns its path."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def command_probe(command: str, *, timeout: int = 10, cwd: Path | None = None) -> ProbeResult:
    (result,) = run_probes([ProbeConfig(name="plugin", command=command, timeout=timeout)], cwd=cwd)
    return result


@pytest.mark.parametrize(("script", "status", "summary", "value"), [
    ('echo "DISK OK - 40% used | used=40%;80;90"; exit 0', Status.OK, "DISK OK - 40% used", 0.0),
    ('echo "DISK WARNING - 85% used|used=85%"; exit 1', Status.WARNING, "DISK WARNING - 85% used", 1.0),
    ('echo "DISK CRITICAL - 95% used"; echo "second line"; exit 2', Status.CRITICAL, "DISK CRITICAL - 95% used", 2.0),
    ('echo "UNKNOWN - cannot stat /data"; exit 3', Status.UNKNOWN, "UNKNOWN - cannot stat /data", 3.0),
    ("exit 0", Status.OK, "exit 0, no output", 0.0),
    ('echo "DISK OK but strange"; exit 4', Status.UNKNOWN,
     "exit 4 is not a plugin status (0 ok, 1 warning, 2 critical, 3 unknown): DISK OK but strange", 4.0),
    ('echo "oops" >&2; exit 42', Status.UNKNOWN,
     "exit 42 is not a plugin status (0 ok, 1 warning, 2 critical, 3 unknown): stderr: oops", 42.0),
    ("kill -TERM $$", Status.UNKNOWN, "killed by signal 15 (SIGTERM)", None),
])
def test_nagios_plugin_exit_codes(tmp_path: Path, script: str, status: Status, summary: str,
                                  value: float | None) -> None:
    path = plugin(tmp_path, script)
    result = command_probe(f"{path} -w 80 -c 90")
    assert result.status is status
    assert result.target == "check_thing"
    if value is None:  # a signal: the shell may report the plugin's death itself (128 + 15) or be killed with it
        assert result.summary.startswith(("killed by signal 15 (SIGTERM)", "exit 143: killed by signal 15 (SIGTERM)"))
        assert result.value in (-15.0, 143.0)
    else:
        assert (result.summary, result.value) == (summary, value)


def test_command_not_found_and_not_executable(tmp_path: Path) -> None:
    script = tmp_path / "check_plain"
    script.write_text("#!/bin/sh\necho OK\n", encoding="utf-8")
    script.chmod(0o644)
    missing, denied = run_probes([ProbeConfig(name="missing", command=f"{tmp_path}/check_nope --flag"),
                                  ProbeConfig(name="denied", command=str(script))])
    assert (missing.status, missing.value, missing.target) == (Status.UNKNOWN, 127.0, "check_nope")
    assert missing.summary.startswith("command not found (exit 127)")
    assert (denied.status, denied.value) == (Status.UNKNOWN, 126.0)
    assert denied.summary.startswith("command not executable (exit 126)")


def test_garbage_output_is_one_clean_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\xff\xfeOK\x00\x1b[31m bytes\x07" + b"A" * 5000 + b"\nnext line\n" + os.urandom(2000))
    result = command_probe(f"cat {garbage}; exit 0")
    assert result.status is Status.OK
    assert result.summary.startswith("\ufffd\ufffdOK")
    assert "next line" not in result.summary
    assert len(result.summary) <= 300
    assert not any(ord(c) < 32 for c in result.summary)


def test_huge_output_is_capped() -> None:
    command = "head -c 20000000 /dev/zero | tr '\\0' 'x'; echo; exit 1"
    outcome = run_shell(command, timeout=20)
    assert (outcome.returncode, len(outcome.stdout)) == (1, MAX_OUTPUT)
    result = command_probe(command, timeout=20)
    assert result.status is Status.WARNING
    assert result.summary == "x" * 299 + "…"


def test_a_plugin_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    path = plugin(tmp_path, f"sleep 30 & echo $! > {pid_file}; echo started; sleep 30; echo OK")
    started = time.monotonic()
    result = command_probe(path, timeout=1)
    elapsed = time.monotonic() - started
    assert (result.status, result.summary, result.value) == (Status.UNKNOWN, "timed out after 1s", None)
    assert elapsed < 4
    child = int(pid_file.read_text().strip())
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child), "the plugin's child outlived the timeout"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # a zombie is dead
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_plugin_output_is_masked_and_commands_run_in_cwd(tmp_path: Path) -> None:
    secret = f"env{uuid.uuid4().hex}"
    register_secret(secret)
    plugin(tmp_path, f'echo "LOGIN CRITICAL - password=hunter2hunter2 token {secret} rejected"; exit 2',
           name="check_login")
    result = command_probe("API_TOKEN=abc123abc123 ./check_login", cwd=tmp_path)
    assert result.status is Status.CRITICAL
    assert result.target == "check_login"
    assert "hunter2hunter2" not in result.summary
    assert secret not in result.summary
    assert result.summary.startswith("LOGIN CRITICAL - password=***")
    assert "abc123abc123" not in shown(result)


# ---------------------------------------------------------------- running many


def test_probes_run_concurrently_in_config_order(tmp_path: Path) -> None:
    with serve({"/a": Reply(200, delay=0.6), "/b": Reply(503, delay=0.6)}) as server:
        probes = [ProbeConfig(name="a", url=server.url("/a")), ProbeConfig(name="sleepy", command="sleep 0.6; exit 1"),
                  ProbeConfig(name="b", url=server.url("/b")), ProbeConfig(name="c", command="echo fine")]
        started = time.monotonic()
        results = run_probes(probes)
        elapsed = time.monotonic() - started
        serial = run_probes(probes[:2], concurrency=1)
    assert [(r.name, r.status) for r in results] == [("a", Status.OK), ("sleepy", Status.WARNING),
                                                     ("b", Status.CRITICAL), ("c", Status.OK)]
    assert elapsed < 1.5, f"four probes of ~0.6s took {elapsed:.2f}s: not concurrent"
    assert sum(r.seconds for r in serial) >= 1.1
    assert run_probes([]) == []


def test_finding() -> None:
    result = ProbeResult("api", "https://api.example.com/__heartbeat__", Status.WARNING, "heartbeat warning: db",
                         0.25, 2.0, 0.2)
    finding = result.finding()
    assert (finding.kind, finding.subject, finding.status) == ("probe", "api", Status.WARNING)
    assert dict(finding.labels) == {"probe": "api"}
    assert dict(finding.details) == {"target": "https://api.example.com/__heartbeat__", "status": "warning",
                                     "summary": "heartbeat warning: db", "seconds": 0.25, "value": 0.2}
    assert "heartbeat warning: db" in finding.summary


def test_probe_configs_add_service_health_urls(tmp_path: Path) -> None:
    base = """
[services.web]
paths = ["web/**"]
deployed = { file = "web.sha" }
health = "https://web.example.com/__heartbeat__"

[services.worker]
paths = ["worker/**"]
deployed = { file = "worker.sha" }

[services.api]
paths = ["api/**"]
deployed = { file = "api.sha" }
health = "https://api.example.com/health"

[[probes]]
name = "disk"
command = "check_disk -w 80"

[[probes]]
name = "api health"
url = "https://api.example.com/health"
headers = { Authorization = "Bearer abcdefgh" }
"""
    config = tmp_path / "deploywatch.toml"
    config.write_text(base, encoding="utf-8")
    probes = probe_configs(load_config(config))
    assert [(p.name, p.url or p.command) for p in probes] == [
        ("disk", "check_disk -w 80"), ("api health", "https://api.example.com/health"),
        ("web health", "https://web.example.com/__heartbeat__")]
    assert probes[1].headers  # the explicit probe wins over the service's
    config.write_text(base + "\n[health]\nprobe_services = false\n", encoding="utf-8")
    assert [p.name for p in probe_configs(load_config(config))] == ["disk", "api health"]
