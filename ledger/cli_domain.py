"""The planner's and inspectors' ``spotcheck`` commands (issue 2/7; DESIGN.md C1-C5, C8).

Installed into :data:`ledger.cli.app` by :func:`install`::

    spotcheck departments register ID NAME --signer KEY
    spotcheck registry import FILE --kind enterprises|inspectors --signer KEY
    spotcheck conflicts declare INSPECTOR ENTERPRISE --reason TEXT --signer KEY
    spotcheck plan import FILE [--grade-ratios A=0.05,B=0.1,C=0.3,D=0.6]
                               [--days 7 --unit 工作日] --signer KEY
    spotcheck draw schedule TASK_ID --draw-id ID --party NAME=KEYID ... --signer KEY
                               [--team-size 2 --max-load N --replaces DRAW]
    spotcheck draw commit DRAW --party NAME --signer KEY
    spotcheck draw reveal DRAW --party NAME --signer KEY
    spotcheck draw void DRAW --reason TEXT --signer KEY
    spotcheck draw show DRAW
    spotcheck case ACTION CASE_ID [--set key=value ...] [--args-json JSON] --signer KEY
    spotcheck sample [--enterprises 1200 --inspectors 60] [--signer ADMIN_KEY]

Every write is a command signed on this device with the key file
``--signer`` (A3) and sent through ``ledger.cli.client()``: the local store,
or the server named by the global ``--server``. Commands that need the
registries (schedule a draw, validate an import, show a draw) read them from
the log: the local store's state, or the server's entries folded here.
Errors are one line and exit code 2; a bad registry or plan table prints its
per-row problems as a table first, and nothing is appended.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from ledger.domain.plans import PlanImportError, parse_plan_rows, plan_entries
from ledger.domain.registry import (
    ImportRowsError,
    Problem,
    validate_enterprise_rows,
    validate_inspector_rows,
)
from ledger.domain.roles import ACTIONS
from ledger.domain.sampling import stratum_count
from ledger.domain.state import DomainState, Draw
from ledger.errors import FormatError, NotFoundError
from ledger.keys import is_key_id, load_key_file
from ledger.replay import LogState

__all__ = ["install"]

departments_app = typer.Typer(help="Departments (部门, C1).", no_args_is_help=True)
registry_app = typer.Typer(help="Enterprise and inspector registries (名录库, C1).",
                           no_args_is_help=True)
conflicts_app = typer.Typer(help="Conflict-of-interest declarations (回避, C1).",
                            no_args_is_help=True)
plan_app = typer.Typer(help="Annual plans (年度抽查计划, C2).", no_args_is_help=True)
draw_app = typer.Typer(help="Draws with commit-reveal (双随机, C3).", no_args_is_help=True)

SignerOpt = Annotated[Path, typer.Option("--signer", help="Key file that signs the command")]

CASE_ACTIONS = tuple(sorted(a.removeprefix("cases.") for a in ACTIONS if a.startswith("cases.")))


def install(app: typer.Typer) -> None:
    """Add the planner's and inspectors' commands to the ``spotcheck`` app."""
    app.add_typer(departments_app, name="departments")
    app.add_typer(registry_app, name="registry")
    app.add_typer(conflicts_app, name="conflicts")
    app.add_typer(plan_app, name="plan")
    app.add_typer(draw_app, name="draw")
    app.command("case")(case)
    app.command("sample")(sample)


# ---------------------------------------------------------------------------
# Shared helpers


def _cli() -> ModuleType:
    """``ledger.cli`` (imported late: it installs this module)."""
    import ledger.cli

    return ledger.cli


def _client() -> Any:
    return _cli().client()


def _view(client: Any) -> tuple[LogState, DomainState]:
    """The log's state as the client sees it: the local store's, or the server's entries."""
    from ledger.client import LocalClient

    if isinstance(client, LocalClient):
        client.ledger.catch_up()
        return client.ledger.log, client.ledger.domain
    log, state = LogState(verify_signatures=False), DomainState()
    start = 0
    while True:
        batch = client.entries(start)
        if not batch:
            break
        for data in batch:
            state.apply(log.apply(data, index=log.size))
        start = log.size
    return log, state


