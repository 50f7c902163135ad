"""The daemon's OpenAPI 3.1 document (``GET /openapi.json``), generated from the endpoint table.

The table is the one the server validates requests with (:data:`.endpoints.ENDPOINTS`); the document gives the paths,
the parameters and their constraints, who needs a token (reads only with ``protect_reads``), and the answers every
endpoint can give (401/403/429 where a token is needed, 503 when the store fails, 405 with ``Allow`` for another
method)."""

from __future__ import annotations

from typing import Any

from ..daemon.jobs import JOBS
from .endpoints import ENDPOINTS, MAX_DEPTH, Endpoint

__all__ = ["openapi_document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "An error")
_UNAUTHORIZED = {**_json(_ref("Error"), "Missing or wrong bearer token"),
                 "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}}
_FORBIDDEN = _json(_ref("Error"), "No token is configured in [server]: this endpoint is disabled")
_THROTTLED = {**_json(_ref("Error"), "Too many wrong tokens from this address lately: the token is not even compared"),
              "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}}
_STORE = _json(_ref("Error"), "The store is unavailable")
_STAMP = {"type": ["string", "null"], "format": "date-time"}
_JOB = {"type": "string", "enum": list(JOBS)}
_TEXT = {"type": "string", "minLength": 1, "pattern": "\\S"}  # what the server strips must leave something

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "JobRun": {
        "type": "object",
        "description": "One row of job_runs: a scheduled slot, a catch-up or an API trigger of a job.",
        "properties": {
            "id": {"type": "string"}, "job": _JOB,
            "scheduled_for": _STAMP,
            "trigger": {"type": "string", "enum": ["schedule", "catch-up", "once", "api"]},
            "started_at": _STAMP, "finished_at": _STAMP,
            "state": {"type": "string", "enum": ["running", "ok", "failed", "timeout", "skipped", "cancelled",
                                                "abandoned"]},
            "exit_code": {"type": ["integer", "null"]}, "run_id": {"type": ["string", "null"]},
            "error": {"type": ["string", "null"]},
        },
    },
    "Run": {
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "command": {"type": "string"}, "started_at": _STAMP, "finished_at": _STAMP,
            "run_date": {"type": ["string", "null"], "format": "date"},
            "status": {"type": "string", "enum": ["ok", "warning", "critical", "unknown"]},
            "exit_code": {"type": "integer"}, "score": {"type": ["number", "null"]}, "details": {"type": "object"},
        },
    },
    "Finding": {
        "type": "object",
        "properties": {"kind": {"type": "string"}, "subject": {"type": "string"}, "status": {"type": "string"},
                       "summary": {"type": "string"}, "fingerprint": {"type": "string"},
                       "details": {"type": "object"}},
    },
    "Completion": {
        "type": "object", "required": ["phase", "processor"],
        "not": {"required": ["message"]},  # a body with "message" is read as a Pub/Sub envelope
        "properties": {"phase": _TEXT, "processor": _TEXT,
                       "date": {"type": "string", "format": "date",
                                "description": "default: today in the warehouse time zone"}},
    },
    "PubSubPush": {
        "type": "object", "required": ["message"],
        "description": "A Google Pub/Sub push envelope: message.data is the base64 of a Completion as JSON "
                       "(or, without data, the message attributes phase, processor and date).",
        "properties": {"message": {
            "type": "object",
            "properties": {"data": {"type": "string", "contentEncoding": "base64",
                                    "contentMediaType": "application/json"},
                           "attributes": {"type": "object"}, "messageId": {"type": "string"}},
            "anyOf": [{"required": ["data"], "properties": {"data": {"minLength": 1}}},
                      {"required": ["attributes"], "properties": {"attributes": _ref("Completion")}}]},
            "subscription": {"type": "string"}},
    },
    "NewDeployment": {
        "type": "object", "required": ["service", "commit"], "additionalProperties": False,
        "properties": {
            "service": {**_TEXT, "maxLength": 200},
            "commit": {**_TEXT, "maxLength": 200, "description": "a SHA (full or abbreviated), tag or branch"},
            "status": {"type": "string", "enum": ["succeeded", "failed"], "default": "succeeded"},
            "url": {**_TEXT, "maxLength": 2000, "description": "where it ran (credentials are masked)"},
            "by": {**_TEXT, "maxLength": 200, "description": "who deployed (default: api)"},
            "reason": {**_TEXT, "maxLength": 2000}},
    },
    "Deployments": {
        "type": "object", "required": ["schema", "deployments"],
        "description": "deploywatch.deployments/v1 (docs/schemas/deployments.v1.json)",
        "properties": {"schema": {"type": "string"}, "deployments": {"type": "array", "items": {
            "type": "object", "properties": {
                "id": {"type": "integer"}, "service": {"type": "string"},
                "from_commit": {"type": ["string", "null"]}, "to_commit": {"type": "string"},
                "status": {"type": "string"}, "step": {"type": ["string", "null"]},
                "reason": {"type": ["string", "null"]}, "started_at": _STAMP,
                "finished_at": {"oneOf": [_STAMP, {"type": "null"}]},
                "duration_seconds": {"type": ["number", "null"]}, "by": {"type": "string"},
                "how": {"type": "string"}, "url": {"type": ["string", "null"]},
                "relevant_commits": {"type": "array", "items": {"type": "string"}}}}},
            "locks": {"type": "array", "items": {"type": "object", "properties": {
                "service": {"type": "string"}, "holder": {"type": "string"}, "acquired_at": _STAMP,
                "expires_at": _STAMP}}}},
    },
    "Rollout": {
        "type": "object", "required": ["schema", "service", "steps", "lock", "rollout"],
        "description": "deploywatch.rollout/v1 (docs/schemas/rollout.v1.json)",
        "properties": {
            "schema": {"const": "deploywatch.rollout/v1"}, "service": {"type": "string"},
            "steps": {"type": "array", "items": {"type": "integer"}},
            "lock": {"type": ["object", "null"]},
            "rollout": {"type": ["object", "null"], "properties": {
                "entry_id": {"type": "integer"}, "state": {"type": "string"}, "step": {"type": ["integer", "null"]},
                "weight": {"type": "integer"}, "from_commit": {"type": ["string", "null"]},
                "to_commit": {"type": "string"}, "holder": {"type": "string"},
                "request": {"type": ["string", "null"]}, "request_reason": {"type": ["string", "null"]},
                "reason": {"type": ["string", "null"]}, "started_at": _STAMP, "updated_at": _STAMP,
                "events": {"type": "array", "items": {"type": "object"}}}}},
    },
    "Health": {
        "type": "object", "required": ["status"],
        "description": "With protect_reads and no valid token: only the status.",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded", "stopping"]}, "version": {"type": "string"},
            "started_at": _STAMP, "uptime_seconds": {"type": "number"}, "scheduler": {"type": "object"},
            "store": {"type": "object"},
            "jobs": {"type": "array", "items": {"type": "object", "properties": {
                "job": {"type": "string"}, "cron": {"type": ["string", "null"]}, "next_run_at": _STAMP,
                "running": {"type": "boolean"}, "last": {"oneOf": [_ref("JobRun"), {"type": "null"}]}}}}},
    },
    "Recorded": {
        "type": "object",
        "properties": {"phase": {"type": "string"}, "processor": {"type": "string"},
                       "date": {"type": "string", "format": "date"}, "duplicate": {"type": "boolean"},
                       "complete": {"type": "boolean"}, "recorded": {"type": "integer"},
                       "expected": {"type": "integer"}, "triggered": {"type": "boolean"},
                       "trigger_outcome": {"type": ["string", "null"],
                                           "description": "queued: on_complete fired and runs in the background"}},
    },
}


