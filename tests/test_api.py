"""The HTTP service against the real server: writes, the A10 read API, views, ops (DESIGN.md A10).

Every test runs a real ``spotcheck serve`` (uvicorn, app factory) in a
subprocess on a free loopback port, on SQLite and on PostgreSQL
(``database_url``), with a store made by ``tests.store_helpers.new_ledger``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import ApiSettings
from api.writer import GroupCommitWriter
from ledger import merkle
from ledger.canonical import canonical, parse_canonical
from ledger.checkpoint import verify_checkpoint
from ledger.client import HttpClient
from ledger.domain.decide import draft_schedule
from ledger.domain.state import DomainState, beijing_date
from ledger.errors import ConflictError, LedgerError
from ledger.keys import KeyPair, b64decode
from ledger.receipts import verify_receipt
from ledger.store.check import check_store
from ledger.times import now_utc
from tests.api_helpers import (
    Server,
    assert_problem,
    prepare_store,
    running_server,
    start_server,
    tree_size,
)
from tests.domain_helpers import commitment_of, enterprise_rows, inspector_rows, key_pair, secret_of
from tests.store_helpers import ADMIN, LOG, cmd, key, open_ledger, register_args


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(database_url, tmp_path / "server") as running:
        yield running


def register(pair: KeyPair, roles: list[str] | None = None) -> dict[str, Any]:
    """A ``keys.register`` command signed by ADMIN."""
    return cmd(ADMIN, "keys.register", register_args(pair, roles or ["planner"]))


def post(client: httpx.Client, command: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post("/v1/commands", json=command, headers=headers)


# -- writes ------------------------------------------------------------------------------------


def test_write_returns_a_receipt_that_verifies_offline(server: Server) -> None:
    with server.client() as client:
        vkey = client.get("/v1/log/vkey")
        assert vkey.status_code == 200 and vkey.headers["content-type"].startswith("text/plain")
        assert vkey.text == LOG.vkey
        before = tree_size(client)
        response = post(client, register(key("w1")), **{"X-Request-ID": "test-write-1"})
        assert response.status_code == 201, response.text
        assert response.headers["x-request-id"] == "test-write-1"
        receipt = response.json()
        checkpoint = verify_receipt(receipt, vkey.text)
        assert receipt["index"] == before and checkpoint.size == before + 1
        assert receipt["entry"]["type"] == "KeyRegistered"
        assert response.headers["location"] == f"/v1/log/entries?start={before}&end={before + 1}"
        line = client.get(response.headers["location"]).content
        assert line == canonical(receipt["entry"]) + b"\n"
        # the per-action documentation route takes the same body and answers the same way
        documented = client.post("/v1/actions/keys.register", json=register(key("w2")))
        assert documented.status_code == 201, documented.text
        verify_receipt(documented.json(), vkey.text)
        # ... and refuses another action's body
        wrong = client.post("/v1/actions/keys.revoke", json=register(key("w3")))
        assert_problem(wrong, 422, "A10 action route")
        assert tree_size(client) == before + 2


def test_group_commit_batches_concurrent_writes(server: Server) -> None:
    commands = [register(key(f"g{i}")) for i in range(40)]
    with server.client() as client, ThreadPoolExecutor(16) as pool:
        start = tree_size(client)
        responses = list(pool.map(lambda c: post(client, c), commands))
        assert [r.status_code for r in responses] == [201] * 40
        indexes = sorted(r.json()["index"] for r in responses)
        assert indexes == list(range(start, start + 40))
        metrics = client.get("/metrics").text
    batches = [line for line in metrics.splitlines()
               if line.startswith("spotcheck_append_batch_size_count")]
    count = float(batches[0].split()[-1])
    assert count < 40, "concurrent commands should share transactions"


# -- the read API (A10) ------------------------------------------------------------------------


def test_read_api_shapes_and_proofs(server: Server) -> None:
    with server.client() as client:
        for i in range(5):
            assert post(client, register(key(f"r{i}"))).status_code == 201
        note = client.get("/v1/log/checkpoint")
        assert note.headers["content-type"].startswith("text/plain")
        head = verify_checkpoint(note.text, LOG.vkey)
        size = head.size
        assert size == 7

        entries = client.get("/v1/log/entries", params={"start": 0, "end": size})
        assert entries.headers["content-type"].startswith("application/x-ndjson")
        lines = entries.content.split(b"\n")
        assert lines[-1] == b"" and len(lines) == size + 1
        leaves = []
        for i, line in enumerate(lines[:-1]):
            assert parse_canonical(line)["index"] == i
            leaves.append(merkle.leaf_hash(line))
        assert merkle.root_of(leaves) == head.root
        assert client.get("/v1/log/entries", params={"start": 3, "end": 3}).content == b""
        partial = client.get("/v1/log/entries", params={"start": 5, "end": size + 10})
        assert partial.content.count(b"\n") == size - 5
        assert partial.headers["link"] == \
            f'</v1/log/entries?start={size}&end={size + 10}>; rel="next"'
        assert client.get("/v1/log/entries", params={"start": 2}).content.count(b"\n") == size - 2

        for index in range(size):
            body = client.get("/v1/log/proof/inclusion",
                              params={"index": index, "size": size}).json()
            assert set(body) == {"index", "size", "hashes"}
            assert (body["index"], body["size"]) == (index, size)
            proof = [b64decode(h, field="hashes", length=32) for h in body["hashes"]]
            merkle.verify_inclusion(index, size, leaves[index], proof, head.root)
        for old in range(1, size + 1):
            body = client.get("/v1/log/proof/consistency", params={"from": old, "to": size}).json()
            assert set(body) == {"from", "to", "hashes"}
            assert (body["from"], body["to"]) == (old, size)
            proof = [b64decode(h, field="hashes", length=32) for h in body["hashes"]]
            merkle.verify_consistency(old, size, merkle.root_of(leaves[:old]), head.root, proof)
        same = client.get("/v1/log/proof/consistency", params={"from": 4, "to": 4}).json()
        assert same == {"from": 4, "to": 4, "hashes": []}


@pytest.mark.parametrize("path, params, field", [
    ("/v1/log/proof/inclusion", {"index": 2, "size": 2}, "index"),  # index >= size
    ("/v1/log/proof/inclusion", {"index": 5, "size": 2}, "index"),
    ("/v1/log/proof/inclusion", {"index": 0, "size": 0}, "index"),
    ("/v1/log/proof/inclusion", {"index": -1, "size": 1}, "index"),
    ("/v1/log/proof/inclusion", {"index": 0, "size": 3}, "size"),  # above the tree size (2)
    ("/v1/log/proof/consistency", {"from": 0, "to": 2}, "from"),  # from < 1
    ("/v1/log/proof/consistency", {"from": -3, "to": 2}, "from"),
    ("/v1/log/proof/consistency", {"from": 2, "to": 1}, "from"),  # from > to
    ("/v1/log/proof/consistency", {"from": 1, "to": 3}, "to"),  # above the tree size
    ("/v1/log/entries", {"start": -1, "end": 1}, "start"),
    ("/v1/log/entries", {"start": 2, "end": 1}, "end"),
    ("/v1/log/entries", {"start": 3, "end": 4}, "start"),
])
def test_read_api_refuses_bad_ranges_with_400(read_server: Server, path: str,
                                             params: dict[str, int], field: str) -> None:
    with read_server.client() as client:
        body = assert_problem(client.get(path, params=params), 400, "A10 read API")
        assert body["field"] == field
        assert body["instance"] == path


def test_read_api_400s_on_both_backends(server: Server) -> None:
    with server.client() as client:
        size = tree_size(client)
        cases = [
            ("/v1/log/proof/inclusion", {"index": size, "size": size}),
            ("/v1/log/proof/inclusion", {"index": 0, "size": size + 1}),
            ("/v1/log/proof/consistency", {"from": 0, "to": size}),
            ("/v1/log/proof/consistency", {"from": size, "to": size - 1}),
        ]
        for path, params in cases:
            assert_problem(client.get(path, params=params), 400, "A10 read API")
        assert_problem(client.get("/v1/log/proof/inclusion", params={"index": "x", "size": 1}),
                       422, "A10 request")
        assert_problem(client.get("/v1/log/proof/consistency", params={"to": 1}), 422)
        assert_problem(client.get("/v1/log/nothing"), 404, "A10 routes")
        assert_problem(client.post("/v1/log/checkpoint"), 405, "A10 routes")


@pytest.fixture(scope="module")
def read_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One SQLite server (tree size 2) for the many small read-API cases of this module."""
    folder = tmp_path_factory.mktemp("read-api")
    with running_server(f"sqlite:///{folder / 'ledger.db'}", folder) as running:
        yield running