def _send(client: Any, signer: Path, action: str, args: dict[str, Any]) -> dict[str, Any]:
    """Sign ``action`` with ``signer``, submit it, print the receipt's one line."""
    cli = _cli()
    return cli.keep(client.submit(cli.signed(signer, action, args)))


def _problem_table(title: str, columns: tuple[str, str], problems: list[Problem]) -> None:
    table = Table(title=title)
    for name in (columns[0], columns[1], "rule", "problem"):
        table.add_column(name, overflow="fold")
    for row, column, rule, reason in problems:
        table.add_row(str(row), column, rule, reason)
    _cli().err.print(table)


def _rows_failed(path: Path, exc: ImportRowsError) -> None:
    rows = len({p[0] for p in exc.problems})
    _problem_table(f"{path}: rows refused", ("row", "field"), exc.problems)
    _cli().fail(f"{len(exc.problems)} problem(s) in {rows} row(s) of {path}; nothing imported "
                "[C1 import]")


def _departments(state: DomainState) -> dict[str, str]:
    return {d.id: d.name for d in state.departments.values()}


# ---------------------------------------------------------------------------
# C1 registries


@departments_app.command("register")
def departments_register(
    department: Annotated[str, typer.Argument(help="Department id, e.g. AJJ")],
    name: Annotated[str, typer.Argument(help="Name, e.g. 县应急管理局")],
    signer: SignerOpt,
) -> None:
    """Register a department (``departments.register``; planner or admin)."""
    _send(_client(), signer, "departments.register", {"department": department, "name": name})


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(help="CSV, TSV or XLSX table with a header row")],
    kind: Annotated[str, typer.Option(help="enterprises or inspectors")],
    signer: SignerOpt,
) -> None:
    """Import enterprises or inspectors; every row is checked, nothing is appended on a problem."""
    from ledger.tabular import read_table

    if kind not in ("enterprises", "inspectors"):
        _cli().fail(f"--kind must be enterprises or inspectors, got {kind!r}")
    table = read_table(file)
    client = _client()
    _log, state = _view(client)
    numbers = table.row_numbers
    try:
        if kind == "enterprises":
            rows: list[dict[str, Any]] = list(validate_enterprise_rows(
                table.rows, existing=set(state.enterprises), row_numbers=numbers))
        else:
            rows = _inspector_rows(table.rows, numbers, state)
    except ImportRowsError as exc:
        _rows_failed(file, exc)
        return
    try:
        _send(client, signer, f"{kind}.import", {"rows": rows})
    except ImportRowsError as exc:  # the store's own check (e.g. a row registered meanwhile)
        mapped = [(numbers[row - 1] if 0 < row <= len(numbers) else row, f, r, why)
                  for row, f, r, why in exc.problems]
        _rows_failed(file, ImportRowsError(mapped, what=f"{kind} rows"))
    _cli().console.print(f"imported {len(rows)} {kind} from {file}")


def _inspector_rows(raw: list[dict[str, str]], numbers: list[int], state: DomainState
                    ) -> list[dict[str, Any]]:
    """Inspector rows validated as the store will: registry ids and 执法证号 taken count too."""
    certs = {x.cert_no: x.id for x in state.inspectors.values() if x.cert_no}
    taken: list[Problem] = []
    for number, row in zip(numbers, raw, strict=True):
        for header in ("cert_no", "执法证号", "执法证件号"):
            cert = (row.get(header) or "").strip()
            if cert in certs:
                taken.append((number, "cert_no", "C1 registry",
                              f"{cert!r} is the 执法证号 of inspector {certs[cert]!r}"))
    try:
        rows = validate_inspector_rows(raw, departments=_departments(state),
                                       existing=set(state.inspectors), row_numbers=numbers)
    except ImportRowsError as exc:
        raise ImportRowsError([*exc.problems, *taken], what="inspector rows") from None
    if taken:
        raise ImportRowsError(taken, what="inspector rows")
    return [dict(row) for row in rows]


