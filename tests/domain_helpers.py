"""Test support for the domain rules: deterministic keys and an in-memory store (DESIGN.md B1).

``Harness`` does what the real store does, without a database: it signs
commands, runs ``decide`` at a controllable clock, turns each ``Pending`` into
an entry (``index = log.size``, ``seq = log.stream_seq(stream) + 1``,
``logged_at = format_time(now)``), checks and applies it to ``LogState`` (Part
A) and ``DomainState`` (Part C), and keeps the Merkle tree (``size``,
``root``, ``root_at``). ``Season`` builds a small 承德县 registry, a plan and
draws step by step, so that each test stops where it needs to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ledger import merkle
from ledger.checkpoint import NoteSigner
from ledger.commands import sign_command
from ledger.domain.decide import Pending, decide, draft_schedule, due_system_entries
from ledger.domain.plans import parse_plan_rows, plan_entries
from ledger.domain.state import BEIJING, DomainState
from ledger.domain.uscc import make_uscc
from ledger.entries import entry_bytes, leaf_hash, make_entry
from ledger.keys import KeyPair
from ledger.replay import LogState
from ledger.times import format_time

ORIGIN = "chengde.example/spotcheck-ledger"


def seed_of(label: str) -> bytes:
    """32 deterministic bytes for ``label`` (keys and draw secrets of the tests)."""
    return hashlib.sha256(f"spotcheck-ledger tests: {label}".encode()).digest()


def key_pair(name: str) -> KeyPair:
    """A deterministic Ed25519 key named ``name`` (KeyPair.from_seed)."""
    return KeyPair.from_seed(name, seed_of(f"key {name}"))


def beijing(day: str, hour: int = 9) -> datetime:
    """``hour`` o'clock Beijing time on ``day`` (YYYY-MM-DD), as an aware UTC datetime."""
    local = datetime.combine(date.fromisoformat(day), time(hour), tzinfo=BEIJING)
    return local.astimezone(UTC)


def secret_of(draw_id: str, party: str, salt: str = "") -> str:
    """The 32-byte secret (hex) a party reveals for a draw."""
    return seed_of(f"secret {draw_id} {party} {salt}").hex()


def commitment_of(secret_hex: str) -> str:
    """SHA-256 of the secret bytes, lowercase hex (A11 DrawCommitted)."""
    return hashlib.sha256(bytes.fromhex(secret_hex)).hexdigest()


