"""``deployed = { command = "…" }``: real subprocesses, their output, exit codes and timeouts."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest

from deploywatch.config import DeployedConfig, LoadedConfig
from deploywatch.core.redact import register_secret
from deploywatch.drift.sources import CommandSource, Reading, source_for

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


def run(shell: str, *, timeout: float = 10.0, cwd: Path | None = None) -> Reading:
    """Run ``shell`` through the command source."""
    return CommandSource(shell=shell, timeout=timeout, cwd=str(cwd) if cwd else None).read()


def failed(reading: Reading) -> str:
    """The error of a reading that must have failed."""
    assert reading.value is None, f"expected an error, got value {reading.value!r}"
    assert reading.error is not None
    return reading.error


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_dead(pids: list[int], within: float = 3.0) -> list[int]:
    """The pids still alive after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def test_prints_a_sha() -> None:
    assert run(f"echo {SHA}") == Reading(f"command echo {SHA}", SHA)


def test_prints_a_sha_with_trailing_blank_lines_and_carriage_returns() -> None:
    assert run(f"printf '%s\\r\\n\\n\\n  \\n' {SHA}").value == SHA


def test_argv_runs_without_a_shell() -> None:
    reading = CommandSource(argv=[sys.executable, "-c", f"print('{SHA}')"], timeout=10).read()
    assert reading.value == SHA


def test_configured_command_runs_in_the_config_directory(loaded: LoadedConfig) -> None:
    (loaded.base_dir / "deployed").mkdir()
    (loaded.base_dir / "deployed" / "web.sha").write_text(SHA + "\n")
    source = source_for(loaded, DeployedConfig.model_validate({"command": "cat deployed/web.sha"}))
    assert source.read() == Reading("command cat deployed/web.sha", SHA)


def test_configured_timeout_is_used(loaded: LoadedConfig) -> None:
    source = source_for(loaded, DeployedConfig.model_validate({"command": "true", "timeout": "7s"}))
    assert isinstance(source, CommandSource)
    assert source.timeout == 7.0


def test_non_zero_exit_reports_the_code_and_the_first_lines_of_stderr() -> None:
    error = failed(run("echo 'first line' >&2; echo 'ERROR: (gcloud.run) service web not found' >&2; exit 4"))
    assert error == "exited with code 4; stderr: first line | ERROR: (gcloud.run) service web not found"


def test_non_zero_exit_without_stderr() -> None:
    assert failed(run(f"echo {SHA}; exit 3")) == "exited with code 3"


def test_the_cause_on_the_first_line_of_stderr_is_shown_not_the_detail_after_it() -> None:
    script = ("echo 'ERROR: (gcloud.run.services.describe) PERMISSION_DENIED: caller lacks run.services.get' >&2; "
              "echo '----------' >&2; "
              "for i in 1 2 3 4 5 6 7 8; do echo \"  at frame $i\" >&2; done; exit 1")
    error = failed(run(script))
    assert error == ("exited with code 1; stderr: ERROR: (gcloud.run.services.describe) PERMISSION_DENIED: caller "
                     "lacks run.services.get | at frame 1 (+7 more lines)")


def test_the_first_lines_of_stderr_survive_a_long_stderr_and_are_bounded() -> None:
    error = failed(run("echo 'fatal: the cause' >&2; "
                       f"{sys.executable} -c \"import sys; sys.stderr.write('noise\\n' * 20000)\"; exit 1"))
    assert error.startswith("exited with code 1; stderr: fatal: the cause | noise (+")
    error = failed(run(f"{sys.executable} -c \"import sys; sys.stderr.write('x' * 5000)\"; exit 1"))
    assert len(error) < 400
    assert error.endswith("x" * 100 + "...")


@pytest.mark.parametrize("output", ["one\ntwo\n", f"{SHA}\n{SHA}\n"], ids=["junk", "two-shas"])
def test_more_than_one_line_is_an_error(output: str) -> None:
    error = failed(run(f"printf '{output}'"))
    assert "expected one commit SHA, got 2 lines" in error


