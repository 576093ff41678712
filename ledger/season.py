"""The sample registry and the demo season of 2023 (``spotcheck sample``, ``ledger.demo``).

Three parts, each usable on its own:

- **People's keys and draw secrets.** Key files (mode 0600) under the keys
  folder, registered by the admin key; a draw party's 32-byte secret is kept
  in a 0600 file next to the party's key file (:func:`secret_file`), so the
  reveal reads what the commitment promised (DESIGN.md C3).
- **The sample** (:func:`sample_commands`, :func:`load_sample`): the five
  departments of the seed, the deterministic synthetic registry of
  :mod:`ledger.sample` (enterprises, inspectors, conflict declarations) and the
  seed's 2023 plan table shipped in ``ledger/data/seed_plan_2023.csv`` with the
  demo's per-grade ratios (:data:`ledger.domain.plans.DEMO_GRADE_RATIOS`),
  signed by a planner key created and registered as needed.  Only what the
  log does not hold yet is signed, so loading twice appends nothing.
- **The season** (:func:`build_season`): the draws of the seed's three tasks
  with commit-reveal by simulated parties (one voided and drawn again), then a
  year of cases inside the task windows, as the seed's rules shape them (C4,
  C5): inspections, findings covering every official result category,
  rectifications and their verification, one overdue rectification followed by
  a 约谈 that is refused, a 行政处罚 and a 曝光, a 重大 hazard with its penalty, a
  移交 acknowledged by the 县公安局, 廉洁承诺 declarations, publications (one
  late) and closes; finally one compliance report per plan (C7).

The season happens in 2023, the year of the seed's plan: a case opened today
could not be inspected inside a 2023 window.  So it runs on a simulated clock
(:class:`SimClock`, installed as ``Ledger.clock`` while it runs) and needs a
log whose entries all lie before 2023-01-09 (``logged_at`` never decreases,
A4): :func:`ledger.demo.initialise_at` creates such a store.  Every step
checks the state first, so running the season again appends nothing, and a
season cut short resumes where it stopped (what was logged is skipped).
"""

from __future__ import annotations

import hashlib
import heapq
import importlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from importlib.resources import files
from pathlib import Path
from typing import Any

from ledger.commands import sign_command
from ledger.domain.calendar import WorkCalendar
from ledger.domain.decide import draft_schedule
from ledger.domain.plans import DEMO_GRADE_RATIOS, parse_plan_rows, plan_entries
from ledger.domain.registry import RESULT_CATEGORIES
from ledger.domain.state import BEIJING, Case, DomainState, result_is_problem
from ledger.errors import FormatError, LedgerError, NotFoundError, RuleError
from ledger.keys import KeyPair, ensure_key, load_key_file
from ledger.replay import LogState
from ledger.sample import (
    sample_conflicts,
    sample_departments,
    sample_enterprises,
    sample_inspectors,
)
from ledger.tabular import Table, parse_table
from ledger.times import format_time

__all__ = [
    "INIT_AT",
    "SAMPLE_AT",
    "SEASON_DRAWS",
    "SEASON_START",
    "SampleResult",
    "SeasonError",
    "SeasonSummary",
    "SimClock",
    "beijing_time",
    "build_season",
    "commitment_of",
    "ensure_key",
    "key_registration",
    "load_sample",
    "make_secret",
    "read_secret",
    "sample_commands",
    "secret_file",
    "seed_plan_table",
    "seed_plans",
]

Command = dict[str, Any]
Progress = Callable[[int, int, str], None]
"""``progress(done, total, what)``: simulated days done of the season's days."""

RULE = "season"
IMPORT_CHUNK = 500
"""Registry rows per import command (well under the API's 1 MiB body limit)."""


def beijing_time(day: date | str, hour: int = 9, minute: int = 0) -> datetime:
    """``hour:minute`` Beijing time on ``day``, as an aware UTC datetime."""
    when = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(when, time(hour, minute), tzinfo=BEIJING).astimezone(UTC)


INIT_AT = beijing_time("2023-01-03", 8, 30)
"""When the demo store is created (first working day of 2023)."""
SAMPLE_AT = beijing_time("2023-01-04", 9)
"""When the demo loads the sample registry and the plan."""
SEASON_START = beijing_time("2023-01-09", 9)
"""The season's first step: the people's keys are registered."""
SEASON_END = beijing_time("2023-12-29", 16)
"""The compliance reports are published."""


