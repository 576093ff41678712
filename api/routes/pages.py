"""The public pages (一公开) and the discipline dashboard, as HTML (DESIGN.md C5-C8, A10).

Public, no login (C8: reading needs no key):

- ``GET /``: what this is, and the year's plan table as the seed's appendix has it;
- ``GET /tasks/{task_id}``: a task's draws (voided ones marked, with reason and
  signer), seed inputs, per-stratum counts, selected enterprises and teams, and
  the ``spotcheck-verify`` commands that replay the draw;
- ``GET /cases/{case_id}``: a case's public record, each entry with links to
  its bytes and its inclusion proof;
- ``GET /results``: 抽查结果公示 with a server-side search (``?q=``), and its
  downloads ``/results.csv`` (UTF-8 with BOM) and ``/results.xlsx``;
- ``GET /log``: the latest checkpoint, verifier key and how to verify;
- ``GET /bundle.tar.gz``: an export bundle (A9) of the log at its latest
  checkpoint, for the commands the pages quote.

For holders of a ``discipline`` key: ``GET /discipline`` (the C7 report with
charts), ``GET``/``POST /discipline/login`` (a signed challenge,
:mod:`api.pages.auth`) and ``POST /discipline/logout``.

Pages are rendered by Jinja2 with autoescaping, need no JavaScript and load
nothing but ``/static/style.css``; they are left out of the OpenAPI document
(``include_in_schema=False``), which describes the JSON API.  :func:`install`
adds the router, the static files and the per-app state (the session secret,
the challenges, the folded projections) to an app.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.deps import LedgerDep
from api.pages import views
from api.pages.auth import (
    COOKIE,
    SESSION_SECONDS,
    SIGN_COMMAND,
    SIGN_COMMAND_CRYPTOGRAPHY,
    ChallengeStore,
    Login,
    LoginRefused,
    SessionSigner,
    check_login,
    discipline_key,
)
from api.pages.data import PageData, Snapshot, beijing_time
from api.pages.results import (
    COLUMNS,
    filter_rows,
    group_units,
    register_rows,
    rows_csv,
    rows_xlsx,
)
from ledger.errors import NotFoundError
from ledger.store.export import export_bundle
from ledger.store.ledger import Ledger
from ledger.store.projection_runner import parse_stored_entry
from ledger.times import now_utc
from projections.register import public_register

__all__ = ["PagesState", "install", "router"]

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
TEMPLATES_DIR = PAGES_DIR / "templates"
STATIC_DIR = PAGES_DIR / "static"
KEEP_BUNDLES = 2
MAX_FORM_BYTES = 4096

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=select_autoescape(("html",)),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class PagesState:
    """What the pages keep per app: session secret, challenges, folded projections, bundles."""

    def __init__(self) -> None:
        self.sessions = SessionSigner()  # a fresh secret: sessions end with the process
        self.challenges = ChallengeStore()
        self._data: PageData | None = None
        self._lock = threading.Lock()
        self._bundles: tempfile.TemporaryDirectory[str] | None = None
        self._bundle_lock = threading.Lock()

    def data(self, ledger: Ledger) -> PageData:
        """The :class:`PageData` of ``ledger`` (a new one when the app opened another store)."""
        with self._lock:
            if self._data is None or self._data.ledger is not ledger:
                self._data = PageData(ledger)
            return self._data

    def bundle(self, ledger: Ledger) -> tuple[Path, int]:
        """An export bundle (A9) at the latest checkpoint, built once per tree size."""
        with self._bundle_lock:
            head = ledger.head()
            if head is None:
                raise NotFoundError("A9 export", "the log is empty: nothing to export")
            if self._bundles is None:
                self._bundles = tempfile.TemporaryDirectory(prefix="spotcheck-pages-")
            folder = Path(self._bundles.name)
            path = folder / f"bundle-{head.size}.tar.gz"
            if path.exists():
                return path, head.size
            partial = folder / f"partial-{secrets.token_hex(8)}.tar.gz"
            size = export_bundle(ledger, partial)
            path = folder / f"bundle-{size}.tar.gz"
            partial.replace(path)
            built = sorted(folder.glob("bundle-*.tar.gz"),
                           key=lambda p: int(p.name[7:-7]), reverse=True)
            for old in built[KEEP_BUNDLES:]:
                old.unlink(missing_ok=True)
            return path, size


def install(app: FastAPI) -> None:
    """Add the pages to ``app``: the router, ``/static`` and a fresh :class:`PagesState`."""
    app.state.pages = PagesState()
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")


def _state(request: Request) -> PagesState:
    state: PagesState = request.app.state.pages
    return state


PagesDep = Annotated[PagesState, Depends(_state)]
Search = Annotated[str, Query(max_length=200, description="search words")]


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _site(snap: Snapshot) -> dict[str, Any]:
    return {"size": snap.size, "origin": snap.origin or "",
            "updated": beijing_time(snap.last_logged_at)}


def render(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render ``template`` with ``context`` as an HTML response with the security headers."""
    html = _env.get_template(template).render(path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def _not_found(request: Request, snap: Snapshot, what: str) -> HTMLResponse:
    return render(request, "not_found.html", {"site": _site(snap), "nav": "", "what": what},
                  status=404)


# ---------------------------------------------------------------------------
# Public pages


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ledger: LedgerDep, pages: PagesDep) -> HTMLResponse:
    with pages.data(ledger).snapshot() as snap:
        context = {"site": _site(snap), "nav": "home", "view": views.home_view(snap)}
    return render(request, "home.html", context)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task(request: Request, task_id: str, ledger: LedgerDep, pages: PagesDep) -> HTMLResponse:
    with pages.data(ledger).snapshot() as snap:
        view = views.task_view(snap, task_id, _base_url(request))
        if view is None:
            return _not_found(request, snap, f"抽查任务 {task_id}")
        context = {"site": _site(snap), "nav": "home", "view": view}
    return render(request, "task.html", context)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(request: Request, case_id: str, ledger: LedgerDep, pages: PagesDep) -> HTMLResponse:
    with pages.data(ledger).snapshot() as snap:
        view = views.case_view(snap, case_id)
        if view is None:
            return _not_found(request, snap, f"检查案件 {case_id}")
        context = {"site": _site(snap), "nav": "home", "view": view}
    return render(request, "case.html", context)


