"""``spotcheck init``: a new log with its keys (issue 1/7, DESIGN.md A7, C5).

Creates three key files with mode 0600 under ``<home>/keys``: ``root.key``
(named in ``LedgerGenesis``; it signs only key registrations and
revocations), ``admin.key`` (registered by the root key with role ``admin``)
and ``log.key`` (signs checkpoints; its verifier key is in the genesis).
Then, unless told not to, the admin logs one ``WorkCalendarSet`` per year the
``chinese-calendar`` package knows, so deadlines are computed from the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ledger.checkpoint import NoteSigner
from ledger.commands import sign_command
from ledger.config import Settings
from ledger.entries import leaf_hash
from ledger.errors import RuleError
from ledger.keys import ensure_key
from ledger.store.backend import Backend
from ledger.store.ledger import Ledger
from ledger.times import format_time, now_utc


@dataclass
class InitResult:
    vkey: str
    genesis_hash: str
    key_files: dict[str, Path] = field(default_factory=dict)


def initialise(
    settings: Settings,
    *,
    origin: str,
    holder: str,
    calendars: bool = True,
    clock: Callable[[], datetime] = now_utc,
) -> InitResult:
    """Write the genesis, register the admin key, log the calendars; refuse a second init.

    ``clock`` is the server clock the entries are logged at (the demo season
    runs on a simulated 2023 clock; everything else uses the real one).
    """
    backend = Backend(settings.database_url)
    if backend.head_size() > 0:
        backend.close()
        raise RuleError(
            "A7 genesis",
            f"{settings.database_url} already holds a log",
            field="SPOTCHECK_DATABASE_URL",
        )
    keys = settings.keys_dir
    root = ensure_key(keys / "root.key", "root")
    admin = ensure_key(keys / "admin.key", "admin")
    log_key = ensure_key(settings.log_key_file, "log")
    signer = NoteSigner(log_key.private_key, origin)
    ledger = Ledger(backend, signer=signer, clock=clock)
    receipt = ledger.genesis(
        origin=origin,
        root_keys=[
            {
                "key": root.key_id,
                "public_key": root.public_key_b64,
                "holder": {"name": holder, "department": None, "inspector": None},
            }
        ],
    )
    now = ledger.clock()
    ledger.submit(
        sign_command(
            root,
            "keys.register",
            {
                "key": admin.key_id,
                "public_key": admin.public_key_b64,
                "holder": {"name": "系统管理员", "department": None, "inspector": None},
                "roles": ["admin"],
                "valid_from": format_time(now - timedelta(seconds=1)),
            },
            issued_at=now,
        )
    )
    if calendars:
        from ledger.calendar_source import calendar_data, known_years

        commands = [
            sign_command(admin, "calendar.set", calendar_data(year), issued_at=ledger.clock())
            for year in known_years()
        ]
        for result in ledger.submit_many(commands):
            if isinstance(result, Exception):
                raise result
    genesis_bytes = next(iter(ledger.entries(0, 1)))[1]
    backend.close()
    assert receipt["index"] == 0, "bad math: genesis is not entry 0"
    return InitResult(
        vkey=signer.vkey,
        genesis_hash=leaf_hash(genesis_bytes).hex(),
        key_files={
            "root": keys / "root.key",
            "admin": keys / "admin.key",
            "log": settings.log_key_file,
        },
    )