class SimClock:
    """A settable clock for ``Ledger.clock``: the season's simulated time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        """Move to ``moment``; the clock never goes back."""
        if moment < self.now:
            raise AssertionError(f"bad math: the season clock goes back to {moment}")
        self.now = moment


class SeasonError(LedgerError):
    """A step of the sample or the season was refused (a bug or a store that does not fit)."""

    status = 422
    title = "season step refused"


# ---------------------------------------------------------------------------
# Key files and draw secrets


def key_registration(
    pair: KeyPair,
    roles: Sequence[str],
    *,
    name: str,
    now: datetime,
    department: str | None = None,
    inspector: str | None = None,
) -> dict[str, Any]:
    """``keys.register`` args (A7) for ``pair``, valid from one second before ``now``."""
    return {
        "key": pair.key_id,
        "public_key": pair.public_key_b64,
        "holder": {"name": name, "department": department, "inspector": inspector},
        "roles": sorted(set(roles)),
        "valid_from": format_time(now - timedelta(seconds=1)),
    }


_UNSAFE = re.compile(r"[^\w.-]")


def secret_file(key_file: Path, draw_id: str, party: str) -> Path:
    """Where a party keeps its draw secret: next to its key file, named by draw and party."""
    stem = key_file.name.removesuffix(".key")
    name = f"{stem}.{_UNSAFE.sub('_', draw_id)}.{_UNSAFE.sub('_', party)}.secret"
    return key_file.with_name(name)


def make_secret(path: Path) -> str:
    """A new 32-byte secret (hex) written to ``path`` with mode 0600.

    A secret file is never overwritten: when ``path`` exists (a commitment
    that was sent before, or an attempt that failed), its secret is returned,
    so a commitment is always to the secret that will be revealed.
    """
    if path.exists():
        return read_secret(path)
    secret = os.urandom(32).hex()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret + "\n")
    os.chmod(path, 0o600)
    return secret


def read_secret(path: Path) -> str:
    """The hex secret saved by :func:`make_secret`; FormatError when missing or damaged."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError("C3 secret", f"cannot read the draw secret {path}: {exc}",
                          field="party") from None
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise FormatError("C3 secret", f"{path} does not hold 64 lowercase hex characters",
                          field="party")
    return text


def commitment_of(secret_hex: str) -> str:
    """SHA-256 of the secret's 32 bytes, lowercase hex (A11 ``DrawCommitted``)."""
    return hashlib.sha256(bytes.fromhex(secret_hex)).hexdigest()


# ---------------------------------------------------------------------------
# The sample registry and the seed's plan

SEED_PLAN_FILE = "seed_plan_2023.csv"


def seed_plan_table() -> Table:
    """The seed's 2023 plan table (``ledger/data/seed_plan_2023.csv``, package data)."""
    data = (files("ledger") / "data" / SEED_PLAN_FILE).read_bytes()
    return parse_table(data, name=SEED_PLAN_FILE)


def seed_plans(departments: Mapping[str, str]) -> list[dict[str, Any]]:
    """``plans.import`` args of the seed's three plans, with the demo's per-grade ratios."""
    table = seed_plan_table()
    tasks = parse_plan_rows(table.rows, departments=departments,
                            first_row_number=table.row_numbers[0])
    return plan_entries(tasks, grade_ratios=DEMO_GRADE_RATIOS)


@dataclass
class SampleResult:
    """The commands that load what is missing of the sample, and what they add."""

    commands: list[Command]
    planner_file: Path
    added: dict[str, int] = field(default_factory=dict)


PLANNER_HOLDER = "计划员（县应急管理局）"


def sample_commands(
    log: LogState,
    state: DomainState,
    keys_dir: Path,
    *,
    admin: KeyPair,
    now: datetime,
    enterprises: int = 1200,
    inspectors: int = 60,
) -> SampleResult:
    """Signed commands for what the log lacks of the sample (``spotcheck sample``).

    In order: the planner's key (``keys_dir/planner.key``, created when
    missing, registered by ``admin`` when the log does not know it), the five
    departments, the enterprises and inspectors not registered yet (in chunks
    of :data:`IMPORT_CHUNK` rows), the conflict declarations not declared yet
    and the seed's plans not imported yet. Submit them in order: each relies
    only on those before it. An empty list means the sample is complete.
    """
    planner_file = keys_dir / "planner.key"
    planner = ensure_key(planner_file, "planner")
    out: list[Command] = []
    added: Counter[str] = Counter()

    def sign(pair: KeyPair, action: str, args: dict[str, Any]) -> None:
        out.append(sign_command(pair, action, args, issued_at=now))

    def import_rows(action: str, what: str, rows: Sequence[Mapping[str, object]]) -> None:
        for start in range(0, len(rows), IMPORT_CHUNK):
            sign(planner, action, {"rows": rows[start:start + IMPORT_CHUNK]})
        if rows:
            added[what] = len(rows)

    if planner.key_id not in log.keys:
        sign(admin, "keys.register",
             key_registration(planner, ["planner"], name=PLANNER_HOLDER, department="AJJ",
                              now=now))
        added["keys"] += 1
    departments = {d.id: d.name for d in state.departments.values()}
    for row in sample_departments():
        if row["department"] not in departments:
            sign(planner, "departments.register", dict(row))
            departments[row["department"]] = row["name"]
            added["departments"] += 1
    firms = sample_enterprises(enterprises)
    import_rows("enterprises.import", "enterprises",
                [row for row in firms if row["usc"] not in state.enterprises])
    people = sample_inspectors(inspectors)
    import_rows("inspectors.import", "inspectors",
                [row for row in people if row["id"] not in state.inspectors])
    for conflict in sample_conflicts(people, firms):
        if (conflict["inspector"], conflict["enterprise"]) not in state.conflict_pairs:
            sign(planner, "conflicts.declare", {"inspector": conflict["inspector"],
                                                "enterprise": conflict["enterprise"],
                                                "reason": conflict["reason"]})
            added["conflicts"] += 1
    for plan in seed_plans(departments):
        if plan["plan_no"] not in state.plans:
            sign(planner, "plans.import", plan)
            added["plans"] += 1
    return SampleResult(out, planner_file, dict(added))


def _raise_first(results: Iterable[object], what: str) -> None:
    for result in results:
        if isinstance(result, LedgerError):
            raise SeasonError(RULE, f"{what} was refused: {result}", field=result.field)


