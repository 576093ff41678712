"""Opening the store from ``SPOTCHECK_DATABASE_URL`` (DESIGN.md B3, B6).

``sqlite:///var/spotcheck.db`` (the default, relative to the working
directory) or ``postgresql://user[:password]@host[:port]/dbname[?schema=s]``.
A :class:`Backend` pairs the library recorder with a cross-process *writer
lock* held while a batch is validated and saved, so writers in several
processes take turns instead of conflicting (a conflict is still caught and
retried: the library's primary key is the real guard).  The lock is an
``flock`` on SQLite and a session-level advisory lock on PostgreSQL; both are
released by the operating system or the server when a process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from ledger.errors import StoreError
from ledger.store.recorders import LedgerPostgresRecorder, LedgerSQLiteRecorder, TreeWrite

DEFAULT_URL = "sqlite:///var/spotcheck.db"
LEDGER_ID = uuid.uuid5(uuid.NAMESPACE_URL, "https://spotcheck-ledger/1/log")
TOPIC_PREFIX = "spotcheck-ledger/1#"
_SCHEMA_KEY = 0x5B07C4ED  # one database-wide key: CREATE TYPE/FUNCTION race across schemas


def _writer_key(schema: str) -> int:
    """The advisory-lock key of one log: ledgers in other schemas do not wait for it."""
    digest = hashlib.sha256(f"spotcheck-ledger writer {schema or 'public'}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class StoreURL:
    kind: str  # "sqlite" | "postgresql"
    path: str = ""
    dbname: str = ""
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    schema: str = ""

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        parts = urlparse(url)
        if parts.scheme == "sqlite":
            path = unquote(parts.path)
            if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
                path = path.lstrip("/")
            if not path:
                raise StoreError(
                    "B6 settings", "sqlite URL needs a file path", field="SPOTCHECK_DATABASE_URL"
                )
            return cls("sqlite", path=path)
        if parts.scheme in ("postgres", "postgresql"):
            query = parse_qs(parts.query)
            return cls(
                "postgresql",
                dbname=parts.path.lstrip("/") or "postgres",
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password or ""),
                schema=query.get("schema", [""])[0],
            )
        raise StoreError(
            "B6 settings",
            f"unsupported database URL scheme {parts.scheme!r}",
            field="SPOTCHECK_DATABASE_URL",
        )


class Backend:
    """The recorder, the writer lock and the read queries the ledger needs."""

    def __init__(self, url: str, *, pool_size: int = 2) -> None:
        self.url = StoreURL.parse(url)
        self.url_text = url  # for another process to open the same store
        self._pg_lock_conn: Any = None
        self._lock_fd: int | None = None
        self.recorder: LedgerSQLiteRecorder | LedgerPostgresRecorder
        try:
            if self.url.kind == "sqlite":
                Path(self.url.path).parent.mkdir(parents=True, exist_ok=True)
                datastore = SQLiteDatastore(self.url.path, lock_timeout=30)
                self.recorder = LedgerSQLiteRecorder(datastore)
                self._lock_path = self.url.path + ".writer-lock"
            else:
                pg = PostgresDatastore(
                    self.url.dbname,
                    self.url.host,
                    self.url.port,
                    self.url.user,
                    self.url.password,
                    pool_size=pool_size,
                    max_overflow=4,
                    schema=self.url.schema,
                    lock_timeout=30,
                )
                self.recorder = LedgerPostgresRecorder(pg)
            if self.url.kind == "sqlite":
                self.recorder.create_table()
            else:
                # CREATE TYPE/FUNCTION are not safe to run concurrently ("tuple
                # concurrently updated"): processes starting together take turns.
                conn = self._pg_connection()
                conn.execute("SELECT pg_advisory_lock(%s)", [_SCHEMA_KEY])
                try:
                    self.recorder.create_table()
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [_SCHEMA_KEY])
        except StoreError:
            raise
        except Exception as exc:  # the library wraps driver errors in many types
            raise StoreError("B3 store", f"cannot open the store: {exc}") from exc

    # -- writer lock -------------------------------------------------------
    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the cross-process writer lock for one validate-and-save step."""
        if self.url.kind == "sqlite":
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        else:
            conn = self._pg_connection()
            conn.execute("SELECT pg_advisory_lock(%s)", [_writer_key(self.url.schema)])
            try:
                yield
            finally:
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [_writer_key(self.url.schema)])
                except Exception:
                    # The session is gone (server restart): its locks went with it. Never
                    # let this mask how the write itself ended.
                    with contextlib.suppress(Exception):
                        conn.close()
                    self._pg_lock_conn = None

    def _pg_connection(self) -> Any:
        import psycopg

        if self._pg_lock_conn is None or self._pg_lock_conn.closed:
            self._pg_lock_conn = psycopg.connect(
                dbname=self.url.dbname,
                host=self.url.host,
                port=self.url.port,
                user=self.url.user,
                password=self.url.password,
                autocommit=True,
            )
        return self._pg_lock_conn

    # -- writes ------------------------------------------------------------
    def append(
        self, first_index: int, entries: Sequence[tuple[str, bytes]], tree: TreeWrite
    ) -> None:
        """Insert entries ``first_index..`` (type, bytes) with their tree rows, atomically."""
        stored = [
            StoredEvent(
                originator_id=LEDGER_ID,
                originator_version=first_index + 1 + offset,
                topic=TOPIC_PREFIX + type_,
                state=data,
            )
            for offset, (type_, data) in enumerate(entries)
        ]
        self.recorder.insert_events(stored, tree=tree)

    # -- reads -------------------------------------------------------------
    def head_size(self) -> int:
        """Number of entries stored (the highest version)."""
        events = self.recorder.select_events(LEDGER_ID, desc=True, limit=1)
        return events[0].originator_version if events else 0

    def read_entries(
        self, start: int, end: int | None = None, *, page: int = 1000
    ) -> Iterator[tuple[int, bytes]]:
        """Yield ``(index, bytes)`` for entries ``start..end-1`` (to the head if end is None)."""
        position = start
        while end is None or position < end:
            limit = page if end is None else min(page, end - position)
            batch = self.recorder.select_events(LEDGER_ID, gt=position, limit=limit)
            if not batch:
                return
            for event in batch:
                yield event.originator_version - 1, bytes(event.state)
            position = batch[-1].originator_version
            if len(batch) < limit:
                return

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """``merkle.HashReader``: the stored tree hashes at ``indexes`` in one query."""
        found = self.recorder.read_hashes(sorted(set(indexes)))
        missing = [i for i in indexes if i not in found]
        if missing:
            raise StoreError("B3 tree", f"stored tree hash {missing[0]} is missing")
        return [found[i] for i in indexes]

    def latest_checkpoint(self) -> tuple[int, bytes, str] | None:
        return self.recorder.latest_checkpoint()

    def checkpoint_at(self, size: int) -> tuple[int, bytes, str] | None:
        return self.recorder.checkpoint_at(size)

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._pg_lock_conn is not None:
            self._pg_lock_conn.close()
            self._pg_lock_conn = None
        with contextlib.suppress(Exception):
            self.recorder.datastore.close()
