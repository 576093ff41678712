"""``eventsourcing`` recorders that keep the Merkle log (DESIGN.md B3, shape (a)).

The log is one stream of the library's store: entry ``i`` is the stored event
of the ledger's originator id with version ``i + 1`` and state = the entry's
canonical bytes (no transcoder, so the bytes come back unchanged).  The
library's own ``(originator_id, originator_version)`` primary key makes the
index dense: two writers that both try index ``i`` conflict and one gets
``eventsourcing.persistence.IntegrityError``.  Notification ids are never used
as leaf indexes.

The subclasses below add two tables written *inside the library's insert
transaction* (the hook the ``searchablecontent`` example uses; in 9.5.6 it is
``_insert_events`` on SQLite and ``_insert_stored_events`` on PostgreSQL,
private and version-bound, which is why ``eventsourcing`` is pinned):

- ``<prefix>_tree``: stored tree hashes in tlog's StoredHashIndex layout, so
  an inclusion or consistency proof is one query for O(log n) rows;
- ``<prefix>_checkpoints``: the signed checkpoint of each committed size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore


@dataclass
class TreeWrite:
    """Rows to write in the same transaction as a batch of entries."""

    hashes: list[tuple[int, bytes]] = field(default_factory=list)
    checkpoint: tuple[int, bytes, str] | None = None  # (size, root, signed note)
    reports: list[tuple[str, int, bytes]] = field(default_factory=list)  # (id, entry index, body)


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite application recorder plus the tree and checkpoint tables."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "ledger_events"):
        self.tree_table = "ledger_tree"
        self.checkpoint_table = "ledger_checkpoints"
        self.report_table = "ledger_reports"
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.tree_table} "
            "(idx INTEGER PRIMARY KEY, hash BLOB NOT NULL)"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.checkpoint_table} "
            "(size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL)"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.report_table} "
            "(report_id TEXT PRIMARY KEY, idx INTEGER NOT NULL, body BLOB NOT NULL)"
        )
        return statements

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        write: TreeWrite | None = kwargs.get("tree")
        if write is not None:
            c.executemany(f"INSERT INTO {self.tree_table} VALUES (?, ?)", write.hashes)
            if write.checkpoint is not None:
                c.execute(f"INSERT INTO {self.checkpoint_table} VALUES (?, ?, ?)", write.checkpoint)
            if write.reports:
                c.executemany(f"INSERT INTO {self.report_table} VALUES (?, ?, ?)", write.reports)
        return ids

    def read_reports(self, size: int) -> dict[str, bytes]:
        """Bodies of reports whose ``ReportPublished`` entry index is below ``size``."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT report_id, body FROM {self.report_table} WHERE idx < ?", [size])
            return {row["report_id"]: bytes(row["body"]) for row in c.fetchall()}

    def read_hashes(self, indexes: Sequence[int]) -> dict[int, bytes]:
        if not indexes:
            return {}
        marks = ",".join("?" * len(indexes))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT idx, hash FROM {self.tree_table} WHERE idx IN ({marks})", list(indexes)
            )
            return {row["idx"]: bytes(row["hash"]) for row in c.fetchall()}

    def latest_checkpoint(self) -> tuple[int, bytes, str] | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT size, root, note FROM {self.checkpoint_table} ORDER BY size DESC LIMIT 1"
            )
            row = c.fetchone()
            return None if row is None else (row["size"], bytes(row["root"]), row["note"])

    def checkpoint_at(self, size: int) -> tuple[int, bytes, str] | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT size, root, note FROM {self.checkpoint_table} WHERE size = ?", [size]
            )
            row = c.fetchone()
            return None if row is None else (row["size"], bytes(row["root"]), row["note"])

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one write statement in its own transaction (tamper tests, maintenance)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(statement, list(params))


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """PostgreSQL application recorder plus the tree and checkpoint tables.

    The library's insert already runs ``LOCK TABLE ... IN EXCLUSIVE MODE`` on
    the events table, so the extra rows are written under that lock and in
    that transaction.  ``POSTGRES_ENABLE_DB_FUNCTIONS`` must stay off: it
    skips the lock and this hook.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "ledger_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            raise ValueError("ledger recorder needs enable_db_functions off (DESIGN.md B3)")
        schema = self.datastore.schema.replace('"', '""')
        self.tree_table = f'"{schema}".ledger_tree'
        self.checkpoint_table = f'"{schema}".ledger_checkpoints'
        self.report_table = f'"{schema}".ledger_reports'
        from psycopg.sql import SQL

        for table, columns in (
            (self.tree_table, "idx bigint PRIMARY KEY, hash bytea NOT NULL"),
            (
                self.checkpoint_table,
                "size bigint PRIMARY KEY, root bytea NOT NULL, note text NOT NULL",
            ),
            (
                self.report_table,
                "report_id text PRIMARY KEY, idx bigint NOT NULL, body bytea NOT NULL",
            ),
        ):
            self.sql_create_statements.append(
                SQL(f"CREATE TABLE IF NOT EXISTS {table} ({columns})").format()
            )

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)
        write: TreeWrite | None = kwargs.get("tree")
        if write is None:
            return
        # A cursor of its own: ``curs`` still holds the RETURNING notification ids.
        with curs.connection.cursor() as extra:
            if write.hashes:  # one statement for the batch's tree rows, not one per row
                extra.execute(
                    f"INSERT INTO {self.tree_table} (idx, hash) "
                    "SELECT * FROM unnest(%s::bigint[], %s::bytea[])",
                    [[i for i, _ in write.hashes], [h for _, h in write.hashes]],
                )
            if write.checkpoint is not None:
                extra.execute(
                    f"INSERT INTO {self.checkpoint_table} (size, root, note) VALUES (%s, %s, %s)",
                    write.checkpoint,
                )
            if write.reports:
                extra.executemany(
                    f"INSERT INTO {self.report_table} (report_id, idx, body) VALUES (%s, %s, %s)",
                    write.reports,
                )

    def read_reports(self, size: int) -> dict[str, bytes]:
        """Bodies of reports whose ``ReportPublished`` entry index is below ``size``."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT report_id, body FROM {self.report_table} WHERE idx < %s", [size])
            return {row["report_id"]: bytes(row["body"]) for row in curs.fetchall()}

    def read_hashes(self, indexes: Sequence[int]) -> dict[int, bytes]:
        if not indexes:
            return {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT idx, hash FROM {self.tree_table} WHERE idx = ANY(%s)", [list(indexes)]
            )
            return {row["idx"]: bytes(row["hash"]) for row in curs.fetchall()}

    def latest_checkpoint(self) -> tuple[int, bytes, str] | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT size, root, note FROM {self.checkpoint_table} ORDER BY size DESC LIMIT 1"
            )
            row = curs.fetchone()
            return None if row is None else (row["size"], bytes(row["root"]), row["note"])

    def checkpoint_at(self, size: int) -> tuple[int, bytes, str] | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT size, root, note FROM {self.checkpoint_table} WHERE size = %s", [size]
            )
            row = curs.fetchone()
            return None if row is None else (row["size"], bytes(row["root"]), row["note"])

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one write statement in its own transaction (tamper tests, maintenance)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(statement.replace("?", "%s"), list(params))
