"""JSON views for people: cases, draws, the public register, reports (DESIGN.md C6, C8).

Reading needs no key (C8).  Lists take ``?offset=&limit=`` (limit at most
:data:`MAX_LIMIT`) and answer ``{"items", "offset", "limit", "total", "size"}``
where ``size`` is the tree size the view was computed at.  Single items carry
that size in the ``X-Tree-Size`` header.  The views come from a
:class:`api.views_source.ViewSource` — the extension point for ``projections``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import ViewsDep
from api.problems import problem_responses
from api.views_source import View
from ledger.errors import NotFoundError

router = APIRouter(prefix="/v1", tags=["views"])

MAX_LIMIT = 1000
Offset = Annotated[int, Query(ge=0, le=2**31, description="Items to skip")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1-{MAX_LIMIT}")]

_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"description": "One page", "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "offset", "limit", "total", "size"],
        "properties": {
            "items": {"type": "array", "items": {"type": "object"}},
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0},
            "size": {"type": "integer", "minimum": 0,
                     "description": "Tree size the view was computed at"},
        }}}}},
    **problem_responses(422, 503),
}
_ITEM: dict[int | str, dict[str, Any]] = {
    200: {"description": "The item", "content": {"application/json": {
        "schema": {"type": "object"}}}},
    **problem_responses(404, 422, 503),
}


def _page(result: tuple[list[View], int, int], offset: int, limit: int) -> JSONResponse:
    items, total, size = result
    return JSONResponse({"items": items, "offset": offset, "limit": limit, "total": total,
                         "size": size})


def _item(result: tuple[View | None, int], what: str, ident: str) -> JSONResponse:
    view, size = result
    if view is None:
        raise NotFoundError("C6 views", f"no {what} {ident!r} in the log (tree size {size})",
                            field=f"{what}_id")
    return JSONResponse(view, headers={"X-Tree-Size": str(size)})


@router.get("/cases", summary="Cases (C4), in the order they were opened", responses=_PAGE,
            response_class=JSONResponse)
def cases(views: ViewsDep, offset: Offset = 0, limit: Limit = 100) -> JSONResponse:
    return _page(views.cases(offset, limit), offset, limit)


@router.get("/cases/{case_id}", summary="One case with its whole history (C4)",
            responses=_ITEM, response_class=JSONResponse)
def case(views: ViewsDep, case_id: str) -> JSONResponse:
    return _item(views.case(case_id), "case", case_id)


@router.get("/draws", summary="Draws (C3), in the order they were scheduled", responses=_PAGE,
            response_class=JSONResponse)
def draws(views: ViewsDep, offset: Offset = 0, limit: Limit = 100) -> JSONResponse:
    return _page(views.draws(offset, limit), offset, limit)


@router.get("/draws/{draw_id}", summary="One draw: what it froze, commitments, reveals, "
            "selection (A11)", responses=_ITEM, response_class=JSONResponse)
def draw(views: ViewsDep, draw_id: str) -> JSONResponse:
    return _item(views.draw(draw_id), "draw", draw_id)


@router.get("/register", summary="The public register (一公开, C5/C6): published results",
            responses=_PAGE, response_class=JSONResponse)
def register(views: ViewsDep, offset: Offset = 0, limit: Limit = 100) -> JSONResponse:
    return _page(views.register(offset, limit), offset, limit)


@router.get("/reports", summary="Published reports (C7): id, kind, SHA-256, tree size, root",
            responses=_PAGE, response_class=JSONResponse)
def reports(views: ViewsDep, offset: Offset = 0, limit: Limit = 100) -> JSONResponse:
    return _page(views.reports(offset, limit), offset, limit)
