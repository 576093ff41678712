"""The public pages (一公开) and the discipline dashboard (issue 6/7; DESIGN.md C5-C8).

One 2023 season is built per module with ``ledger.demo.prepare`` on a
temporary SQLite store (300 enterprises, so the module stays fast), and the
app is driven with FastAPI's ``TestClient`` (the scheduler off, so the log
does not move under the tests).  Every page is checked against the log
itself: the plan table against the seed's appendix, the task page against the
draw entries, the case page against the case's entries (and for what it must
not show), ``/results.csv`` and ``/results.xlsx`` against the register
projection recomputed from the entries, the login against the rules of
:mod:`api.pages.auth`, the dashboard against the compliance report.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.pages.auth import (
    COOKIE,
    SIGN_COMMAND,
    ChallengeStore,
    SessionSigner,
    login_message,
)
from api.pages.results import COLUMNS
from api.settings import ApiSettings
from ledger.checkpoint import verify_checkpoint
from ledger.config import Settings
from ledger.domain.sampling import seed_bytes
from ledger.entries import leaf_hash
from ledger.keys import KeyPair, load_key_file
from ledger.merkle import verify_inclusion
from ledger.season import VOID_REASON
from projections.registry import REPORT_KINDS
from tests.api_helpers import prepare_store

ROOT_DIR = Path(__file__).resolve().parent.parent
ENTERPRISES = 300
PLAN_HEADER = ["抽查计划编号", "抽查计划名称", "抽查任务编号", "抽查任务名称", "抽查类型",
               "抽查比例", "抽查事项", "抽查对象范围", "发起部门", "联合部门", "抽查时间"]
SEED_ROWS = {  # the seed's appendix (seed/000_7db2833dbe031e28.txt), joint departments by name
    "联202301": ("001号", "定向", "县应急管理局", "县统计局、县市场监管局", "2023年2月至11月"),
    "联202302": ("002号", "定向", "县应急管理局", "县商务局、县气象局", "2023年2月至11月"),
    "联202303": ("003号", "", "县应急管理局", "县市场监管局", "2023年9月至11月"),
}


# ---------------------------------------------------------------------------
# Fixtures


@dataclass
class Season:
    home: Path
    vkey: str
    genesis_hash: str
    roles: dict[str, str | None]
    entries: list[dict[str, Any]]
    raw: list[bytes]

    @property
    def size(self) -> int:
        return len(self.entries)

    @property
    def keys(self) -> Path:
        return self.home / "keys"


def _env(home: Path) -> dict[str, str]:
    return {"SPOTCHECK_HOME": str(home), "SPOTCHECK_DATABASE_URL": f"sqlite:///{home}/ledger.db",
            "SPOTCHECK_TICK_SECONDS": "0"}


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Season:
    from ledger.demo import prepare

    home = tmp_path_factory.mktemp("pages") / "var"
    result = prepare(Settings.from_env(_env(home)), enterprises=ENTERPRISES, inspectors=60)
    raw = [data for _, data in result.ledger.entries(0)]
    result.ledger.backend.close()
    return Season(home, result.vkey, result.genesis_hash, dict(result.season.roles),
                  [json.loads(d) for d in raw], raw)


@pytest.fixture(scope="module")
def client(season: Season) -> Iterator[TestClient]:
    app = create_app(ApiSettings.from_env(_env(season.home)))
    with TestClient(app) as test_client:
        yield test_client


# ---------------------------------------------------------------------------
# Helpers


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (th and td), plus the hrefs per row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.links: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
            self.links.append([])
            self._depth += 1
        elif not self._depth:
            return
        elif tag == "tr":
            self.tables[-1].append([])
            self.links[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and self.links[-1]:
            self.links[-1][-1].append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth -= 1
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> _Tables:
    parser = _Tables()
    parser.feed(page)
    return parser


def get_page(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert '<html lang="zh-CN">' in text
    assert "<script" not in text  # readable without JavaScript
    assert text.count("<h1") == 1
    assert "Content-Security-Policy" in response.headers
    return text


def expected_rows(season: Season) -> list[list[str]]:
    """The register projection's rows of the whole season (see :func:`register_rows_of`)."""
    return register_rows_of(season.raw)


