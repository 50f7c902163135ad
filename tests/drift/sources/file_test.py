"""``deployed = { file = "…" }``: a plain SHA or tag, or a Dockerflow ``version.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploywatch.config import DeployedConfig, LoadedConfig
from deploywatch.drift.sources import FileSource, Reading, source_for

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


def read(loaded: LoadedConfig, name: str, content: str | bytes | None, **options: str) -> Reading:
    """Write ``deployed/NAME`` (unless ``content`` is None) and read it through the configured source."""
    target = loaded.base_dir / "deployed" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    elif content is not None:
        target.write_text(content, encoding="utf-8")
    source = source_for(loaded, DeployedConfig.model_validate({"file": f"deployed/{name}", **options}))
    assert isinstance(source, FileSource)
    return source.read()


def failed(reading: Reading) -> str:
    """The error of a reading that must have failed."""
    assert reading.value is None, f"expected an error, got value {reading.value!r}"
    assert reading.error is not None
    return reading.error


@pytest.mark.parametrize(
    "content",
    [SHA, SHA + "\n", f"  \n\t{SHA}  \r\n\n", f"'{SHA}'\n", f'"{SHA}"'],
    ids=["bare", "newline", "surrounding-whitespace", "single-quoted", "double-quoted"],
)
def test_plain_sha(loaded: LoadedConfig, content: str) -> None:
    reading = read(loaded, "web.sha", content)
    assert reading == Reading("file deployed/web.sha", SHA)


def test_abbreviated_sha_and_tag_are_passed_on_for_git_to_resolve(loaded: LoadedConfig) -> None:
    assert read(loaded, "short.sha", SHA[:7] + "\n").value == SHA[:7]
    assert read(loaded, "tag.sha", "v1.4.2\n").value == "v1.4.2"
    assert read(loaded, "release.sha", "release/2026-09-21\n").value == "release/2026-09-21"


def test_relative_path_resolves_against_the_config_not_the_cwd(loaded: LoadedConfig, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = source_for(loaded, DeployedConfig.model_validate({"file": "deployed/web.sha"}))
    assert isinstance(source, FileSource)
    assert source.path == loaded.base_dir / "deployed" / "web.sha"
    assert source.description == "file deployed/web.sha"


def test_dockerflow_version_json(loaded: LoadedConfig) -> None:
    document = {"source": "https://github.com/example/app", "version": "v2.3.0", "commit": SHA,
                "build": "https://ci.example.com/builds/881"}
    assert read(loaded, "version.json", json.dumps(document, indent=2) + "\n").value == SHA


def test_version_json_with_custom_field(loaded: LoadedConfig) -> None:
    document = {"version": "v2.3.0", "git_sha": SHA, "commit": "not-this-one"}
    assert read(loaded, "version.json", json.dumps(document), field="git_sha").value == SHA


def test_version_json_with_nested_field(loaded: LoadedConfig) -> None:
    document = {"build": {"git": {"sha": SHA}, "number": 7}, "commit": "elsewhere"}
    assert read(loaded, "version.json", json.dumps(document), field="build.git.sha").value == SHA


def test_version_json_missing_field_lists_the_keys_it_has(loaded: LoadedConfig) -> None:
    document = {"source": "https://github.com/example/app", "version": "v2.3.0", "build": "881"}
    error = failed(read(loaded, "version.json", json.dumps(document)))
    assert "deployed/version.json" in error
    assert "'commit'" in error
    for key in ("build", "source", "version"):
        assert key in error


def test_version_json_missing_nested_field(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "version.json", json.dumps({"build": {"number": 7}}), field="build.git"))
    assert "deployed/version.json" in error
    assert "'build.git'" in error
    assert "build" in error


def test_version_json_nested_field_under_a_string(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "version.json", json.dumps({"build": "881"}), field="build.sha"))
    assert "'build.sha'" in error


@pytest.mark.parametrize(("value", "type_name"), [(12345, "int"), (None, "NoneType"), ({"sha": SHA}, "dict"),
                                                  ([SHA], "list"), (True, "bool")])
def test_version_json_field_not_a_string(loaded: LoadedConfig, value: object, type_name: str) -> None:
    error = failed(read(loaded, "version.json", json.dumps({"commit": value})))
    assert "deployed/version.json" in error
    assert f"is {type_name}, expected a string" in error


def test_version_json_field_with_an_empty_value(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "version.json", json.dumps({"commit": ""})))
    assert "deployed/version.json" in error
    assert "empty" in error


def test_invalid_json(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "version.json", '{"commit": "' + SHA + '",\n  "build": }\n'))
    assert "deployed/version.json" in error
    assert "invalid JSON" in error
    assert "line 2" in error


def test_empty_file(loaded: LoadedConfig) -> None:
    for content in ("", "\n\n", "   \t \n"):
        error = failed(read(loaded, "web.sha", content))
        assert "deployed/web.sha" in error
        assert "empty" in error


def test_multi_line_junk(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "web.sha", f"{SHA}\n{SHA[::-1]}\nmore\n"))
    assert "deployed/web.sha" in error
    assert "3 lines" in error


def test_words_with_spaces(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "web.sha", "deployed by jenkins at noon\n"))
    assert "deployed/web.sha" in error
    assert "expected a commit SHA or tag" in error


@pytest.mark.parametrize("word", ["None", "null", "<none>", "<no value>"])
def test_placeholder_words_are_not_revisions(loaded: LoadedConfig, word: str) -> None:
    error = failed(read(loaded, "web.sha", word + "\n"))
    assert "deployed/web.sha" in error
    assert "no value" in error


def test_range_syntax_is_not_a_revision(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "web.sha", "main..feature\n"))
    assert "expected a commit SHA or tag" in error


def test_binary_garbage(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "web.sha", b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00\x00\x89PNG"))
    assert error == "deployed/web.sha is not UTF-8 text; expected a SHA"


def test_utf8_byte_order_mark_is_ignored(loaded: LoadedConfig) -> None:
    # editors on Windows write one; it is not part of the SHA
    assert read(loaded, "web.sha", "\ufeff" + SHA + "\r\n").value == SHA
    assert read(loaded, "version.json", "\ufeff" + json.dumps({"commit": SHA})).value == SHA


def test_missing_file(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "absent.sha", None))
    assert error == "file deployed/absent.sha does not exist"


def test_directory_instead_of_file(loaded: LoadedConfig) -> None:
    (loaded.base_dir / "deployed" / "web.sha").mkdir(parents=True)
    error = failed(read(loaded, "web.sha", None))
    assert "deployed/web.sha" in error
    assert "directory" in error.lower()


def test_file_larger_than_one_mib(loaded: LoadedConfig) -> None:
    error = failed(read(loaded, "web.sha", SHA + "\n" + " " * (1 << 20)))
    assert "deployed/web.sha" in error
    assert "larger than 1 MiB" in error


def test_file_of_exactly_one_mib_is_read(loaded: LoadedConfig) -> None:
    content = SHA + " " * ((1 << 20) - len(SHA))
    assert read(loaded, "web.sha", content).value == SHA


def test_a_fifo_is_refused_instead_of_blocking(loaded: LoadedConfig) -> None:
    import os

    fifo = loaded.base_dir / "deployed" / "fifo.sha"
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    source = source_for(loaded, DeployedConfig.model_validate({"file": "deployed/fifo.sha"}))
    assert "not a regular file" in failed(source.read())
