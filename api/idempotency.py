"""``Idempotency-Key`` records, kept in the store's own database (DESIGN.md B5).

A client that retries ``POST /v1/commands`` with the same ``Idempotency-Key``
header and the same body gets the first receipt again (status 201, header
``Idempotent-Replayed: true``); the same key with another body is a conflict
(409, rule ``B5 idempotency``).  Keys are scoped by the signer's key id, so
two people cannot collide by chance.

The records live in one small table of this module's own,
``spotcheck_idempotency``, created at start-up beside the ledger's tables
(in the store's schema on PostgreSQL), so they survive restarts and are shared
by every server process on the store.  It is a side table: the ledger never
reads it, and losing it loses only the replay convenience, never an entry.

A request first *reserves* its key (insert if absent, then read back who owns
it), so two concurrent requests with one key cannot both append.  The
reservation becomes the stored receipt when the command is committed, or is
deleted when the command is refused; a reservation left by a crashed process
is taken over after :data:`STALE_SECONDS`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ledger.errors import ConflictError
from ledger.store.backend import Backend

STALE_SECONDS = 120.0
TABLE = "spotcheck_idempotency"
_RULE = "B5 idempotency"


@dataclass(frozen=True)
class Record:
    body_sha256: str
    token: str
    response: dict[str, Any] | None  # None while the command is in flight
    created: float


class IdempotencyStore:
    """The idempotency table of one store (SQLite file or PostgreSQL schema)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        recorder = backend.recorder
        self.datastore: Any = recorder.datastore
        if backend.url.kind == "sqlite":
            self.table = TABLE
            self.mark = "?"
        else:
            schema = str(getattr(self.datastore, "schema", "public")).replace('"', '""')
            self.table = f'"{schema}".{TABLE}'
            self.mark = "%s"

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.mark)

    def create_table(self) -> None:
        """Create the table if it does not exist (standard SQL for both backends)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                "signer TEXT NOT NULL, idem_key TEXT NOT NULL, body_sha256 TEXT NOT NULL, "
                "token TEXT NOT NULL, response TEXT, created DOUBLE PRECISION NOT NULL, "
                "PRIMARY KEY (signer, idem_key))"
            )

    def get(self, signer: str, key: str) -> Record | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._sql(f"SELECT body_sha256, token, response, created FROM {self.table} "
                                "WHERE signer = ? AND idem_key = ?"), [signer, key])
            row = c.fetchone()
        if row is None:
            return None
        response = json.loads(row["response"]) if row["response"] is not None else None
        return Record(row["body_sha256"], row["token"], response, float(row["created"]))

    def reserve(self, signer: str, key: str, body_sha256: str) -> tuple[str | None, Record | None]:
        """Reserve ``key`` for this body: ``(token, None)`` when ours, else ``(None, record)``.

        A stale reservation (a crashed process, older than STALE_SECONDS, no
        response) is taken over.
        """
        token = uuid.uuid4().hex
        now = time.time()
        with self.datastore.transaction(commit=True) as c:
            c.execute(self._sql(
                f"INSERT INTO {self.table} "
                "(signer, idem_key, body_sha256, token, response, created) "
                "VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT (signer, idem_key) DO NOTHING"),
                [signer, key, body_sha256, token, now])
            c.execute(self._sql(
                f"UPDATE {self.table} SET token = ?, body_sha256 = ?, created = ? "
                "WHERE signer = ? AND idem_key = ? AND response IS NULL AND created < ?"),
                [token, body_sha256, now, signer, key, now - STALE_SECONDS])
        record = self.get(signer, key)
        if record is not None and record.token == token:
            return token, None
        return None, record

    def complete(self, signer: str, key: str, token: str, response: dict[str, Any]) -> None:
        """Store the receipt for the reservation ``token``."""
        text = json.dumps(response, ensure_ascii=False)
        with self.datastore.transaction(commit=True) as c:
            c.execute(self._sql(f"UPDATE {self.table} SET response = ? "
                                "WHERE signer = ? AND idem_key = ? AND token = ?"),
                      [text, signer, key, token])

    def release(self, signer: str, key: str, token: str) -> None:
        """Drop the reservation ``token`` (the command was refused: nothing to replay)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(self._sql(f"DELETE FROM {self.table} "
                                "WHERE signer = ? AND idem_key = ? AND token = ?"),
                      [signer, key, token])


def conflict(key: str, reason: str) -> ConflictError:
    """The 409 of a reused key (B5)."""
    return ConflictError(_RULE, f"Idempotency-Key {key!r} {reason}", field="Idempotency-Key")
