"""The write endpoints' request bodies as fields: a completion (plain or a Pub/Sub push envelope), a deployment."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from .endpoints import BadRequest
from .guards import parse_json

__all__ = ["DEPLOYMENT_FIELDS", "completion_fields", "deployment_fields", "deployment_form_fields"]

# The body of POST /api/deployments: each an optional string but service and commit; at most this many characters.
DEPLOYMENT_FIELDS = {"service": 200, "commit": 200, "status": 20, "url": 2000, "by": 200, "reason": 2000}


def completion_fields(body: bytes) -> dict[str, str]:
    """``{"phase", "processor", "date"?}`` from a plain body or a Pub/Sub push envelope; raise :class:`BadRequest`."""
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object")
    if "message" in payload:  # Google Pub/Sub push: {"message": {"data": base64 JSON, "attributes": {…}}, …}
        message = payload["message"]
        if not isinstance(message, dict):
            raise BadRequest("message must be an object")
        data = message.get("data")
        if data:
            if not isinstance(data, str):
                raise BadRequest("message.data must be a base64 string")
            try:
                decoded = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_" if "-" in data or
                                           "_" in data else None, validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest("message.data is not base64-encoded JSON") from None
            payload = parse_json(decoded, "message.data")
            if not isinstance(payload, dict):
                raise BadRequest("message.data must hold a JSON object")
        else:
            attributes = message.get("attributes")
            if not isinstance(attributes, dict):
                raise BadRequest("message has neither data nor attributes")
            payload = attributes
    fields: dict[str, str] = {}
    for key in ("phase", "processor", "date"):
        value = payload.get(key)
        if value is None and key == "date":
            continue
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"{key} must be a non-empty string")
        if not value.isprintable():  # control characters, lone surrogates (which cannot even be answered back)
            raise BadRequest(f"{key} must be printable text")
        fields[key] = value.strip()
    return fields


def deployment_fields(body: bytes) -> dict[str, str]:
    """``{"service", "commit", "status"?, "url"?, "by"?, "reason"?}``; raise :class:`BadRequest` for anything else."""
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(k for k in payload if k not in DEPLOYMENT_FIELDS)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}: the fields are {', '.join(DEPLOYMENT_FIELDS)}")
    return _deployment(payload)


def deployment_form_fields(service: str, form: Mapping[str, str]) -> dict[str, str]:
    """The dashboard's "Record a deploy" form as :func:`deployment_fields` (blank optional fields left out, other
    form fields ignored); raise :class:`BadRequest` with the same one-line reasons."""
    given = {key: form[key] for key in ("status", "url", "by", "reason") if form.get(key, "").strip()}
    return _deployment({**given, "service": service, "commit": form.get("commit", "")})


def _deployment(payload: Mapping[str, object]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, limit in DEPLOYMENT_FIELDS.items():
        value = payload.get(key)
        if value is None and key not in ("service", "commit"):
            continue
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"{key} must be a non-empty string")
        if not value.isprintable():
            raise BadRequest(f"{key} must be printable text")
        if len(value) > limit:
            raise BadRequest(f"{key} is longer than {limit} characters")
        fields[key] = value.strip()
    if fields.get("status", "succeeded") not in ("succeeded", "failed"):
        raise BadRequest("status must be succeeded or failed")
    return fields
