"""Loading the config: discovery, pyproject.toml, ``${VAR}`` interpolation, relative paths, thresholds —
and a corpus of malformed configs (``tests/data/bad_configs``) that must each fail with one line naming
the file, the line, the key path and what was expected, and exit 3 without a traceback.

Each corpus file starts with its expectation::

    # what the file gets wrong
    # expect-key: services.web.deployed.url      ("none" when the error has no key path)
    # expect-message: a substring of the message
    # expect-line: 12                            ("none" when no line can be named)

A file named ``NAME.pyproject.toml`` is installed as ``pyproject.toml``; every other one as
``deploywatch.toml``. Each is copied to ``WORKSPACE/NAME/`` beside a real repository at
``WORKSPACE/repo``, so the only thing wrong with it is the thing it is about.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_args

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from deploywatch import load_config
from deploywatch.cli import main
from deploywatch.config import CONFIG_FILENAME, Config, find_config
from deploywatch.core.errors import ConfigError
from deploywatch.drift.sources import source_for
from deploywatch.drift.sources.file import FileSource
from testing.gitrepo import GitRepo, write_config, write_deployed

BAD_CONFIGS = Path(__file__).parents[1] / "data" / "bad_configs"
UNSET_VAR = "DEPLOYWATCH_TEST_UNSET_VAR"
ERROR_PREFIX = "deploywatch: error: "

# The corpus layout, valid: proves each bad file fails only for the reason it is about.
BASELINE = """\
[repo]
path = "../repo"
branch = "main"

[services.web]
paths = ["web/**", "shared"]
deployed = { file = "../deployed/web.sha" }
"""


@pytest.fixture(autouse=True)
def _no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYWATCH_CONFIG", raising=False)
    monkeypatch.delenv(UNSET_VAR, raising=False)


# ---------------------------------------------------------------- the malformed-config corpus


@dataclass(frozen=True)
class BadConfig:
    """One corpus file and what loading it must report."""

    name: str
    source: Path
    key: str | None
    message: str
    line: int | None

    @property
    def file_name(self) -> str:
        """The name the file is installed under."""
        return "pyproject.toml" if self.name.endswith(".pyproject") else CONFIG_FILENAME


def _read_case(source: Path) -> BadConfig:
    fields: dict[str, str] = {}
    for text in source.read_text(encoding="utf-8-sig").splitlines():
        if not text.startswith("#"):
            break
        label, sep, value = text.removeprefix("#").strip().partition(":")
        if sep and label.startswith("expect-"):
            fields[label.removeprefix("expect-")] = value.strip()
    missing = {"key", "message", "line"} - fields.keys()
    assert not missing, f"{source.name} lacks # expect-{', # expect-'.join(sorted(missing))}"
    return BadConfig(source.name.removesuffix(".toml"), source,
                     None if fields["key"] == "none" else fields["key"], fields["message"],
                     None if fields["line"] == "none" else int(fields["line"]))


CORPUS = [_read_case(p) for p in sorted(BAD_CONFIGS.glob("*.toml"))]
# Run through a real `python -m deploywatch` process too: one of each family of error.
SUBPROCESS_CASES = {
    "toml_unclosed_array", "env_unset_in_url", "tool_unknown_key.pyproject", "url_bad_port",
    "service_name_with_dot", "source_two_kinds", "glob_trailing_backslash", "missing_services",
    "toml_nested_5000_deep", "warehouse_url_unclosed_ipv6", "server_token_short", "float_check_weight_inf",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a real repository (``repo``) and a deployed-SHA file, for the corpus."""
    root = tmp_path_factory.mktemp("bad-configs")
    repo = GitRepo(root / "repo")
    repo.commit("web, shared and docs", {"web/app.py": "print('web')\n", "shared/lib.py": "X = 1\n",
                                          "docs/guide.md": "# guide\n"})
    write_deployed(root, "web", repo.head())
    return root


def _install(case: BadConfig, workspace: Path) -> Path:
    target = workspace / case.name / case.file_name
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(case.source, target)
    return target


def _assert_config_error(case: BadConfig, path: Path, code: int, out: str, err: str) -> None:
    assert "Traceback" not in out + err
    assert code == 3, err
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, f"expected one line on stderr, got {err!r}"
    where = str(path) + (f":{case.line}" if case.line else "") + (f": {case.key}" if case.key else "")
    assert err.startswith(f"{ERROR_PREFIX}{where}: "), err
    assert case.message in err


