"""Projection rebuild rate (投影重建) vs the bare read of the same entries (DESIGN.md B4, C6, C7).

Usage: ``python bench/projections.py [--enterprises 32000] [--backends sqlite]
[--batch 500] [--keep FILE]``

1. Generation (not timed against anything): a season at county scale written
   through the real write path, ``Ledger.submit_many`` in batches of
   ``--batch`` signed commands (A3 checks with Ed25519 verification, domain
   decisions, tree hashes and a signed checkpoint per batch): keys, the 2023
   calendar, departments, ``--enterprises`` enterprises and 300 inspectors,
   the seed's three plans, one draw per task (commit-reveal; the reveal that
   completes a draw logs ``DrawPerformed`` and one ``CaseOpened`` per
   selected enterprise), then for every case: inspection, three findings, the
   team's integrity declarations, publication and close. 32,000 enterprises
   give 203,452 entries (21,568 cases).
2. In the same run, on the same store:
   - bare read: ``Backend.read_entries`` over every entry (bytes only), in
     this process: the baseline;
   - read + parse: the same plus ``json.loads`` of each entry
     (``read_parse_per_s``), and plus the runner's own parser
     (``read_parse_runner_per_s``: ``orjson`` when installed, ``parser``);
   - rebuild: ``ProjectionRunner.rebuild()`` of all six projections together,
     what ``spotcheck projections rebuild`` does: the reset of every state is
     committed first, then the six folds are split over ``os.cpu_count()``
     processes (``rebuild_workers``; balanced by ``projection_runner.COSTS``:
     on 2 cores this process folds cases + fairness while one spawned worker
     folds register, workload, progress and compliance). Each process reads
     the entries through its own connection with ``Backend.read_entries``,
     parses (``orjson``) only the entries of types its folds handle and
     encodes its states (``orjson``, RFC 8785 bytes); this process then
     writes all six states with their positions in one transaction. The
     worker's start-up (a fresh interpreter) is inside the timed rebuild.
   - then each projection rebuilt alone (one process: nothing to split).
   The best of ``--repeat`` runs of each is reported; the target is the
   all-six rebuild at >= 30% of the bare read rate. Other load on the machine
   weighs more on the rebuild (two processes) than on the bare read (one).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from bench.common import pg_available, record, store_url
from ledger.checkpoint import NoteSigner
from ledger.commands import sign_command
from ledger.domain.decide import draft_schedule
from ledger.domain.plans import parse_plan_rows, plan_entries
from ledger.domain.state import BEIJING
from ledger.domain.uscc import make_uscc
from ledger.errors import LedgerError
from ledger.keys import KeyPair
from ledger.store import projection_runner
from ledger.store.backend import Backend
from ledger.store.ledger import Ledger
from ledger.store.projection_runner import ProjectionRunner, parse_entry
from ledger.times import format_time
from projections.registry import PROJECTIONS

ORIGIN = "bench.example/spotcheck-ledger"
SEED_PLAN = Path(__file__).parent.parent / "tests" / "fixtures" / "seed_plan.csv"
DEPARTMENTS = {"AJJ": "县应急管理局", "TJJ": "县统计局", "SCJ": "县市场监管局",
               "SWJ": "县商务局", "QXJ": "县气象局"}
INSPECTORS = {"AJJ": 120, "TJJ": 40, "SCJ": 60, "SWJ": 40, "QXJ": 40}
GRADE_RATIOS = {"A": "0.2", "B": "0.5", "C": "1", "D": "1"}
ITEMS = ["安全生产责任制", "特种作业人员持证上岗", "消防设施"]
# (sector, share in %) and (grade, share in %) of the synthetic registry
SECTORS = [("工贸", 50), ("危化", 10), ("加油站", 10), ("非煤矿山", 15), ("安全服务机构", 15)]
GRADES = [("A", 60), ("B", 25), ("C", 10), ("D", 5)]
TOWNS = ["下板城镇", "甲山镇", "六沟镇", "三沟镇", "头沟镇", "高寺台镇", "鞍匠镇", "刘杖子乡"]


def pair(name: str) -> KeyPair:
    return KeyPair.from_seed(name, hashlib.sha256(f"bench key {name}".encode()).digest())


def beijing(day: str, hour: int = 9) -> datetime:
    local = datetime.combine(date.fromisoformat(day), clock_time(hour), tzinfo=BEIJING)
    return local.astimezone(UTC)


def _pick(table: list[tuple[str, int]], n: int) -> str:
    bucket = n % 100
    for value, share in table:
        if bucket < share:
            return value
        bucket -= share
    return table[-1][0]


class Season:
    """Writes the bench season through ``Ledger.submit_many`` on a settable clock."""

    def __init__(self, url: str, batch: int) -> None:
        self.now = beijing("2023-09-01", 8)
        self.ledger = Ledger(Backend(url), signer=NoteSigner.from_seed(
            hashlib.sha256(b"bench log key").digest(), ORIGIN), clock=lambda: self.now)
        self.batch = batch
        self.root = pair("root")
        self.admin = pair("admin")
        self.planner = pair("planner")
        self.publisher = pair("publisher")
        self.parties = {d: pair(f"party {d}") for d in (*DEPARTMENTS, "observer")}
        self.inspectors = {f"{d}-{k}": pair(f"inspector {d}-{k}")
                           for d, count in INSPECTORS.items() for k in range(1, count + 1)}

    def at(self, day: str, hour: int = 9) -> None:
        self.now = max(self.now, beijing(day, hour))

    def sign(self, key: KeyPair, action: str, args: dict[str, Any]) -> dict[str, Any]:
        return sign_command(key, action, args, issued_at=self.now)

    def submit(self, commands: list[dict[str, Any]]) -> None:
        for start in range(0, len(commands), self.batch):
            for result in self.ledger.submit_many(commands[start:start + self.batch]):
                if isinstance(result, LedgerError):
                    raise result

    def register(self, key: KeyPair, roles: list[str], name: str, department: str | None,
                 inspector: str | None = None, signer: KeyPair | None = None
                 ) -> dict[str, Any]:
        return self.sign(signer or self.admin, "keys.register", {
            "key": key.key_id, "public_key": key.public_key_b64,
            "holder": {"name": name, "department": department, "inspector": inspector},
            "roles": roles, "valid_from": format_time(self.now)})

    def setup(self, enterprises: int) -> None:
        self.ledger.genesis(origin=ORIGIN, root_keys=[{
            "key": self.root.key_id, "public_key": self.root.public_key_b64,
            "holder": {"name": "县应急管理局 局长", "department": None, "inspector": None}}])
        self.submit([self.register(self.admin, ["admin"], "系统管理员", None, signer=self.root)])
        commands = [self.register(self.planner, ["planner"], "计划员", "AJJ"),
                    self.register(self.publisher, ["publisher"], "公示员", "AJJ")]
        commands += [self.register(k, ["draw_party"], f"party {d}",
                                   None if d == "observer" else d)
                     for d, k in self.parties.items()]
        commands += [self.register(k, ["inspector"], i, i.split("-")[0], i)
                     for i, k in self.inspectors.items()]
        from tests.domain_helpers import CALENDAR_2023

        commands.append(self.sign(self.admin, "calendar.set", CALENDAR_2023))
        commands += [self.sign(self.planner, "departments.register",
                               {"department": d, "name": n}) for d, n in DEPARTMENTS.items()]
        self.submit(commands)
        rows = [{"usc": make_uscc(f"91130821MA{n:07d}"), "name": f"承德县基准企业{n:06d}有限公司",
                 "sector": _pick(SECTORS, n * 7), "town": TOWNS[n % len(TOWNS)],
                 "grade": _pick(GRADES, n * 13), "status": "active"}
                for n in range(1, enterprises + 1)]
        self.submit([self.sign(self.planner, "enterprises.import", {"rows": rows[i:i + 500]})
                     for i in range(0, len(rows), 500)])
        people = [{"id": i, "name": f"执法员{i}", "cert_no": f"13082103{i}",
                   "department": i.split("-")[0], "active": True} for i in self.inspectors]
        self.submit([self.sign(self.planner, "inspectors.import", {"rows": people})])
        with SEED_PLAN.open(encoding="utf-8", newline="") as handle:
            tasks = parse_plan_rows(list(csv.DictReader(handle)), departments=DEPARTMENTS)
        self.submit([self.sign(self.planner, "plans.import", plan)
                     for plan in plan_entries(tasks, grade_ratios=GRADE_RATIOS)])

    def draw(self, draw_id: str, task_id: str) -> list[str]:
        task = self.ledger.domain.tasks[task_id]
        names = [task.initiator or "AJJ", *task.joint_departments, "observer"]
        parties = [{"party": n, "key": self.parties[n].key_id} for n in names]
        args = draft_schedule(self.ledger.domain, draw_id=draw_id, task_id=task_id,
                              parties=parties)
        self.submit([self.sign(self.planner, "draws.schedule", args)])
        secrets = {n: hashlib.sha256(f"bench {draw_id} {n}".encode()).hexdigest() for n in names}
        self.submit([self.sign(self.parties[n], "draws.commit", {
            "draw_id": draw_id, "party": n,
            "commitment": hashlib.sha256(bytes.fromhex(secrets[n])).hexdigest()})
            for n in names])
        self.submit([self.sign(self.parties[n], "draws.reveal", {
            "draw_id": draw_id, "party": n, "secret": secrets[n]}) for n in names])
        return list(self.ledger.domain.draws[draw_id].case_ids)

    def cases(self, case_ids: list[str]) -> None:
        domain = self.ledger.domain
        self.at("2023-09-06")
        commands: list[dict[str, Any]] = []
        for case_id in case_ids:
            team = list(domain.cases[case_id].team)
            lead = self.inspectors[team[0]]
            base = {"case_id": case_id}
            commands.append(self.sign(lead, "cases.record_inspection", {
                **base, "date": "2023-09-04", "inspectors": team, "items": ITEMS}))
            for k, item in enumerate(ITEMS):
                problem = k == 1 and case_id.endswith(("1", "5"))
                commands.append(self.sign(lead, "cases.record_finding", {
                    **base, "item": item,
                    "result": "发现问题经责令已改正" if problem else "未发现问题",
                    "hazard": "一般" if problem else None, "text": f"{item}：现场检查记录",
                    "evidence": [hashlib.sha256(f"{case_id}{k}".encode()).hexdigest()]
                    if problem else []}))
            for inspector in team:
                commands.append(self.sign(self.inspectors[inspector], "cases.declare_integrity", {
                    **base, "inspector": inspector, "date": "2023-09-04", "no_banquet": True,
                    "no_gift": True, "no_money": True}))
            commands.append(self.sign(self.publisher, "cases.publish", {
                **base, "date": "2023-09-05", "where": "承德县人民政府网站"}))
            commands.append(self.sign(lead, "cases.close", {**base, "date": "2023-09-06"}))
            if len(commands) >= 5000:
                self.submit(commands)
                commands = []
                self.now += timedelta(seconds=1)
        self.submit(commands)


def generate(url: str, enterprises: int, batch: int) -> tuple[int, float]:
    started = time.perf_counter()
    season = Season(url, batch)
    season.setup(enterprises)
    season.at("2023-09-01", 10)
    case_ids: list[str] = []
    for draw_id, task_id in (("D1", "联202301-001"), ("D2", "联202302-002"),
                             ("D3", "联202303-003")):
        case_ids += season.draw(draw_id, task_id)
    season.cases(case_ids)
    size = season.ledger.size
    seconds = time.perf_counter() - started
    print(f"generated {size} entries ({len(case_ids)} cases) in {seconds:.0f} s", flush=True)
    season.ledger.backend.close()
    return size, seconds


def _best(repeat: int, run: Any) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def measure(url: str, size: int, repeat: int) -> dict[str, object]:
    import json

    backend = Backend(url)

    def bare() -> None:
        count = sum(1 for _ in backend.read_entries(0))
        assert count == size

    def parsed() -> None:
        count = sum(1 for _, data in backend.read_entries(0) if json.loads(data))
        assert count == size

    def parsed_runner() -> None:
        count = sum(1 for _, data in backend.read_entries(0) if parse_entry(data))
        assert count == size

    bare()  # warm the page cache once for everyone
    bare_s = _best(repeat, bare)
    parse_s = _best(repeat, parsed)
    parse_runner_s = _best(repeat, parsed_runner)
    runner = ProjectionRunner(backend, commit_every=size + 1)
    all_s = _best(repeat, lambda: runner.rebuild())
    row: dict[str, object] = {
        "entries": size,
        "bare_read_per_s": round(size / bare_s),
        "read_parse_per_s": round(size / parse_s),
        "read_parse_runner_per_s": round(size / parse_runner_s),
        "parser": "orjson" if projection_runner._ORJSON is not None else "json",
        "rebuild_workers": runner.workers,
        "rebuild_all_per_s": round(size / all_s),
        "rebuild_all_vs_bare": round(bare_s / all_s, 3),
    }
    for name in PROJECTIONS:
        one = ProjectionRunner(backend, [PROJECTIONS[name]], commit_every=size + 1)
        seconds = _best(repeat, lambda one=one, name=name: one.rebuild(name))
        row[f"rebuild_{name}_per_s"] = round(size / seconds)
        row[f"rebuild_{name}_vs_bare"] = round(bare_s / seconds, 3)
        row[f"state_{name}_bytes"] = len((one.stored(name) or (0, b""))[1])
    backend.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enterprises", type=int, default=32_000)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the generated SQLite store here (and reuse it if present)")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    for kind in args.backends.split(","):
        if kind == "postgres" and not pg_available():
            print("PostgreSQL not reachable: skipped")
            continue
        with store_url(kind) as url:
            generated: dict[str, object] = {}
            if kind == "sqlite" and args.keep is not None and args.keep.exists():
                shutil.copy(args.keep, url.removeprefix("sqlite:///"))
                size = Backend(url).head_size()
            else:
                size, seconds = generate(url, args.enterprises, args.batch)
                generated = {"generated_batch": args.batch,
                             "generated_per_s": round(size / seconds)}
                if kind == "sqlite" and args.keep is not None:
                    shutil.copy(url.removeprefix("sqlite:///"), args.keep)
            rows.append({"backend": kind, **generated, **measure(url, size, args.repeat)})
    record("projections", rows)


if __name__ == "__main__":
    main()
