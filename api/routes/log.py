"""The read API for verifiers, exactly as DESIGN.md A10 lists it; no authentication.

- ``GET /v1/log/checkpoint`` → ``text/plain``: the latest signed checkpoint (A6).
- ``GET /v1/log/entries?start=S&end=E`` → ``application/x-ndjson``: entries
  S..E-1, each line the entry's canonical bytes (A4) and ``\\n``.  At most
  :data:`MAX_ENTRIES` (1000) entries per request and never past the tree
  size: a shorter answer carries ``Link: <...>; rel="next"`` for the rest,
  as RFC 6962 ``get-entries`` allows.
- ``GET /v1/log/proof/inclusion?index=I&size=N`` → ``{"index","size","hashes"}``
  (RFC 9162 §2.1.3, base64, leaf side first).
- ``GET /v1/log/proof/consistency?from=M&to=N`` → ``{"from","to","hashes"}``
  (RFC 9162 §2.1.4); ``from == to`` gives an empty list.
- ``GET /v1/log/vkey`` → ``text/plain``: the log's verifier key string (A6).

``index >= size``, ``size`` above the current tree size, ``from < 1``,
``from > to`` (and the like for entries) are ``400`` problems.  Entries and
proofs at a given size never change, so those answers may be cached for good.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.deps import LedgerDep
from api.problems import BadRequest, problem_responses
from ledger.errors import NotFoundError
from ledger.keys import b64encode
from ledger.store.ledger import Ledger

router = APIRouter(prefix="/v1/log", tags=["log"])

MAX_ENTRIES = 1000
"""Most entries one ``GET /v1/log/entries`` returns."""

IMMUTABLE = "public, max-age=31536000, immutable"
_RULE = "A10 read API"


class NdjsonResponse(Response):
    media_type = "application/x-ndjson"


def _current_size(ledger: Ledger) -> int:
    head = ledger.head()
    return head.size if head is not None else 0


def _hashes_schema(*names: str) -> dict[int | str, dict[str, Any]]:
    properties: dict[str, Any] = {name: {"type": "integer", "minimum": 0} for name in names}
    properties["hashes"] = {"type": "array", "items": {"type": "string"},
                            "description": "base64 SHA-256 hashes, leaf side first"}
    return {200: {"description": "The proof", "content": {"application/json": {"schema": {
        "type": "object", "required": [*names, "hashes"], "properties": properties,
        "additionalProperties": False}}}}}


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    summary="The latest signed checkpoint (A6)",
    responses=problem_responses(404, 503),
)
def checkpoint(ledger: LedgerDep) -> PlainTextResponse:
    head = ledger.head()
    if head is None:
        raise NotFoundError("A6 checkpoint", "the log is empty: run `spotcheck init` first")
    return PlainTextResponse(head.checkpoint, headers={"Cache-Control": "no-cache"})


@router.get(
    "/vkey",
    response_class=PlainTextResponse,
    summary="The log's verifier key string (A6)",
    responses=problem_responses(404, 503),
)
def vkey(ledger: LedgerDep) -> PlainTextResponse:
    if ledger.log.log_vkey is None:
        ledger.catch_up()
    if ledger.log.log_vkey is None:
        raise NotFoundError("A7 genesis", "the log is empty: run `spotcheck init` first")
    return PlainTextResponse(ledger.log.log_vkey, headers={"Cache-Control": IMMUTABLE})


@router.get(
    "/entries",
    response_class=NdjsonResponse,
    summary="Entries start..end-1, one canonical entry per line (A4)",
    description=f"At most {MAX_ENTRIES} entries per request; a shorter answer than asked "
                "carries a `Link: <...>; rel=\"next\"` header for the rest.",
    responses={200: {"description": "NDJSON: one entry's canonical bytes per line",
                     "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
               **problem_responses(400, 422, 503)},
)
def entries(
    ledger: LedgerDep,
    start: Annotated[int, Query(description="First index", json_schema_extra={"minimum": 0})],
    end: Annotated[int | None, Query(description="One past the last index (default: start + "
                                     f"{MAX_ENTRIES}, at most the tree size)",
                                     json_schema_extra={"minimum": 0})] = None,
) -> Response:
    size = _current_size(ledger)
    wanted = start + MAX_ENTRIES if end is None else end
    if start < 0:
        raise BadRequest(_RULE, f"start must be >= 0, got {start}", field="start")
    if wanted < start:
        raise BadRequest(_RULE, f"end {wanted} is before start {start}", field="end")
    if start > size or (start == size and wanted > start):
        raise BadRequest(_RULE, f"start {start} is not below the tree size {size}",
                         field="start")
    stop = min(wanted, size, start + MAX_ENTRIES)
    body = b"".join(data + b"\n" for _, data in ledger.entries(start, stop)) if stop > start \
        else b""
    headers = {"X-Tree-Size": str(size)}
    if stop < wanted:
        headers["Link"] = f'</v1/log/entries?start={stop}&end={wanted}>; rel="next"'
    if end is not None and stop == wanted:
        headers["Cache-Control"] = IMMUTABLE
    return NdjsonResponse(body, headers=headers)


@router.get(
    "/proof/inclusion",
    summary="Inclusion proof of entry index in the tree of size (RFC 9162 §2.1.3)",
    responses={**_hashes_schema("index", "size"), **problem_responses(400, 422, 503)},
    response_class=JSONResponse,
)
def inclusion(
    ledger: LedgerDep,
    index: Annotated[int, Query(json_schema_extra={"minimum": 0})],
    size: Annotated[int, Query(json_schema_extra={"minimum": 1})],
) -> JSONResponse:
    current = _current_size(ledger)
    if index < 0:
        raise BadRequest(_RULE, f"index must be >= 0, got {index}", field="index")
    if index >= size:
        raise BadRequest(_RULE, f"index {index} is not below size {size}", field="index")
    if size > current:
        raise BadRequest(_RULE, f"size {size} is above the current tree size {current}",
                         field="size")
    hashes = [b64encode(h) for h in ledger.inclusion_proof(index, size)]
    return JSONResponse({"index": index, "size": size, "hashes": hashes},
                        headers={"Cache-Control": IMMUTABLE})


@router.get(
    "/proof/consistency",
    summary="Consistency proof from tree size from to tree size to (RFC 9162 §2.1.4)",
    responses={**_hashes_schema("from", "to"), **problem_responses(400, 422, 503)},
    response_class=JSONResponse,
)
def consistency(
    ledger: LedgerDep,
    old: Annotated[int, Query(alias="from", json_schema_extra={"minimum": 1})],
    new: Annotated[int, Query(alias="to", json_schema_extra={"minimum": 1})],
) -> JSONResponse:
    current = _current_size(ledger)
    if old < 1:
        raise BadRequest(_RULE, f"from must be >= 1, got {old}", field="from")
    if old > new:
        raise BadRequest(_RULE, f"from {old} is above to {new}", field="from")
    if new > current:
        raise BadRequest(_RULE, f"to {new} is above the current tree size {current}",
                         field="to")
    hashes = [] if old == new else [b64encode(h) for h in ledger.consistency_proof(old, new)]
    return JSONResponse({"from": old, "to": new, "hashes": hashes},
                        headers={"Cache-Control": IMMUTABLE})
