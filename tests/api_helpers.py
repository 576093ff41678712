"""Test support for the HTTP service: the real server in a subprocess (DESIGN.md A10).

:func:`start_server` runs ``python -m ledger.cli serve`` (uvicorn with the
app factory) on a free loopback port against a store prepared with
``tests.store_helpers.new_ledger`` and a log key file holding
``tests.store_helpers.LOG``'s seed, and waits for ``/readyz``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ledger.keys import KeyPair, save_key_file
from tests.store_helpers import ORIGIN, new_ledger

ROOT_DIR = Path(__file__).resolve().parent.parent
LOG_SEED = hashlib.sha256(b"test key log").digest()  # the seed of store_helpers.LOG
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "rule", "instance"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_store(url: str, folder: Path) -> dict[str, str]:
    """Genesis + ADMIN in the store at ``url``; returns the SPOTCHECK_* env for a server."""
    ledger = new_ledger(url)
    ledger.backend.close()
    key_file = folder / "keys" / "log.key"
    if not key_file.exists():
        save_key_file(key_file, KeyPair.from_seed("log", LOG_SEED))
    return {
        "SPOTCHECK_HOME": str(folder),
        "SPOTCHECK_DATABASE_URL": url,
        "SPOTCHECK_LOG_KEY_FILE": str(key_file),
        "SPOTCHECK_ORIGIN": ORIGIN,
        "SPOTCHECK_TICK_SECONDS": "1",
    }


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_file: Path

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)

    def logs(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (graceful shutdown) and wait; returns the exit code.

        uvicorn re-raises the signal it caught once it has shut down, so a
        graceful stop ends with ``-SIGTERM``; see :meth:`stopped_gracefully`.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)

    def stopped_gracefully(self) -> bool:
        """Exited after the app's lifespan shutdown (writer drained, store closed)."""
        return (self.process.returncode in (0, -signal.SIGTERM)
                and "Application shutdown complete" in self.logs()
                and "writer stopped" in self.logs())


def start_server(env: dict[str, str], folder: Path, *, name: str = "server",
                 extra: dict[str, str] | None = None) -> Server:
    """Start ``spotcheck serve`` with ``env`` and wait until ``/readyz`` answers 200."""
    port = free_port()
    log_file = folder / f"{name}-{port}.log"
    full = {**os.environ, **env, **(extra or {}), "PYTHONUNBUFFERED": "1"}
    with log_file.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=ROOT_DIR, env=full, stdout=out, stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_file)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.logs()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/readyz", timeout=1).status_code == 200:
                return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"server did not become ready:\n{server.logs()}")


@contextlib.contextmanager
def running_server(url: str, folder: Path, **kwargs: Any) -> Iterator[Server]:
    """Prepare the store at ``url`` and run one server on it for the ``with`` block."""
    folder.mkdir(parents=True, exist_ok=True)
    server = start_server(prepare_store(url, folder), folder, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def tree_size(client: httpx.Client) -> int:
    """The size line of ``GET /v1/log/checkpoint``."""
    response = client.get("/v1/log/checkpoint")
    assert response.status_code == 200, response.text
    return int(response.text.split("\n")[1])


def assert_problem(response: httpx.Response, status: int, rule: str | None = None
                   ) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status`` (and ``rule``, if given)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_MEMBERS, body
    assert set(body) <= PROBLEM_MEMBERS | {"field", "index"}, body
    assert body["status"] == status
    assert body["type"].startswith("urn:spotcheck-ledger:problem:")
    if rule is not None:
        assert body["rule"] == rule, body
    return body
