"""``deployed = { url = "…" }`` against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from deploywatch.config import DeployedConfig, LoadedConfig
from deploywatch.core.redact import register_secret
from deploywatch.drift.sources import Reading, UrlSource, source_for
from testing.http import Reply, closed_port, self_signed_context, serve

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
DOCKERFLOW = {"source": "https://github.com/example/app", "version": "v2.3.0", "commit": SHA,
              "build": "https://ci.example.com/builds/881"}
HTML = "<!DOCTYPE html>\n<html><head><title>Bad Gateway</title></head><body>nginx</body></html>\n"


def read(loaded: LoadedConfig, deployed: dict[str, Any]) -> Reading:
    """Build the source for ``deployed`` as the config would and read it."""
    source = source_for(loaded, DeployedConfig.model_validate(deployed))
    assert isinstance(source, UrlSource)
    return source.read()


def failed(reading: Reading) -> str:
    """The error of a reading that must have failed."""
    assert reading.value is None, f"expected an error, got value {reading.value!r}"
    assert reading.error is not None
    return reading.error


def secret() -> str:
    """A fresh secret, registered for masking."""
    value = f"s3cr3t{uuid.uuid4().hex}"
    register_secret(value)
    return value


# ---------------------------------------------------------------- answers


def test_dockerflow_version(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/__version__", method="GET").respond_with_json(DOCKERFLOW)
    url = httpserver.url_for("/__version__")
    assert read(loaded, {"url": url}) == Reading(f"url {url}", SHA)
    assert len(httpserver.log) == 1
    assert httpserver.log[0][0].headers["User-Agent"] == "deploywatch"


def test_json_with_custom_nested_field(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/version").respond_with_json({"app": {"git": {"sha": SHA}}, "commit": "no"})
    assert read(loaded, {"url": httpserver.url_for("/version"), "field": "app.git.sha"}).value == SHA


def test_json_missing_field_lists_keys(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/__version__").respond_with_json({"version": "v2.3.0", "build": "881"})
    url = httpserver.url_for("/__version__")
    error = failed(read(loaded, {"url": url}))
    assert error.startswith(f"GET {url}: JSON has no 'commit' field")
    assert "build, version" in error


def test_json_served_as_text_plain(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/__version__").respond_with_data(json.dumps(DOCKERFLOW), content_type="text/plain")
    assert read(loaded, {"url": httpserver.url_for("/__version__")}).value == SHA


def test_plain_text_sha(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/sha").respond_with_data(SHA + "\n", content_type="text/plain; charset=utf-8")
    assert read(loaded, {"url": httpserver.url_for("/sha")}).value == SHA


def test_plain_text_tag(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/sha").respond_with_data("v2.3.0", content_type="text/plain")
    assert read(loaded, {"url": httpserver.url_for("/sha")}).value == "v2.3.0"


@pytest.mark.parametrize("status", [500, 404, 401, 403, 503])
def test_http_error_status(loaded: LoadedConfig, httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/__version__").respond_with_data(SHA, status=status)
    url = httpserver.url_for("/__version__")
    assert failed(read(loaded, {"url": url})) == f"GET {url} returned HTTP {status}"


def test_404_from_a_real_server(loaded: LoadedConfig) -> None:
    with serve({}) as server:
        url = server.url("/__version__")
        assert failed(read(loaded, {"url": url})) == f"GET {url} returned HTTP 404"


def test_invalid_json_with_json_content_type(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/__version__").respond_with_data('{"commit": "' + SHA,
                                                                content_type="application/json")
    url = httpserver.url_for("/__version__")
    error = failed(read(loaded, {"url": url}))
    assert error.startswith(f"GET {url}: invalid JSON")


def test_html_page_with_200(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/__version__").respond_with_data(HTML, content_type="text/html; charset=utf-8")
    url = httpserver.url_for("/__version__")
    assert failed(read(loaded, {"url": url})) == f"GET {url} returned an HTML page (HTTP 200), not a version"


def test_html_page_sent_as_text_plain(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/__version__").respond_with_data(HTML, content_type="text/plain")
    assert "an HTML page" in failed(read(loaded, {"url": httpserver.url_for("/__version__")}))


def test_html_page_with_502(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/__version__").respond_with_data(HTML, status=502, content_type="text/html")
    url = httpserver.url_for("/__version__")
    assert failed(read(loaded, {"url": url})) == f"GET {url} returned HTTP 502"


def test_redirect_to_the_version_endpoint(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/version").respond_with_data("", status=301,
                                                            headers={"Location": "/api/__version__"})
    httpserver.expect_request("/api/__version__").respond_with_json(DOCKERFLOW)
    assert read(loaded, {"url": httpserver.url_for("/version")}).value == SHA
    assert [entry[0].path for entry in httpserver.log] == ["/version", "/api/__version__"]


def test_redirect_loop_is_an_error(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    error = failed(read(loaded, {"url": httpserver.url_for("/loop")}))
    assert "redirect" in error.lower()


def test_body_larger_than_one_mib_is_refused_without_reading_it_all(loaded: LoadedConfig) -> None:
    with serve({"/__version__": Reply(body=SHA.encode(), stream_bytes=64 << 20)}) as server:
        url = server.url("/__version__")
        started = time.monotonic()
        error = failed(read(loaded, {"url": url}))
        assert time.monotonic() - started < 3
    assert error == f"GET {url} returned more than 1 MiB; expected a version"


# ---------------------------------------------------------------- failures to connect, timeouts


def test_connection_refused(loaded: LoadedConfig) -> None:
    url = f"http://127.0.0.1:{closed_port()}/__version__"
    error = failed(read(loaded, {"url": url}))
    assert error.startswith(f"GET {url} failed: ")
    assert "refused" in error.lower()


def test_slow_response_times_out() -> None:
    with serve({"/__version__": Reply(body=SHA.encode(), delay=2.0)}) as server:
        started = time.monotonic()
        reading = UrlSource(server.url("/__version__"), timeout=0.5).read()
        elapsed = time.monotonic() - started
    assert elapsed < 1.8
    assert failed(reading).startswith(f"GET {server.url('/__version__')} timed out after")


def test_body_trickled_past_the_timeout_times_out() -> None:
    # every byte arrives within the per-read timeout, but the whole body takes ~12 s
    with serve({"/__version__": Reply(body=(SHA + "\n").encode(), trickle=0.3)}) as server:
        started = time.monotonic()
        reading = UrlSource(server.url("/__version__"), timeout=0.5).read()
        elapsed = time.monotonic() - started
    assert elapsed < 2
    assert "timed out" in failed(reading)


def test_configured_timeout_is_used(loaded: LoadedConfig) -> None:
    source = source_for(loaded, DeployedConfig.model_validate({"url": "https://app.example.com/__version__",
                                                               "timeout": "3s"}))
    assert isinstance(source, UrlSource)
    assert source.timeout == 3.0
    default = source_for(loaded, DeployedConfig.model_validate({"url": "https://app.example.com/__version__"}))
    assert isinstance(default, UrlSource)
    assert default.timeout == 10.0


# ---------------------------------------------------------------- headers and secrets


def test_configured_headers_reach_the_server(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    token = secret()
    httpserver.expect_request("/__version__").respond_with_json(DOCKERFLOW)
    reading = read(loaded, {"url": httpserver.url_for("/__version__"),
                            "headers": {"Authorization": f"Bearer {token}", "X-Env": "prod"}})
    assert reading.value == SHA
    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == f"Bearer {token}"
    assert request.headers["X-Env"] == "prod"


def test_header_secret_never_appears_in_errors(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    token = secret()
    httpserver.expect_request("/__version__").respond_with_data(f"bad token {token}", status=401)
    reading = read(loaded, {"url": httpserver.url_for("/__version__"), "headers": {"Authorization": token}})
    assert token not in (reading.error or "")
    assert token not in reading.source
    assert "HTTP 401" in (reading.error or "")


def test_junk_body_echoing_a_secret_is_masked(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    token = secret()
    httpserver.expect_request("/__version__").respond_with_data(f"hello {token}", content_type="text/plain")
    error = failed(read(loaded, {"url": httpserver.url_for("/__version__"), "headers": {"X-Token": token}}))
    assert token not in error
    assert "***" in error


def test_url_secrets_never_appear_in_description_or_errors(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    in_path, in_query = secret(), "q" + uuid.uuid4().hex
    httpserver.expect_request(f"/{in_path}/__version__").respond_with_data("", status=500)
    url = httpserver.url_for(f"/{in_path}/__version__") + f"?token={in_query}"
    reading = read(loaded, {"url": url})
    for text in (reading.source, reading.error or ""):
        assert in_path not in text
        assert in_query not in text
    assert "HTTP 500" in (reading.error or "")


def test_secrets_masked_when_the_connection_fails(loaded: LoadedConfig) -> None:
    token = secret()
    url = f"http://deploy:{token}@127.0.0.1:{closed_port()}/v/{token}/__version__?api_key=k{token}"
    reading = read(loaded, {"url": url})
    assert "refused" in failed(reading).lower()
    for text in (reading.source, reading.error or ""):
        assert token not in text


def test_headers_never_follow_a_redirect_to_another_origin(loaded: LoadedConfig, httpserver: HTTPServer) -> None:
    token = secret()
    with serve({"/__version__": Reply(body=SHA.encode())}) as other:
        httpserver.expect_request("/__version__").respond_with_data(
            "", status=302, headers={"Location": other.url("/__version__")})
        reading = read(loaded, {"url": httpserver.url_for("/__version__"),
                                "headers": {"Authorization": f"Bearer {token}", "X-Api-Key": token}})
    error = failed(reading)
    assert "redirects to" in error
    assert "use the final URL" in error
    assert token not in error
    assert httpserver.log[0][0].headers["X-Api-Key"] == token
    assert other.seen == []  # neither header reached the other server


# ---------------------------------------------------------------- TLS


def test_certificates_are_verified_by_default(tmp_path: Path) -> None:
    context = self_signed_context(tmp_path)
    if context is None:
        pytest.skip("the openssl CLI is needed to make a self-signed certificate")
    with serve({"/__version__": Reply(body=SHA.encode())}, tls=context) as server:
        reading = UrlSource(server.url("/__version__"), timeout=5).read()
    error = failed(reading)
    assert error.startswith(f"GET {server.url('/__version__')} failed: ")
    assert "certificate verify failed" in error.lower()
    assert server.seen == []