def _operation(spec: Endpoint, protect_reads: bool) -> dict[str, Any]:
    responses = dict(spec.responses)
    needs_token = spec.access == "write" or (spec.access == "read" and protect_reads)
    if needs_token:
        responses.update({"401": _UNAUTHORIZED, "403": _FORBIDDEN, "429": _THROTTLED})
    if spec.params and "400" not in responses:
        responses["400"] = _json(_ref("Error"), "A bad parameter")
    if spec.name not in ("openapi",):
        responses.setdefault("503", _STORE)
    if spec.name == "completions":
        responses["503"] = {**_json(_ref("Error"), "The store is unavailable, or too many on_complete actions are "
                                                   "queued (nothing was recorded: retry)"),
                            "headers": {"Retry-After": {"schema": {"type": "integer"}}}}
    operation: dict[str, Any] = {"operationId": spec.name, "summary": spec.summary, "responses": responses}
    if spec.description:
        operation["description"] = spec.description
    if needs_token:
        operation["security"] = [{"bearer": []}]
    if spec.params:
        operation["parameters"] = [param.document() for param in spec.params]
    if spec.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": dict(spec.body)}}}
    return operation


def openapi_document(version: str, *, protect_reads: bool = False) -> dict[str, Any]:
    """The document of a daemon (``protect_reads``: its read endpoints need the token too)."""
    paths: dict[str, Any] = {}
    for spec in ENDPOINTS:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, protect_reads)
    reads = "read endpoints need it too" if protect_reads else "read endpoints are open"
    return {
        "openapi": "3.1.0",
        "info": {"title": "deploywatch", "version": version,
                 "description": "The deploywatch daemon: job state, the newest drift and check results, phase "
                                f"completion reports and Prometheus metrics. Write endpoints need the [server] "
                                f"token; {reads}. JSON bodies nest at most {MAX_DEPTH} levels."},
        "paths": paths,
        "components": {"schemas": _SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
