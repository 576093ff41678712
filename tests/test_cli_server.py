"""The seed's 2023 plan end to end through the CLI client against a real server (issue 4/7).

``spotcheck init`` makes the store; ``spotcheck serve`` (uvicorn, a real
subprocess) serves it; every later write is a command signed on "this device"
by ``spotcheck --server URL ...`` — the sample registry and the seed's plan,
the draw of task 联202301-001 with commit-reveal by its three departments, and
one case from inspection to close. Every receipt the CLI kept (``--receipts``)
is then checked offline and proved consistent with the server's latest
checkpoint, and ``spotcheck-verify online`` accepts the live log.

The plan's task windows lie in 2023, so server and CLI run with the same
``SPOTCHECK_CLOCK_OFFSET`` putting "now" on 2023-03-01 (A3's skew rule holds).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ledger import merkle
from ledger.cli import main
from ledger.client import HttpClient
from ledger.domain.state import DomainState
from ledger.keys import b64decode, load_key_file
from ledger.receipts import verify_receipt
from ledger.replay import LogState
from tests.api_helpers import start_server
from tools.verify.cli import main as verify_main

ITEMS = ["安全生产责任制落实情况", "事故隐患排查治理情况"]
START = datetime(2023, 3, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    offset = int((START - datetime.now(UTC)).total_seconds())
    values = {
        "SPOTCHECK_HOME": str(tmp_path / "var"),
        "SPOTCHECK_DATABASE_URL": database_url,
        "SPOTCHECK_CLOCK_OFFSET": str(offset),
        "SPOTCHECK_TICK_SECONDS": "3600",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _state(url: str) -> tuple[LogState, DomainState]:
    log, state = LogState(verify_signatures=False), DomainState()
    for data in HttpClient(url).entries(0):
        state.apply(log.apply(data, index=log.size))
    return log, state


def test_seed_plan_through_the_cli_client(env: dict[str, str], tmp_path: Path) -> None:
    keys = Path(env["SPOTCHECK_HOME"]) / "keys"
    receipts = tmp_path / "receipts"
    assert main(["init"]) == 0
    server = start_server(env, tmp_path)
    try:
        url = server.url

        def cli(*args: str) -> None:
            assert main(["--server", url, "--receipts", str(receipts), *args]) == 0, args

        def person(name: str, roles: str, **holder: str | None) -> Path:
            path = keys / f"{name}.key"
            assert main(["keys", "new", name, "--out", str(path)]) == 0
            extra = [x for k, v in holder.items() if v for x in (f"--{k}", v)]
            cli("keys", "register", str(path), "--roles", roles,
                "--signer", str(keys / "admin.key"), *extra)
            return path

        cli("sample", "--enterprises", "120", "--inspectors", "24")
        planner = keys / "planner.key"
        parties = {dept: person(f"party-{dept}", "draw_party", department=dept)
                   for dept in ("AJJ", "TJJ", "SCJGJ", "SWJ", "QXJ")}
        # the three tasks of the seed's plan, each drawn with its departments as parties
        tasks = {"D1": ("联202301-001", ["AJJ", "TJJ", "SCJGJ"]),
                 "D2": ("联202302-002", ["AJJ", "SWJ", "QXJ"]),
                 "D3": ("联202303-003", ["AJJ", "SCJGJ"])}
        for draw_id, (task_id, depts) in tasks.items():
            cli("draw", "schedule", task_id, "--draw-id", draw_id, "--signer", str(planner),
                *[x for d in depts for x in ("--party", f"{d}={parties[d]}")])
            for step in ("commit", "reveal"):
                for dept in depts:
                    cli("draw", step, draw_id, "--party", dept, "--signer", str(parties[dept]))
            cli("draw", "show", draw_id)

        log, state = _state(url)
        for draw_id, (task_id, depts) in tasks.items():
            draw = log.draw(draw_id)
            assert draw is not None and draw.performed is not None
            assert draw.scheduled["task_id"] == task_id
            assert sorted(draw.scheduled["required_departments"]) == sorted(depts)
        case = next(c for c in state.cases.values() if c.case_id.startswith("D1:"))
        team = list(case.team)
        assert len(team) >= 2
        inspectors = {i: person(f"inspector-{i}", "inspector", inspector=i,
                                department=state.inspectors[i].department) for i in team}
        publisher = person("publisher", "publisher")
        lead = inspectors[team[0]]

        def act(action: str, signer: Path, args: dict[str, object]) -> None:
            cli("case", action, case.case_id, "--args-json", json.dumps(args, ensure_ascii=False),
                "--signer", str(signer))

        act("record_inspection", lead, {"date": "2023-03-01", "inspectors": team, "items": ITEMS})
        for item in ITEMS:
            act("record_finding", lead, {"item": item, "result": "未发现问题", "hazard": None,
                                         "text": f"{item}: 未发现问题", "evidence": []})
        for inspector, path in inspectors.items():
            act("declare_integrity", path, {"inspector": inspector, "date": "2023-03-01",
                                            "no_banquet": True, "no_gift": True,
                                            "no_money": True})
        act("publish", publisher, {"date": "2023-03-01", "where": "承德县人民政府网站"})
        act("close", lead, {"date": "2023-03-01"})
        assert _state(url)[1].cases[case.case_id].closed

        # every receipt the CLI kept verifies offline and is consistent with the latest head
        vkey = httpx.get(f"{url}/v1/log/vkey").text.strip()
        head = verify_receipt(json.loads(sorted(receipts.glob("*.json"),
                                                key=lambda p: int(p.stem))[-1].read_text()),
                              vkey)
        kept = list(receipts.glob("*.json"))
        assert len(kept) > 20
        for path in kept:
            old = verify_receipt(json.loads(path.read_text(encoding="utf-8")), vkey)
            proof = httpx.get(f"{url}/v1/log/proof/consistency",
                              params={"from": old.size, "to": head.size}).json()["hashes"]
            merkle.verify_consistency(old.size, head.size, old.root, head.root,
                                      [b64decode(h, field="hash") for h in proof])
        assert load_key_file(planner).key_id in _state(url)[0].keys
        assert verify_main(["online", url, "--vkey", vkey,
                            "--state", str(tmp_path / "monitor.json")]) == 0
    finally:
        server.stop()