def register_rows_of(raw: list[bytes]) -> list[list[str]]:
    """The register projection's rows, flattened here independently of api.pages.results."""
    register = REPORT_KINDS["register"](raw, {"plan_no": None, "tree_size": len(raw)})
    rows: list[list[str]] = []
    for plan in register["plans"]:
        for task in plan["tasks"]:
            for unit in task["units"]:
                start, end = unit["inspection"]["start"], unit["inspection"]["end"]
                dates = start if start == end else f"{start}至{end}"
                for result in unit["results"]:
                    rows.append([str(len(rows) + 1), plan["plan_no"], task["task_no"],
                                 task["task_name"], unit["enterprise"]["name"],
                                 unit["enterprise"]["usc"], result["item"], result["result"],
                                 unit["rectification"], dates, unit["published"],
                                 "、".join(unit["departments"])])
    return rows


def draw_entries(season: Season, draw_id: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in season.entries:
        if entry["stream"] == f"draw/{draw_id}":
            found.setdefault(entry["type"], []).append(entry)
    return found


def inspector_names(season: Season) -> dict[str, tuple[str, str]]:
    departments = {e["data"]["department"]: e["data"]["name"] for e in season.entries
                   if e["type"] == "DepartmentRegistered"}
    people = {}
    for entry in season.entries:
        if entry["type"] == "InspectorsImported":
            for row in entry["data"]["rows"]:
                people[row["id"]] = (row["name"], departments[row["department"]])
    return people


def enterprise_names(season: Season) -> dict[str, str]:
    return {row["usc"]: row["name"] for e in season.entries if e["type"] == "EnterprisesImported"
            for row in e["data"]["rows"]}


# ---------------------------------------------------------------------------
# Public pages


def test_home_shows_the_seed_plan_table_with_joint_departments_by_name(client: TestClient
                                                                       ) -> None:
    page = get_page(client, "/")
    parsed = tables(page)
    plan = next(t for t in parsed.tables if t and t[0] == PLAN_HEADER)
    links = parsed.links[parsed.tables.index(plan)]
    body = plan[1:]
    assert [row[0] for row in body] == ["联202301", "联202302", "联202303"]
    for row, hrefs in zip(body, links[1:], strict=True):
        task_no, kind, initiator, joint, window = SEED_ROWS[row[0]]
        assert row[2] == task_no
        assert row[4] == kind
        assert row[5] == "结合企业信用风险分级分类开展,不同风险等级确定不同抽查比例"
        assert row[8] == initiator
        assert row[9] == joint
        assert row[10] == window
        assert row[1] == f"2023年承德县应急管理局联合随机抽查{task_no[:3]}"
        task_id = f"{row[0]}-{task_no[:3]}"
        assert hrefs == ["/tasks/" + quote(task_id, safe="")]
    assert "《承德县“分业清单”》中所包含的对工贸企业相关检查事项" in plan[1][6]
    assert "2023 年度联合“双随机、一公开”抽查工作计划表" in page


def test_task_page_shows_draws_seeds_strata_teams_and_verify_commands(
        client: TestClient, season: Season) -> None:
    page = get_page(client, "/tasks/" + quote("联202302-002"))
    text = html.unescape(page)
    # the voided draw, its reason, who voided it and when (Beijing time)
    voided = draw_entries(season, "联202302-002-D1")["DrawVoided"][0]
    assert "已作废" in text and VOID_REASON in text
    assert "作废人：县纪委监委派驻纪检监察组" in text
    assert voided["logged_at"] == "2023-02-10T02:00:00.000000Z"
    assert "2023-02-10 10:00（北京时间）" in text  # UTC+8
    assert "替代已作废的抽签" in text
    people = inspector_names(season)
    firms = enterprise_names(season)
    for draw_id in ("联202302-002-D1", "联202302-002-D2"):
        start = page.index(f'id="draw-{quote(draw_id, safe="")}"')
        end = page.find('<section class="draw', start)
        parsed = tables(page[start:end if end > 0 else len(page)])
        entries = draw_entries(season, draw_id)
        scheduled = entries["DrawScheduled"][0]["data"]
        performed = entries["DrawPerformed"][0]["data"]
        reveals = {e["data"]["party"]: e["data"]["secret"] for e in entries["DrawRevealed"]}
        checkpoint = performed["checkpoint"]
        seed = seed_bytes("enterprises", draw_id, checkpoint["size"], checkpoint["root"],
                          reveals).decode()
        assert seed in text
        assert performed["seed"] in text
        # per-stratum size, ratio and count
        sizes = {s["stratum"]: (len(s["candidates"]), s["ratio"]) for s in scheduled["strata"]}
        rows = [(s["stratum"], str(sizes[s["stratum"]][0]),
                 f"{float(sizes[s['stratum']][1]) * 100:g}%", str(s["count"]))
                for s in performed["selection"]]
        assert any([tuple(r) for r in t[1:]] == rows for t in parsed.tables), rows
        # selected enterprises, their teams by name and department, links to the cases
        for team in performed["teams"]:
            usc = team["enterprise"]
            row_table = next(t for t in parsed.tables if any(usc in r for r in t))
            row = next(r for r in row_table if usc in r)
            assert firms[usc] in row
            for member in team["inspectors"]:
                name, department = people[member]
                assert f"{name}{department}" in row[4]
            assert "/cases/" + quote(f"{draw_id}:{usc}", safe="") in page
        # the verify box quotes the real vkey and genesis hash
        assert shlex.join(["spotcheck-verify", "draw", "spotcheck-bundle.tar.gz", draw_id,
                           "--vkey", season.vkey]) in text
    assert shlex.join(["spotcheck-verify", "bundle", "spotcheck-bundle.tar.gz", "--vkey",
                       season.vkey, "--genesis-hash", season.genesis_hash]) in text
    assert "如何验证本次抽签" in text


def test_the_quoted_verify_commands_run(client: TestClient, season: Season, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from tools.verify.cli import main as verify

    text = html.unescape(get_page(client, "/tasks/" + quote("联202301-001")))
    response = client.get("/bundle.tar.gz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    assert int(response.headers["x-tree-size"]) == season.size
    bundle = tmp_path / "spotcheck-bundle.tar.gz"
    bundle.write_bytes(response.content)
    commands = re.findall(r"<code>(spotcheck-verify (?:bundle|draw) [^<]+)</code>", text)
    assert len(commands) == 2, commands
    for command in sorted(commands, key=lambda c: "draw" not in c):  # the draw first
        argv = shlex.split(command)[1:]
        argv[argv.index("spotcheck-bundle.tar.gz")] = str(bundle)
        code = verify(argv)
        assert code == 0, f"{command}\n{capsys.readouterr().out}"


def test_unknown_task_and_case_are_404_pages(client: TestClient) -> None:
    for path in ("/tasks/" + quote("联209901-001"), "/cases/" + quote("nope:91130821")):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "未找到" in response.text


def _private_values(entries: list[dict[str, Any]]) -> set[str]:
    """What a public case page must never show (C6): texts, evidence, reasons, key ids, ..."""
    private: set[str] = set()
    for entry in entries:
        data = entry["data"]
        command = entry.get("command") or {}
        if command:
            private.add(command["key"])
        for name in ("text", "summary", "reason", "decision", "basis", "person", "order"):
            if isinstance(data.get(name), str):
                private.add(data[name])
        private.update(data.get("evidence", []))
    return private


def test_case_pages_show_the_public_record_with_proofs_and_nothing_private(
        client: TestClient, season: Season) -> None:
    by_case: dict[str, list[dict[str, Any]]] = {}
    for entry in season.entries:
        if entry["stream"].startswith("case/"):
            by_case.setdefault(entry["stream"][5:], []).append(entry)
    keys = {e["data"]["key"] for e in season.entries if e["type"] == "KeyRegistered"}
    conflicts = {e["data"]["reason"] for e in season.entries if e["type"] == "ConflictDeclared"}
    assert len(by_case) > 40
    for case_id, entries in by_case.items():
        page = get_page(client, "/cases/" + quote(case_id, safe=""))
        text = html.unescape(page)
        indexes = [int(i) for i in re.findall(r"/v1/log/entries\?start=(\d+)&amp;end=\d+", page)]
        assert indexes == [e["index"] for e in entries], case_id
        for entry in entries:
            i = entry["index"]
            assert f"/v1/log/proof/inclusion?index={i}&amp;size={season.size}" in page
        leaked = [v for v in _private_values(entries) | keys | conflicts if v and v in text]
        assert leaked == [], (case_id, leaked)
    # the 重大 case: its findings and enforcement are listed, its hazard level is not
    major = season.roles["major"]
    assert major is not None
    text = html.unescape(get_page(client, "/cases/" + quote(major, safe="")))
    assert "行政处罚" in text and "结案" in text and "重大" not in text


def test_inclusion_proof_links_verify_against_the_checkpoint(client: TestClient,
                                                             season: Season) -> None:
    case_id = season.roles["referral"]
    assert case_id is not None
    page = get_page(client, "/cases/" + quote(case_id, safe=""))
    checkpoint = verify_checkpoint(client.get("/v1/log/checkpoint").text, season.vkey)
    assert checkpoint.size == season.size
    links = re.findall(r'href="(/v1/log/proof/inclusion\?[^"]+)"', page)
    assert links
    for link in links:
        proof = client.get(html.unescape(link)).json()
        leaf = leaf_hash(season.raw[proof["index"]])
        verify_inclusion(proof["index"], proof["size"], leaf,
                         [base64.b64decode(h) for h in proof["hashes"]], checkpoint.root)


def test_results_table_search_and_downloads_equal_the_register(client: TestClient,
                                                               season: Season) -> None:
    expected = expected_rows(season)
    assert len(expected) > 100
    page = html.unescape(get_page(client, "/results"))
    for row in expected[:20]:
        assert row[4] in page and row[5] in page
    # CSV: UTF-8 with a BOM, the columns, exactly the register's rows
    response = client.get("/results.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    read = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert read[0] == list(COLUMNS)
    assert read[1:] == expected
    assert COLUMNS[4:8] == ("企业名称", "统一社会信用代码", "检查事项", "检查结果")
    # XLSX: the same rows
    response = client.get("/results.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    sheet = book.active
    assert sheet is not None
    cells = [[("" if c is None else str(c)) for c in row]
             for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == list(COLUMNS)
    assert cells[1:] == expected
    # the search box filters on the server, and the downloads follow it
    firm, usc = expected[7][4], expected[7][5]
    page = html.unescape(get_page(client, "/results?q=" + quote(firm)))
    assert firm in page
    others = {r[4] for r in expected if r[5] != usc}
    assert not any(f"<th scope=\"rowgroup\" rowspan=\"{n}\">{o}</th>" in page
                   for o in others for n in range(1, 6))
    read = list(csv.reader(io.StringIO(
        client.get("/results.csv?q=" + quote(usc)).content.decode("utf-8-sig"), newline="")))
    assert read[1:] == [r for r in expected if r[5] == usc]
    page = get_page(client, "/results?q=" + quote("没有这样的企业"))
    assert "没有符合条件的结果" in page
    assert client.get("/results?q=" + "x" * 201).status_code == 422


def test_log_page_shows_the_checkpoint_and_how_to_verify(client: TestClient,
                                                         season: Season) -> None:
    text = html.unescape(get_page(client, "/log"))
    checkpoint = client.get("/v1/log/checkpoint").text
    assert checkpoint in text
    assert season.vkey in text and season.genesis_hash in text
    assert f"树大小（记录条数） {season.size}" in " ".join(text.split()) or str(season.size) in text
    assert shlex.join(["spotcheck-verify", "online", "http://testserver", "--vkey",
                       season.vkey]) in text
    assert f"/v1/log/entries?start=0&end={min(season.size, 100)}" in text
    assert f"/v1/log/proof/inclusion?index={season.size - 1}&size={season.size}" in text
    assert f"/v1/log/proof/consistency?from=1&to={season.size}" in text


def test_pages_on_an_empty_log(tmp_path: Path) -> None:
    env = prepare_store(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    app = create_app(ApiSettings.from_env({**env, "SPOTCHECK_TICK_SECONDS": "0"}))
    with TestClient(app) as empty:
        assert "还没有导入抽查计划" in get_page(empty, "/")
        assert "没有符合条件的结果" in get_page(empty, "/results")
        get_page(empty, "/log")
        get_page(empty, "/discipline/login")
        body = empty.get("/results.csv").content.decode("utf-8-sig")
        assert body == ",".join(COLUMNS) + "\r\n"


# ---------------------------------------------------------------------------
# The discipline login and dashboard


def _challenge(client: TestClient) -> str:
    page = get_page(client, "/discipline/login")
    found = re.search(r'name="challenge" value="([0-9a-f]{32})"', page)
    assert found is not None
    return found.group(1)


def _sign(pair: KeyPair, challenge: str) -> str:
    return base64.b64encode(pair.sign(login_message(challenge))).decode()


def _post(client: TestClient, challenge: str, key: str, signature: str) -> Any:
    return client.post("/discipline/login", data={"challenge": challenge, "key": key,
                                                   "signature": signature},
                       follow_redirects=False)


def test_dashboard_needs_a_login(client: TestClient) -> None:
    client.cookies.clear()
    response = client.get("/discipline", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/discipline/login"
    client.cookies.set(COOKIE, "e30.AAAA", path="/discipline")
    assert client.get("/discipline", follow_redirects=False).status_code == 303
    client.cookies.clear()


def test_login_refuses_wrong_signature_other_roles_unknown_keys_and_replays(
        client: TestClient, season: Season) -> None:
    client.cookies.clear()
    discipline = load_key_file(season.keys / "discipline.key")
    planner = load_key_file(season.keys / "planner.key")
    stranger = KeyPair.from_seed("stranger", b"\x07" * 32)
    # a signature over another challenge
    challenge, other = _challenge(client), _challenge(client)
    response = _post(client, challenge, discipline.key_id, _sign(discipline, other))
    assert response.status_code == 403 and "签名验证失败" in response.text
    assert COOKIE not in response.headers.get("set-cookie", "")
    # a registered key without the discipline role
    challenge = _challenge(client)
    response = _post(client, challenge, planner.key_id, _sign(planner, challenge))
    assert response.status_code == 403 and "没有 discipline" in response.text
    # a key the log does not know, and a malformed signature
    challenge = _challenge(client)
    response = _post(client, challenge, stranger.key_id, _sign(stranger, challenge))
    assert response.status_code == 403 and "未在日志中登记" in response.text
    challenge = _challenge(client)
    assert _post(client, challenge, discipline.key_id, "not base64!").status_code == 400
    # a challenge the server never issued
    response = _post(client, "0" * 32, discipline.key_id, _sign(discipline, "0" * 32))
    assert response.status_code == 403 and "挑战码无效" in response.text
    # the right one is accepted ...
    challenge = _challenge(client)
    signature = _sign(discipline, challenge)
    response = _post(client, challenge, discipline.key_id, signature)
    assert response.status_code == 303 and response.headers["location"] == "/discipline"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Path=/discipline" in cookie
    # ... once: the same challenge and signature replayed are refused
    client.cookies.clear()
    response = _post(client, challenge, discipline.key_id, signature)
    assert response.status_code == 403 and "挑战码无效" in response.text
    assert COOKIE not in response.headers.get("set-cookie", "")


def test_the_documented_one_line_command_signs_a_login(client: TestClient,
                                                       season: Season) -> None:
    client.cookies.clear()
    challenge = _challenge(client)
    page = html.unescape(get_page(client, "/discipline/login"))
    shown = SIGN_COMMAND.format(keyfile="var/keys/discipline.key", challenge="")
    assert shown.split("var/keys")[0] in page
    argv = shlex.split(SIGN_COMMAND.format(keyfile=season.keys / "discipline.key",
                                           challenge=challenge))
    assert argv[0] == "python"
    out = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT_DIR, capture_output=True,
                         text=True, check=True, timeout=60).stdout.split()
    key_id, signature = out
    response = _post(client, challenge, key_id, signature)
    assert response.status_code == 303
    assert client.get("/discipline", follow_redirects=False).status_code == 200
    client.cookies.clear()


def _login(client: TestClient, season: Season) -> None:
    discipline = load_key_file(season.keys / "discipline.key")
    challenge = _challenge(client)
    response = _post(client, challenge, discipline.key_id, _sign(discipline, challenge))
    assert response.status_code == 303


@pytest.mark.parametrize("plan_no", ["联202301", "联202302", "联202303"])
def test_dashboard_shows_the_compliance_report_with_entry_links_and_charts(
        client: TestClient, season: Season, plan_no: str) -> None:
    client.cookies.clear()
    _login(client, season)
    response = client.get("/discipline?plan=" + quote(plan_no))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert "<script" not in page
    report = REPORT_KINDS["compliance"](season.raw, {"plan_no": plan_no,
                                                     "tree_size": season.size})
    assert report["findings"], plan_no
    for finding in report["findings"]:
        for index in finding["entries"]:
            assert f'href="/v1/log/entries?start={index}&amp;end={index + 1}"' in page
        if finding.get("case_id"):
            assert "/cases/" + quote(finding["case_id"], safe="") in page
    assert f"发现汇总（共 {len(report['findings'])} 项）" in page
    assert page.count('<svg class="chart"') == 5
    for title in ("各风险等级的抽取比例与计划比例", "被多次抽中的企业", "执法人员任务量",
                  "多次同组的执法人员", "各部门结果公示及时性"):
        assert title in page
    text = html.unescape(page)
    if plan_no == "联202302":
        assert "抽签作废" in text and VOID_REASON in text and "县纪委监委派驻纪检监察组" in text
    published = [e["data"]["report_id"] for e in season.entries
                 if e["type"] == "ReportPublished" and e["data"]["plan_no"] == plan_no]
    for report_id in published:
        assert shlex.join(["spotcheck-verify", "report", "spotcheck-bundle.tar.gz", report_id,
                           "--vkey", season.vkey]) in text
    assert client.get("/discipline?plan=" + quote("联209901")).status_code == 404
    response = client.post("/discipline/logout", follow_redirects=False)
    assert response.status_code == 303
    client.cookies.clear()


def test_challenges_expire_and_sessions_are_signed() -> None:
    now = [1000.0]
    store = ChallengeStore(ttl=60, clock=lambda: now[0], capacity=3)
    first = store.issue()
    now[0] += 61
    assert not store.take(first)  # expired
    issued = [store.issue() for _ in range(4)]
    assert not store.take(issued[0])  # dropped: at most 3 outstanding
    assert store.take(issued[3]) and not store.take(issued[3])  # single use
    clock = [5000.0]
    signer = SessionSigner(b"k" * 32, ttl=10, clock=lambda: clock[0])
    cookie = signer.issue("0123456789abcdef")
    assert signer.read(cookie) == "0123456789abcdef"
    payload, mac = cookie.split(".")
    forged = base64.urlsafe_b64encode(b'{"exp":99999,"key":"fedcba9876543210"}').decode()
    assert signer.read(f"{forged.rstrip('=')}.{mac}") is None
    assert SessionSigner(b"x" * 32, clock=lambda: clock[0]).read(cookie) is None
    assert signer.read(payload) is None and signer.read("") is None
    clock[0] += 11
    assert signer.read(cookie) is None  # expired