# -- idempotency -------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_receipt_and_survives_restart(
        database_url: str, tmp_path: Path) -> None:
    env = prepare_store(database_url, tmp_path)
    first = start_server(env, tmp_path, name="first")
    command = register(key("idem"))
    try:
        with first.client() as client:
            before = tree_size(client)
            one = post(client, command, **{"Idempotency-Key": "k-1"})
            two = post(client, command, **{"Idempotency-Key": "k-1"})
            assert one.status_code == 201 and two.status_code == 201, (one.text, two.text)
            assert two.json() == one.json()
            assert two.headers["idempotent-replayed"] == "true"
            assert tree_size(client) == before + 1
            other = post(client, register(key("idem-2")), **{"Idempotency-Key": "k-1"})
            body = assert_problem(other, 409, "B5 idempotency")
            assert body["field"] == "Idempotency-Key"
            assert tree_size(client) == before + 1
            # a refused command releases its key: the retry gets the real refusal again
            bad = cmd(key("nobody"), "keys.register", register_args(key("x"), ["planner"]))
            assert_problem(post(client, bad, **{"Idempotency-Key": "k-bad"}), 403)
            assert_problem(post(client, bad, **{"Idempotency-Key": "k-bad"}), 403)
            assert_problem(post(client, command, **{"Idempotency-Key": "has space"}), 400,
                           "B5 idempotency")
            # concurrent requests with one key append once and all get the same receipt
            racing = register(key("idem-race"))
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(
                    lambda _: post(client, racing, **{"Idempotency-Key": "k-race"}), range(8)))
            assert {a.status_code for a in answers} == {201}
            assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
            assert tree_size(client) == before + 2
    finally:
        first.stop()
        assert first.stopped_gracefully(), first.logs()
    second = start_server(env, tmp_path, name="second")
    try:
        with second.client() as client:
            again = post(client, command, **{"Idempotency-Key": "k-1"})
            assert again.status_code == 201 and again.json() == one.json()
            assert_problem(post(client, register(key("idem-3")), **{"Idempotency-Key": "k-1"}),
                           409, "B5 idempotency")
    finally:
        second.stop()