def load_sample(
    ledger: Any,
    keys_dir: Path,
    *,
    at: datetime = SAMPLE_AT,
    enterprises: int = 1200,
    inspectors: int = 60,
) -> dict[str, int]:
    """Load the sample into ``ledger`` (a ``Ledger``) at simulated time ``at`` (the demo).

    The admin key is ``keys_dir/admin.key`` (written by ``init``). Returns what
    was added; nothing when the sample is already there.
    """
    admin = load_key_file(keys_dir / "admin.key")
    ledger.catch_up()
    clock = ledger.clock
    last = ledger.log.last_logged_at
    now = max(at, last) if last is not None else at
    ledger.clock = SimClock(now)
    try:
        result = sample_commands(ledger.log, ledger.domain, keys_dir, admin=admin, now=now,
                                 enterprises=enterprises, inspectors=inspectors)
        if result.commands:
            _raise_first(ledger.submit_many(result.commands), "loading the sample")
    finally:
        ledger.clock = clock
    return result.added


# ---------------------------------------------------------------------------
# The season's cast and script

PLAN_NOS = ("联202301", "联202302", "联202303")


@dataclass(frozen=True)
class DrawPlan:
    """One draw of the season: when it is scheduled and revealed, and its cases' visits."""

    draw_id: str
    task_id: str
    scheduled: date
    revealed: date
    replaces: str | None = None
    voided: date | None = None
    visits: tuple[date, date] | None = None  # first and last inspection day


SEASON_DRAWS: tuple[DrawPlan, ...] = (
    DrawPlan("联202301-001-D1", "联202301-001", date(2023, 2, 6), date(2023, 2, 7),
             visits=(date(2023, 3, 1), date(2023, 6, 30))),
    DrawPlan("联202302-002-D1", "联202302-002", date(2023, 2, 8), date(2023, 2, 9),
             voided=date(2023, 2, 10)),
    DrawPlan("联202302-002-D2", "联202302-002", date(2023, 2, 13), date(2023, 2, 14),
             replaces="联202302-002-D1", visits=(date(2023, 3, 1), date(2023, 6, 30))),
    DrawPlan("联202303-003-D1", "联202303-003", date(2023, 8, 28), date(2023, 8, 29),
             visits=(date(2023, 9, 4), date(2023, 11, 17))),
)
"""The season's draws, in order; the second is voided and drawn again as the third."""

VOID_REASON = ("抽签前未按规定提前公告抽签时间和地点，经派驻纪检监察组核查，本次抽取作废，"
               "依规重新组织抽取")

OBSERVER = "派驻纪检监察组"
RECEIVER_DEPARTMENT = ("GAJ", "县公安局")
PUBLISHED_AT = "承德县人民政府网站“双随机、一公开”专栏"
EXPOSED_AT = "承德县应急管理局微信公众号“曝光台”"

TASK_ITEMS: dict[str, tuple[str, ...]] = {
    "联202301-001": ("安全生产责任制落实情况", "安全生产教育培训情况", "有限空间作业安全管理情况",
                     "粉尘防爆安全管理情况"),
    "联202302-002": ("危险化学品储存场所安全条件", "安全生产许可证件有效性",
                     "重大危险源监测监控情况", "从业人员持证上岗情况"),
    "联202303-003": ("安全生产责任制落实情况", "事故隐患排查治理情况", "应急预案及演练情况",
                     "特种作业人员持证上岗情况"),
}

_LABELS = dict(RESULT_CATEGORIES)
NO_PROBLEM = _LABELS["1"]
FOLLOW_UP = _LABELS["A"]  # 发现问题待后续处理
CORRECTED = _LABELS["E"]  # 发现问题经责令已改正
UNCOOPERATIVE = _LABELS["8"]  # 不配合检查情节严重
SPECIAL_RESULTS = {"major": _LABELS["5"], "overdue": FOLLOW_UP, "late": NO_PROBLEM,
                   "referral": _LABELS["G"]}
OTHER_RESULTS = tuple(label for _, label in RESULT_CATEGORIES
                      if label not in SPECIAL_RESULTS.values())
"""The categories given once each, in official order, to the first ordinary cases."""

SPECIAL_ORDINALS = {"major": 0, "overdue": 1, "late": 2}
"""Which cases of the first draw carry the season's stories (the referral: the second draw's
first case, a 危化/加油站 enterprise)."""


@dataclass(frozen=True)
class Step:
    """One command to sign at the batch's time; ``report`` is a report body to attach."""

    pair: KeyPair
    action: str
    args: dict[str, Any]
    report: tuple[str, bytes] | None = None


Builder = Callable[[], list[Step]]


@dataclass(order=True)
class _Event:
    when: datetime
    seq: int
    label: str = field(compare=False)
    build: Builder | None = field(compare=False, default=None)
    tick: bool = field(compare=False, default=False)


