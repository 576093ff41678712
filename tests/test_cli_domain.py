"""The planner's and inspectors' CLI commands, driven in-process (issue 2/7, DESIGN.md C1-C4).

Each test gets its own store under ``tmp_path`` (``spotcheck init
--no-calendar`` then ``spotcheck sample`` with a small registry) and calls
``ledger.cli.main([...])`` as the console script does.  Refused commands must
exit with code 2 and append nothing.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger import cli
from ledger.cli import main as spotcheck
from ledger.config import Settings
from ledger.domain.state import DomainState
from ledger.domain.uscc import make_uscc
from ledger.keys import load_key_file
from ledger.season import secret_file
from ledger.store.ledger import Ledger
from ledger.store.open import open_ledger

SAMPLE = ["sample", "--enterprises", "200", "--inspectors", "30"]
DRAW = "联202301-001-D1"
TASK = "联202301-001"
PARTIES = {"AJJ": "县应急管理局", "TJJ": "县统计局", "SCJGJ": "县市场监管局"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh store with the sample loaded; returns the keys folder."""
    monkeypatch.setenv("SPOTCHECK_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("SPOTCHECK_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    for name in ("SPOTCHECK_LOG_KEY_FILE", "SPOTCHECK_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    for console in (cli.console, cli.err):  # wide tables: one problem per line
        monkeypatch.setattr(console, "width", 240)
    assert spotcheck(["init", "--no-calendar"]) == 0
    assert spotcheck(SAMPLE) == 0
    return tmp_path / "var" / "keys"


def ledger() -> Ledger:
    return open_ledger(Settings.from_env())


def state() -> DomainState:
    return ledger().domain


def size() -> int:
    return ledger().size


def flat(text: str) -> str:
    """Output with rich's line wrapping undone (words joined by single spaces)."""
    return " ".join(text.split())


def refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that must exit 2 and append nothing; returns its stderr, flattened."""
    before = size()
    capsys.readouterr()
    assert spotcheck(args) == 2
    assert size() == before
    err = capsys.readouterr().err
    assert err.rstrip("\n").splitlines()[-1].startswith("error: ")  # one line at the end
    return flat(err)


def new_key(keys: Path, name: str, roles: str, *extra: str) -> Path:
    """``keys/NAME.key``, created and registered by the admin key unless it exists."""
    path = keys / f"{name}.key"
    if path.exists():
        return path
    assert spotcheck(["keys", "new", name]) == 0
    assert spotcheck(["keys", "register", str(path), "--roles", roles,
                      "--signer", str(keys / "admin.key"), *extra]) == 0
    return path


def test_sample_loads_once(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = state()
    assert sorted(s.departments) == ["AJJ", "QXJ", "SCJGJ", "SWJ", "TJJ"]
    assert (len(s.enterprises), len(s.inspectors), len(s.conflicts)) == (200, 30, 6)
    assert sorted(s.plans) == ["联202301", "联202302", "联202303"]
    assert s.tasks["联202303-003"].kind is None  # the seed's blank 抽查类型
    assert s.tasks[TASK].data["grade_ratios"] == {"A": "0.05", "B": "0.1", "C": "0.3",
                                                  "D": "0.6"}
    planner = home / "planner.key"
    assert stat.S_IMODE(planner.stat().st_mode) == 0o600
    key = ledger().log.keys[load_key_file(planner).key_id]
    assert key.roles == frozenset({"planner"})
    before = size()
    capsys.readouterr()
    assert spotcheck(SAMPLE) == 0
    assert "nothing appended" in capsys.readouterr().out
    assert size() == before


def test_a_draw_from_schedule_to_a_case_action(home: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    parties = {dep: new_key(home, f"party-{dep}", "draw_party", "--department", dep)
               for dep in PARTIES}
    scj = load_key_file(parties["SCJGJ"]).key_id
    assert spotcheck([
        "draw", "schedule", TASK, "--draw-id", DRAW,
        "--party", f"县应急管理局={parties['AJJ']}", "--party", f"县统计局={parties['TJJ']}",
        "--party", f"县市场监管局={scj}", "--signer", str(home / "planner.key")]) == 0
    scheduled = state().draws[DRAW].scheduled
    assert [p["party"] for p in scheduled["parties"]] == list(PARTIES.values())
    assert scheduled["required_departments"] == ["AJJ", "TJJ", "SCJGJ"]
    # a party key may not sign for another party
    refused(["draw", "commit", DRAW, "--party", "县统计局", "--signer", str(parties["AJJ"])],
            capsys)
    for dep, party in PARTIES.items():
        assert spotcheck(["draw", "commit", DRAW, "--party", party,
                          "--signer", str(parties[dep])]) == 0
        if dep == "AJJ":  # reveals wait for every commitment
            assert "commit before reveal" in refused(
                ["draw", "reveal", DRAW, "--party", party, "--signer", str(parties[dep])],
                capsys)
    for dep, party in PARTIES.items():
        path = secret_file(parties[dep], DRAW, party)
        assert path.parent == home and stat.S_IMODE(path.stat().st_mode) == 0o600
    capsys.readouterr()
    for dep, party in PARTIES.items():
        assert spotcheck(["draw", "reveal", DRAW, "--party", party,
                          "--signer", str(parties[dep])]) == 0
    assert f"draw {DRAW} performed" in flat(capsys.readouterr().out)
    draw = state().draws[DRAW]
    assert draw.status == "performed"
    assert draw.reveals == {party: secret_file(parties[dep], DRAW, party).read_text().strip()
                            for dep, party in PARTIES.items()}
    cases = len(draw.case_ids)
    assert cases == sum(item["count"] for item in draw.selection()) > 0

    assert spotcheck(["draw", "show", DRAW]) == 0
    shown = flat(capsys.readouterr().out)
    assert "seed inputs" in shown and draw.performed is not None
    assert draw.performed["seed"][:16] in shown
    assert f"selection and teams ({cases} enterprises)" in shown

    # a case action, signed by an inspector of the team (holder.inspector set)
    case_id = draw.case_ids[0]
    member = state().cases[case_id].team[0]
    key = new_key(home, f"inspector-{member}", "inspector", "--inspector", member,
                  "--department", member.split("-")[0])
    assert spotcheck(["case", "recuse", case_id, "--set", f"inspector={member}",
                      "--set", "reason=配偶在该企业任职", "--signer", str(key)]) == 0
    case = state().cases[case_id]
    (recusal,) = case.recusals
    assert recusal.inspector == member and member not in case.team
    assert recusal.replacement in case.team  # drawn, never chosen
    # the 2023 task window: a case opened today cannot be inspected in it
    other = draw.case_ids[1]
    team = state().cases[other].team
    lead = new_key(home, f"inspector-{team[0]}", "inspector", "--inspector", team[0])
    err = refused(["case", "record_inspection", other, "--args-json",
                   json.dumps({"date": "2023-03-10", "items": ["消防设施"]}),
                   "--set", f"inspectors={json.dumps(team)}", "--signer", str(lead)], capsys)
    assert "C4 inspection" in err
    assert "unknown case action" in refused(
        ["case", "inspect", other, "--signer", str(lead)], capsys)
    # the draw is voided (an admin key may), and shown as such
    assert spotcheck(["draw", "void", DRAW, "--reason", "抽签程序不合规，作废重抽",
                      "--signer", str(home / "admin.key")]) == 0
    assert state().draws[DRAW].status == "voided"
    assert spotcheck(["draw", "show", DRAW]) == 0
    assert "抽签程序不合规" in flat(capsys.readouterr().out)
    assert "was not scheduled" in refused(["draw", "show", "D404"], capsys)


def test_a_bad_registry_file_appends_nothing(home: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    registered = next(iter(state().enterprises))
    bad = tmp_path / "enterprises.csv"
    bad.write_text(
        "统一社会信用代码,企业名称,行业,乡镇,风险等级,状态\n"
        f"{make_uscc('91130821MA0000001')},承德样例新增甲有限公司,工贸,下板城镇,A,在营\n"
        f"{registered},承德样例重复有限公司,工贸,下板城镇,A,在营\n"
        "911308210000000000,承德样例乙有限公司,工贸,甲山镇,B类,存续\n"
        ",承德样例丙有限公司,采矿,甲山镇,E,在营\n", encoding="utf-8")
    err = refused(["registry", "import", str(bad), "--kind", "enterprises",
                   "--signer", str(home / "planner.key")], capsys)
    assert "rows refused" in err and "nothing imported [C1 import]" in err
    assert f"│ 3 │ usc │ C1 registry │ {registered} is already registered │" in err
    assert "│ 4 │ usc │ GB 32100-2015 check character │" in err
    assert "│ 5 │ grade │ C1 registry │ 'E' is not one of A/B/C/D │" in err
    assert "│ 2 │" not in err and "5 problem(s) in 3 row(s)" in err
    assert refused(["registry", "import", str(bad), "--kind", "firms",
                    "--signer", str(home / "planner.key")], capsys)

    good = tmp_path / "inspectors.csv"
    good.write_text("编号,姓名,执法证号,部门,在岗\n"
                    "AJJ-901,张新,13082199000901,县应急管理局,是\n"
                    "SCJGJ-901,李新,13082199000902,SCJGJ,否\n", encoding="utf-8")
    assert spotcheck(["registry", "import", str(good), "--kind", "inspectors",
                      "--signer", str(home / "planner.key")]) == 0
    s = state()
    assert s.inspectors["AJJ-901"].department == "AJJ"
    assert s.inspectors["SCJGJ-901"].active is False
    err = refused(["registry", "import", str(good), "--kind", "inspectors",
                   "--signer", str(home / "planner.key")], capsys)
    assert "AJJ-901 is already registered" in err and "13082199000902" in err


def test_departments_conflicts_and_plans(home: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    planner = str(home / "planner.key")
    assert spotcheck(["departments", "register", "GAJ", "县公安局", "--signer", planner]) == 0
    assert state().departments["GAJ"].name == "县公安局"
    refused(["departments", "register", "GAJ", "县公安局", "--signer", planner], capsys)
    firm = sorted(state().enterprises)[0]
    assert spotcheck(["conflicts", "declare", "AJJ-001", firm, "--reason", "近亲属在该企业任职",
                      "--signer", planner]) == 0
    assert ("AJJ-001", firm) in state().conflict_pairs

    seed = Path(__file__).parent / "fixtures" / "seed_plan.csv"
    plan = tmp_path / "plan2024.csv"
    plan.write_text(seed.read_text(encoding="utf-8").replace("联2023", "联2024")
                    .replace("2023年", "2024年"), encoding="utf-8")
    assert "grade_ratios" in refused(["plan", "import", str(plan), "--signer", planner], capsys)
    assert spotcheck(["plan", "import", str(plan), "--signer", planner,
                      "--grade-ratios", "A=0.1,B=0.2,C=0.4,D=1", "--days", "5"]) == 0
    s = state()
    assert sorted(p for p in s.plans if p.startswith("联2024")) == [
        "联202401", "联202402", "联202403"]
    assert s.plans["联202401"].publication_days == 5
    assert s.tasks["联202401-001"].data["grade_ratios"]["D"] == "1"
    assert "already imported" in refused(
        ["plan", "import", str(plan), "--signer", planner, "--grade-ratios",
         "A=0.1,B=0.2,C=0.4,D=1"], capsys)
    assert "GRADE=RATIO" in refused(
        ["plan", "import", str(plan), "--signer", planner, "--grade-ratios", "A:0.1"], capsys)

    bad = tmp_path / "bad_plan.csv"
    bad.write_text(seed.read_text(encoding="utf-8").replace("联2023", "联2025")
                   .replace("县统计局、市场监管局", "县水利局")
                   .replace("2023年9月至11月", "秋季"), encoding="utf-8")
    err = refused(["plan", "import", str(bad), "--signer", planner, "--grade-ratios",
                   "A=0.1,B=0.2,C=0.4,D=1"], capsys)
    assert "plan rows refused" in err and "县水利局" in err and "秋季" in err
    assert "2 problem(s)" in err
