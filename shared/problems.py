"""RFC 9457 problem details: one stable `type` per failure, all listed here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = structlog.get_logger("carelog.errors")

PROBLEM_BASE = "https://carelog.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> (status, title). The slug is the stable part of the `type` URI.
PROBLEM_TYPES: dict[str, tuple[int, str]] = {
    "validation": (422, "The request is not valid"),
    "business-rule": (422, "The request breaks a recording rule"),
    "malformed-request": (400, "The request could not be read"),
    "unauthenticated": (401, "Authentication is required"),
    "forbidden": (403, "You do not have access to this"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "not-acceptable": (406, "Not acceptable"),
    "concurrency-conflict": (409, "Someone else changed this record first"),
    "idempotency-in-flight": (409, "A request with this Idempotency-Key is still being processed"),
    "idempotency-key-reused": (422, "This Idempotency-Key was used with a different request"),
    "invariant-violated": (409, "The change is refused because it would break a safeguard"),
    "state-conflict": (409, "The record is not in a state that allows this"),
    "precondition-failed": (412, "The record has changed since you last read it"),
    "payload-too-large": (413, "The request body is too large"),
    "unsupported-media-type": (415, "Send JSON (application/json)"),
    "rate-limited": (429, "Too many requests"),
    "headers-too-large": (431, "The request headers are too large"),
    "destination-refused": (422, "Webhooks may not be sent to this address"),
    "internal": (500, "Internal error"),
    "unavailable": (503, "The service is not ready"),
}


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: what went wrong, and nothing was written.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "What kind of problem (a stable URI)"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What happened, for a person"},
        "instance": {"type": "string", "description": "The path that answered"},
        "reasons": {
            "type": "array",
            "description": "Every recording rule the request breaks (business-rule problems)",
            "items": {
                "type": "object",
                "required": ["code", "detail"],
                "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
        "errors": {
            "type": "array",
            "description": "Every field that is not valid (validation problems)",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "array", "items": {"type": "string"}},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
# Defined once in /openapi.json's components; every error response refers to it.
PROBLEM_REF: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}

# Documented on every operation: errors are RFC 9457 problems, never FastAPI's default shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}
    for status, description in (
        (400, "The request could not be read"),
        (401, "Authentication is required"),
        (403, "No access"),
        (404, "Not found"),
        (409, "Conflict with the record's state or a concurrent change"),
        (412, "The record changed since it was read (If-Match)"),
        (413, "The body is too large"),
        (422, "The request is not valid, or breaks a recording rule"),
        (429, "Too many requests"),
        (431, "The request headers are too large"),
        (503, "Not ready"),
    )
}


@dataclass(frozen=True, slots=True)
class Reason:
    """One recording rule a request breaks: a stable code and a sentence a person can act on."""

    code: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


class FieldError(TypedDict):
    """One field that is not valid: where it is, what is wrong, and the kind of fault."""

    location: list[str]
    message: str
    type: str


class Problem(Exception):
    """Raise anywhere in a request to answer with an RFC 9457 problem. `reasons` and `errors` are
    typed, so every problem's lists have the one shape PROBLEM_SCHEMA documents."""

    def __init__(
        self,
        slug: str,
        detail: str | None = None,
        *,
        status: int | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        reasons: Sequence[Reason] = (),
        errors: Sequence[FieldError] = (),
        **extensions: Any,
    ) -> None:
        default_status, default_title = PROBLEM_TYPES[slug]
        self.slug = slug
        self.status = status or default_status
        self.title = title or default_title
        self.detail = detail
        self.headers = headers or {}
        self.reasons = tuple(reasons)
        self.errors = tuple(errors)
        self.extensions = extensions
        super().__init__(detail or self.title)

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.reasons:
            body["reasons"] = [reason.as_json() for reason in self.reasons]
        if self.errors:
            body["errors"] = list(self.errors)
        body.update(self.extensions)
        return body


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    return Response(
        content=orjson.dumps(problem.body(instance), default=str),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


_STATUS_SLUGS = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "state-conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
    431: "headers-too-large",
    503: "unavailable",
}


# Headers of the protocol rather than the record: one not of its shape is a malformed request (400);
# what a person wrote in a header (a break-glass reason) is a field like any other (422).
_PROTOCOL_HEADERS = frozenset({"if-match", "idempotency-key", "x-request-id", "x-correlation-id"})


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    return [
        FieldError(
            location=[str(part) for part in error.get("loc", ())],
            message=error.get("msg", ""),
            type=error.get("type", ""),
        )
        for error in exc.errors()
    ]


def document_problems(app: FastAPI) -> None:
    """Every error response in /openapi.json is an RFC 9457 problem, as the app answers it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    for status, response in responses.items():
                        if status in ("4XX", "5XX", "default") or (status.isdigit() and int(status) >= 400):
                            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        # A body that is not JSON at all, or a header not of its shape, is a malformed request, not
        # a field that failed a rule.
        if any(e["type"] == "json_invalid" for e in errors):
            problem = Problem("malformed-request", "The body is not valid JSON.", errors=errors)
        elif all(e["location"][:1] == ["header"] and e["location"][-1] in _PROTOCOL_HEADERS for e in errors):
            problem = Problem("malformed-request", "A header is not of its shape.", errors=errors)
        else:
            problem = Problem("validation", "One or more fields are invalid.", errors=errors)
        return problem_response(problem, request.url.path)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        slug = _STATUS_SLUGS.get(exc.status_code, "internal" if exc.status_code >= 500 else "malformed-request")
        detail = exc.detail if isinstance(exc.detail, str) else None
        problem = Problem(slug, detail, status=exc.status_code, headers=dict(exc.headers or {}))
        return problem_response(problem, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Never leak a stack trace to the client; the log has it.
        log.error("unhandled error", path=request.url.path, exc_info=exc)
        return problem_response(Problem("internal"), request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=str)