@dataclass
class SeasonSummary:
    """What the log holds of the season (the same on every run; ``appended`` is this run's)."""

    size: int
    appended: int
    draws: dict[str, str]  # draw id -> status
    cases: int  # cases of draws that were not voided
    void_cases: int
    closed: int
    findings: dict[str, int]  # official result label -> count (every category listed)
    orders: int
    verified: int
    overdue_orders: list[str]  # case ids with a RectificationOverdue
    late_publications: list[str]  # case ids with a PublicationOverdue
    interviews: int
    refused_interviews: int
    penalties: int
    penalty_fen: int
    exposures: int
    referrals: int
    acknowledged: int
    declarations: int
    publications: int
    roles: dict[str, str | None]  # major / overdue / late / referral -> case id
    reports: list[str]
    inspector_keys: int

    def rows(self) -> list[tuple[str, str]]:
        """(what, value) lines for a printed summary."""
        out = [
            ("log size", str(self.size)),
            ("appended by this run", str(self.appended)),
            ("draws", ", ".join(f"{d} ({s})" for d, s in self.draws.items())),
            ("cases (live / void / closed)", f"{self.cases} / {self.void_cases} / {self.closed}"),
            ("findings", str(sum(self.findings.values()))),
            ("rectifications (ordered / verified / overdue)",
             f"{self.orders} / {self.verified} / {len(self.overdue_orders)}"),
            ("约谈 (refused) / 行政处罚 / 曝光",
             f"{self.interviews} ({self.refused_interviews}) / {self.penalties} "
             f"({self.penalty_fen / 100:.2f} 元) / {self.exposures}"),
            ("移交 (acknowledged)", f"{self.referrals} ({self.acknowledged})"),
            ("廉洁承诺", str(self.declarations)),
            ("publications (late)", f"{self.publications} ({len(self.late_publications)})"),
            ("inspector keys", str(self.inspector_keys)),
            ("reports", ", ".join(self.reports) or "none"),
        ]
        out += [(f"case: {role}", case or "-") for role, case in self.roles.items()]
        return out


