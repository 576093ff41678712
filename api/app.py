"""The FastAPI service, built by a factory (DESIGN.md A10, B1, B6, B7; STYLE.md point 15).

``create_app(settings)`` builds the app; nothing is built at import time.
uvicorn runs it through the zero-argument factory :func:`app_from_env`
(``uvicorn api.app:app_from_env --factory``, or ``spotcheck serve``).

At start-up (the lifespan) the app opens the store with the log key and
catches up, creates the idempotency table, starts the group-commit writer
thread and the tick scheduler.  At shutdown — after uvicorn has let in-flight
requests finish — it stops the scheduler, lets the writer finish everything
queued, and closes the store.

Routers, one per resource (``api/routes/``): ``commands`` (writes),
``log`` (the A10 read API), ``views`` (cases, draws, register, reports),
``ops`` (health, readiness, metrics).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from api.deps import Services
from api.idempotency import IdempotencyStore
from api.logs import configure_logging
from api.metrics import Metrics
from api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from api.openapi import install_openapi
from api.problems import install_problem_handlers
from api.routes import commands, log, ops, pages
from api.routes import views as view_routes
from api.settings import ApiSettings
from api.views_source import DomainViews, ViewSource
from api.writer import GroupCommitWriter, TickScheduler
from ledger.store.ledger import Ledger
from ledger.store.open import open_ledger

logger = logging.getLogger("spotcheck.api")

DESCRIPTION = """\
Tamper-evident audit ledger for 双随机、一公开 spot checks.

* **Write**: `POST /v1/commands` with one signed command (A3) → `201` and a receipt (A8)
  that can be checked offline. Refusals are RFC 9457 problems naming the rule.
* **Verify**: `/v1/log/*` — checkpoint, entries, inclusion and consistency proofs,
  verifier key (A10). No key needed.
* **Read**: `/v1/cases`, `/v1/draws`, `/v1/register`, `/v1/reports`.
"""


def create_app(settings: ApiSettings, *, views: ViewSource | None = None) -> FastAPI:
    """Build the service for ``settings``; ``views`` replaces the default view source.

    The store is opened in the lifespan, not here, so building the app has
    no side effect beyond configuring the ``spotcheck`` loggers.
    """
    configure_logging(settings.log_level)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ledger: Ledger = await run_in_threadpool(open_ledger, settings.store())
        idempotency = IdempotencyStore(ledger.backend)
        await run_in_threadpool(idempotency.create_table)
        ledger.on_commit(metrics.on_commit)
        metrics.tree_size.set(ledger.size)
        writer = GroupCommitWriter(ledger, window_seconds=settings.batch_window_ms / 1000,
                                   max_batch=settings.max_batch, observer=metrics.on_batch)
        writer.start()
        scheduler = TickScheduler(writer, settings.tick_seconds)
        scheduler.start()
        app.state.services = Services(
            settings=settings, ledger=ledger, writer=writer, idempotency=idempotency,
            metrics=metrics, views=views if views is not None else DomainViews(ledger),
        )
        logger.info("serving", extra={"store": ledger.backend.url.kind, "size": ledger.size,
                                      "writer": ledger.signer is not None})
        try:
            yield
        finally:
            scheduler.stop()
            await run_in_threadpool(writer.stop)
            app.state.services = None
            ledger.backend.close()
            logger.info("stopped", extra={"size": ledger.size})

    app = FastAPI(
        title="spotcheck-ledger",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "commands", "description": "Signed commands in, receipts out (A3, A8)"},
            {"name": "actions", "description": "One documentation route per action (A12)"},
            {"name": "log", "description": "The read API for verifiers (A10)"},
            {"name": "views", "description": "Cases, draws, public register, reports (C6)"},
            {"name": "ops", "description": "Health, readiness, metrics"},
        ],
    )
    app.state.services = None
    install_problem_handlers(app)
    install_openapi(app)
    for router in (commands.router, log.router, view_routes.router, ops.router):
        app.include_router(router)
    pages.install(app)  # HTML pages (一公开, discipline dashboard) and /static
    # Starlette wraps in reverse order: the request context is outermost.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


def app_from_env() -> FastAPI:
    """Zero-argument factory for uvicorn: ``create_app(ApiSettings.from_env())``."""
    return create_app(ApiSettings.from_env())
