"""The daemon's endpoints as data: one table for request validation and the OpenAPI document.

The server validates requests with it and the OpenAPI document (:mod:`.openapi`) is generated from it, so the two cannot
disagree.

A parameter is parsed strictly: only ASCII digits make a number (``str.isdigit`` also accepts ``²``), an empty
value or a parameter given twice is an error, and every error is one line naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..daemon.jobs import JOBS

__all__ = ["ENDPOINTS", "MAX_BODY", "MAX_DEPTH", "MAX_LIMIT", "BadRequest", "Endpoint", "Param", "endpoint"]

MAX_LIMIT = 500
MAX_BODY = 1 << 20  # bytes of a request body
MAX_DEPTH = 32  # nesting of a JSON body
_DIGITS = re.compile(r"[0-9]{1,9}")


class BadRequest(Exception):
    """A request the API refuses with 400; ``str()`` is the one-line reason."""


@dataclass(frozen=True)
class Param:
    """A query or path parameter, with the constraints the server checks and the schema states."""

    name: str
    where: Literal["query", "path"]
    description: str
    kind: Literal["integer", "string"] = "string"
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None  # a full match, for strings
    enum: Sequence[str] | None = None
    default: int | None = None
    problem: str = ""  # the message of a bad value

    def schema(self) -> dict[str, Any]:
        """The parameter's JSON schema."""
        schema: dict[str, Any] = {"type": self.kind}
        for key, value in (("minimum", self.minimum), ("maximum", self.maximum), ("default", self.default)):
            if value is not None:
                schema[key] = value
        if self.pattern is not None:
            schema["pattern"] = f"^{self.pattern}$"
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        return schema

    def document(self) -> dict[str, Any]:
        """The parameter as an OpenAPI parameter object."""
        return {"name": self.name, "in": self.where, "required": self.where == "path", "description": self.description,
                "schema": self.schema()}

    def parse(self, values: Sequence[str]) -> int | str | None:
        """The value of this parameter given ``values`` (every occurrence in the request); raise :class:`BadRequest`."""
        if not values:
            return self.default
        if len(values) > 1:
            raise BadRequest(f"{self.name} is given {len(values)} times: give it once")
        text = values[0]
        if self.kind == "integer":
            if not _DIGITS.fullmatch(text) or not self._in_range(int(text)):
                raise BadRequest(self.problem)
            return int(text)
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise BadRequest(self.problem)
        if self.enum is not None and text not in self.enum:
            raise BadRequest(self.problem)
        return text

    def _in_range(self, value: int) -> bool:
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)


@dataclass(frozen=True)
class Endpoint:
    """One method on one path: who may call it, its parameters, its body and its answers."""

    name: str  # the handler's name in :mod:`.app`
    method: Literal["GET", "POST"]
    path: str
    summary: str
    access: Literal["open", "read", "write"]  # open: no token ever; read: with protect_reads; write: always
    responses: Mapping[str, Any]
    params: Sequence[Param] = ()
    body: Mapping[str, Any] | None = None  # the request body's schema
    description: str = ""
    token_in_query: bool = False  # ?token= is accepted too (Pub/Sub push cannot send a header)

    def parse(self, query: Sequence[tuple[str, str]], path: Mapping[str, str]) -> dict[str, int | str | None]:
        """Every parameter's value; raise :class:`BadRequest` for the first bad one."""
        found: dict[str, int | str | None] = {}
        for param in self.params:
            values = [path[param.name]] if param.where == "path" else [v for k, v in query if k == param.name]
            found[param.name] = param.parse(values)
        return found


LIMIT = Param("limit", "query", "How many, newest first", kind="integer", minimum=1, maximum=MAX_LIMIT, default=20,
              problem=f"limit must be a whole number from 1 to {MAX_LIMIT}")
KIND = Param("kind", "query", "Only runs of this command (drift, canary, gate, check …)",
             pattern=r"[A-Za-z0-9_.-]{1,64}",
             problem="kind must be a command name (letters, digits, '_', '.', '-'; at most 64)")
JOB = Param("job", "query", "Only runs of this job", enum=JOBS, problem=f"job must be one of {', '.join(JOBS)}")
SERVICE = Param("service", "query", "Only this service's entries", pattern=r"[A-Za-z0-9_-]{1,200}",
                problem="service must be a service name (letters, digits, - and _)")
ROLLOUT_SERVICE = Param("service", "path", "A service with [services.NAME.rollout]", pattern=r"[A-Za-z0-9_-]{1,200}",
                        problem="service must be a service name (letters, digits, - and _)")