class _Season:
    """The season's agenda: timed steps, batched per moment, each checking the state first."""

    def __init__(self, ledger: Any, keys_dir: Path, progress: Progress | None) -> None:
        self.ledger = ledger
        self.keys_dir = keys_dir
        self.progress = progress
        self.state: DomainState = ledger.domain
        self.log: LogState = ledger.log
        self.agenda: list[_Event] = []
        self._seq = 0
        self.clock = SimClock(SEASON_START)
        self.calendar = WorkCalendar(self.state.calendars)
        self.pending_keys: list[Step] = []
        self.parties: dict[str, tuple[Path, KeyPair]] = {}
        self.inspectors: dict[str, KeyPair] = {}
        self.roles: dict[str, str | None] = {"major": None, "overdue": None, "late": None,
                                             "referral": None}
        self.admin = load_key_file(keys_dir / "admin.key")
        self.planner = self._person("planner", "planner", ["planner"], PLANNER_HOLDER, "AJJ")
        self.publisher = self._person("publisher", "publisher", ["publisher"],
                                      "信息公开专员（县应急管理局）", "AJJ")
        self.discipline = self._person("discipline", "discipline", ["discipline"],
                                       "县纪委监委派驻纪检监察组", None)
        self.receiver = self._person("receiver-GAJ", "receiver GAJ", ["receiver"],
                                     RECEIVER_DEPARTMENT[1], RECEIVER_DEPARTMENT[0])

    # -- people ----------------------------------------------------------------
    def _person(self, stem: str, name: str, roles: list[str], holder: str,
                department: str | None, inspector: str | None = None) -> KeyPair:
        """A key file of the cast; its registration is queued when the log lacks it."""
        pair = ensure_key(self.keys_dir / f"{stem}.key", name)
        if pair.key_id not in self.log.keys:
            self.pending_keys.append(Step(self.admin, "keys.register", key_registration(
                pair, roles, name=holder, department=department, inspector=inspector,
                now=self.clock.now)))
        return pair

    def _take_keys(self) -> list[Step]:
        """Queued key registrations, re-dated to the batch they go out in."""
        steps, self.pending_keys = self.pending_keys, []
        out = []
        for step in steps:
            if step.args["key"] in self.log.keys:
                continue
            args = {**step.args, "valid_from": format_time(self._stamp() - timedelta(seconds=1))}
            out.append(Step(step.pair, step.action, args))
        return out

    def party(self, department: str | None) -> tuple[str, Path, KeyPair]:
        """The draw party of a department (its name as party name), or the observer."""
        if department is None:
            party, stem, holder = OBSERVER, "party-observer", f"{OBSERVER} 监督员"
        else:
            party = self.state.departments[department].name
            stem, holder = f"party-{department}", f"{party} 抽签代表"
        if party not in self.parties:
            pair = self._person(stem, f"draw party {party}", ["draw_party"], holder, department)
            self.parties[party] = (self.keys_dir / f"{stem}.key", pair)
        path, pair = self.parties[party]
        return party, path, pair

    def inspector(self, inspector_id: str) -> KeyPair:
        """An inspector's key (``holder.inspector`` set), registered when first needed."""
        if inspector_id not in self.inspectors:
            who = self.state.inspectors[inspector_id]
            self.inspectors[inspector_id] = self._person(
                f"inspector-{inspector_id}", f"inspector {inspector_id}", ["inspector"],
                who.name or inspector_id, who.department, inspector_id)
        return self.inspectors[inspector_id]

    # -- the agenda ------------------------------------------------------------
    def at(self, when: datetime, label: str, build: Builder | None = None, *,
           tick: bool = False) -> None:
        self._seq += 1
        heapq.heappush(self.agenda, _Event(when, self._seq, label, build, tick))

    def _stamp(self) -> datetime:
        last = self.log.last_logged_at
        return max(self.clock.now, last) if last is not None else self.clock.now

    def run(self) -> None:
        total = (SEASON_END.date() - SEASON_START.date()).days
        while self.agenda:
            when = self.agenda[0].when
            self.clock.set(when)
            if self.progress is not None:
                self.progress(min(total, (when.date() - SEASON_START.date()).days), total,
                              when.astimezone(BEIJING).date().isoformat())
            steps: list[tuple[str, Step]] = []
            while self.agenda and self.agenda[0].when == when:
                event = heapq.heappop(self.agenda)
                if event.tick:
                    self._submit(steps)
                    steps = []
                    self.ledger.tick()
                    continue
                assert event.build is not None
                built = event.build()  # may queue key registrations, which go first
                steps += [(f"{event.label} (key)", s) for s in self._take_keys()]
                steps += [(event.label, s) for s in built]
            self._submit(steps)
        if self.progress is not None:
            self.progress(total, total, "done")

    def _submit(self, steps: list[tuple[str, Step]]) -> None:
        if not steps:
            return
        stamp = self._stamp()
        commands = [sign_command(s.pair, s.action, s.args, issued_at=stamp) for _, s in steps]
        reports = dict(s.report for _, s in steps if s.report is not None)
        results = self.ledger.submit_many(commands, reports=reports)
        for (label, step), result in zip(steps, results, strict=True):
            if isinstance(result, LedgerError):
                raise SeasonError(RULE, f"{label}: {step.action} was refused: {result}",
                                  field=result.field)

    # -- dates -------------------------------------------------------------------
    def workday(self, day: date, n: int) -> date:
        """The n-th working day after ``day`` (n >= 1) on the logged calendars."""
        return self.calendar.add_working_days(day, n)

    def workdays(self, first: date, last: date) -> list[date]:
        out = []
        day = first
        while day <= last:
            if self.calendar.is_workday(day):
                out.append(day)
            day += timedelta(days=1)
        return out

    # -- setup and draws -----------------------------------------------------------
    def plan(self) -> None:
        """Put the whole season on the agenda (cases are added when their draw is performed)."""
        self.at(SEASON_START, "people", self._setup)
        for draw in SEASON_DRAWS:
            task = self.state.tasks[draw.task_id]
            departments = [task.initiator, *task.joint_departments, None]
            members = [self.party(d) for d in departments]
            revealed = beijing_time(draw.revealed, 10)
            label = f"draw {draw.draw_id}"
            self.at(beijing_time(draw.scheduled, 10), label,
                    partial(self._schedule, draw, members))
            self.at(revealed, label, partial(self._reveal, draw, members))
            if draw.voided is not None:
                self.at(beijing_time(draw.voided, 10), label, partial(self._void, draw))
            if draw.visits is not None:
                self.at(revealed + timedelta(minutes=5), f"cases of {draw.draw_id}",
                        partial(self._cases_of, draw))
        self.at(SEASON_END - timedelta(hours=8), "tick", tick=True)
        self.at(SEASON_END, "compliance reports", self._reports)

    def _setup(self) -> list[Step]:
        dep, name = RECEIVER_DEPARTMENT
        if dep in self.state.departments:
            return []
        return [Step(self.planner, "departments.register", {"department": dep, "name": name})]

    def _schedule(self, draw: DrawPlan, members: list[tuple[str, Path, KeyPair]]) -> list[Step]:
        scheduled = self.state.draws.get(draw.draw_id)
        out = []
        if scheduled is None:
            parties = [{"party": p, "key": pair.key_id} for p, _, pair in members]
            args = draft_schedule(self.state, draw_id=draw.draw_id, task_id=draw.task_id,
                                  parties=parties, team_size=2, replaces=draw.replaces)
            out.append(Step(self.planner, "draws.schedule", args))
        elif scheduled.voided or scheduled.performed is not None:
            return []
        committed = scheduled.commitments if scheduled is not None else {}
        for party, path, pair in members:
            if party not in committed:
                secret = make_secret(secret_file(path, draw.draw_id, party))
                out.append(Step(pair, "draws.commit", {"draw_id": draw.draw_id, "party": party,
                                                       "commitment": commitment_of(secret)}))
        return out

    def _reveal(self, draw: DrawPlan, members: list[tuple[str, Path, KeyPair]]) -> list[Step]:
        scheduled = self.state.draws.get(draw.draw_id)
        if scheduled is None or scheduled.voided or scheduled.performed is not None:
            return []
        return [
            Step(pair, "draws.reveal", {"draw_id": draw.draw_id, "party": party,
                                        "secret": read_secret(secret_file(path, draw.draw_id,
                                                                          party))})
            for party, path, pair in members if party not in scheduled.reveals
        ]

    def _void(self, draw: DrawPlan) -> list[Step]:
        scheduled = self.state.draws.get(draw.draw_id)
        if scheduled is None or scheduled.voided:
            return []
        return [Step(self.discipline, "draws.void", {"draw_id": draw.draw_id,
                                                     "reason": VOID_REASON})]

    def _reports(self) -> list[Step]:
        """One compliance report per plan, with its body (C7, A9 ``reports/``)."""
        try:
            registry = importlib.import_module("projections.registry")
        except ImportError:
            return []
        done = {(r.get("kind"), r.get("plan_no")) for r in self.state.reports.values()}
        missing = [p for p in PLAN_NOS if ("compliance", p) not in done and p in self.state.plans]
        if not missing:
            return []
        size = self.log.size
        root = self.log.root().hex()
        entries = [data for _, data in self.ledger.entries(0, size)]
        out = []
        for plan_no in missing:
            body = registry.report_bytes("compliance", entries, {"plan_no": plan_no,
                                                                 "tree_size": size,
                                                                 "root": root})
            report_id = registry.report_id("compliance", plan_no, size)
            out.append(Step(self.discipline, "reports.publish", {
                "report_id": report_id, "kind": "compliance", "plan_no": plan_no,
                "sha256": hashlib.sha256(body).hexdigest(), "tree_size": size, "root": root,
            }, report=(report_id, body)))
        return out

    # -- cases -------------------------------------------------------------------
    def live_draws(self) -> list[str]:
        return [d.draw_id for d in SEASON_DRAWS if d.visits is not None]

    def ordinal_base(self, draw_id: str) -> int:
        """How many cases the live draws before ``draw_id`` opened (the season's numbering)."""
        base = 0
        for other in self.live_draws():
            if other == draw_id:
                return base
            found = self.state.draws.get(other)
            base += len(found.case_ids) if found is not None else 0
        raise AssertionError(f"bad math: {draw_id} is not a live draw of the season")

    def _cases_of(self, plan: DrawPlan) -> list[Step]:
        """When a draw is performed: its teams' keys, and every case's steps on the agenda."""
        draw = self.state.draws.get(plan.draw_id)
        if draw is None or draw.voided or draw.performed is None or plan.visits is None:
            raise SeasonError(RULE, f"draw {plan.draw_id} was not performed", field="draw_id")
        base = self.ordinal_base(plan.draw_id)
        if plan.draw_id == self.live_draws()[1] and draw.case_ids:
            self.roles["referral"] = draw.case_ids[0]
        days = self.workdays(*plan.visits)
        count = len(draw.case_ids)
        for i, case_id in enumerate(draw.case_ids):
            case = self.state.cases[case_id]
            for who in case.team:
                self.inspector(who)
            day = days[i * len(days) // count]
            self._script(case_id, base + i, day)
        return []

    def role_of(self, ordinal: int, case_id: str) -> str | None:
        for role, number in SPECIAL_ORDINALS.items():
            if ordinal == number:
                return role
        return "referral" if self.roles["referral"] == case_id else None

    def result_of(self, ordinal: int, role: str | None) -> str:
        """The result category of a case's first item: every category once, then a mix."""
        if role is not None:
            return SPECIAL_RESULTS[role]
        referral = self.roles["referral"]
        referral_ordinal = (self.ordinal_base(self.live_draws()[1])
                            if referral is not None else None)
        skipped = sum(1 for n in (*SPECIAL_ORDINALS.values(), referral_ordinal)
                      if n is not None and n < ordinal)
        j = ordinal - skipped
        if j < len(OTHER_RESULTS):
            return OTHER_RESULTS[j]
        k = (j - len(OTHER_RESULTS)) % 6
        return FOLLOW_UP if k == 0 else CORRECTED if k == 3 else NO_PROBLEM

    def _script(self, case_id: str, ordinal: int, day: date) -> None:
        """Put one case's steps on the agenda, from the visit to the close (C4, C5)."""
        role = self.role_of(ordinal, case_id)
        if role is not None:
            self.roles[role] = case_id
        result = self.result_of(ordinal, role)
        problem = result_is_problem(result)
        ordered = problem and result not in (CORRECTED, UNCOOPERATIVE)
        case = self.state.cases[case_id]
        items = TASK_ITEMS[case.task_id or ""]
        turn = ordinal % len(items)
        items = (*items[turn:], *items[:turn])[:3]
        order_no = f"承县应急责改〔2023〕{ordinal + 1:03d}号"
        if role == "major":
            deadline = day + timedelta(days=30)
        elif role == "overdue":
            deadline = day + timedelta(days=10)
        else:
            deadline = day + timedelta(days=15)
        hazard = "重大" if role == "major" else "一般" if problem else None
        label = f"case {case_id}"

        def visit() -> list[Step]:
            c = self._case(case_id)
            if c is None or len(c.team) < 2:
                return []
            lead = self.inspector(c.team[0])
            out = []
            if c.inspection is None:
                out.append(Step(lead, "cases.record_inspection", {
                    "case_id": case_id, "date": day.isoformat(), "inspectors": list(c.team),
                    "items": list(items)}))
            for n, item in enumerate(items):
                if item in c.findings:
                    continue
                first = n == 0
                res = result if first else NO_PROBLEM
                out.append(Step(self.inspector(c.team[n % len(c.team)]), "cases.record_finding", {
                    "case_id": case_id, "item": item, "result": res,
                    "hazard": hazard if first else None,
                    "text": _finding_text(item, res, hazard if first else None),
                    "evidence": _evidence(case_id, item) if first and problem else [],
                }))
            if ordered and order_no not in c.orders:
                out.append(Step(lead, "cases.order_rectification", {
                    "case_id": case_id, "order": order_no, "date": day.isoformat(),
                    "deadline": deadline.isoformat(), "items": [items[0]]}))
            for who in c.team:
                if who not in c.declarations:
                    out.append(Step(self.inspector(who), "cases.declare_integrity", {
                        "case_id": case_id, "inspector": who, "date": day.isoformat(),
                        "no_banquet": True, "no_gift": True, "no_money": True}))
            return out

        self.at(beijing_time(day, 9), label, visit)
        publish_day = self.workday(day, 2)
        last = publish_day
        if role == "late":
            due = self.calendar.deadline(day, self._publication_days(case), self._unit(case))
            self.at(beijing_time(due + timedelta(days=1), 8), "tick", tick=True)
            publish_day = self.workday(due, 2)
            last = publish_day
        self.at(beijing_time(publish_day, 15), label,
                partial(self._publish, case_id, publish_day))
        if ordered and role != "overdue":
            verify_day = self.workday(day, 15 if role == "major" else 5)
            self.at(beijing_time(verify_day, 10), label,
                    partial(self._verify, case_id, order_no, verify_day))
            last = max(last, verify_day)
        decision = f"（承县）应急罚〔2023〕{ordinal + 1}号"
        if role == "major":
            penalty_day = self.workday(day, 3)
            self.at(beijing_time(penalty_day, 11), label, partial(
                self._penalty, case_id, decision, penalty_day, 5_000_000,
                "《中华人民共和国安全生产法》第一百零二条（重大事故隐患）"))
        if role == "overdue":
            self.at(beijing_time(deadline + timedelta(days=1), 8), "tick", tick=True)
            talk = self.workday(deadline, 1)
            fine = self.workday(talk, 1)
            exposed = self.workday(fine, 1)
            self.at(beijing_time(talk, 11), label, partial(self._interview, case_id, talk))
            self.at(beijing_time(fine, 11), label, partial(
                self._penalty, case_id, decision, fine, 3_000_000,
                "《中华人民共和国安全生产法》第一百零二条（逾期未整改，约谈后拒不整改）"))
            self.at(beijing_time(exposed, 11), label, partial(self._expose, case_id, exposed))
            last = max(last, exposed)
        if role == "referral":
            referral = f"承县应急移〔2023〕{ordinal + 1}号"
            refer_day = self.workday(day, 1)
            ack_day = self.workday(day, 3)
            self.at(beijing_time(refer_day, 11), label,
                    partial(self._refer, case_id, referral, refer_day))
            self.at(beijing_time(ack_day, 11), label,
                    partial(self._acknowledge, case_id, referral, ack_day))
            last = max(last, ack_day)
        close_day = self.workday(last, 1)
        self.at(beijing_time(close_day, 17), label, partial(self._close, case_id, close_day))

    def _case(self, case_id: str) -> Case | None:
        case = self.state.cases.get(case_id)
        return None if case is None or case.void or case.closed else case

    def _publication_days(self, case: Case) -> int:
        plan = self.state.plan_of(case.task_id)
        return plan.publication_days if plan is not None else 7

    def _unit(self, case: Case) -> str:
        plan = self.state.plan_of(case.task_id)
        return plan.publication_unit if plan is not None else "工作日"

    def _lead(self, case: Case) -> KeyPair:
        return self.inspector(case.team[0])

    def _publish(self, case_id: str, day: date) -> list[Step]:
        c = self._case(case_id)
        if c is None or c.inspection is None or c.publications:
            return []
        return [Step(self.publisher, "cases.publish", {
            "case_id": case_id, "date": day.isoformat(), "where": PUBLISHED_AT})]

    def _verify(self, case_id: str, order: str, day: date) -> list[Step]:
        c = self._case(case_id)
        if c is None or order not in c.orders or c.orders[order].verified_index is not None:
            return []
        return [Step(self._lead(c), "cases.verify_rectification", {
            "case_id": case_id, "order": order, "date": day.isoformat()})]

    def _interview(self, case_id: str, day: date) -> list[Step]:
        c = self._case(case_id)
        if c is None or c.interviews:
            return []
        firm = self.state.enterprises.get(c.enterprise)
        person = f"{firm.name if firm else c.enterprise} 主要负责人"
        return [Step(self._lead(c), "cases.record_interview", {
            "case_id": case_id, "date": day.isoformat(), "person": person[:100],
            "outcome": "refused"})]

    def _penalty(self, case_id: str, decision: str, day: date, fen: int,
                 basis: str) -> list[Step]:
        c = self._case(case_id)
        if c is None or any(p.decision == decision for p in c.penalties):
            return []
        return [Step(self._lead(c), "cases.decide_penalty", {
            "case_id": case_id, "decision": decision, "date": day.isoformat(),
            "amount_fen": fen, "basis": basis})]

    def _expose(self, case_id: str, day: date) -> list[Step]:
        c = self._case(case_id)
        if c is None or c.exposures:
            return []
        return [Step(self.publisher, "cases.expose", {
            "case_id": case_id, "date": day.isoformat(), "where": EXPOSED_AT})]

    def _refer(self, case_id: str, referral: str, day: date) -> list[Step]:
        c = self._case(case_id)
        if c is None or referral in c.referrals:
            return []
        return [Step(self._lead(c), "cases.refer", {
            "case_id": case_id, "referral": referral, "date": day.isoformat(),
            "to": RECEIVER_DEPARTMENT[0],
            "summary": "检查发现该单位涉嫌违反危险物品管理规定（非法储存危险物品），"
                       "依规将案件线索移交县公安局"})]

    def _acknowledge(self, case_id: str, referral: str, day: date) -> list[Step]:
        c = self._case(case_id)
        if c is None or referral not in c.referrals:
            return []
        if c.referrals[referral].acknowledged_index is not None:
            return []
        return [Step(self.receiver, "cases.acknowledge_referral", {
            "case_id": case_id, "referral": referral, "date": day.isoformat()})]

    def _close(self, case_id: str, day: date) -> list[Step]:
        c = self._case(case_id)
        if c is None or not c.publications:
            return []
        return [Step(self._lead(c), "cases.close", {"case_id": case_id,
                                                    "date": day.isoformat()})]

    # -- summary -----------------------------------------------------------------
    def summary(self, appended: int) -> SeasonSummary:
        state = self.state
        season = {d.draw_id for d in SEASON_DRAWS}
        cases = [c for c in state.cases.values() if c.draw_id in season]
        live = [c for c in cases if not c.void]
        findings = Counter({label: 0 for _, label in RESULT_CATEGORIES})
        for c in live:
            findings.update(f.result for f in c.findings.values())
        orders = [o for c in live for o in c.orders.values()]
        interviews = [i for c in live for i in c.interviews]
        penalties = [p for c in live for p in c.penalties]
        referrals = [r for c in live for r in c.referrals.values()]
        inspector_keys = sum(1 for k in self.log.keys.values()
                             if k.inspector is not None and "inspector" in k.roles)
        return SeasonSummary(
            size=self.log.size,
            appended=appended,
            draws={d: state.draws[d].status for d in (x.draw_id for x in SEASON_DRAWS)
                   if d in state.draws},
            cases=len(live),
            void_cases=len(cases) - len(live),
            closed=sum(1 for c in live if c.closed),
            findings=dict(findings),
            orders=len(orders),
            verified=sum(1 for o in orders if o.verified_index is not None),
            overdue_orders=[c.case_id for c in live
                            if any(o.overdue_index is not None for o in c.orders.values())],
            late_publications=[c.case_id for c in live if c.publication_overdue_index is not None],
            interviews=len(interviews),
            refused_interviews=sum(1 for i in interviews if i.outcome == "refused"),
            penalties=len(penalties),
            penalty_fen=sum(p.amount_fen for p in penalties),
            exposures=sum(len(c.exposures) for c in live),
            referrals=len(referrals),
            acknowledged=sum(1 for r in referrals if r.acknowledged_index is not None),
            declarations=sum(len(c.declarations) for c in live),
            publications=sum(len(c.publications) for c in live),
            roles=dict(self.roles),
            reports=sorted(rid for rid, r in state.reports.items() if r.get("kind") == "compliance"
                           and r.get("plan_no") in PLAN_NOS),
            inspector_keys=inspector_keys,
        )


def _finding_text(item: str, result: str, hazard: str | None) -> str:
    if hazard is None:
        return f"{item}：{result}。"
    return f"{item}：{result}（{hazard}隐患），已现场拍照取证并告知企业负责人。"


def _evidence(case_id: str, item: str) -> list[str]:
    """SHA-256 of the evidence photos (the files stay outside the log, C4)."""
    return [hashlib.sha256(f"{case_id}/{item}/现场照片-{n}.jpg".encode()).hexdigest()
            for n in (1, 2)]


def _check_ready(ledger: Any) -> None:
    state: DomainState = ledger.domain
    missing = [p for p in PLAN_NOS if p not in state.plans]
    if missing or not state.enterprises or not state.inspectors:
        raise NotFoundError(RULE, "the season needs the sample registry and the seed's 2023 "
                            f"plans (missing {', '.join(missing) or 'the registry'}): run "
                            "`spotcheck sample` (or python -m ledger.demo) first",
                            field="plans")
    if 2023 not in state.calendars:
        raise RuleError(RULE, "the season needs the 2023 WorkCalendarSet entry to count the "
                        "一公开 deadlines: initialise the store with calendars", field="calendar")
    started = any(d.draw_id in state.draws for d in SEASON_DRAWS)
    last = ledger.log.last_logged_at
    if not started and last is not None and last > SEASON_START:
        raise RuleError(
            RULE, f"the season is set in 2023 (the seed's plan) and starts at "
            f"{format_time(SEASON_START)}, but this log's last entry was logged at "
            f"{format_time(last)} and logged_at never decreases (A4); build the season on a "
            "fresh store (python -m ledger.demo on an empty SPOTCHECK_HOME)", field="logged_at")


def build_season(ledger: Any, keys_dir: Path, *, progress: Progress | None = None
                 ) -> SeasonSummary:
    """Build (or complete) the 2023 season in ``ledger`` (a ``ledger.store.ledger.Ledger``).

    ``keys_dir`` holds ``admin.key`` and receives the cast's key files and the
    draw secrets. The ledger's clock is the simulated :class:`SimClock` while
    the season runs and is restored afterwards. Commands of one simulated
    moment go out in one ``submit_many`` (group commit).

    Given the registry, the season is fixed: the draws, the number of cases
    (``ceil(ratio x stratum)``), which case (by its place in the draws'
    selection order) carries which story and result category, and every date.
    Which enterprises are selected depends on the parties' secrets, which are
    random as commit-reveal requires. Every official result category appears
    once the season has at least 19 cases (the default registry gives about
    195). Raises
    ``NotFoundError``/``RuleError`` when the store does not fit (no sample, no
    2023 calendar, a log already past the season's start) and
    :class:`SeasonError` when a step is refused.
    """
    ledger.catch_up()
    _check_ready(ledger)
    before = ledger.size
    season = _Season(ledger, keys_dir, progress)
    clock = ledger.clock
    ledger.clock = season.clock
    try:
        season.plan()
        season.run()
    finally:
        ledger.clock = clock
    return season.summary(ledger.size - before)