@conflicts_app.command("declare")
def conflicts_declare(
    inspector: Annotated[str, typer.Argument(help="Inspector id")],
    enterprise: Annotated[str, typer.Argument(help="统一社会信用代码 of the enterprise")],
    reason: Annotated[str, typer.Option(help="The interest that calls for 回避")],
    signer: SignerOpt,
) -> None:
    """Declare a conflict of interest (planner, or the inspector's own key)."""
    _send(_client(), signer, "conflicts.declare",
          {"inspector": inspector, "enterprise": enterprise, "reason": reason})


# ---------------------------------------------------------------------------
# C2 plans


def parse_grade_ratios(text: str) -> dict[str, str]:
    """``A=0.05,B=0.1,C=0.3,D=0.6`` -> ``{"A": "0.05", ...}`` (checked by ``plan_entries``)."""
    out: dict[str, str] = {}
    for part in text.split(","):
        grade, sep, ratio = part.partition("=")
        if not sep or not grade.strip() or not ratio.strip():
            raise FormatError("C2 grade ratios", f"expected GRADE=RATIO pairs like A=0.05, got "
                              f"{part!r}", field="grade_ratios")
        if grade.strip() in out:
            raise FormatError("C2 grade ratios", f"grade {grade.strip()} is given twice",
                              field="grade_ratios")
        out[grade.strip()] = ratio.strip()
    return out


@plan_app.command("import")
def plan_import(
    file: Annotated[Path, typer.Argument(help="The plan table (CSV/XLSX, the seed's columns)")],
    signer: SignerOpt,
    grade_ratios: Annotated[str | None, typer.Option(
        help="Ratios per credit-risk grade for tasks that set them by grade, "
             "e.g. A=0.05,B=0.1,C=0.3,D=0.6")] = None,
    days: Annotated[int, typer.Option(help="一公开: results are published within DAYS")] = 7,
    unit: Annotated[str, typer.Option(help="Unit of DAYS: 工作日 or 日")] = "工作日",
) -> None:
    """Import a year's plan table (``plans.import``, one command per plan number)."""
    from ledger.tabular import read_table

    table = read_table(file)
    client = _client()
    _log, state = _view(client)
    ratios = parse_grade_ratios(grade_ratios) if grade_ratios is not None else None
    first = table.row_numbers[0] if table.row_numbers else 2
    try:
        tasks = parse_plan_rows(table.rows, departments=_departments(state),
                                first_row_number=first)
    except PlanImportError as exc:
        _problem_table(f"{file}: plan rows refused", ("row", "column"), exc.problems)
        _cli().fail(f"{len(exc.problems)} problem(s) in the plan table {file}; nothing "
                    "imported [C2 plan]")
        return
    plans = plan_entries(tasks, grade_ratios=ratios, days=days, unit=unit)
    for plan in plans:
        if plan["plan_no"] in state.plans:
            _cli().fail(f"plan {plan['plan_no']} is already imported; nothing imported "
                        "[C2 plan]")
    for plan in plans:
        _send(client, signer, "plans.import", plan)
    summary = Table(title="tasks imported")
    for name in ("task", "name", "type", "ratio", "sectors", "departments", "window"):
        summary.add_column(name, overflow="fold")
    for plan in plans:
        for task in plan["tasks"]:
            ratio = task["ratio"] or ",".join(f"{g}={r}" for g, r in
                                              task.get("grade_ratios", {}).items())
            summary.add_row(task["task_id"], task["task_name"], task["kind"] or "(blank)", ratio,
                            "、".join(task["sectors"]) or "all",
                            " + ".join([task["initiator"], *task["joint_departments"]]),
                            f"{task['window_start']}..{task['window_end']}")
    _cli().console.print(summary)


# ---------------------------------------------------------------------------
# C3 draws