# -- views -------------------------------------------------------------------------------------


def _season(submit: Callable[[KeyPair, str, dict[str, Any]], dict[str, Any]],
            state: Callable[[], DomainState]) -> str:
    """Registries, a plan, a draw by two parties and one published case (C1-C5)."""
    planner, publisher = key_pair("planner"), key_pair("publisher")
    parties = {name: key_pair(f"party {name}") for name in ("AJJ", "SCJ")}
    inspectors = {str(r["id"]): key_pair(f"inspector {r['id']}") for r in inspector_rows()}
    submit(ADMIN, "keys.register", register_args(planner, ["planner"], department="AJJ"))
    submit(ADMIN, "keys.register", register_args(publisher, ["publisher"], department="AJJ"))
    for name, pair in parties.items():
        submit(ADMIN, "keys.register", register_args(pair, ["draw_party"], department=name))
    for ident, pair in inspectors.items():
        submit(ADMIN, "keys.register", register_args(
            pair, ["inspector"], department=ident.split("-")[0], inspector=ident))
    for dep, name in (("AJJ", "县应急管理局"), ("SCJ", "县市场监管局"), ("TJJ", "县统计局")):
        submit(planner, "departments.register", {"department": dep, "name": name})
    submit(planner, "enterprises.import", {"rows": enterprise_rows()[:4]})
    submit(planner, "inspectors.import", {"rows": inspector_rows()})
    today = beijing_date(now_utc())
    submit(planner, "plans.import", {
        "plan_no": "P1", "plan_name": "测试计划", "publication": {"days": 20, "unit": "日"},
        "tasks": [{"task_id": "T1", "task_name": "测试任务", "kind": "undirected",
                   "ratio": "0.5", "sectors": [], "initiator": "AJJ",
                   "joint_departments": ["SCJ"],
                   "window_start": (today - timedelta(days=30)).isoformat(),
                   "window_end": (today + timedelta(days=30)).isoformat()}]})
    listed = [{"party": name, "key": pair.key_id} for name, pair in parties.items()]
    submit(planner, "draws.schedule",
           draft_schedule(state(), draw_id="D1", task_id="T1", parties=listed))
    for name, pair in parties.items():
        submit(pair, "draws.commit", {"draw_id": "D1", "party": name,
                                      "commitment": commitment_of(secret_of("D1", name))})
    for name, pair in parties.items():
        submit(pair, "draws.reveal", {"draw_id": "D1", "party": name,
                                      "secret": secret_of("D1", name)})
    case_id = state().draws["D1"].case_ids[0]
    team = list(state().cases[case_id].team)
    lead, day = inspectors[team[0]], today.isoformat()
    submit(lead, "cases.record_inspection", {"case_id": case_id, "date": day,
                                             "inspectors": team, "items": ["安全生产责任制"]})
    submit(lead, "cases.record_finding", {"case_id": case_id, "item": "安全生产责任制",
                                          "result": "未发现问题", "hazard": None,
                                          "text": "符合要求", "evidence": []})
    submit(publisher, "cases.publish", {"case_id": case_id, "date": day,
                                        "where": "国家企业信用信息公示系统"})
    return case_id


