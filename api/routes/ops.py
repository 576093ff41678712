"""Operations: liveness, readiness and Prometheus metrics (DESIGN.md B7).

- ``GET /healthz``: the process answers (no store access);
- ``GET /readyz``: the store answers a query, the log has its genesis and the
  writer thread runs; else ``503`` with a problem body;
- ``GET /metrics``: Prometheus text format (:mod:`api.metrics`).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import ServicesDep
from api.problems import problem_responses
from ledger.errors import StoreError
from ledger.times import clock_offset

router = APIRouter(tags=["ops"])

_STATUS = {"type": "object", "required": ["status"],
           "properties": {"status": {"type": "string"}, "size": {"type": "integer"},
                          "writes": {"type": "boolean",
                                     "description": "false: no log key, read-only"},
                          "clock_offset_seconds": {
                              "type": "integer",
                              "description": "SPOTCHECK_CLOCK_OFFSET when set (demos only)"}}}


@router.get("/healthz", summary="Liveness", response_class=JSONResponse,
            responses={200: {"description": "Alive", "content": {
                "application/json": {"schema": _STATUS}}}})
def healthz() -> JSONResponse:
    body: dict[str, object] = {"status": "ok"}
    offset = int(clock_offset().total_seconds())
    if offset:
        body["clock_offset_seconds"] = offset
    return JSONResponse(body)


@router.get("/readyz", summary="Readiness: the store answers and the writer runs",
            response_class=JSONResponse,
            responses={200: {"description": "Ready", "content": {
                "application/json": {"schema": _STATUS}}}, **problem_responses(503)})
def readyz(services: ServicesDep) -> JSONResponse:
    head = services.ledger.head()  # a database error becomes 503 (api.middleware)
    if head is None:
        raise StoreError("A7 genesis", "the log is empty: run `spotcheck init` first")
    if not services.writer.alive:
        raise StoreError("B3 writer", "the writer thread is not running")
    services.metrics.tree_size.set(head.size)
    return JSONResponse({"status": "ready", "size": head.size,
                         "writes": services.ledger.signer is not None})


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse,
            responses={200: {"description": "Prometheus text format",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(services: ServicesDep) -> Response:
    head = services.ledger.head()
    if head is not None:
        services.metrics.tree_size.set(head.size)
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