def _party_key(text: str) -> tuple[str, str]:
    """``NAME=KEYID`` or ``NAME=KEYFILE`` -> (party name, key id)."""
    name, sep, key = text.partition("=")
    if not sep or not name.strip() or not key.strip():
        raise FormatError("C3 parties", f"expected NAME=KEYID (or NAME=KEYFILE), got {text!r}",
                          field="parties")
    key = key.strip()
    if is_key_id(key):
        return name.strip(), key
    path = Path(key)
    if path.is_file():
        return name.strip(), load_key_file(path).key_id
    raise FormatError("C3 parties", f"{key!r} is neither a key id (16 hex) nor a key file",
                      field="parties")


@draw_app.command("schedule")
def draw_schedule(
    task_id: Annotated[str, typer.Argument(help="Task id, e.g. 联202301-001")],
    draw_id: Annotated[str, typer.Option(help="New draw id, e.g. 联202301-001-D1")],
    party: Annotated[list[str], typer.Option(
        help="A party that contributes randomness: NAME=KEYID (repeat; in order)")],
    signer: SignerOpt,
    team_size: Annotated[int, typer.Option(help="Inspectors per team (at least 2)")] = 2,
    max_load: Annotated[int | None, typer.Option(help="Most teams per inspector")] = None,
    replaces: Annotated[str | None, typer.Option(help="The voided draw this re-draw replaces")
                        ] = None,
) -> None:
    """Schedule a draw: freeze candidates by stratum, inspector pool, conflicts and parties."""
    from ledger.domain.decide import draft_schedule

    parties = [_party_key(p) for p in party]
    client = _client()
    _log, state = _view(client)
    args = draft_schedule(state, draw_id=draw_id, task_id=task_id,
                          parties=[{"party": n, "key": k} for n, k in parties],
                          team_size=team_size, max_load=max_load, replaces=replaces)
    _send(client, signer, "draws.schedule", args)
    table = Table(title=f"draw {draw_id} of task {task_id}: frozen strata")
    for name in ("stratum", "ratio", "candidates", "to draw"):
        table.add_column(name)
    for stratum in args["strata"]:
        size = len(stratum["candidates"])
        table.add_row(stratum["stratum"], stratum["ratio"], str(size),
                      str(stratum_count(stratum["ratio"], size)))
    _cli().console.print(table)
    _cli().console.print(f"{len(args['inspectors'])} inspectors, {len(args['conflicts'])} "
                         f"conflicts frozen; parties: "
                         f"{', '.join(f'{n} ({k})' for n, k in parties)}", highlight=False)


@draw_app.command("commit")
def draw_commit(
    draw_id: Annotated[str, typer.Argument(help="Draw id")],
    party: Annotated[str, typer.Option(help="Party name as scheduled")],
    signer: SignerOpt,
) -> None:
    """Commit to a new 32-byte secret, kept in a 0600 file next to the signer's key file."""
    from ledger.season import commitment_of, make_secret, secret_file

    path = secret_file(signer, draw_id, party)
    secret = make_secret(path)
    _send(_client(), signer, "draws.commit",
          {"draw_id": draw_id, "party": party, "commitment": commitment_of(secret)})
    _cli().console.print(f"secret kept in {path} (mode 0600); reveal it with "
                         f"`spotcheck draw reveal {draw_id} --party {party}` once every party "
                         "has committed", highlight=False)


@draw_app.command("reveal")
def draw_reveal(
    draw_id: Annotated[str, typer.Argument(help="Draw id")],
    party: Annotated[str, typer.Option(help="Party name as scheduled")],
    signer: SignerOpt,
) -> None:
    """Reveal the party's saved secret; the last reveal performs the draw and opens the cases."""
    from ledger.season import read_secret, secret_file

    secret = read_secret(secret_file(signer, draw_id, party))
    client = _client()
    _send(client, signer, "draws.reveal", {"draw_id": draw_id, "party": party, "secret": secret})
    _log, state = _view(client)
    draw = state.draws.get(draw_id)
    if draw is not None and draw.performed is not None:
        counts = ", ".join(f"{s['stratum']}: {s['count']}" for s in draw.selection())
        _cli().console.print(f"draw {draw_id} performed: {len(draw.case_ids)} cases opened "
                             f"({counts})", highlight=False)
    elif draw is not None:
        waiting = [p for p in draw.parties if p not in draw.reveals]
        _cli().console.print(f"waiting for the reveals of {', '.join(waiting)}",
                             highlight=False)