def test_views_follow_the_log(server: Server, database_url: str) -> None:
    reader = open_ledger(database_url)
    with server.client() as client:
        empty = client.get("/v1/cases").json()
        assert empty == {"items": [], "offset": 0, "limit": 100, "total": 0,
                         "size": tree_size(client)}

        def submit(pair: KeyPair, action: str, args: dict[str, Any]) -> dict[str, Any]:
            response = post(client, cmd(pair, action, args))
            assert response.status_code == 201, (action, response.text)
            receipt: dict[str, Any] = response.json()
            return receipt

        def state() -> DomainState:
            reader.catch_up()
            return reader.domain

        case_id = _season(submit, state)
        size = tree_size(client)
        cases = client.get("/v1/cases", params={"limit": 1}).json()
        assert cases["total"] == 2 and len(cases["items"]) == 1 and cases["size"] == size
        assert client.get("/v1/cases", params={"offset": 1}).json()["items"][0]["case_id"] \
            != cases["items"][0]["case_id"]
        case = client.get(f"/v1/cases/{case_id}")
        assert case.headers["x-tree-size"] == str(size)
        detail = case.json()
        assert detail["status"] == "published" and detail["draw_id"] == "D1"
        assert [f["result"] for f in detail["findings"]] == ["未发现问题"]
        draw = client.get("/v1/draws/D1").json()
        assert draw["status"] == "performed" and case_id in draw["case_ids"]
        assert client.get("/v1/draws").json()["total"] == 1
        register_page = client.get("/v1/register").json()
        (row,) = register_page["items"]
        assert row["case_id"] == case_id and row["plan_no"] == "P1"
        assert row["initiator"] == {"id": "AJJ", "name": "县应急管理局"}
        assert "team" not in row and "text" not in json.dumps(row["results"])
        assert client.get("/v1/reports").json()["items"] == []
        assert_problem(client.get("/v1/cases/D9:nothing"), 404, "C6 views")
        assert_problem(client.get("/v1/draws/D9"), 404, "C6 views")
        assert_problem(client.get("/v1/cases", params={"limit": 0}), 422, "A10 request")
        assert_problem(client.get("/v1/draws", params={"limit": 1001}), 422)
        assert_problem(client.get("/v1/register", params={"offset": -1}), 422)
    reader.backend.close()


# -- ops ---------------------------------------------------------------------------------------


def test_health_readiness_metrics_and_request_ids(server: Server) -> None:
    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready" and ready["size"] == tree_size(client)
        assert post(client, register(key("m1"))).status_code == 201
        text = client.get("/metrics").text
        assert 'spotcheck_appends_total{type="KeyRegistered"} 1.0' in text
        assert f"spotcheck_tree_size {float(tree_size(client))}" in text
        assert 'spotcheck_http_request_seconds_count{method="POST",route="/v1/commands",' \
               'status="201"} 1.0' in text
        assert 'spotcheck_commands_total{status="201"} 1.0' in text
        generated = client.get("/healthz").headers["x-request-id"]
        assert len(generated) == 32
        bad = client.get("/healthz", headers={"X-Request-ID": "has spaces"}).headers
        assert bad["x-request-id"] != "has spaces"
    logs = [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]
    access = [r for r in logs if r.get("logger") == "spotcheck.access"]
    assert access and all({"request_id", "status", "route", "duration_ms"} <= set(r)
                          for r in access)


