"""``Annotated`` dependencies, named once (STYLE.md §4 and point 15).

The application's services are built in :func:`api.app.create_app`'s
lifespan and kept on ``app.state.services``; routes ask for them by these
names (``LedgerDep``, ``WriterDep``, ...), never through globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.idempotency import IdempotencyStore
from api.metrics import Metrics
from api.settings import ApiSettings
from api.views_source import ViewSource
from api.writer import GroupCommitWriter
from ledger.errors import StoreError
from ledger.store.ledger import Ledger


@dataclass
class Services:
    """Everything a request may need, for the lifetime of one app."""

    settings: ApiSettings
    ledger: Ledger
    writer: GroupCommitWriter
    idempotency: IdempotencyStore
    metrics: Metrics
    views: ViewSource


def get_services(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise StoreError("B3 store", "the server is starting or stopping: retry later")
    return services


def get_ledger(request: Request) -> Ledger:
    return get_services(request).ledger


def get_writer(request: Request) -> GroupCommitWriter:
    return get_services(request).writer


def get_idempotency(request: Request) -> IdempotencyStore:
    return get_services(request).idempotency


def get_metrics(request: Request) -> Metrics:
    return get_services(request).metrics


def get_views(request: Request) -> ViewSource:
    return get_services(request).views


def get_settings(request: Request) -> ApiSettings:
    return get_services(request).settings


ServicesDep = Annotated[Services, Depends(get_services)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
WriterDep = Annotated[GroupCommitWriter, Depends(get_writer)]
IdempotencyDep = Annotated[IdempotencyStore, Depends(get_idempotency)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ViewsDep = Annotated[ViewSource, Depends(get_views)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