@draw_app.command("void")
def draw_void(
    draw_id: Annotated[str, typer.Argument(help="Draw id")],
    reason: Annotated[str, typer.Option(help="Why the draw is void")],
    signer: SignerOpt,
) -> None:
    """Void a draw before any of its cases is inspected (discipline or admin)."""
    _send(_client(), signer, "draws.void", {"draw_id": draw_id, "reason": reason})


@draw_app.command("show")
def draw_show(draw_id: Annotated[str, typer.Argument(help="Draw id")]) -> None:
    """Show a draw: seed inputs, per-stratum counts, the selection and the teams."""
    log, state = _view(_client())
    draw = state.draws.get(draw_id)
    if draw is None:
        raise NotFoundError("C3 draw", f"draw {draw_id!r} was not scheduled", field="draw_id")
    console = _cli().console
    for table in draw_tables(draw, log, state):
        console.print(table)


def draw_tables(draw: Draw, log: LogState, state: DomainState) -> list[Table]:
    """The rich tables of ``draw show`` (status, seed inputs, strata, selection, teams)."""
    scheduled = draw.scheduled
    head = Table(title=f"draw {draw.draw_id}", show_header=False)
    head.add_column("what")
    head.add_column("value", overflow="fold")
    head.add_row("task", str(draw.task_id))
    head.add_row("status", draw.status)
    head.add_row("scheduled at entry", str(draw.index))
    head.add_row("replaces", draw.replaces or "-")
    head.add_row("replaced by", draw.replaced_by or "-")
    if draw.voided:
        voider = log.keys.get(draw.voided_by or "")
        who = (f"{voider.holder.get('name')} ({draw.voided_by})" if voider
               else str(draw.voided_by))
        head.add_row("voided", f"entry {draw.voided_index} by {who}: {draw.voided_reason}")
    head.add_row("team size / max load",
                 f"{scheduled.get('team_size')} / {scheduled.get('max_load') or 'no limit'}")
    head.add_row("required departments", ", ".join(scheduled.get("required_departments", [])))
    performed = draw.performed or {}
    checkpoint = performed.get("checkpoint") or {}
    head.add_row("commit checkpoint", f"size {checkpoint.get('size', '-')}, root "
                 f"{checkpoint.get('root', '-')}")
    head.add_row("seed", str(performed.get("seed", "-")))
    tables = [head]

    seeds = Table(title="seed inputs (commit-reveal)")
    for name in ("party", "key", "commitment", "secret"):
        seeds.add_column(name, overflow="fold")
    for party, key in draw.parties.items():
        seeds.add_row(party, key, draw.commitments.get(party, "(waiting)"),
                      draw.reveals.get(party, "(not revealed)"))
    tables.append(seeds)

    selected = {s["stratum"]: s for s in draw.selection()}
    strata = Table(title="strata")
    for name in ("stratum", "ratio", "candidates", "count", "selected"):
        strata.add_column(name)
    for stratum in scheduled.get("strata", []):
        size = len(stratum["candidates"])
        got = selected.get(stratum["stratum"])
        strata.add_row(stratum["stratum"] or "(none)", stratum["ratio"], str(size),
                       str(stratum_count(stratum["ratio"], size)),
                       str(len(got["selected"])) if got else "-")
    tables.append(strata)
    if not draw.performed:
        return tables

    teams = {t["enterprise"]: t["inspectors"] for t in draw.teams()}
    picks = Table(title=f"selection and teams ({len(teams)} enterprises)")
    for name in ("#", "stratum", "enterprise", "name", "sector", "town", "team", "case"):
        picks.add_column(name, overflow="fold")
    number = 0
    for item in draw.selection():
        for usc in item["selected"]:
            number += 1
            firm = state.enterprises.get(usc)
            team = teams.get(usc, [])
            people = ", ".join(f"{x} ({_dept(state, x)})" for x in team)
            case = state.cases.get(f"{draw.draw_id}:{usc}")
            picks.add_row(str(number), item["stratum"], usc, firm.name if firm else "?",
                          (firm.sector or "") if firm else "", (firm.town or "") if firm else "",
                          people + ("  (short)" if len(team) < 2 else ""),
                          case.status if case else "-")
    tables.append(picks)
    return tables