# -- the CLI's HTTP client ---------------------------------------------------------------------


def test_http_client_against_the_server(server: Server) -> None:
    client = HttpClient(server.url)
    receipt = client.submit(register(key("c1")))
    verify_receipt(receipt, client.vkey())
    assert client.vkey() == LOG.vkey
    head = verify_checkpoint(client.checkpoint(), LOG.vkey)
    lines = client.entries(0)
    assert len(lines) == head.size and canonical(receipt["entry"]) == lines[receipt["index"]]
    leaves = [merkle.leaf_hash(line) for line in lines]
    proof = client.inclusion(receipt["index"], None)
    merkle.verify_inclusion(receipt["index"], head.size, leaves[receipt["index"]],
                            [b64decode(h, field="h", length=32) for h in proof["hashes"]],
                            head.root)
    consistency = client.consistency(1, None)
    merkle.verify_consistency(1, head.size, leaves[0], head.root,
                              [b64decode(h, field="h", length=32) for h in consistency["hashes"]])
    forged = register(key("c2"))
    forged["args"]["roles"] = ["admin"]
    with pytest.raises(LedgerError) as refused:
        client.submit(forged)
    assert refused.value.status == 403 and refused.value.rule == "A3 signature"
    with pytest.raises(LedgerError) as replayed:
        client.submit(receipt["entry"]["command"])
    assert replayed.value.status == 409 and replayed.value.rule == "A3 nonce"
    with pytest.raises(LedgerError) as bad_range:
        client.inclusion(head.size, head.size)
    assert bad_range.value.status == 400 and bad_range.value.rule == "A10 read API"


# -- several processes, shutdown ---------------------------------------------------------------


def test_two_server_processes_keep_the_index_dense(database_url: str, tmp_path: Path) -> None:
    env = prepare_store(database_url, tmp_path)
    servers = [start_server(env, tmp_path, name=f"s{i}") for i in range(2)]
    try:
        clients = [server.client() for server in servers]  # httpx clients are thread-safe
        start = tree_size(clients[0])

        def write(job: tuple[int, int]) -> int:
            which, n = job
            response = post(clients[which], register(key(f"dense-{which}-{n}")))
            assert response.status_code == 201, response.text
            return int(response.json()["index"])

        with ThreadPoolExecutor(16) as pool:
            indexes = list(pool.map(write, [(w, n) for n in range(100) for w in (0, 1)]))
        assert sorted(indexes) == list(range(start, start + 200))
        for client in clients:
            assert tree_size(client) == start + 200
            lines = client.get("/v1/log/entries", params={"start": 0, "end": start + 200})
            found = [parse_canonical(line)["index"] for line in lines.content.splitlines()]
            assert found == list(range(start + 200))
            client.close()
    finally:
        for server in servers:
            server.stop()
    reader = open_ledger(database_url)
    assert check_store(reader.backend).ok
    reader.backend.close()


def test_graceful_shutdown_finishes_in_flight_appends(sqlite_url: str, tmp_path: Path) -> None:
    env = prepare_store(sqlite_url, tmp_path)
    server = start_server(env, tmp_path, extra={"SPOTCHECK_BATCH_WINDOW_MS": "50"})
    answers: list[httpx.Response | Exception] = []
    lock = threading.Lock()

    client = server.client()

    def write(n: int) -> None:
        response: httpx.Response | Exception
        try:
            response = post(client, register(key(f"sd{n}")))
        except httpx.HTTPError as exc:
            response = exc
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.02)
    server.stop()
    for thread in threads:
        thread.join()
    client.close()
    assert server.stopped_gracefully(), server.logs()
    receipts = [a.json() for a in answers if isinstance(a, httpx.Response)
                and a.status_code == 201]
    assert receipts, "no write was in flight at SIGTERM"
    reader = open_ledger(sqlite_url)
    reader.catch_up()
    stored = {index: data for index, data in reader.entries(0)}
    for receipt in receipts:  # every acknowledged append is in the log ...
        assert stored[receipt["index"]] == canonical(receipt["entry"])
    assert len(stored) == 2 + len(receipts)  # ... and nothing was appended unacknowledged
    assert check_store(reader.backend).ok
    reader.backend.close()


