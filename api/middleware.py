"""ASGI middleware: request id, access log and latency; body size limit (DESIGN.md A10, B5, B7).

:class:`RequestContextMiddleware` (outermost) takes the caller's
``X-Request-ID`` (or makes one), puts it in every log line of the request and
in the response, observes the request latency by route, logs one JSON access
line, and turns an unexpected exception into a ``500`` problem that still
carries the request id.

:class:`BodyLimitMiddleware` refuses a body over the limit with ``413``:
at once from ``Content-Length``, else while the stream is read, before a
single byte is parsed.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import accept_request_id, request_id_var
from api.metrics import Metrics
from api.problems import (
    PROBLEM_MEDIA_TYPE,
    BadRequest,
    InternalError,
    PayloadTooLarge,
    problem_bytes,
)
from ledger.errors import LedgerError, StoreError

access_log = logging.getLogger("spotcheck.access")
log = logging.getLogger("spotcheck.api")

_STORE_MODULES = ("eventsourcing.", "psycopg", "psycopg_pool", "sqlite3")


def is_store_failure(exc: BaseException) -> bool:
    """True for the errors of the database layer (the store is down, locked, read-only).

    Matched by module so that ``api`` need not import ``eventsourcing`` (STYLE.md point 11).
    """
    return any(cls.__module__.startswith(_STORE_MODULES) for cls in type(exc).__mro__)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def send_problem(send: Send, error: LedgerError, instance: str,
                       headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send a complete problem+json response straight from middleware."""
    body = problem_bytes(error, instance)
    await send({
        "type": "http.response.start",
        "status": error.status,
        "headers": [(b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """X-Request-ID in and out, JSON access log, request latency metric, last-resort 500."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(_header(scope, b"x-request-id"))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            error: LedgerError
            if is_store_failure(exc):
                log.error("store failure in %s %s: %s", scope.get("method"), scope.get("path"),
                          exc)
                error = StoreError("B3 store", "the store is unavailable; retry later")
            else:
                log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
                error = InternalError("B5 internal", "internal error; quote the X-Request-ID "
                                      "header when reporting it")
            if not response_started:
                await send_problem(send_with_id, error, str(scope.get("path", "")))
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.request_seconds.labels(method=method, route=template,
                                                status=str(status)).observe(elapsed)
            access_log.info("request", extra={
                "method": method, "path": scope.get("path"), "route": template,
                "status": status, "duration_ms": round(elapsed * 1000, 3),
            })
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """413 for a body over ``max_bytes``, from Content-Length or while reading the stream."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, size: str) -> PayloadTooLarge:
        return PayloadTooLarge("B5 body size", f"the body is {size} bytes; the limit is "
                               f"{self.max_bytes} bytes (SPOTCHECK_MAX_BODY_BYTES)", field="body")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.isdigit():
                await send_problem(send, BadRequest("B5 body size", "Content-Length is not a "
                                                    "number", field="Content-Length"), path)
                return
            if int(length) > self.max_bytes:
                await send_problem(send, self._too_large(length), path,
                                   [(b"connection", b"close")])
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message: dict[str, Any] = dict(await receive())
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large(f"more than {self.max_bytes}")
            return message

        await self.app(scope, limited, send)
