"""Shared bench helpers: machine description, fresh stores, result records."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PG_URL = os.environ.get("SPOTCHECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


@contextmanager
def store_url(kind: str) -> Iterator[str]:
    """A fresh, empty store: an SQLite file in a temp folder or a PostgreSQL schema."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}schema={schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def ed25519_verify_loop(seconds: float) -> int:
    """Bare Ed25519 verifications of one 300-byte message for ``seconds``; returns the count."""
    import time

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
    message = b"x" * 300
    signature = key.sign(message)
    public = key.public_key()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            public.verify(signature, message)
        count += 200
    return count


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def record(name: str, rows: list[dict[str, object]], note: str = "") -> None:
    """Print a table and save it as bench/results/<name>.json for docs/PERFORMANCE.md."""
    RESULTS.mkdir(exist_ok=True)
    body: dict[str, object] = {"machine": machine(), "rows": rows}
    if note:
        body["note"] = note
    (RESULTS / f"{name}.json").write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n")
    print(f"# {name} — {machine()}")
    for row in rows:
        print("  " + "  ".join(f"{k}={v}" for k, v in row.items()))