def test_corpus_is_large_and_well_formed() -> None:
    assert len(CORPUS) >= 30
    assert {c.name for c in CORPUS} >= SUBPROCESS_CASES
    for case in CORPUS:
        assert case.message, case.name


def test_corpus_baseline_is_valid(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = workspace / "baseline" / CONFIG_FILENAME
    config.parent.mkdir(exist_ok=True)
    config.write_text(BASELINE, encoding="utf-8")

    assert main(["config", "check", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "web" in captured.out


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_bad_config_is_one_line_naming_file_line_and_key(case: BadConfig, workspace: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = _install(case, workspace)

    code = main(["config", "check", "--config", str(path)])

    captured = capsys.readouterr()
    _assert_config_error(case, path, code, captured.out, captured.err)


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_bad_config_error_attributes(case: BadConfig, workspace: Path) -> None:
    path = _install(case, workspace)

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert (caught.value.file, caught.value.key, caught.value.line) == (str(path), case.key, case.line)
    assert case.message in caught.value.detail


@pytest.mark.parametrize("case", [c for c in CORPUS if c.name in SUBPROCESS_CASES], ids=lambda c: c.name)
def test_bad_config_in_a_real_process(case: BadConfig, workspace: Path) -> None:
    path = _install(case, workspace)
    env = {k: v for k, v in os.environ.items() if k not in ("DEPLOYWATCH_CONFIG", UNSET_VAR)}

    proc = subprocess.run([sys.executable, "-m", "deploywatch", "config", "check", "--config", str(path)],
                          cwd=workspace, env=env, capture_output=True, text=True, timeout=60, check=False)

    _assert_config_error(case, path, proc.returncode, proc.stdout, proc.stderr)


# ---------------------------------------------------------------- files that are not configs


def _run_config_check(path: Path, cwd: Path, command: tuple[str, ...] = ("config", "check")
                      ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DEPLOYWATCH_CONFIG", UNSET_VAR)}
    return subprocess.run([sys.executable, "-m", "deploywatch", *command, "--config", str(path)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], path: Path, message: str) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == f"{ERROR_PREFIX}{path}: {message}\n"


# drift reads the config early (to start git sooner), canary to find a kept plan: each must refuse too
COMMANDS = [("config", "check"), ("drift",), ("canary",), ("check",)]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_fifo_as_config_is_refused_without_waiting_for_a_writer(tmp_path: Path, command: tuple[str, ...]) -> None:
    fifo = tmp_path / "deploywatch.toml"
    os.mkfifo(fifo)

    proc = _run_config_check(fifo, tmp_path, command)  # before: blocked in open() until the 60 s timeout

    _assert_one_line_error(proc, fifo, "not a regular file (a config is a TOML file)")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_dev_zero_as_config_is_refused_instead_of_read_until_memory_runs_out(tmp_path: Path,
                                                                           command: tuple[str, ...]) -> None:
    proc = _run_config_check(Path("/dev/zero"), tmp_path, command)

    _assert_one_line_error(proc, Path("/dev/zero"), "not a regular file (a config is a TOML file)")


def test_a_config_larger_than_one_mib_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "deploywatch.toml"
    huge.write_text(BASELINE + "# padding\n" * (1024 * 1024 // 10), encoding="utf-8")

    proc = _run_config_check(huge, tmp_path)

    _assert_one_line_error(proc, huge, "larger than 1 MiB: not a deploywatch config")


def test_a_utf8_byte_order_mark_is_accepted(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = workspace / "bom" / CONFIG_FILENAME
    config.parent.mkdir(exist_ok=True)
    config.write_bytes(b"\xef\xbb\xbf" + BASELINE.encode())

    assert main(["config", "check", "--config", str(config)]) == 0
    assert capsys.readouterr().err == ""
    assert load_config(config).text == BASELINE


# ---------------------------------------------------------------- finding the config

SIMPLE = """\
[repo]
path = "{repo}"

[services.web]
paths = ["web/**"]
deployed = {{ file = "deployed/web.sha" }}
"""


@pytest.fixture
def web_repo(git_repo: GitRepo) -> GitRepo:
    """A repository with a web service, a nested directory and docs."""
    git_repo.commit("web", {"web/api/handlers/orders.py": "ORDERS = []\n", "web/app.py": "app = 1\n",
                            "docs/index.md": "# docs\n"})
    return git_repo


def test_config_found_by_walking_up_from_a_nested_directory(web_repo: GitRepo, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(web_repo.path, SIMPLE.format(repo="."))
    monkeypatch.chdir(web_repo.path / "web" / "api" / "handlers")

    loaded = load_config()

    assert find_config() == config.resolve()
    assert loaded.path == config.resolve()
    assert loaded.repo_path == web_repo.path.resolve()
    assert main(["config", "check"]) == 0
    assert f"{config.resolve()}: valid" in capsys.readouterr().out


def test_nearest_config_wins(web_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(web_repo.path, SIMPLE.format(repo="."))
    inner = write_config(web_repo.path / "web", SIMPLE.format(repo=".."))
    monkeypatch.chdir(web_repo.path / "web" / "api")

    assert load_config().path == inner.resolve()


def test_explicit_config_wins_over_a_broken_one_in_the_cwd(web_repo: GitRepo, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    write_config(web_repo.path, "this is not TOML")
    elsewhere = tmp_path / "conf"
    elsewhere.mkdir()
    good = write_config(elsewhere, SIMPLE.format(repo="../repo"))
    monkeypatch.chdir(web_repo.path)

    assert main(["config", "check", "--config", str(good)]) == 0
    assert main(["config", "check", "--config", "../conf/deploywatch.toml"]) == 0
    monkeypatch.setenv("DEPLOYWATCH_CONFIG", str(good))
    assert main(["config", "check"]) == 0
    assert "invalid TOML" not in capsys.readouterr().err


def test_pyproject_tool_table_found_by_walking_up(web_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    pyproject = web_repo.path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "shop"\n\n[tool.deploywatch.services.web]\npaths = ["web/**"]\n'
                         'deployed = { file = "deployed/web.sha" }\n\n[tool.ruff]\nline-length = 100\n',
                         encoding="utf-8")
    monkeypatch.chdir(web_repo.path / "web" / "api")

    loaded = load_config()

    assert loaded.path == pyproject.resolve()
    assert list(loaded.config.services) == ["web"]
    assert loaded.repo_path == web_repo.path.resolve()


def test_pyproject_without_tool_table_is_passed_over(web_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(web_repo.path, SIMPLE.format(repo="."))
    (web_repo.path / "web" / "pyproject.toml").write_text('[project]\nname = "web"\n', encoding="utf-8")
    monkeypatch.chdir(web_repo.path / "web")

    assert load_config().path == config.resolve()


def test_deploywatch_toml_preferred_over_pyproject_in_the_same_directory(web_repo: GitRepo,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(web_repo.path, SIMPLE.format(repo="."))
    (web_repo.path / "pyproject.toml").write_text("[tool.deploywatch]\nrepo = 1\n", encoding="utf-8")
    monkeypatch.chdir(web_repo.path)

    assert load_config().path == config.resolve()


def test_explicit_pyproject_without_tool_table(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "shop"\n', encoding="utf-8")

    with pytest.raises(ConfigError, match=r"no \[tool\.deploywatch\] table") as caught:
        load_config(pyproject)
    assert caught.value.file == str(pyproject)


def test_missing_config_exits_3_naming_deploywatch_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty" / "nested"
    empty.mkdir(parents=True)
    assert not any((d / CONFIG_FILENAME).exists() for d in (empty, *empty.parents))
    monkeypatch.chdir(empty)

    assert main(["config", "check"]) == 3
    err = capsys.readouterr().err
    assert err.startswith(ERROR_PREFIX) and err.count("\n") == 1
    assert f"no {CONFIG_FILENAME} found in {empty.resolve()}" in err
    assert "--config" in err


def test_config_path_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"

    assert main(["config", "check", "--config", str(missing)]) == 3
    assert capsys.readouterr().err == f"{ERROR_PREFIX}{missing}: file not found\n"


# ---------------------------------------------------------------- interpolation


def _write(tmp_path: Path, text: str) -> Path:
    return write_config(tmp_path, text)


def test_interpolation_from_an_explicit_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
[repo]
branch = "${BRANCH:-main}"
remote = "${REMOTE:-origin}"

[services.web]
paths = ["${SERVICE_DIR}/**", "shared"]
deploy = "echo $$HOME $${NOT_EXPANDED} costs $5"
deployed = { url = "https://${HOST}/__version__", headers = { Authorization = "Bearer ${API_TOKEN}" } }
""")
    environ = {"SERVICE_DIR": "storefront-3e1", "HOST": "web.internal.example", "REMOTE": "upstream-fork-7c1",
               "API_TOKEN": "tok-interpolation-7f3a9c"}

    config = load_config(path, environ=environ).config

    assert config.repo.branch == "main"
    assert config.repo.remote == "upstream-fork-7c1"
    web = config.services["web"]
    assert web.paths == ["storefront-3e1/**", "shared"]
    assert web.deploy == "echo $HOME ${NOT_EXPANDED} costs $5"
    assert web.deployed.url == "https://web.internal.example/__version__"
    assert web.deployed.headers == {"Authorization": "Bearer tok-interpolation-7f3a9c"}


def test_interpolation_reads_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, '[repo]\nbranch = "${DW_TEST_BRANCH}"\n\n'
                            '[services.web]\npaths = ["web"]\ndeployed = { command = "cat VERSION" }\n')
    monkeypatch.setenv("DW_TEST_BRANCH", "release/2026-11")

    assert load_config(path).config.repo.branch == "release/2026-11"


def test_default_applies_when_the_variable_is_empty(tmp_path: Path) -> None:
    path = _write(tmp_path, '[repo]\nbranch = "${BRANCH:-main}"\n\n'
                            '[services.web]\npaths = ["web"]\ndeployed = { command = "x${EMPTY:-}y" }\n')

    config = load_config(path, environ={"BRANCH": "", "EMPTY": ""}).config

    assert config.repo.branch == "main"
    assert config.services["web"].deployed.command == "xy"


def test_empty_variable_without_default_is_an_empty_value(tmp_path: Path) -> None:
    path = _write(tmp_path, '[repo]\nbranch = "${BRANCH}"\n\n'
                            '[services.web]\npaths = ["web"]\ndeployed = { command = "cat VERSION" }\n')

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"BRANCH": ""})

    assert (caught.value.key, caught.value.line, caught.value.detail) == ("repo.branch", 2, "must not be empty")


def test_interpolation_is_not_recursive(tmp_path: Path) -> None:
    path = _write(tmp_path, '[services.web]\npaths = ["web"]\ndeployed = { command = "echo ${OUTER}" }\n')

    config = load_config(path, environ={"OUTER": "${INNER}", "INNER": "surprise"}).config

    assert config.services["web"].deployed.command == "echo ${INNER}"


# ---------------------------------------------------------------- secrets in error messages


@pytest.mark.parametrize(("body", "key"), [
    ('[defaults]\nwarn_commits = "${DW_SECRET}"\n', "defaults.warn_commits"),
    ('[services.web]\npaths = ["${DW_SECRET}/["]\ndeployed = { command = "x" }\n', "services.web.paths[0]"),
    ('[defaults]\nwarn_after = "${DW_SECRET}"\n', "defaults.warn_after"),
    ('[services.web]\npaths = ["web"]\ndeployed = { url = "https://web.example.com", headers = "${DW_SECRET}" }\n',
     "services.web.deployed.headers"),
], ids=["int", "glob", "duration", "headers"])
def test_secret_from_the_environment_is_not_echoed_in_errors(body: str, key: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    secret = f"s3cret-{key.replace('.', '-')}-9d2e"
    monkeypatch.setenv("DW_SECRET", secret)
    path = _write(tmp_path, body)

    assert main(["config", "check", "--config", str(path)]) == 3

    captured = capsys.readouterr()
    assert f": {key}: " in captured.err
    assert secret not in captured.out + captured.err


def test_a_long_secret_cut_in_an_error_message_shows_none_of_it(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "LongSecretMARKER-" + "q7" * 40  # longer than the 60 characters an error quotes of a value
    monkeypatch.setenv("DW_SECRET", secret)
    path = _write(tmp_path, '[defaults]\nwarn_commits = "${DW_SECRET}"\n')

    assert main(["config", "check", "--config", str(path)]) == 3

    err = capsys.readouterr().err
    assert "defaults.warn_commits: expected an integer, got '***'" in err
    assert secret[:8] not in err


SERVER_ONLY_VARIABLE = f"""\
[repo]
path = "."

[services.web]
paths = ["web/**"]
deployed = {{ file = "deployed/web.sha" }}

[server]
listen = "127.0.0.1:8080"
token = "${{{UNSET_VAR}}}"
"""


def test_a_variable_only_the_daemon_reads_does_not_stop_other_commands(web_repo: GitRepo,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    write_deployed(web_repo.path, "web", web_repo.head())
    config = write_config(web_repo.path, SERVER_ONLY_VARIABLE)
    now = ["--now", "2026-11-23T09:00:00Z"]

    assert main(["drift", "--config", str(config), "--format", "json", *now]) == 0
    assert main(["contains", web_repo.head(), "--config", str(config), "--format", "json"]) == 0
    assert main(["skew", "--config", str(config), "--format", "json"]) == 0
    assert main(["check", "--config", str(config), "--format", "json", *now]) == 0
    assert "is not set" not in capsys.readouterr().err
    assert load_config(config, sections={"repo", "services"}).unresolved == ("server",)

    # config check reports it, and so does every command that reads [server]
    for args in (["config", "check"], ["serve", "--once"]):
        assert main([*args, "--config", str(config)]) == 3
        assert capsys.readouterr().err == (f"{ERROR_PREFIX}{config}:10: server.token: environment variable "
                                           f"{UNSET_VAR} is not set (use ${{{UNSET_VAR}:-default}} for a fallback)\n")


def test_a_variable_in_a_section_the_command_reads_still_stops_it(web_repo: GitRepo,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    write_deployed(web_repo.path, "web", web_repo.head())
    config = write_config(web_repo.path, SERVER_ONLY_VARIABLE.replace(
        "[server]", f'[[alerts.webhook]]\nurl = "https://hooks.example.com/${{{UNSET_VAR}}}"\n\n[server]'))

    assert main(["drift", "--config", str(config), "--now", "2026-11-23T09:00:00Z"]) == 3

    assert f"{config}:9: alerts.webhook[0].url: environment variable {UNSET_VAR} is not set" in capsys.readouterr().err


def test_secret_is_not_echoed_by_a_real_process(tmp_path: Path) -> None:
    secret = "s3cret-subprocess-41c7b0"
    path = _write(tmp_path, '[services.web]\npaths = ["web"]\ncritical_commits = "${DW_SECRET}"\n'
                            'deployed = { command = "x" }\n')
    env = {**{k: v for k, v in os.environ.items() if k != "DEPLOYWATCH_CONFIG"}, "DW_SECRET": secret}

    proc = subprocess.run([sys.executable, "-m", "deploywatch", "config", "check", "--config", str(path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert proc.returncode == 3
    assert f"{path}:3: services.web.critical_commits: expected an integer" in proc.stderr
    assert secret not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- relative paths


def test_relative_paths_resolve_against_the_config_file(web_repo: GitRepo, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "ops" / "deploywatch"
    conf.mkdir(parents=True)
    config = write_config(conf, SIMPLE.format(repo="../../repo"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    loaded = load_config("../ops/deploywatch/deploywatch.toml")

    assert loaded.path == config.resolve()
    assert loaded.base_dir == conf.resolve()
    assert loaded.repo_path == web_repo.path.resolve()
    source = source_for(loaded, loaded.config.services["web"].deployed)
    assert isinstance(source, FileSource)
    assert source.path == conf.resolve() / "deployed" / "web.sha"
    assert main(["config", "check", "--config", str(config)]) == 0
    assert f"repository {web_repo.path.resolve()}," in capsys.readouterr().out


# ---------------------------------------------------------------- thresholds, excludes, durations

SERVICES = """\
[defaults]
warn_commits = 3
critical_commits = 10
warn_after = "2h"
critical_after = "24h"
exclude = ["**/*.md", "docs/**"]

[services.inherits]
paths = ["inherits/**"]
deployed = {{ command = "x" }}

[services.overrides]
paths = ["overrides/**"]
{overrides}
deployed = {{ command = "x" }}
"""


def test_per_service_thresholds_override_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, SERVICES.format(overrides='warn_commits = 1\ncritical_after = "1w"'))

    loaded = load_config(path)

    inherits, overrides = loaded.thresholds("inherits"), loaded.thresholds("overrides")
    assert (inherits.warn_commits, inherits.critical_commits, inherits.warn_after, inherits.critical_after) == (
        3, 10, 7200, 86400)
    assert (overrides.warn_commits, overrides.critical_commits, overrides.warn_after,
            overrides.critical_after) == (1, 10, 7200, 604800)


def test_zero_turns_a_rule_off(tmp_path: Path) -> None:
    path = _write(tmp_path, SERVICES.format(overrides="warn_commits = 0\ncritical_commits = 0\nwarn_after = 0"))

    loaded = load_config(path)

    off = loaded.thresholds("overrides")
    assert (off.warn_commits, off.critical_commits, off.warn_after, off.critical_after) == (None, None, None, 86400)
    assert loaded.thresholds("inherits").warn_commits == 3


def test_zero_in_defaults_turns_a_rule_off_for_every_service(tmp_path: Path) -> None:
    path = _write(tmp_path, SERVICES.format(overrides="critical_after = \"3d\"").replace(
        'critical_after = "24h"', "critical_after = 0"))

    loaded = load_config(path)

    assert loaded.thresholds("inherits").critical_after is None
    assert loaded.thresholds("overrides").critical_after == 3 * 86400


def test_service_exclude_replaces_defaults(tmp_path: Path) -> None:
    text = SERVICES.format(overrides='exclude = ["overrides/tests/**"]') + (
        '\n[services.everything]\npaths = ["everything"]\nexclude = []\ndeployed = { command = "x" }\n')
    path = _write(tmp_path, text)

    loaded = load_config(path)

    assert loaded.exclude("inherits") == ["**/*.md", "docs/**"]
    assert loaded.exclude("overrides") == ["overrides/tests/**"]
    assert loaded.exclude("everything") == []
    assert not loaded.service_paths("inherits").owns("inherits/README.md")
    assert loaded.service_paths("overrides").owns("overrides/README.md")
    assert not loaded.service_paths("overrides").owns("overrides/tests/test_x.py")
    assert loaded.service_paths("everything").owns("everything/docs/notes.md")


@pytest.mark.parametrize(("written", "seconds"), [
    ('"90s"', 90), ('"30m"', 1800), ('"2h"', 7200), ('"1d"', 86400), ('"1w"', 604800), ('"1h30m"', 5400),
    ('"1H 30M"', 5400), ("5400", 5400), ("1", 1),
])
def test_durations_accepted(written: str, seconds: int, tmp_path: Path) -> None:
    path = _write(tmp_path, f"[defaults]\nwarn_after = {written}\n\n"
                            f"[services.web]\npaths = [\"web\"]\ncritical_after = {written}\n"
                            f"deployed = {{ command = \"x\", timeout = {written} }}\n")

    loaded = load_config(path)

    assert loaded.config.defaults.warn_after == seconds
    assert loaded.thresholds("web").critical_after == seconds
    assert loaded.config.services["web"].deployed.timeout == seconds


# ---------------------------------------------------------------- numbers and tokens


def _config_models() -> list[type[BaseModel]]:
    """Every pydantic model reachable from :class:`Config`."""
    found: list[type[BaseModel]] = []
    pending: list[Any] = [Config]
    while pending:
        item = pending.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            if item in found:
                continue
            found.append(item)
            pending += [f.annotation for f in item.model_fields.values()]
        pending += list(get_args(item))
    return found


def _float_fields() -> list[tuple[str, Any]]:
    fields = []
    for model in _config_models():
        for name, info in model.model_fields.items():
            if "float" in str(info.annotation):
                annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
                fields.append((f"{model.__name__}.{name}", annotation))
    return fields


def test_the_config_has_float_fields_to_guard() -> None:
    names = {name for name, _ in _float_fields()}
    assert {"CheckConfig.weight", "AnomalyConfig.sensitivity", "HealthConfig.drift_weight", "PhaseConfig.weight",
            "ProbeConfig.weight", "GateConfig.min_score"} <= names


@pytest.mark.parametrize(("name", "annotation"), _float_fields(), ids=[name for name, _ in _float_fields()])
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
def test_every_float_in_the_config_must_be_finite(name: str, annotation: Any, value: float) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(annotation).validate_python(value, strict=True)


def test_the_server_token_is_masked_wherever_it_appears(tmp_path: Path) -> None:
    from deploywatch.core.redact import mask

    token = "srvTOKENmarker-5c1e9a07"  # matches none of mask's own patterns
    path = _write(tmp_path, f'[services.web]\npaths = ["web"]\ndeployed = {{ command = "x" }}\n\n'
                            f'[server]\ntoken = "{token}"\n')

    assert load_config(path).config.server.token == token
    assert mask(f"GET /api/runs?x={token} from 10.0.0.1") == "GET /api/runs?x=*** from 10.0.0.1"