def _rows(snap: Snapshot) -> list[list[str]]:
    return register_rows(public_register(snap.states["register"]))


@router.get("/results", response_class=HTMLResponse)
def results(request: Request, ledger: LedgerDep, pages: PagesDep, q: Search = "") -> HTMLResponse:
    with pages.data(ledger).snapshot() as snap:
        rows = _rows(snap)
        shown = filter_rows(rows, q) if q.strip() else rows
        tasks = {(t["plan_no"], t.get("task_no")): task_id
                 for task_id, t in snap.registry["tasks"].items()}
        units = group_units(shown)
        for unit in units:
            task_id = tasks.get((unit["plan_no"], unit["task_no"]))
            unit["url"] = views.task_url(task_id) if task_id else None
        context = {"site": _site(snap), "nav": "results", "columns": COLUMNS, "units": units,
                   "count": len(shown), "total": len(rows), "q": q.strip(), "size": snap.size}
    return render(request, "results.html", context)


def _download(ledger: Ledger, pages: PagesState, q: str) -> tuple[list[list[str]], int]:
    with pages.data(ledger).snapshot() as snap:
        rows = _rows(snap)
        return (filter_rows(rows, q) if q.strip() else rows), snap.size


@router.get("/results.csv")
def results_csv(ledger: LedgerDep, pages: PagesDep, q: Search = "") -> Response:
    rows, size = _download(ledger, pages, q)
    return Response(rows_csv(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="spotcheck-results.csv"',
        "X-Tree-Size": str(size)})


@router.get("/results.xlsx")
def results_xlsx(ledger: LedgerDep, pages: PagesDep, q: Search = "") -> Response:
    rows, size = _download(ledger, pages, q)
    return Response(rows_xlsx(rows),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="spotcheck-results.xlsx"',
                             "X-Tree-Size": str(size)})


