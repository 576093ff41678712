"""Refused requests append nothing (DESIGN.md A3, A7, A12, B5; STYLE.md point 12).

Against the real server on SQLite and PostgreSQL: each forged, unauthorised,
replayed, stale, oversized or malformed request gets a 4xx RFC 9457 problem
naming its rule, and the signed checkpoint (tree size and root) is exactly
what it was before.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.commands import sign_command
from ledger.keys import b64decode
from tests.api_helpers import Server, assert_problem, running_server
from tests.store_helpers import ADMIN, ROOT, cmd, key, register_args

JSON = {"content-type": "application/json"}


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(database_url, tmp_path / "server") as running:
        yield running


def _register(name: str, roles: list[str] | None = None) -> dict[str, Any]:
    return cmd(ADMIN, "keys.register", register_args(key(name), roles or ["planner"]))


def _checkpoint(client: httpx.Client) -> str:
    response = client.get("/v1/log/checkpoint")
    assert response.status_code == 200
    return response.text


Send = Callable[[httpx.Client], httpx.Response]


def _json(command: dict[str, Any]) -> Send:
    return lambda client: client.post("/v1/commands", json=command)


def _raw(body: bytes, headers: dict[str, str]) -> Send:
    return lambda client: client.post("/v1/commands", content=body, headers=headers)


def test_refused_requests_are_problems_and_append_nothing(server: Server) -> None:
    with server.client() as client:
        # setup: a revoked admin key, a planner key, one accepted command to replay
        for command in (_register("revoked", ["admin"]), _register("planner")):
            assert client.post("/v1/commands", json=command).status_code == 201
        revoke = cmd(ADMIN, "keys.revoke", {"key": key("revoked").key_id, "reason": "调离"})
        assert client.post("/v1/commands", json=revoke).status_code == 201
        accepted = _register("accepted")
        assert client.post("/v1/commands", json=accepted).status_code == 201

        forged = _register("forged")
        forged["args"]["roles"] = ["admin"]  # changed after signing
        same_nonce = sign_command(ADMIN, "keys.register",
                                  register_args(key("new body"), ["planner"]),
                                  issued_at=datetime.now(UTC),
                                  nonce=b64decode(accepted["nonce"], field="nonce"))
        stale = cmd(ADMIN, "keys.register", register_args(key("stale"), ["planner"]),
                    issued_at=datetime.now(UTC) - timedelta(minutes=10))
        missing = {k: v for k, v in _register("missing").items() if k != "nonce"}
        big = json.dumps(_register("big") | {"pad": "x" * (1024 * 1024)}).encode()

        cases: list[tuple[str, Send, int, str]] = [
            ("forged signature", _json(forged), 403, "A3 signature"),
            ("unregistered key", _json(cmd(key("stranger"), "keys.register",
                                           register_args(key("s1"), ["planner"]))),
             403, "A3 key unknown"),
            ("revoked key", _json(cmd(key("revoked"), "keys.register",
                                      register_args(key("s2"), ["planner"]))),
             403, "A7 key revoked"),
            ("wrong role", _json(cmd(key("planner"), "keys.register",
                                     register_args(key("s3"), ["planner"]))), 403, "A12 roles"),
            ("root key outside its duties", _json(cmd(
                ROOT, "departments.register", {"department": "AJJ", "name": "县应急管理局"})),
             403, "A7 separation of duties"),
            ("replayed command", _json(accepted), 409, "A3 nonce"),
            ("replayed nonce, new body", _json(same_nonce), 409, "A3 nonce"),
            ("issued 10 minutes ago", _json(stale), 422, "A3 issued_at"),
            ("missing member", _json(missing), 422, "A3 command"),
            ("unknown action", _json(cmd(ADMIN, "nothing.here", {})), 422, "A12 action"),
            ("float in signed data", _raw(b'{"action": 1.5}', JSON), 422, "A1 canonical"),
            ("not an object", _raw(b"[]", JSON), 422, "A3 command"),
            ("body over 1 MiB", _raw(big, JSON), 413, "B5 body size"),
            ("body over 1 MiB, streamed",
             lambda c: c.post("/v1/commands", headers=JSON,
                              content=iter([b" " * 65536] * 17)), 413, "B5 body size"),
            ("malformed JSON", _raw(b'{"action": ', JSON), 400, "A1 JSON"),
            ("duplicate member", _raw(b'{"key": "a", "key": "b"}', JSON), 400, "A1 JSON"),
            ("not UTF-8", _raw(b'{"key": "\xff"}', JSON), 400, "A1 JSON"),
            ("empty body", _raw(b"", JSON), 400, "A1 JSON"),
            ("wrong content type", _raw(json.dumps(_register("ct")).encode(),
                                        {"content-type": "text/plain"}), 415,
             "A10 content type"),
            ("form content type", _raw(b"a=1", {"content-type":
                                                "application/x-www-form-urlencoded"}),
             415, "A10 content type"),
            ("no content type", _raw(json.dumps(_register("nct")).encode(), {}), 415,
             "A10 content type"),
            ("wrong charset", _raw(json.dumps(_register("cs")).encode(),
                                   {"content-type": "application/json; charset=latin-1"}),
             415, "A10 content type"),
        ]
        before = _checkpoint(client)
        for name, send, status, rule in cases:
            response = send(client)
            body = assert_problem(response, status, rule)
            assert body["instance"] == "/v1/commands", name
            assert _checkpoint(client) == before, f"{name}: the log changed"
        # the per-action routes refuse the same way
        assert_problem(client.post("/v1/actions/keys.register", json=forged), 403,
                       "A3 signature")
        assert _checkpoint(client) == before


def test_refusal_in_a_batch_does_not_affect_the_others(server: Server) -> None:
    """Group commit: good and bad commands arriving together each get their own answer."""
    good = [_register(f"ok{i}") for i in range(10)]
    bad = []
    for i in range(10):
        forged = copy.deepcopy(_register(f"bad{i}"))
        forged["args"]["holder"]["name"] = "someone else"
        bad.append(forged)
    with server.client() as client, ThreadPoolExecutor(10) as pool:
        size = int(_checkpoint(client).split("\n")[1])
        mixed = [c for pair in zip(good, bad, strict=True) for c in pair]
        answers = list(pool.map(lambda c: client.post("/v1/commands", json=c), mixed))
        assert [a.status_code for a in answers] == [201, 403] * 10
        assert int(_checkpoint(client).split("\n")[1]) == size + 10