# -- the writer on its own ---------------------------------------------------------------------


class _FakeLedger:
    def __init__(self) -> None:
        self.batches: list[int] = []
        self.ticks = 0

    def submit_many(self, commands: list[dict[str, Any]]) -> list[Any]:
        time.sleep(0.01)
        self.batches.append(len(commands))
        return [{"n": c["n"]} if c["n"] % 5 else ConflictError("A3 nonce", "seen")
                for c in commands]

    def tick(self) -> list[dict[str, Any]]:
        self.ticks += 1
        return []


def test_writer_batches_resolves_each_future_and_drains_on_stop() -> None:
    fake = _FakeLedger()
    writer = GroupCommitWriter(fake, window_seconds=0.005, max_batch=16)
    writer.start()
    futures = [writer.submit({"n": n}) for n in range(50)]
    tick = writer.request_tick()
    writer.stop()
    for n, future in enumerate(futures):
        if n % 5:
            assert future.result(timeout=1) == {"n": n}
        else:
            assert isinstance(future.exception(timeout=1), ConflictError)
    assert tick.result(timeout=1) == 0 and fake.ticks == 1
    assert sum(fake.batches) == 50 and max(fake.batches) <= 16 and len(fake.batches) < 50
    with pytest.raises(LedgerError) as closed:
        writer.submit({"n": 99})
    assert closed.value.status == 503


# -- in-process: store failures, settings -----------------------------------------------------


def test_store_failure_is_a_503_problem(sqlite_url: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A database error anywhere becomes 503 ``B3 store`` (in-process app, ASGI transport)."""
    from eventsourcing.persistence import OperationalError

    app = create_app(ApiSettings.from_env(prepare_store(sqlite_url, tmp_path)))

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    async def scenario() -> None:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            monkeypatch.setattr(app.state.services.ledger.backend, "latest_checkpoint", down)
            response = await client.get("/v1/log/checkpoint")
            assert_problem(response, 503, "B3 store")
            assert response.headers["x-request-id"]
            assert_problem(await client.get("/readyz"), 503, "B3 store")
            assert (await client.get("/healthz")).status_code == 200  # alive, not ready

    asyncio.run(scenario())


def test_settings_from_env() -> None:
    settings = ApiSettings.from_env({"SPOTCHECK_HOME": "h", "SPOTCHECK_PORT": "9000",
                                     "SPOTCHECK_TICK_SECONDS": "0.5",
                                     "SPOTCHECK_LOG_LEVEL": "debug"})
    assert (settings.port, settings.tick_seconds, settings.log_level) == (9000, 0.5, "DEBUG")
    assert settings.max_body_bytes == 1024 * 1024 and settings.host == "127.0.0.1"
    assert settings.store().database_url == "sqlite:///h/spotcheck.db"
    for name, value in (("SPOTCHECK_PORT", "x"), ("SPOTCHECK_MAX_BODY_BYTES", "10"),
                        ("SPOTCHECK_BATCH_WINDOW_MS", "nan"), ("SPOTCHECK_LOG_LEVEL", "LOUD")):
        with pytest.raises(LedgerError) as bad:
            ApiSettings.from_env({name: value})
        assert bad.value.field == name and bad.value.rule == "B6 settings"


def test_writer_drops_a_cancelled_request_and_keeps_running() -> None:
    gate = threading.Event()
    seen: list[int] = []

    class Slow(_FakeLedger):
        def submit_many(self, commands: list[dict[str, Any]]) -> list[Any]:
            gate.wait(5)
            seen.extend(c["n"] for c in commands)
            return [{"n": c["n"]} for c in commands]

    writer = GroupCommitWriter(Slow(), window_seconds=0)
    writer.start()
    first = writer.submit({"n": 1})
    time.sleep(0.05)  # the writer is now blocked inside the first batch
    gone = writer.submit({"n": 2})
    assert gone.cancel()  # the client went away before its turn
    third = writer.submit({"n": 3})
    gate.set()
    assert first.result(timeout=2) == {"n": 1} and third.result(timeout=2) == {"n": 3}
    writer.stop()
    assert seen == [1, 3]