@router.get("/log", response_class=HTMLResponse)
def log_page(request: Request, ledger: LedgerDep, pages: PagesDep) -> HTMLResponse:
    with pages.data(ledger).snapshot() as snap:
        start = max(snap.size - 20, 0)
        recent = [parse_stored_entry(data) for _, data in ledger.entries(start, snap.size)]
        context = {"site": _site(snap), "nav": "log",
                   "view": views.log_view(snap, recent, _base_url(request))}
    return render(request, "log.html", context)


@router.get("/bundle.tar.gz")
def bundle(ledger: LedgerDep, pages: PagesDep) -> FileResponse:
    path, size = pages.bundle(ledger)
    return FileResponse(path, media_type="application/gzip", filename=views.BUNDLE_NAME,
                        headers={"X-Tree-Size": str(size)})


# ---------------------------------------------------------------------------
# Discipline dashboard


def _session(request: Request, ledger: Ledger, pages: PagesState) -> Login | None:
    key_id = pages.sessions.read(request.cookies.get(COOKIE))
    if key_id is None:
        return None
    ledger.catch_up()
    try:
        return discipline_key(ledger.log.keys, key_id, now_utc())
    except LoginRefused:
        return None


def _login_page(request: Request, ledger: Ledger, pages: PagesState, *, error: str = "",
                status: int = 200) -> HTMLResponse:
    challenge = pages.challenges.issue()
    with pages.data(ledger).snapshot() as snap:
        site = _site(snap)
    keyfile = "var/keys/discipline.key"
    context = {
        "site": site, "nav": "discipline", "challenge": challenge, "error": error,
        "ttl_minutes": pages.challenges.ttl // 60,
        "sign_command": SIGN_COMMAND.format(keyfile=keyfile, challenge=challenge),
        "sign_command_cryptography": SIGN_COMMAND_CRYPTOGRAPHY.format(keyfile=keyfile,
                                                                      challenge=challenge),
    }
    return render(request, "login.html", context, status=status,
                  headers={"Cache-Control": "no-store"})


@router.get("/discipline", response_class=HTMLResponse)
def dashboard(request: Request, ledger: LedgerDep, pages: PagesDep,
              plan: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    login = _session(request, ledger, pages)
    if login is None:
        return RedirectResponse("/discipline/login", status_code=303)
    with pages.data(ledger).snapshot() as snap:
        plans = sorted(snap.registry["plans"])
        chosen = plans[0] if plan is None and plans else plan
        if chosen == "all":
            chosen = None
        if chosen is not None and chosen not in plans:
            return _not_found(request, snap, f"抽查计划 {chosen}")
        context = {"site": _site(snap), "nav": "discipline", "login": login, "plans": plans,
                   "view": views.dashboard_view(snap, chosen, _base_url(request))}
    return render(request, "dashboard.html", context, headers={"Cache-Control": "no-store"})


@router.get("/discipline/login", response_class=HTMLResponse)
def login_form(request: Request, ledger: LedgerDep, pages: PagesDep) -> HTMLResponse:
    return _login_page(request, ledger, pages)


def _field(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


@router.post("/discipline/login", response_class=HTMLResponse)
async def login(request: Request, ledger: LedgerDep, pages: PagesDep) -> Response:
    body = await request.body()
    try:
        form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        form = {}

    def attempt() -> Login:
        ledger.catch_up()
        return check_login(ledger.log.keys, pages.challenges,
                           challenge=_field(form, "challenge"), key_id=_field(form, "key"),
                           signature=_field(form, "signature"), now=now_utc())

    try:
        accepted = await run_in_threadpool(attempt)
    except LoginRefused as refused:
        return await run_in_threadpool(_login_page, request, ledger, pages,
                                       error=refused.message, status=refused.status)
    response = RedirectResponse("/discipline", status_code=303)
    response.set_cookie(COOKIE, pages.sessions.issue(accepted.key), max_age=SESSION_SECONDS,
                        path="/discipline", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/discipline/logout")
def logout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/discipline", httponly=True, samesite="strict")
    return response
