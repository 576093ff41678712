"""RFC 9457 problem details for every 4xx and 5xx answer (DESIGN.md A10, B5; STYLE.md point 15).

Every error body has the content type ``application/problem+json`` and the shape::

    {"type": "urn:spotcheck-ledger:problem:conflict", "title": "conflict",
     "status": 409, "detail": "entry 7: field 'command.nonce': key ... [A3 nonce]",
     "rule": "A3 nonce", "field": "command.nonce", "index": 7,
     "instance": "/v1/commands"}

``rule`` names the rule of DESIGN.md that refused the request; ``field`` and
``index`` appear when there is one.  One handler maps every
:class:`ledger.errors.LedgerError` to its ``status`` (409 for
``ConflictError``); the HTTP-level refusals below are ``LedgerError``
subclasses too, so the same handler serves them.  FastAPI's own errors
(unknown route, method, request validation) are mapped here as well.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import LedgerError

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:spotcheck-ledger:problem:"

log = logging.getLogger("spotcheck.api")


class BadRequest(LedgerError):
    """Malformed request: bad JSON (rule ``A1 JSON``), bad query (A10), bad header."""

    status = 400
    title = "bad request"


class MethodNotAllowed(LedgerError):
    status = 405
    title = "method not allowed"


class PayloadTooLarge(LedgerError):
    """The body is larger than ``SPOTCHECK_MAX_BODY_BYTES``; checked while reading."""

    status = 413
    title = "payload too large"


class UnsupportedMediaType(LedgerError):
    status = 415
    title = "unsupported media type"


class InternalError(LedgerError):
    status = 500
    title = "internal error"


def problem_type(title: str) -> str:
    """The ``type`` URI of a problem, one per title: ``urn:spotcheck-ledger:problem:conflict``."""
    return TYPE_PREFIX + title.replace(" ", "-")


def problem_body(error: LedgerError, instance: str) -> dict[str, Any]:
    """The problem object of ``error`` (RFC 9457 members plus ``rule``/``field``/``index``)."""
    members = error.to_problem()
    body: dict[str, Any] = {"type": problem_type(str(members["title"]))}
    body.update(members)
    body["status"] = error.status
    body["instance"] = instance
    return body


def problem_bytes(error: LedgerError, instance: str) -> bytes:
    return json.dumps(problem_body(error, instance), ensure_ascii=False).encode("utf-8")


def problem_response(
    error: LedgerError, request: Request, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A ``JSONResponse`` carrying the problem of ``error`` with its status code."""
    return JSONResponse(
        problem_body(error, request.url.path),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


# -- handlers ---------------------------------------------------------------------


async def _ledger_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LedgerError)
    if exc.status >= 500:
        log.error("refused with %s: %s", exc.status, exc)
    return problem_response(exc, request)


def _field(loc: Any) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "header", "body", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "request"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    field = _field(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return problem_response(BadRequest("A1 JSON", "the body is not JSON", field="body"),
                                request)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    error = LedgerError("A10 request", f"{first.get('msg', 'invalid')}{more}", field=field)
    error.status = 422
    error.title = "invalid request"
    return problem_response(error, request)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    route = f"{request.method} {request.url.path}"
    error: LedgerError
    if exc.status_code == 404:
        error = LedgerError("A10 routes", f"no such resource: {route}")
        error.status, error.title = 404, "not found"
    elif exc.status_code == 405:
        allowed = headers.get("Allow") or headers.get("allow") or ""
        error = MethodNotAllowed("A10 routes", f"{route} is not allowed; allowed: {allowed}")
    else:
        error = LedgerError("A10 routes", str(exc.detail))
        error.status, error.title = exc.status_code, "http error"
    return problem_response(error, request, headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app`` (one per error family)."""
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


# -- OpenAPI --------------------------------------------------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `rule` names the rule of DESIGN.md that refused "
                   "the request.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "rule", "instance"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:spotcheck-ledger:problem:conflict"]},
        "title": {"type": "string", "examples": ["conflict"]},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "rule": {"type": "string", "examples": ["A3 nonce"]},
        "field": {"type": "string", "examples": ["command.nonce"]},
        "index": {"type": "integer", "minimum": 0},
        "instance": {"type": "string", "examples": ["/v1/commands"]},
    },
}

_DESCRIPTIONS = {
    400: "Malformed request (bad JSON: rule `A1 JSON`; bad range or proof query: rule `A10 ...`)",
    403: "Signature or authority refused (A3, A7, A12)",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict: reused nonce, idempotency key reused with another body (B5)",
    413: "Body larger than SPOTCHECK_MAX_BODY_BYTES",
    415: "Content type is not application/json",
    422: "Well-formed JSON that breaks a rule of the format or the domain",
    500: "Internal error",
    503: "The store is unavailable or the log is empty",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``codes``, each a problem+json body."""
    return {
        code: {
            "description": _DESCRIPTIONS.get(code, "Problem"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }
