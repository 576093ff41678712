"""Shared bench helpers: machine description, fresh stores, result records."""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def ed25519_verify_loop(seconds: float, library: str = "cryptography") -> int:
    """Bare Ed25519 verifications of one 300-byte message for ``seconds``; returns the count.

    ``library``: ``cryptography`` (OpenSSL: the verify tool's) or ``libsodium``
    (PyNaCl: what the store's workers ask first, ledger/store/signatures.py).
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
    message = b"x" * 300
    signature = key.sign(message)
    public = key.public_key()
    verify: Any = public.verify
    args: tuple[bytes, ...] = (signature, message)
    if library == "libsodium":
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
        from nacl.bindings import crypto_sign_open

        verify = crypto_sign_open
        args = (signature + message, public.public_bytes(Encoding.Raw, PublicFormat.Raw))
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            verify(*args)
        count += 200
    return count


_BARRIER: Any = None


def _set_barrier(barrier: Any) -> None:
    global _BARRIER
    _BARRIER = barrier


def _core_rate(job: tuple[float, str]) -> float:
    """One worker's verifications per second, timed from when every worker is ready."""
    seconds, library = job
    _BARRIER.wait()
    start = time.perf_counter()
    count = ed25519_verify_loop(seconds, library)
    return count / (time.perf_counter() - start)


def bare_rate(jobs: int, seconds: float = 3.0, library: str = "cryptography") -> float:
    """Ed25519 verifications per second with ``jobs`` processes in parallel.

    The workers start together (a barrier, after their imports) and each
    times itself, so start-up is not counted against the ceiling.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(jobs)
    with context.Pool(jobs, initializer=_set_barrier, initargs=(barrier,)) as pool:
        rates = pool.map(_core_rate, [(seconds, library)] * jobs, chunksize=1)
    return sum(rates)


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
