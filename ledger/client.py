"""What the CLI talks to: the local store, or a server over HTTP (DESIGN.md A10).

Both clients take the same signed commands and return the same receipts, so
every CLI command works with and without ``--server``.  Commands are always
signed on this device; the server never sees a private key.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Protocol

from ledger.config import Settings
from ledger.errors import LedgerError, NotFoundError, StoreError
from ledger.keys import b64encode


class Client(Protocol):
    def submit(self, command: dict[str, Any]) -> dict[str, Any]: ...
    def checkpoint(self) -> str: ...
    def vkey(self) -> str: ...
    def inclusion(self, index: int, size: int | None) -> dict[str, Any]: ...
    def consistency(self, old: int, new: int | None) -> dict[str, Any]: ...
    def entries(self, start: int = 0, end: int | None = None) -> list[bytes]: ...


class LocalClient:
    """Works directly on the store named by the settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def ledger(self) -> Any:
        from ledger.store.open import open_ledger

        return open_ledger(self.settings)

    def submit(self, command: dict[str, Any]) -> dict[str, Any]:
        receipt: dict[str, Any] = self.ledger.submit(command)
        return receipt

    def _head(self) -> Any:
        head = self.ledger.head()
        if head is None:
            raise NotFoundError("A6 checkpoint", "the log is empty: run `spotcheck init` first")
        return head

    def checkpoint(self) -> str:
        return str(self._head().checkpoint)

    def vkey(self) -> str:
        if self.ledger.log.log_vkey is None:
            raise NotFoundError("A7 genesis", "the log is empty: run `spotcheck init` first")
        return str(self.ledger.log.log_vkey)

    def inclusion(self, index: int, size: int | None) -> dict[str, Any]:
        size = self._head().size if size is None else size
        hashes = self.ledger.inclusion_proof(index, size)
        return {"index": index, "size": size, "hashes": [b64encode(h) for h in hashes]}

    def consistency(self, old: int, new: int | None) -> dict[str, Any]:
        new = self._head().size if new is None else new
        hashes = self.ledger.consistency_proof(old, new)
        return {"from": old, "to": new, "hashes": [b64encode(h) for h in hashes]}

    def entries(self, start: int = 0, end: int | None = None) -> list[bytes]:
        return [data for _, data in self.ledger.entries(start, end)]


class RemoteError(LedgerError):
    """A refusal the server sent as an RFC 9457 problem; ``str()`` is its ``detail`` as sent."""

    def __init__(self, status: int, problem: dict[str, Any], detail: str) -> None:
        super().__init__(str(problem.get("rule", "http")), detail,
                         field=problem.get("field"), index=problem.get("index"))
        self.status = status
        self.problem = problem

    def __str__(self) -> str:
        return self.reason


class HttpClient:
    """Talks to ``spotcheck serve`` through the A10 API."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        import httpx

        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def _get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        self._raise(response)
        return response

    @staticmethod
    def _raise(response: Any) -> None:
        if response.status_code < 400:
            return
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text}
        if not isinstance(problem, dict):
            problem = {"detail": str(problem)}
        detail = str(problem.get("detail") or response.reason_phrase)
        if response.status_code >= 500:
            raise StoreError(str(problem.get("rule", "http")), detail)
        raise RemoteError(response.status_code, problem, detail)

    def submit(self, command: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/v1/commands", json=command)
        self._raise(response)
        receipt: dict[str, Any] = response.json()
        return receipt

    def checkpoint(self) -> str:
        return str(self._get("/v1/log/checkpoint").text)

    def vkey(self) -> str:
        return str(self._get("/v1/log/vkey").text).strip()

    def inclusion(self, index: int, size: int | None) -> dict[str, Any]:
        if size is None:
            size = int(self.checkpoint().split("\n")[1])
        body: dict[str, Any] = self._get("/v1/log/proof/inclusion", index=index, size=size).json()
        return body

    def consistency(self, old: int, new: int | None) -> dict[str, Any]:
        if new is None:
            new = int(self.checkpoint().split("\n")[1])
        body: dict[str, Any] = self._get(
            "/v1/log/proof/consistency", **{"from": old, "to": new}
        ).json()
        return body

    def entries(self, start: int = 0, end: int | None = None) -> list[bytes]:
        """Entries ``start..end-1``, paging as the server bounds each response (A10)."""
        if end is None:
            end = int(self.checkpoint().split("\n")[1])
        lines: list[bytes] = []
        position = start
        while position < end:
            body = self._get("/v1/log/entries", start=position, end=end).content
            page = [line for line in bytes(body).split(b"\n") if line]
            if not page:
                raise StoreError("A10 entries", f"server returned no entries from {position}")
            lines.extend(page)
            position += len(page)
        return lines


def open_client(settings: Settings, *, server: str | None) -> Client:
    return HttpClient(server) if server else LocalClient(settings)
