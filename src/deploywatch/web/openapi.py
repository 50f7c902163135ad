"""The daemon's OpenAPI 3.1 document (``GET /openapi.json``), written by hand: every endpoint is listed."""

from __future__ import annotations

from typing import Any

from ..jobs import JOBS

__all__ = ["openapi_document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "An error")
_UNAUTHORIZED = {**_json(_ref("Error"), "Missing or wrong bearer token"),
                 "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}}
_FORBIDDEN = _json(_ref("Error"), "No token is configured in [server]: write endpoints are disabled")
_READ_ERRORS = {"401": _UNAUTHORIZED, "403": _FORBIDDEN, "503": _json(_ref("Error"), "The store is unavailable")}
_STAMP = {"type": ["string", "null"], "format": "date-time"}
_JOB = {"type": "string", "enum": list(JOBS)}
_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20}}

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
            "state": {"type": "string", "enum": ["running", "ok", "failed", "timeout", "skipped", "cancelled"]},
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
        "properties": {"phase": {"type": "string"}, "processor": {"type": "string"},
                       "date": {"type": "string", "format": "date",
                                "description": "default: today in the warehouse time zone"}},
    },
    "PubSubPush": {
        "type": "object", "required": ["message"],
        "description": "A Google Pub/Sub push envelope: message.data is the base64 of a Completion as JSON "
                       "(or, without data, the message attributes phase, processor and date).",
        "properties": {"message": {"type": "object", "properties": {
            "data": {"type": "string", "contentEncoding": "base64"}, "attributes": {"type": "object"},
            "messageId": {"type": "string"}}}, "subscription": {"type": "string"}},
    },
    "Recorded": {
        "type": "object",
        "properties": {"phase": {"type": "string"}, "processor": {"type": "string"},
                       "date": {"type": "string", "format": "date"}, "duplicate": {"type": "boolean"},
                       "complete": {"type": "boolean"}, "recorded": {"type": "integer"},
                       "expected": {"type": "integer"}, "triggered": {"type": "boolean"},
                       "trigger_outcome": {"type": ["string", "null"]}},
    },
}


def openapi_document(version: str) -> dict[str, Any]:
    """The document for this daemon."""
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    paths: dict[str, Any] = {
        "/healthz": {"get": {
            "summary": "The daemon is alive: the scheduler's state and the last run of each job",
            "description": "Always answered without a token; with protect_reads and no valid token only the status.",
            "responses": {"200": _json({"type": "object", "properties": {
                "status": {"type": "string"}, "version": {"type": "string"}, "started_at": _STAMP,
                "uptime_seconds": {"type": "number"}, "scheduler": {"type": "object"},
                "jobs": {"type": "array", "items": {"type": "object", "properties": {
                    "job": {"type": "string"}, "cron": {"type": ["string", "null"]}, "next_run_at": _STAMP,
                    "running": {"type": "boolean"}, "last": {"oneOf": [_ref("JobRun"), {"type": "null"}]}}}}}},
                "The daemon is alive"),
                "503": _json({"type": "object"}, "The scheduler has stopped")}}},
        "/api/check/latest": {"get": {
            "summary": "The newest unified check run: its details and findings", "security": bearer,
            "responses": {"200": _json({"type": "object", "properties": {
                "run": _ref("Run"), "findings": {"type": "array", "items": _ref("Finding")}}}, "The newest check run"),
                "404": _json(_ref("Error"), "No check run is stored yet"), **_READ_ERRORS}}},
        "/api/drift": {"get": {
            "summary": "The newest drift run: one entry per service with its details", "security": bearer,
            "responses": {"200": _json({"type": "object", "properties": {
                "run": _ref("Run"), "services": {"type": "array", "items": {"type": "object", "properties": {
                    "service": {"type": "string"}, "status": {"type": "string"}, "summary": {"type": "string"},
                    "details": {"type": "object"}}}}}}, "The newest drift run"),
                "404": _json(_ref("Error"), "No drift run is stored yet"), **_READ_ERRORS}}},
        "/api/runs": {"get": {
            "summary": "Stored runs, newest first", "security": bearer,
            "parameters": [
                {"name": "kind", "in": "query", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
                 "description": "Only runs of this command (drift, canary, gate, check …)"},
                _LIMIT],
            "responses": {"200": _json({"type": "object", "properties": {
                "runs": {"type": "array", "items": _ref("Run")}}}, "The runs"),
                "400": _json(_ref("Error"), "A bad parameter"), **_READ_ERRORS}}},
        "/api/jobs": {"get": {
            "summary": "The daemon's job runs (job_runs), newest first", "security": bearer,
            "parameters": [{"name": "job", "in": "query", "schema": _JOB}, _LIMIT],
            "responses": {"200": _json({"type": "object", "properties": {
                "job_runs": {"type": "array", "items": _ref("JobRun")}}}, "The job runs"),
                "400": _json(_ref("Error"), "A bad parameter"), **_READ_ERRORS}}},
        "/api/runs/{kind}": {"post": {
            "summary": "Run a job now (drift, canary or check), through the scheduler and its lock",
            "security": bearer,
            "parameters": [{"name": "kind", "in": "path", "required": True, "schema": _JOB}],
            "responses": {"202": _json({"type": "object", "properties": {
                "job_run_id": {"type": "string"}, "job": {"type": "string"}, "state": {"type": "string"}}},
                "Started"),
                "404": _json(_ref("Error"), "Unknown job"),
                "409": _json(_ref("Error"), "The job is already running (here or in another daemon)"),
                "401": _UNAUTHORIZED, "403": _FORBIDDEN}}},
        "/api/completions": {"post": {
            "summary": "Record that a processor finished a phase (a plain body or a Pub/Sub push envelope)",
            "security": bearer,
            "description": "The token may also be given as ?token= (for Pub/Sub push subscriptions).",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "oneOf": [_ref("Completion"), _ref("PubSubPush")]}}}},
            "responses": {"201": _json(_ref("Recorded"), "Recorded (the first report of this processor)"),
                          "200": _json(_ref("Recorded"), "A duplicate report (counted, nothing else changes)"),
                          "400": _json(_ref("Error"), "A bad body, or an unknown phase or processor"),
                          "401": _UNAUTHORIZED, "403": _FORBIDDEN,
                          "413": _json(_ref("Error"), "The body is larger than 1 MiB")}}},
        "/metrics": {"get": {
            "summary": "Prometheus metrics (text exposition format; OpenMetrics when asked for)", "security": bearer,
            "responses": {"200": {"description": "The metrics", "content": {"text/plain": {"schema": {
                "type": "string"}}}}, **_READ_ERRORS}}},
        "/openapi.json": {"get": {
            "summary": "This document", "responses": {"200": _json({"type": "object"}, "The OpenAPI document")}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "deploywatch", "version": version,
                 "description": "The deploywatch daemon: job state, the newest drift and check results, phase "
                                "completion reports and Prometheus metrics. Write endpoints need the [server] "
                                "token; read endpoints need it when protect_reads is set."},
        "paths": paths,
        "components": {"schemas": _SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