def test_words_with_spaces_are_an_error() -> None:
    error = failed(run("echo 'REVISION  SERVICE  REGION'"))
    assert "expected a commit SHA or tag" in error


def test_empty_output_is_an_error() -> None:
    assert "empty output" in failed(run("true"))
    assert "empty output" in failed(run("printf '\\n\\n'"))


def test_none_output_is_an_error() -> None:
    # what `aws --output text` prints when the tag is not set
    error = failed(run("echo None"))
    assert "reported no value ('None')" in error


def test_junk_output_error_includes_the_stderr_tail() -> None:
    error = failed(run("echo 'not a sha at all'; echo 'WARNING: using default project' >&2"))
    assert "expected a commit SHA or tag" in error
    assert "stderr: WARNING: using default project" in error


def test_a_hanging_command_times_out() -> None:
    started = time.monotonic()
    error = failed(run("sleep 30", timeout=1))
    assert time.monotonic() - started < 5
    assert error.startswith("timed out after 1s")


def test_timeout_keeps_the_stderr_written_before_it() -> None:
    error = failed(run("echo 'waiting for token refresh' >&2; sleep 30", timeout=1))
    assert error == "timed out after 1s; stderr: waiting for token refresh"


def test_timeout_kills_children_that_hold_stdout_open(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    started = time.monotonic()
    error = failed(run(f"sleep 30 & echo $! > {pids}; echo $$ >> {pids}; sleep 30", timeout=1))
    assert time.monotonic() - started < 5
    assert error.startswith("timed out")
    assert wait_dead([int(p) for p in pids.read_text().split()]) == []


def test_timeout_does_not_wait_for_a_descendant_that_left_the_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "escaped.pid"
    escape = (f"import os, time; os.setsid(); open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
              "time.sleep(8)")
    started = time.monotonic()
    try:
        error = failed(run(f"{sys.executable} -c \"{escape}\" & sleep 30", timeout=1))
        assert time.monotonic() - started < 5
        assert error.startswith("timed out")
    finally:
        deadline = time.monotonic() + 5
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ValueError, FileNotFoundError, ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_secrets_in_the_stderr_tail_are_masked() -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    register_secret(secret)
    error = failed(run(f"echo 'auth failed for {secret}' >&2; "
                       "echo 'retry with token=abc123def456ghi' >&2; "
                       "echo 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig' >&2; exit 1"))
    assert secret not in error
    assert "abc123def456ghi" not in error
    assert "eyJhbGciOiJIUzI1NiJ9" not in error
    assert "auth failed for ***" in error
    assert "token=***" in error


def test_secrets_in_junk_stdout_are_masked() -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    register_secret(secret)
    error = failed(run(f"echo 'key {secret}'"))
    assert secret not in error
    assert "***" in error


def test_description_masks_secrets_in_the_command() -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    register_secret(secret)
    source = CommandSource(shell=f"curl -fsS -H 'X-Api-Key: {secret}' https://deploy.example.com/sha")
    assert secret not in source.description
    reading = CommandSource(shell=f"echo {secret} >/dev/null; exit 2", timeout=5).read()
    assert secret not in reading.source


def test_missing_executable_in_argv(loaded: LoadedConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    deployed = DeployedConfig.model_validate({"cloudrun": {"service": "web", "region": "us-west2"}})
    reading = source_for(loaded, deployed).read()
    assert failed(reading) == "gcloud not found on PATH"
    assert reading.source.startswith("cloudrun gcloud run services describe web")


def test_missing_command_in_shell() -> None:
    error = failed(run("deploywatch-no-such-tool --print-sha"))
    assert error.startswith("exited with code 127")
    assert "deploywatch-no-such-tool" in error
    assert "not found" in error


def test_command_killed_by_a_signal() -> None:
    error = failed(run("kill -TERM $$"))
    assert error == "killed by signal 15 (SIGTERM)"


def test_endless_output_is_cut_off_and_killed() -> None:
    started = time.monotonic()
    error = failed(run("yes 0123456789abcdef0123456789abcdef01234567", timeout=10))
    assert error.startswith("printed more than 1 MiB")
    assert time.monotonic() - started < 5