class Harness:
    """An in-memory log: LogState + DomainState + Merkle tree, as the store keeps them."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or beijing("2023-03-01", 8)
        self.log = LogState()
        self.state = DomainState()
        self.tree = merkle.MemoryHashStore()
        self.entries: list[bytes] = []
        self.root_key = key_pair("root")
        self.log_signer = NoteSigner.from_seed(seed_of("log key"), ORIGIN)
        self._nonce = 0
        self.append([
            Pending(
                "ledger",
                "LedgerGenesis",
                {
                    "origin": ORIGIN,
                    "log_vkey": self.log_signer.vkey,
                    "root_keys": [
                        {
                            "key": self.root_key.key_id,
                            "public_key": self.root_key.public_key_b64,
                            "holder": {"name": "县应急管理局 局长", "department": None,
                                       "inspector": None},
                        }
                    ],
                    "created_at": format_time(self.now),
                },
                None,
            )
        ])

    # -- clock -----------------------------------------------------------------
    def at(self, day: str, hour: int = 9) -> None:
        """Move the clock forward to ``hour`` o'clock Beijing time on ``day``."""
        moment = beijing(day, hour)
        if moment < self.now:
            raise AssertionError(f"the clock never goes back: {moment} < {self.now}")
        self.now = moment

    def later(self, seconds: int = 1) -> None:
        self.now += timedelta(seconds=seconds)

    # -- the log ---------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.log.size

    @property
    def root(self) -> bytes:
        return self.log.root()

    def root_at(self, size: int) -> bytes:
        """The Merkle root of the first ``size`` entries (RFC 9162)."""
        return merkle.tree_hash(size, self.tree)

    def sign(self, pair: KeyPair, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """A signed command (A3) issued now, with a fresh deterministic nonce."""
        self._nonce += 1
        return sign_command(pair, action, args, issued_at=self.now,
                            nonce=self._nonce.to_bytes(16, "big"))

    def run(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """decide + append; returns the appended entries (command's first)."""
        pendings = decide(self.state, self.log, command, now=self.now, root_at=self.root_at)
        return self.append(pendings)

    def submit(self, pair: KeyPair, action: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Sign, decide and append; the clock then moves on by one second."""
        entries = self.run(self.sign(pair, action, args))
        self.later()
        return entries

    def tick(self) -> list[dict[str, Any]]:
        """The scheduler: append the overdue system entries owed now."""
        return self.append(due_system_entries(self.state, self.log, now=self.now))

    def append(self, pendings: Sequence[Pending]) -> list[dict[str, Any]]:
        """Turn pendings into entries and apply them as the store does."""
        out = []
        for i, pending in enumerate(pendings):
            entry = make_entry(
                index=self.log.size,
                logged_at=format_time(self.now),
                stream=pending.stream,
                seq=self.log.stream_seq(pending.stream) + 1,
                type=pending.type,
                data=pending.data,
                command=pending.command,
            )
            data = entry_bytes(entry)
            try:
                self.log.apply(data, index=entry["index"])
            except Exception as exc:
                if i:
                    raise AssertionError(f"derived {pending.type} broke Part A: {exc}") from exc
                raise
            self.state.apply(entry)
            self.tree.append(leaf_hash(data))
            self.entries.append(data)
            out.append(entry)
        return out


# ---------------------------------------------------------------------------
# A small season in 承德县 (synthetic registry, the seed's plan table shape)

DEPARTMENTS = {
    "AJJ": "县应急管理局",
    "SCJ": "县市场监管局",
    "TJJ": "县统计局",
    "GAJ": "县公安局",
}

# (sector, grade, status) of 20 synthetic enterprises; codes built with make_uscc.
_FIRMS = (
    [("工贸", "A", "active")] * 6
    + [("工贸", "B", "active")] * 3
    + [("工贸", "C", "active")] * 2
    + [("工贸", "A", "closed")]
    + [("危化", "A", "active")] * 3
    + [("危化", "D", "active")]
    + [("加油站", "B", "active")] * 2
    + [("非煤矿山", "C", "active")] * 2
)


def enterprise_rows() -> list[dict[str, str]]:
    """Normalised enterprise rows (监管主体名录库), valid per GB 32100-2015."""
    rows = []
    for n, (sector, grade, status) in enumerate(_FIRMS, start=1):
        rows.append({
            "usc": make_uscc(f"91130821MA{n:07d}"),
            "name": f"承德样例企业{n:02d}有限公司",
            "sector": sector,
            "town": "下板城镇" if n % 2 else "甲山镇",
            "grade": grade,
            "status": status,
        })
    return rows


def inspector_rows() -> list[dict[str, object]]:
    """Normalised inspector rows (执法人员名录库); AJJ-4 is not active."""
    rows: list[dict[str, object]] = []
    for dep, count in (("AJJ", 4), ("SCJ", 3), ("TJJ", 2)):
        for k in range(1, count + 1):
            rows.append({
                "id": f"{dep}-{k}",
                "name": f"检查员{dep}{k}",
                "cert_no": f"13082101{dep}{k:04d}",
                "department": dep,
                "active": not (dep == "AJJ" and k == 4),
            })
    return rows


PLAN_TABLE = [
    {
        "抽查计划编号": "联202301", "抽查计划名称": "2023年承德县应急管理局联合随机抽查",
        "抽查任务编号": "001号", "抽查任务名称": "2023年承德县工贸行业部门联合抽查",
        "抽查类型": "定向",
        "抽查比例": "结合企业信用风险分级分类开展,不同风险等级确定不同抽查比例",
        "抽查事项": "工贸企业相关检查事项", "抽查对象范围": "全县范围内工贸企业",
        "发起部门": "县应急管理局", "联合部门": "县市场监管局", "抽查时间": "2023年2月至11月",
    },
    {
        "抽查计划编号": "联202301", "抽查计划名称": "2023年承德县应急管理局联合随机抽查",
        "抽查任务编号": "003号", "抽查任务名称": "2023年承德县第二十次联合抽查",
        "抽查类型": "", "抽查比例": "20%",
        "抽查事项": "安全检查事项",
        "抽查对象范围": "全县范围内非煤矿山、危险化学品、工贸企业",
        "发起部门": "县应急管理局", "联合部门": "县统计局", "抽查时间": "2023年9月至11月",
    },
]
GRADE_RATIOS = {"A": "0.2", "B": "0.5", "C": "0.5", "D": "1"}
DIRECTED = "联202301-001"
BLANK = "联202301-003"


def plan_data() -> dict[str, Any]:
    """The ``PlanImported`` data of the season, made by ``ledger.domain.plans``."""
    tasks = parse_plan_rows(PLAN_TABLE, departments=DEPARTMENTS)
    (plan,) = plan_entries(tasks, grade_ratios=GRADE_RATIOS)
    return plan


# 2023 holidays and 调休 make-up working days (国务院办公厅 2022-12-08 notice; DOMAIN.md §6).
CALENDAR_2023 = {
    "year": 2023,
    "holidays": [
        "2023-01-02",
        "2023-01-21", "2023-01-22", "2023-01-23", "2023-01-24", "2023-01-25", "2023-01-26",
        "2023-01-27",
        "2023-04-05",
        "2023-04-29", "2023-04-30", "2023-05-01", "2023-05-02", "2023-05-03",
        "2023-06-22", "2023-06-23", "2023-06-24",
        "2023-09-29", "2023-09-30", "2023-10-01", "2023-10-02", "2023-10-03", "2023-10-04",
        "2023-10-05", "2023-10-06",
    ],
    "workdays": [
        "2023-01-28", "2023-01-29", "2023-04-23", "2023-05-06", "2023-06-25", "2023-10-07",
        "2023-10-08",
    ],
    "source": "国务院办公厅关于2023年部分节假日安排的通知",
}


class Season:
    """The keys and steps of the test season; each step appends through the harness."""

    def __init__(self, harness: Harness | None = None) -> None:
        self.h = harness or Harness()
        self.admin = key_pair("admin")
        self.planner = key_pair("planner")
        self.publisher = key_pair("publisher")
        self.discipline = key_pair("discipline")
        self.receiver = key_pair("receiver 县公安局")
        self.other_receiver = key_pair("receiver 县统计局")
        self.parties = {name: key_pair(f"party {name}") for name in ("AJJ", "SCJ", "TJJ",
                                                                      "observer")}
        self.inspectors = {str(row["id"]): key_pair(f"inspector {row['id']}")
                           for row in inspector_rows()}
        self.firms = [row["usc"] for row in enterprise_rows()]

    # -- setup -----------------------------------------------------------------
    def register(self, pair: KeyPair, roles: list[str], *, name: str,
                 department: str | None = None, inspector: str | None = None) -> None:
        self.h.submit(self.admin, "keys.register", {
            "key": pair.key_id,
            "public_key": pair.public_key_b64,
            "holder": {"name": name, "department": department, "inspector": inspector},
            "roles": roles,
            "valid_from": format_time(self.h.now),
        })

    def keys(self) -> Season:
        h = self.h
        h.submit(h.root_key, "keys.register", {
            "key": self.admin.key_id, "public_key": self.admin.public_key_b64,
            "holder": {"name": "系统管理员", "department": None, "inspector": None},
            "roles": ["admin"], "valid_from": format_time(h.now),
        })
        self.register(self.planner, ["planner"], name="计划员", department="AJJ")
        self.register(self.publisher, ["publisher"], name="公示员", department="AJJ")
        self.register(self.discipline, ["discipline"], name="派驻纪检监察组")
        self.register(self.receiver, ["receiver"], name="县公安局", department="GAJ")
        self.register(self.other_receiver, ["receiver"], name="县统计局", department="TJJ")
        for name, pair in self.parties.items():
            self.register(pair, ["draw_party"], name=f"draw party {name}",
                          department=None if name == "observer" else name)
        for ident, pair in self.inspectors.items():
            self.register(pair, ["inspector"], name=ident, department=ident.split("-")[0],
                          inspector=ident)
        return self

    def registry(self) -> Season:
        h = self.h
        h.submit(self.admin, "calendar.set", CALENDAR_2023)
        for dep, name in DEPARTMENTS.items():
            h.submit(self.planner, "departments.register", {"department": dep, "name": name})
        h.submit(self.planner, "enterprises.import", {"rows": enterprise_rows()})
        h.submit(self.planner, "inspectors.import", {"rows": inspector_rows()})
        # AJJ-2 declares a conflict with the first 工贸 A enterprise (回避).
        h.submit(self.inspectors["AJJ-2"], "conflicts.declare", {
            "inspector": "AJJ-2", "enterprise": self.firms[0], "reason": "近亲属在该企业担任负责人",
        })
        h.submit(self.planner, "plans.import", plan_data())
        return self

    def setup(self) -> Season:
        return self.keys().registry()

    # -- draws -----------------------------------------------------------------
    def party_list(self, names: Sequence[str]) -> list[dict[str, str]]:
        return [{"party": n, "key": self.parties[n].key_id} for n in names]

    def schedule(self, draw_id: str, task_id: str, parties: Sequence[str], **extra: Any
                 ) -> dict[str, Any]:
        args = draft_schedule(self.h.state, draw_id=draw_id, task_id=task_id,
                              parties=self.party_list(parties), **extra)
        self.h.submit(self.planner, "draws.schedule", args)
        return args

    def commit(self, draw_id: str, party: str, salt: str = "") -> None:
        self.h.submit(self.parties[party], "draws.commit", {
            "draw_id": draw_id, "party": party,
            "commitment": commitment_of(secret_of(draw_id, party, salt)),
        })

    def reveal(self, draw_id: str, party: str, salt: str = "") -> list[dict[str, Any]]:
        return self.h.submit(self.parties[party], "draws.reveal", {
            "draw_id": draw_id, "party": party, "secret": secret_of(draw_id, party, salt),
        })

    def draw(self, draw_id: str, task_id: str, parties: Sequence[str], **extra: Any
             ) -> list[dict[str, Any]]:
        """Schedule, commit and reveal; returns the entries of the completing reveal."""
        self.schedule(draw_id, task_id, parties, **extra)
        for party in parties:
            self.commit(draw_id, party)
        entries: list[dict[str, Any]] = []
        for party in parties:
            entries = self.reveal(draw_id, party)
        return entries

    def case_ids(self, draw_id: str) -> list[str]:
        return list(self.h.state.draws[draw_id].case_ids)

    def team(self, case_id: str) -> list[str]:
        return list(self.h.state.cases[case_id].team)

    def member(self, case_id: str, k: int = 0) -> KeyPair:
        """The key of the k-th inspector of a case's current team."""
        return self.inspectors[self.team(case_id)[k]]
