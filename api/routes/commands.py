"""Writes: ``POST /v1/commands`` and the per-action documentation routes (DESIGN.md A10, B5).

One signed command (A3) as ``application/json`` in, ``201`` with its receipt
(A8) out; a refused command gets a 4xx problem naming the rule and appends
nothing.  The body is read here (never by FastAPI), so that:

1. a content type other than ``application/json`` is ``415``;
2. a body over the limit is ``413`` while it streams in
   (:class:`api.middleware.BodyLimitMiddleware`);
3. bytes that are not strict JSON (RFC 8259 syntax, UTF-8, no duplicate
   member names, no NaN: A1) are ``400`` with rule ``A1 JSON``;
4. everything else — floats, the six members, signature, key, roles, nonce,
   time, Part C — is the domain's to decide (B1), through the group-commit
   writer (:mod:`api.writer`).

``POST /v1/actions/<action>`` exists for each action of A12 to document its
arguments in the OpenAPI document; it takes the same body and answers the
same way, and refuses a body whose ``action`` is another one.

``Idempotency-Key`` (optional header): see :mod:`api.idempotency`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.actions import ACTION_DOCS, description, schema_name
from api.deps import Services, ServicesDep
from api.idempotency import Record, conflict
from api.problems import BadRequest, UnsupportedMediaType, problem_responses
from ledger.canonical import canonical, check_json_value
from ledger.errors import FormatError, LedgerError

log = logging.getLogger("spotcheck.api")
router = APIRouter(tags=["commands"])

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_WAIT_SECONDS = 30.0
_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "Appended: the receipt (A8)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}},
          "headers": {"Location": {"description": "The entry in the read API",
                                   "schema": {"type": "string"}},
                      "Idempotent-Replayed": {"description": "true: the stored receipt of an "
                                              "earlier request with this Idempotency-Key",
                                              "schema": {"type": "string"}}}},
    **problem_responses(400, 403, 404, 409, 413, 415, 422, 503),
}

IdempotencyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Optional: 1-255 visible ASCII characters. "
           "Same key and same body: the first receipt again; another body: 409."),
]


def _body_doc(schema: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}}


# -- reading the body ---------------------------------------------------------------------


def _check_content_type(request: Request) -> None:
    raw = request.headers.get("content-type")
    if raw is None:
        raise UnsupportedMediaType("A10 content type", "send the command as application/json",
                                   field="Content-Type")
    media, *params = [part.strip() for part in raw.split(";")]
    if media.lower() != "application/json":
        raise UnsupportedMediaType("A10 content type",
                                   f"expected application/json, got {media!r}",
                                   field="Content-Type")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise UnsupportedMediaType("A10 content type", "the only charset is utf-8",
                                       field="Content-Type")


def _duplicates_refused(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            raise BadRequest("A1 JSON", f"duplicate member name {name!r}", field="body")
        obj[name] = value
    return obj


def _no_constant(text: str) -> Any:
    raise BadRequest("A1 JSON", f"{text} is not JSON", field="body")


def parse_body(raw: bytes) -> Any:
    """Strict JSON (A1): UTF-8, RFC 8259 syntax, no duplicate names or NaN; else 400 ``A1 JSON``.

    Values JSON allows but signed data does not (floats, integers beyond
    2^53-1, lone surrogates) raise ``FormatError`` (422, rule ``A1 canonical``).
    """
    if not raw.strip():
        raise BadRequest("A1 JSON", "the body is empty: send one signed command", field="body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("A1 JSON", f"not UTF-8 at byte {exc.start}", field="body") from None
    try:
        value = json.loads(text, object_pairs_hook=_duplicates_refused,
                           parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest("A1 JSON", f"not JSON: {exc.msg} at line {exc.lineno} column "
                         f"{exc.colno}", field="body") from None
    except RecursionError:
        raise BadRequest("A1 JSON", "nesting too deep", field="body") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's 4300-digit limit
        raise BadRequest("A1 JSON", f"not I-JSON: {exc}", field="body") from None
    check_json_value(value)
    return value


async def read_command(request: Request, action: str | None = None) -> Any:
    """Steps 1-3 of the module docstring; returns the parsed body."""
    _check_content_type(request)
    command = parse_body(await request.body())
    if action is not None and (not isinstance(command, dict) or command.get("action") != action):
        found = command.get("action") if isinstance(command, dict) else None
        raise FormatError("A10 action route", f"this route takes {action!r} commands, the body "
                          f"says {found!r}; use POST /v1/commands for any action",
                          field="action")
    return command


# -- submitting ------------------------------------------------------------------------------


def _receipt_response(receipt: dict[str, Any], *, replayed: bool = False) -> JSONResponse:
    index = receipt.get("index")
    headers = {"Location": f"/v1/log/entries?start={index}&end={int(index) + 1}"} \
        if isinstance(index, int) else {}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(receipt, status_code=201, headers=headers)


async def _await(future: Future[dict[str, Any]]) -> dict[str, Any]:
    return await asyncio.wrap_future(future)


async def _replay(services: Services, signer: str, key: str, digest: str,
                  record: Record | None) -> JSONResponse | None:
    """Answer from an existing record, waiting while it is in flight; None when it is gone."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _WAIT_SECONDS
    while record is not None:
        if record.body_sha256 != digest:
            raise conflict(key, "was used with another body")
        if record.response is not None:
            return _receipt_response(record.response, replayed=True)
        if loop.time() > deadline:
            raise conflict(key, "is still being processed: retry later")
        await asyncio.sleep(0.05)
        record = await run_in_threadpool(services.idempotency.get, signer, key)
    return None