def _dept(state: DomainState, inspector: str) -> str:
    found = state.inspectors.get(inspector)
    return (found.department or "?") if found else "?"


# ---------------------------------------------------------------------------
# C4 cases


def _value(text: str) -> Any:
    """A ``--set`` value: JSON when it parses (lists, true/false, numbers, null), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def case_args(case_id: str, sets: list[str], args_json: str | None) -> dict[str, Any]:
    """The args of a ``cases.*`` command from ``--args-json`` and ``--set key=value`` pairs."""
    args: dict[str, Any] = {}
    if args_json is not None:
        try:
            loaded = json.loads(args_json)
        except ValueError as exc:
            raise FormatError("C4 args", f"--args-json is not JSON: {exc}", field="args") from None
        if not isinstance(loaded, dict):
            raise FormatError("C4 args", "--args-json must be a JSON object", field="args")
        args.update(loaded)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FormatError("C4 args", f"--set expects key=value, got {item!r}", field="args")
        args[key.strip()] = _value(value)
    args["case_id"] = case_id
    return args


def case(
    action: Annotated[str, typer.Argument(help=f"One of: {', '.join(CASE_ACTIONS)}")],
    case_id: Annotated[str, typer.Argument(help="Case id '<draw id>:<enterprise>'")],
    signer: SignerOpt,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="An argument key=value; JSON values for lists, true/false and numbers "
                      "(quote text that looks like JSON: --set 'decision=\"7\"')")] = None,
    args_json: Annotated[str | None, typer.Option(
        "--args-json", help="All arguments as one JSON object (--set overrides)")] = None,
) -> None:
    """Sign and send a case action (``cases.<ACTION>``, C4), e.g. record_inspection."""
    name = action.removeprefix("cases.").replace("-", "_")
    if name not in CASE_ACTIONS:
        raise FormatError("A12 action", f"unknown case action {action!r}; one of "
                          f"{', '.join(CASE_ACTIONS)}", field="action")
    _send(_client(), signer, f"cases.{name}", case_args(case_id, set_ or [], args_json))


# ---------------------------------------------------------------------------
# The sample


def sample(
    enterprises: Annotated[int, typer.Option(help="Enterprises in the sample registry")] = 1200,
    inspectors: Annotated[int, typer.Option(help="Inspectors in the sample registry")] = 60,
    signer: Annotated[Path | None, typer.Option(
        help="Admin key that registers the planner's key (default <home>/keys/admin.key)")
                      ] = None,
) -> None:
    """Load the sample: 5 departments, the synthetic registry and the seed's 2023 plan.

    Creates and registers ``<home>/keys/planner.key`` when needed. Only what
    the log lacks is sent: running it again appends nothing.
    """
    from ledger.client import LocalClient
    from ledger.errors import LedgerError
    from ledger.season import sample_commands
    from ledger.times import now_utc

    cli = _cli()
    keys_dir = cli.settings().keys_dir
    admin = load_key_file(signer or keys_dir / "admin.key")
    client = _client()
    log, state = _view(client)
    result = sample_commands(log, state, keys_dir, admin=admin, now=now_utc(),
                             enterprises=enterprises, inspectors=inspectors)
    if not result.commands:
        cli.console.print("the sample is complete: nothing appended")
        return
    if isinstance(client, LocalClient):
        for outcome in client.ledger.submit_many(result.commands):
            if isinstance(outcome, LedgerError):
                raise outcome
            cli.keep(outcome, quiet=True)
    else:
        for command in result.commands:
            cli.keep(client.submit(command), quiet=True)
    table = Table(title=f"sample loaded ({len(result.commands)} commands)")
    table.add_column("what")
    table.add_column("added")
    for what, count in result.added.items():
        table.add_row(what, str(count))
    cli.console.print(table)
    cli.console.print(f"planner key: {result.planner_file} (mode 0600)", highlight=False)
