"""``redact.mask``: credentials never reach output, logs or errors; ordinary text is left alone."""

from __future__ import annotations

import pytest

from deploywatch.core.redact import mask, register_secret

# Token-shaped values assembled at run time so no scanner mistakes this file for a leak.
GITHUB_CLASSIC = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
GITHUB_FINE = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop"
SLACK_BOT = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
GOOGLE_KEY = "AIza" + "SyA-1234567890abcdefghijklmnopqrstu"


@pytest.mark.parametrize(("text", "expected"), [
    ("GET https://deploy:hunter2@web.example.com/__version__ failed",
     "GET https://***@web.example.com/__version__ failed"),
    ("git fetch https://x-access-token:abc123@github.com/org/shop.git",
     "git fetch https://***@github.com/org/shop.git"),
    ("postgresql://app:p4ss@db.internal:5432/prod", "postgresql://***@db.internal:5432/prod"),
], ids=["https", "git-remote", "postgres"])
def test_url_userinfo(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "Authorization: Bearer ***"),
    ("authorization=Basic dXNlcjpwYXNzd29yZA==", "authorization=Basic ***"),
    ("authorization: raw-token-value, next", "authorization: ***, next"),
    ("curl -H 'Authorization: token abcdef123456'", "curl -H 'Authorization: token ***'"),
    ("sent bearer abcdefgh12345678 upstream", "sent bearer *** upstream"),
], ids=["bearer-header", "basic", "bare", "token-scheme", "bare-bearer"])
def test_authorization_and_bearer_tokens(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("https://api.example.com/v?token=abc123&region=eu", "https://api.example.com/v?token=***&region=eu"),
    ("https://x.example.com/v?access_token=zzz", "https://x.example.com/v?access_token=***"),
    ("--api-key: k-123 --verbose", "--api-key: *** --verbose"),
    ("X-Api-Key: k-123", "X-Api-Key: ***"),
    ("password = hunter2; user=bob", "password = ***; user=bob"),
    ("GITHUB_TOKEN=abc123 DB_PASSWORD=hunter2 make deploy", "GITHUB_TOKEN=*** DB_PASSWORD=*** make deploy"),
    ("client_secret=s.e.c.r.e.t", "client_secret=***"),
    ("https://blob.example.com/f?sv=2024&sig=AbC%2Bd", "https://blob.example.com/f?sv=2024&sig=***"),
], ids=["query", "access_token", "flag", "header", "spaces", "env-assignments", "client_secret", "sas-sig"])
def test_key_value_credentials(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("token", [GITHUB_CLASSIC, GITHUB_FINE, SLACK_BOT, AWS_KEY, GOOGLE_KEY],
                         ids=["github-classic", "github-fine-grained", "slack", "aws", "google"])
def test_well_known_token_shapes(token: str) -> None:
    masked = mask(f"using {token} for the request")

    assert token not in masked
    assert masked == "using *** for the request"


def test_github_token_as_url_userinfo_without_password() -> None:
    assert mask(f"https://{GITHUB_CLASSIC}@github.com/org/shop.git") == "https://***@github.com/org/shop.git"


def test_slack_webhook_path() -> None:
    url = "https://hooks.slack.com/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX"

    assert mask(f"POST {url} returned 404") == "POST https://hooks.slack.com/services/*** returned 404"


@pytest.mark.parametrize("text", [
    "web is 4 relevant commits behind (deployed 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b)",
    "ssh://git@github.com/org/shop.git",
    "https://web.example.com:8443/__version__?field=commit",
    "the tokenizer=fast flag and 3 tokens behind",
    "OLDPWD=/srv/app",
    "",
], ids=["sha", "ssh-user-only", "plain-url", "lookalike-words", "env-suffix", "empty"])
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert mask(text) == text


def test_registered_secret_is_masked_everywhere() -> None:
    secret = "reg-secret-0c1d2e3f"
    register_secret(secret)

    assert mask(f"{secret} and again:{secret}.") == "*** and again:***."


def test_longer_registered_secret_masked_before_its_prefix() -> None:
    short, long = "prefix-1a9f", "prefix-1a9f-and-more-7b"
    register_secret(short)
    register_secret(long)

    assert mask(f"[{long}] [{short}]") == "[***] [***]"


def test_very_short_values_are_not_registered() -> None:
    register_secret("abc")
    register_secret("")

    assert mask("abc abcd") == "abc abcd"


def test_mask_is_idempotent() -> None:
    text = f"GET https://u:p@h.example.com/?token=t Authorization: Bearer {GITHUB_CLASSIC}"

    once = mask(text)

    assert mask(once) == once
    assert "p@" not in once and GITHUB_CLASSIC not in once


@pytest.mark.parametrize(("text", "secret"), [
    ("deploy --token s3cr3tvalue", "s3cr3tvalue"),
    ("run --password hunter2hunter2", "hunter2hunter2"),
    ("PGPASSWORD=abcdef123 psql", "abcdef123"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI ./deploy", "wJalrXUtnFEMI"),
    ("https://ghtokenvalue123@github.com/acme/x", "ghtokenvalue123"),
    ("https://s3/x?X-Amz-Signature=abcdef0123&y=1", "abcdef0123"),
    ("curl -H 'X-Auth: hunter2hunter2' https://x", "hunter2hunter2"),
])
def test_more_credential_shapes(text: str, secret: str) -> None:
    assert secret not in mask(text)


@pytest.mark.parametrize("text", [
    "git fetch origin main", "./bin/deploy-service.sh prediction-worker --region us-west2",
    "gcloud run services describe web --format=value(metadata.labels.commit-sha)", "OLDPWD=/srv/app",
])
def test_ordinary_commands_are_left_alone(text: str) -> None:
    assert mask(text) == text
