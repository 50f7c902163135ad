"""The daemon's HTTP API under hostile or careless input: bad parameters and bodies, oversized bodies, token guessing,
and jobs that cannot run. Each test talks to a real ``deploywatch serve`` subprocess over real sockets.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testing.daemon import TOKEN, Daemon, one_service, wait_for, workspace


@pytest.fixture(scope="module")
def api(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon (a token, reads open) for the module; at the end its log must hold no traceback."""
    config = workspace(demo, tmp_path_factory.mktemp("serve-input") / "ws")
    daemon = Daemon(config).wait_ready()
    try:
        yield daemon
        code, _ = daemon.terminate()
        assert code == 0, daemon.output()
        assert "Traceback" not in daemon.output()
        assert TOKEN not in daemon.output()
    finally:
        daemon.close()


def client_from(daemon: Daemon, address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.x.y.z is this machine)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=f"http://127.0.0.1:{daemon.port}", timeout=10, transport=transport)


def raw_exchange(port: int, request: bytes, *, timeout: float = 5.0) -> bytes:
    """Send ``request`` on a fresh connection; return everything answered until the server closes or ``timeout``."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
        return received


# ---------------------------------------------------------------- 2.9: no input gives a 500


@pytest.mark.parametrize("limit", ["²", "٣", "𝟗", "1²", "+5", " 5", "1e3", "99999999999999999999999"])
def test_a_limit_that_is_not_ascii_digits_is_a_400(api: Daemon, limit: str) -> None:
    for path in ("/api/runs", "/api/jobs"):
        answer = api.http.get(path, params={"limit": limit})
        assert answer.status_code == 400, (path, limit, answer.text)
        assert answer.json() == {"error": "limit must be a whole number from 1 to 500"}


def test_a_deeply_nested_body_is_a_400_with_one_line(api: Daemon) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    answer = api.post("/api/completions", content=deep, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"error": "the body is nested too deeply (at most 32 levels)"}
    inner = base64.b64encode(b'{"a":' * 50_000 + b"1" + b"}" * 50_000).decode()
    enveloped = api.post("/api/completions", json={"message": {"data": inner}})
    assert enveloped.status_code in (400, 413), enveloped.text
    assert "\n" not in enveloped.json()["error"]
    assert "Traceback" not in api.output()


def test_odd_but_well_formed_inputs_never_give_a_500(api: Daemon) -> None:
    bodies: list[bytes] = [b"", b"null", b"1e999", b'"x"', b"\xff\xfe", b'{"phase": 1, "processor": []}',
                           b'{"phase": "phase2", "processor": "bdl_games", "date": "2026-02-30"}',
                           b'{"phase": "phase2", "processor": "bdl_games", "date": "\xd9\xa3"}',
                           b'{"phase": "\\ud800", "processor": "x"}', b'{"message": null}',
                           b'{"message": {"data": 5}}', b'{"message": {"attributes": {"phase": 3}}}',
                           json.dumps({"phase": "p" * 100_000, "processor": "x"}).encode()]
    for body in bodies:
        answer = api.post("/api/completions", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, (body[:60], answer.text)
        assert answer.json()["error"] and "\n" not in answer.json()["error"]
    for path, query in (("/api/runs", "kind=%00"), ("/api/runs", "kind=%FF"), ("/api/runs", "kind="),
                        ("/api/jobs", "job=%D9%A3"), ("/api/jobs", "job="), ("/api/runs", "limit=%ED%A0%80"),
                        ("/api/jobs", "limit=%C2%B2&limit=2"), ("/api/runs", "limit=")):
        answer = api.http.get(f"{path}?{query}")
        assert answer.status_code == 400, (path, query, answer.text)
        assert answer.json()["error"] and "\n" not in answer.json()["error"]
    assert api.post("/api/runs/%FF%FE").status_code == 404
    assert "Traceback" not in api.output()


def test_answers_never_carry_non_json_numbers() -> None:
    from deploywatch.web.app import safe

    assert safe({"score": float("nan"), "items": [float("inf"), -float("inf"), 1.5], "n": 3}) == {
        "score": None, "items": [None, None, 1.5], "n": 3}


# ---------------------------------------------------------------- 2.12: the body size is checked before reading


def test_a_declared_huge_body_is_refused_before_it_is_sent(api: Daemon) -> None:
    head = (f"POST /api/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 400000000\r\n\r\n").encode()
    answer = raw_exchange(api.port, head + b'{"phase": ')
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"larger than 1048576 bytes" in answer


def test_a_chunked_body_is_cut_off_past_the_limit(api: Daemon) -> None:
    import select

    head = (f"POST /api/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as sock:
        sock.sendall(head)
        try:
            while sent < 64 * 1024 * 1024:  # 64 MiB at most: a server that buffers it all never answers
                sock.sendall(chunk)
                sent += 64 * 1024
                if select.select([sock], [], [], 0)[0]:
                    break
            while b"\r\n\r\n" not in answer:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except (TimeoutError, ConnectionError):
            pass  # the server stopped reading and closed: what it answered may be lost in the reset
    assert sent < 16 * 1024 * 1024, sent
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413 "), answer[:200]


# ---------------------------------------------------------------- 2.8: guessing the token is throttled


def test_wrong_tokens_from_one_address_are_throttled_and_others_are_not(api: Daemon) -> None:
    with client_from(api, "127.0.0.7") as attacker, client_from(api, "127.0.0.8") as neighbour:
        for n in range(10):
            wrong = attacker.post("/api/runs/drift", headers={"Authorization": f"Bearer guess-{n}"})
            assert wrong.status_code == 401, (n, wrong.text)
        blocked = attacker.post("/api/runs/drift", headers={"Authorization": "Bearer guess-10"})
        assert blocked.status_code == 429, blocked.text
        assert 1 <= int(blocked.headers["retry-after"]) <= 60
        assert "too many failed authentications" in blocked.json()["error"]
        # Not even the right token is compared while the address is blocked, so guessing gains nothing.
        right = attacker.get("/api/jobs", params={"token": TOKEN}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert attacker.post("/api/completions", headers={"Authorization": f"Bearer {TOKEN}"},
                             json={"phase": "phase2"}).status_code == 429
        assert right.status_code == 200  # reads are open: they need no authentication
        # Another address is not affected.
        assert neighbour.post("/api/completions", headers={"Authorization": f"Bearer {TOKEN}"},
                              json={"phase": "phase2"}).status_code == 400
        assert neighbour.post("/api/runs/drift", headers={"Authorization": "Bearer nope"}).status_code == 401


# ---------------------------------------------------------------- 3.6: a job that cannot run


@pytest.fixture
def no_checks(tmp_path: Path) -> Path:
    """A one-service workspace with no [[checks]]."""
    return one_service(tmp_path)


def test_triggering_a_job_with_nothing_to_run_is_a_409(no_checks: Path) -> None:
    daemon = Daemon(no_checks).wait_ready()
    try:
        refused = daemon.post("/api/runs/canary")
        assert refused.status_code == 409, refused.text
        assert refused.json() == {"error": "canary cannot run: no checks are configured (add [[checks]] to the "
                                           "config)"}
        with daemon.store() as store:
            assert store.job_runs(limit=10) == []  # nothing was recorded, certainly not "ok"
        assert daemon.run_job("drift").state == "ok"
    finally:
        daemon.close()


# ---------------------------------------------------------------- 2.7: on_complete runs off the request path


@pytest.fixture
def slow_actions(no_checks: Path) -> Path:
    """The one-service workspace with a one-processor phase whose on_complete waits for a ``gate`` file."""
    action = "touch started-{{ date }}; while [ ! -e gate ]; do sleep 0.05; done"
    with no_checks.open("a", encoding="utf-8") as config:
        config.write(f'\n[phases.load]\nprocessors = ["loader"]\non_complete = "{action}"\n'
                     'on_complete_timeout = "60s"\n')
    return no_checks


def test_slow_on_complete_actions_do_not_hold_up_the_api(slow_actions: Path) -> None:
    import concurrent.futures as cf
    from datetime import date, timedelta

    base = slow_actions.parent
    daemon = Daemon(slow_actions).wait_ready()
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(45)]
    try:
        def report(day: date) -> httpx.Response:
            with httpx.Client(base_url=f"http://127.0.0.1:{daemon.port}", timeout=15) as client:
                return client.post("/api/completions", headers={"Authorization": f"Bearer {TOKEN}"},
                                   json={"phase": "load", "processor": "loader", "date": day.isoformat()})

        with cf.ThreadPoolExecutor(45) as pool:
            answers = list(pool.map(report, days))
        # Every report was answered while every action is still waiting for the gate: none ran in the request.
        assert not (base / "gate").exists()
        assert [(a.status_code, a.json()["trigger_outcome"]) for a in answers] == [(201, "queued")] * 45
        health = daemon.http.get("/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        # Bounded: a few actions run at once, the rest wait their turn.
        started = wait_for("the first actions to start", lambda: list(base.glob("started-*")))
        time.sleep(0.5)
        assert 1 <= len(list(base.glob("started-*"))) <= 4
        with daemon.store() as store:
            assert all(t.outcome is None for day in days for t in store.phase_triggers(day))
        (base / "gate").touch()

        def all_finished() -> bool:
            with daemon.store() as store:
                outcomes = [t.outcome for day in days for t in store.phase_triggers(day)]
            return len(outcomes) == 45 and set(outcomes) == {"ok"}

        wait_for("every action to end ok", all_finished, timeout=60)
        assert len(list(base.glob("started-*"))) == 45 and started
    finally:
        (base / "gate").touch()
        daemon.close()