JOB_PATH = Param("kind", "path", "The job to run", enum=JOBS,
                 problem=f"unknown job: the jobs are {', '.join(JOBS)}")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": dict(schema)}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_OBJECT = {"type": "object"}
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("healthz", "GET", "/healthz", "The daemon is alive: the scheduler's state and the last run of each job",
             "open", {"200": _json(_ref("Health"), "The daemon is alive"),
                      "503": _json(_ref("Health"), "The scheduler has stopped")},
             description="Always answered without a token; with protect_reads and no valid token only the status."),
    Endpoint("check_latest", "GET", "/api/check/latest", "The newest unified check run: its details and findings",
             "read", {"200": _json({"type": "object", "properties": {
                 "run": _ref("Run"), "findings": {"type": "array", "items": _ref("Finding")}}},
                 "The newest check run"), "404": _error("No check run is stored yet")}),
    Endpoint("drift", "GET", "/api/drift", "The newest drift run: one entry per service with its details", "read",
             {"200": _json({"type": "object", "properties": {
                 "run": _ref("Run"), "services": {"type": "array", "items": {"type": "object", "properties": {
                     "service": {"type": "string"}, "status": {"type": "string"}, "summary": {"type": "string"},
                     "details": _OBJECT}}}}}, "The newest drift run"),
              "404": _error("No drift run is stored yet")}),
    Endpoint("runs", "GET", "/api/runs", "Stored runs, newest first", "read",
             {"200": _json({"type": "object", "properties": {"runs": {"type": "array", "items": _ref("Run")}}},
                           "The runs"), "400": _error("A bad parameter")}, params=(KIND, LIMIT)),
    Endpoint("job_runs", "GET", "/api/jobs", "The daemon's job runs (job_runs), newest first", "read",
             {"200": _json({"type": "object", "properties": {
                 "job_runs": {"type": "array", "items": _ref("JobRun")}}}, "The job runs"),
              "400": _error("A bad parameter")}, params=(JOB, LIMIT)),
    Endpoint("trigger", "POST", "/api/runs/{kind}", "Run a job now (drift, canary, check, report or remediate), "
             "through the scheduler and its lock", "write",
             {"202": _json({"type": "object", "properties": {
                 "job_run_id": {"type": "string"}, "job": {"type": "string"}, "state": {"type": "string"}}},
                 "Started"),
              "404": _error("Unknown job, or a job this daemon does not run"),
              "409": _error("The job is already running (here or in another daemon), or it has nothing to run")},
             params=(JOB_PATH,)),
    Endpoint("completions", "POST", "/api/completions", "Record that a processor finished a phase (a plain body or "
             "a Pub/Sub push envelope)", "write",
             {"201": _json(_ref("Recorded"), "Recorded (the first report of this processor); an on_complete action "
                           "this report set off is queued (trigger_outcome \"queued\")"),
              "200": _json(_ref("Recorded"), "A duplicate report (counted, nothing else changes)"),
              "400": _error("A bad body, or an unknown phase or processor"),
              "413": _error(f"The body is larger than {MAX_BODY} bytes")},
             body={"oneOf": [_ref("Completion"), _ref("PubSubPush")]},
             description="The token may also be given as ?token= (for Pub/Sub push subscriptions).",
             token_in_query=True),
    Endpoint("ledger", "GET", "/api/deployments", "The deploy ledger, newest first, and the live deploy locks (a "
             "deploy in progress or paused)", "read",
             {"200": _json(_ref("Deployments"), "The entries and locks"), "400": _error("A bad parameter")},
             params=(SERVICE, LIMIT)),
    Endpoint("deployments", "POST", "/api/deployments", "Record a deploy done elsewhere (CI, Argo CD) in the deploy "
             "ledger, as deploywatch record does", "write",
             {"201": _json(_ref("Deployments"), "Recorded: the entry, with the commit resolved, the commit it "
                           "replaced and the service's relevant commits in between"),
              "400": _error("A bad body, or an unknown service or commit"),
              "413": _error(f"The body is larger than {MAX_BODY} bytes")},
             body=_ref("NewDeployment")),
    Endpoint("remediation", "GET", "/api/remediate", "Remediation's kill switch, its breaker (tripped until "
             "deploywatch remediate reset) and each service's remediation state", "read",
             {"200": _json(_OBJECT, "The deploywatch.remediate-status/v1 document")}),
    Endpoint("rollouts", "GET", "/api/rollouts", "Every progressive rollout: per service with a rollout configured, "
             "its newest rollout's state, step, weight, lock and events (as deploywatch rollout status)", "read",
             {"200": _json({"type": "object", "required": ["rollouts"], "properties": {
                 "rollouts": {"type": "array", "items": _ref("Rollout")}}}, "One deploywatch.rollout/v1 document "
                 "per service with a rollout, by service name")}),
    Endpoint("rollout", "GET", "/api/rollouts/{service}", "One service's progressive rollout (deploywatch rollout "
             "status SERVICE --format json)", "read",
             {"200": _json(_ref("Rollout"), "The deploywatch.rollout/v1 document"),
              "404": _error("No such service, or it has no rollout configured")}, params=(ROLLOUT_SERVICE,)),
    Endpoint("metrics", "GET", "/metrics", "Prometheus metrics (text exposition format; OpenMetrics when asked for)",
             "read", {"200": {"description": "The metrics", "content": {"text/plain": {"schema": {
                 "type": "string"}}}}}),
    Endpoint("openapi", "GET", "/openapi.json", "This document", "open",
             {"200": _json(_OBJECT, "The OpenAPI document")}),
)


def endpoint(name: str) -> Endpoint:
    """The endpoint called ``name``."""
    return next(e for e in ENDPOINTS if e.name == name)