async def _submit_idempotent(services: Services, command: Any, key: str) -> JSONResponse:
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise BadRequest("B5 idempotency", "Idempotency-Key must be 1-255 visible ASCII "
                         "characters", field="Idempotency-Key")
    digest = hashlib.sha256(canonical(command)).hexdigest()
    signer = command.get("key") if isinstance(command, dict) else None
    signer = signer if isinstance(signer, str) else ""
    store = services.idempotency
    for _attempt in range(3):
        token, record = await run_in_threadpool(store.reserve, signer, key, digest)
        if token is None:
            answer = await _replay(services, signer, key, digest, record)
            if answer is not None:
                return answer
            continue  # the holder's command was refused and released the key: try ourselves
        try:
            future = services.writer.submit(command)
        except LedgerError:
            await run_in_threadpool(store.release, signer, key, token)
            raise
        future.add_done_callback(_settle(services, signer, key, token))
        return _receipt_response(await _await(future))
    raise conflict(key, "is contended: retry later")


def _settle(services: Services, signer: str, key: str, token: str
            ) -> Callable[[Future[dict[str, Any]]], None]:
    """Done-callback: store the receipt for the key, or release it when refused.

    It runs in the writer thread before the waiting request wakes, and also
    when the client has gone away, so a retry always finds the outcome.
    """
    def settle(future: Future[dict[str, Any]]) -> None:
        try:
            if future.cancelled() or future.exception() is not None:
                services.idempotency.release(signer, key, token)
            else:
                services.idempotency.complete(signer, key, token, future.result())
        except Exception:
            log.exception("could not record Idempotency-Key %r", key)

    return settle


async def accept(request: Request, services: Services, idempotency_key: str | None,
                 action: str | None = None) -> Response:
    """Read, submit and answer one command (the whole of ``POST /v1/commands``)."""
    status = 500
    try:
        command = await read_command(request, action)
        if idempotency_key is not None:
            response = await _submit_idempotent(services, command, idempotency_key)
        else:
            response = _receipt_response(await _await(services.writer.submit(command)))
        status = response.status_code
        return response
    except LedgerError as exc:
        status = exc.status
        raise
    finally:
        services.metrics.commands.labels(status=str(status)).inc()


@router.post(
    "/v1/commands",
    status_code=201,
    summary="Submit one signed command (A3); 201 with its receipt (A8)",
    description="The one write endpoint every client uses (A10). The examples list every "
                "action of A12; see `POST /v1/actions/<action>` for each action's arguments.",
    responses=_RESPONSES,
    openapi_extra=_body_doc("Command"),
    response_class=JSONResponse,
)
async def post_command(request: Request, services: ServicesDep,
                       idempotency_key: IdempotencyHeader = None) -> Response:
    return await accept(request, services, idempotency_key)


def _action_endpoint(action: str) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, services: ServicesDep,
                       idempotency_key: IdempotencyHeader = None) -> Response:
        return await accept(request, services, idempotency_key, action)

    endpoint.__name__ = "post_" + action.replace(".", "_")
    return endpoint


for _action in ACTION_DOCS:
    router.add_api_route(
        f"/v1/actions/{_action}",
        _action_endpoint(_action),
        methods=["POST"],
        status_code=201,
        tags=["actions"],
        summary=ACTION_DOCS[_action].summary,
        description=description(_action),
        responses=_RESPONSES,
        openapi_extra=_body_doc(schema_name(_action)),
        response_class=JSONResponse,
    )
