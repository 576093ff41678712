"""Test support for the store: a fresh ledger with deterministic keys."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.checkpoint import NoteSigner
from ledger.commands import sign_command
from ledger.keys import KeyPair
from ledger.store.backend import Backend
from ledger.store.ledger import Ledger
from ledger.times import format_time, now_utc

ORIGIN = "test.example/spotcheck-ledger"


def key(name: str) -> KeyPair:
    return KeyPair.from_seed(name, hashlib.sha256(f"test key {name}".encode()).digest())


ROOT = key("root")
ADMIN = key("admin")
LOG = NoteSigner.from_seed(hashlib.sha256(b"test key log").digest(), ORIGIN)


def register_args(
    pair: KeyPair,
    roles: list[str],
    *,
    inspector: str | None = None,
    department: str | None = None,
    valid_from: datetime | None = None,
) -> dict[str, Any]:
    start = valid_from or (now_utc() - timedelta(seconds=5))
    return {
        "key": pair.key_id,
        "public_key": pair.public_key_b64,
        "holder": {"name": pair.name, "department": department, "inspector": inspector},
        "roles": roles,
        "valid_from": format_time(start),
    }


def open_ledger(url: str) -> Ledger:
    return Ledger(Backend(url), signer=LOG)


def new_ledger(url: str) -> Ledger:
    """Genesis with ROOT, then ADMIN registered with role admin."""
    ledger = open_ledger(url)
    ledger.genesis(
        origin=ORIGIN,
        root_keys=[
            {
                "key": ROOT.key_id,
                "public_key": ROOT.public_key_b64,
                "holder": {"name": "root", "department": None, "inspector": None},
            }
        ],
    )
    ledger.submit(cmd(ROOT, "keys.register", register_args(ADMIN, ["admin"])))
    return ledger


def cmd(
    pair: KeyPair, action: str, args: dict[str, Any], *, issued_at: datetime | None = None
) -> dict[str, Any]:
    return sign_command(pair, action, args, issued_at=issued_at or datetime.now(UTC))
