"""The ``spotcheck`` command (typer + rich): local store by default, ``--server`` for HTTP.

Every error the ledger raises on purpose is printed as one readable line and
exits with code 2 (bad input) — or 1 where a check found the log invalid.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.client import Client, open_client
from ledger.commands import sign_command
from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.keys import KeyPair, b64encode, load_key_file, save_key_file
from ledger.times import format_time, now_utc

app = typer.Typer(
    help="spotcheck-ledger: tamper-evident audit ledger for 双随机、一公开.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Key files and key registration (A2, A7).", no_args_is_help=True)
log_app = typer.Typer(help="Checkpoints, verifier key and proofs (A5, A6).", no_args_is_help=True)
proof_app = typer.Typer(help="Inclusion and consistency proofs.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(log_app, name="log")
log_app.add_typer(proof_app, name="proof")

console = Console()
err = Console(stderr=True)

ServerOpt = Annotated[str | None, typer.Option("--server", help="Server URL; default: local store")]


ReceiptsOpt = Annotated[
    Path | None,
    typer.Option(
        "--receipts", help="Folder where each write's receipt (A8) is kept as <index>.json"
    ),
]


class _State:
    server: str | None = None
    receipts: Path | None = None


state = _State()


@app.callback()
def _main(server: ServerOpt = None, receipts: ReceiptsOpt = None) -> None:
    state.server = server
    state.receipts = receipts


def settings() -> Settings:
    return Settings.from_env()


def client() -> Client:
    return open_client(settings(), server=state.server)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def signed(signer: Path, action: str, args: dict[str, Any]) -> dict[str, Any]:
    """Sign a command with the key file ``signer`` (on this device; A3)."""
    pair = load_key_file(signer)
    return sign_command(pair, action, args, issued_at=now_utc())


def keep(receipt: dict[str, Any], *, quiet: bool = False) -> dict[str, Any]:
    """Print a receipt's one line and, with ``--receipts DIR``, save it for offline checks."""
    entry = receipt["entry"]
    if state.receipts is not None:
        state.receipts.mkdir(parents=True, exist_ok=True)
        path = state.receipts / f"{receipt['index']}.json"
        path.write_text(json.dumps(receipt, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if not quiet:
        console.print(
            f"appended entry {receipt['index']} {entry['type']} to {entry['stream']} "
            f"(leaf {receipt['leaf_hash'][:16]}…)",
            highlight=False,
        )
    return receipt


def submit(signer: Path, action: str, args: dict[str, Any]) -> dict[str, Any]:
    return keep(client().submit(signed(signer, action, args)))


# -- init -----------------------------------------------------------------------
@app.command()
def init(
    origin: Annotated[
        str | None, typer.Option(help="Log origin, e.g. chengde.example/spotcheck-ledger")
    ] = None,
    holder: Annotated[
        str, typer.Option(help="Name of the root key's holder")
    ] = "县应急管理局 局长",
    calendar: Annotated[
        bool, typer.Option(help="Log WorkCalendarSet entries from chinese-calendar")
    ] = True,
) -> None:
    """Create the store, the root, admin and log keys (mode 0600) and the genesis entry."""
    from ledger.setup import initialise

    cfg = settings()
    result = initialise(cfg, origin=origin or cfg.origin, holder=holder, calendars=calendar)
    console.print(f"store: {cfg.database_url}")
    for name, path in result.key_files.items():
        console.print(f"{name} key: {path} (mode 0600)")
    console.print(f"genesis hash: {result.genesis_hash}")
    console.print("verifier key:")
    print(result.vkey)


# -- keys -------------------------------------------------------------------------
@keys_app.command("new")
def keys_new(
    name: str,
    out: Annotated[
        Path | None, typer.Option(help="Key file to write (default var/keys/NAME.key)")
    ] = None,
) -> None:
    """Generate an Ed25519 key file (mode 0600). The private key is never printed."""
    path = out or settings().keys_dir / f"{name}.key"
    if path.exists():
        fail(f"{path} exists: refusing to overwrite a key file")
    pair = KeyPair.generate(name)
    save_key_file(path, pair)
    console.print(f"key {pair.key_id} written to {path} (mode 0600)")
    console.print(f"public key: {pair.public_key_b64}")


@keys_app.command("show")
def keys_show(keyfile: Path) -> None:
    """Print a key file's key id and public key (never the private key)."""
    pair = load_key_file(keyfile)
    print(
        json.dumps(
            {"name": pair.name, "key": pair.key_id, "public_key": pair.public_key_b64},
            ensure_ascii=False,
        )
    )


@keys_app.command("register")
def keys_register(
    keyfile: Annotated[
        Path, typer.Argument(help="Key file of the key to register (public part is read)")
    ],
    roles: Annotated[str, typer.Option(help="Comma-separated roles, e.g. planner,inspector")],
    signer: Annotated[Path, typer.Option(help="Key file that signs (root or admin)")],
    name: Annotated[
        str | None, typer.Option(help="Holder's name (default: the key file's name)")
    ] = None,
    department: Annotated[str | None, typer.Option(help="Holder's department id")] = None,
    inspector: Annotated[str | None, typer.Option(help="Holder's inspector id")] = None,
) -> None:
    """Register a key with roles (``keys.register``, signed by a root or admin key)."""
    pair = load_key_file(keyfile)
    args = {
        "key": pair.key_id,
        "public_key": pair.public_key_b64,
        "holder": {"name": name or pair.name, "department": department, "inspector": inspector},
        "roles": sorted({r.strip() for r in roles.split(",") if r.strip()}),
        "valid_from": format_time(now_utc() - timedelta(seconds=1)),
    }
    submit(signer, "keys.register", args)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="Key id to revoke")],
    reason: Annotated[str, typer.Option(help="Why the key is revoked")],
    signer: Annotated[
        Path, typer.Option(help="Key file that signs (root, admin, or the key itself)")
    ],
) -> None:
    """Revoke a key (``keys.revoke``)."""
    submit(signer, "keys.revoke", {"key": key, "reason": reason})


# -- log ----------------------------------------------------------------------------
@log_app.command("checkpoint")
def log_checkpoint() -> None:
    """Print the latest signed checkpoint (A6)."""
    sys.stdout.write(client().checkpoint())


@log_app.command("vkey")
def log_vkey() -> None:
    """Print the log's verifier key (A6)."""
    print(client().vkey())


@proof_app.command("inclusion")
def proof_inclusion(index: int, size: Annotated[int | None, typer.Option()] = None) -> None:
    """Print the inclusion proof of entry INDEX in the tree of SIZE (default: latest)."""
    print(json.dumps(client().inclusion(index, size)))


@proof_app.command("consistency")
def proof_consistency(old: int, new: Annotated[int | None, typer.Option()] = None) -> None:
    """Print the consistency proof from tree size OLD to NEW (default: latest)."""
    print(json.dumps(client().consistency(old, new)))


# -- export / check ----------------------------------------------------------------------
@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Folder, or a path ending in .tar.gz")],
) -> None:
    """Write an export bundle (A9): entries.jsonl, checkpoint, reports/."""
    from ledger.store.export import export_bundle
    from ledger.store.open import open_ledger

    ledger = open_ledger(settings(), writer=False, catch_up=False)
    with progress() as bar:
        task = bar.add_task("exporting", total=ledger.backend.head_size())
        size = export_bundle(ledger, out, progress=lambda n: bar.update(task, completed=n))
    console.print(f"exported {size} entries to {out}")


@app.command()
def check() -> None:
    """Recompute every leaf and the tree from the stored entries; exit 1 on any difference."""
    from ledger.store.check import check_store
    from ledger.store.open import open_ledger

    ledger = open_ledger(settings(), writer=False, catch_up=False)
    with progress() as bar:
        task = bar.add_task("checking", total=ledger.backend.head_size())
        result = check_store(
            ledger.backend, progress=lambda n, total: bar.update(task, completed=n, total=total)
        )
    if result.ok:
        console.print(f"OK: {result.size} entries, root {b64encode(result.root)}")
        return
    where = (
        f"first bad index {result.first_bad_index}: " if result.first_bad_index is not None else ""
    )
    err.print(f"FAIL: {where}{result.reason}", highlight=False)
    raise typer.Exit(1)


# -- serve ---------------------------------------------------------------------------------
@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default SPOTCHECK_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SPOTCHECK_PORT, 8000)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes sharing the store")] = 1,
) -> None:
    """Run the HTTP service (A10) with uvicorn on the store named by SPOTCHECK_*."""
    import uvicorn

    from api.logs import uvicorn_log_config
    from api.settings import ApiSettings

    cfg = ApiSettings.from_env()
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=host or cfg.host,
        port=cfg.port if port is None else port,
        workers=workers,
        access_log=False,
        log_config=uvicorn_log_config(cfg.log_level),
        timeout_graceful_shutdown=30,
    )


# -- projections, reports, tick (B4, C6, C7) ------------------------------------------
projections_app = typer.Typer(
    help="Projection states kept in the store (B4, C6).", no_args_is_help=True
)
report_app = typer.Typer(help="Reports recomputed from the log (C7).", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
app.add_typer(report_app, name="report")


def _runner() -> Any:
    from ledger.store.backend import Backend
    from ledger.store.projection_runner import ProjectionRunner

    return ProjectionRunner(Backend(settings().database_url))


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="Projection to rebuild (default: all)")] = None,
) -> None:
    """Fold a projection (or all) again from entry 0 and store its state and position."""
    from projections.registry import PROJECTIONS

    if name is not None and name not in PROJECTIONS:
        fail(f"unknown projection {name!r}; known: {', '.join(sorted(PROJECTIONS))}")
    runner = _runner()
    with progress() as bar:
        task = bar.add_task(f"rebuilding {name or 'all projections'}", total=None)
        size = runner.rebuild(
            name, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    for each in [name] if name else sorted(PROJECTIONS):
        console.print(f"{each}: {size} entries applied (position {runner.position(each)})")


def _compliance_at_head(plan: str | None) -> tuple[dict[str, Any], bytes]:
    """The compliance report (C7) at the head: local runner, or the server's entries."""
    from ledger.canonical import canonical

    if state.server is None:
        from ledger.store.projection_runner import report_at_head

        with progress() as bar:
            task = bar.add_task("catching up", total=None)
            report = report_at_head(
                _runner(),
                "compliance",
                {"plan_no": plan},
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    else:
        from projections.registry import REPORT_KINDS

        report = REPORT_KINDS["compliance"](client().entries(0), {"plan_no": plan})
    return report, canonical(report)


def _print_compliance(report: dict[str, Any]) -> None:
    from rich.table import Table

    cases = Table(
        title=f"compliance {report['plan_no'] or '(all plans)'} at tree size "
        f"{report['tree_size']} (as of {report['as_of_date']})"
    )
    for column in (
        "plan",
        "task",
        "draws",
        "drawn",
        "inspected",
        "published",
        "closed",
        "void",
        "findings",
    ):
        cases.add_column(column)
    for plan in report["plans"]:
        for task in plan["tasks"]:
            counts = task["cases"]
            cases.add_row(
                plan["plan_no"],
                task["task_id"],
                ", ".join(f"{d['draw_id']} {d['status']}" for d in task["draws"]),
                *(str(counts[k]) for k in ("drawn", "inspected", "published", "closed", "void")),
                str(sum(task["findings"].values())),
            )
    console.print(cases)
    rules = Table(title="findings (each cites its entry indexes)")
    rules.add_column("rule")
    rules.add_column("count", justify="right")
    rules.add_column("first entries")
    for rule, count in report["summary"].items():
        first: list[int] = next((f["entries"] for f in report["findings"] if f["rule"] == rule), [])
        rules.add_row(rule, str(count), ", ".join(map(str, first)))
    console.print(rules)


@report_app.command("compliance")
def report_compliance(
    plan: Annotated[
        str | None, typer.Option("--plan", help="Plan number, e.g. 联202301 (default: every plan)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the canonical JSON report here")] = None,
) -> None:
    """Compute the compliance report (C7) at the head and print its summary."""
    report, body = _compliance_at_head(plan)
    if out is not None:
        out.write_bytes(body)
        console.print(
            f"wrote {out} ({len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()})",
            highlight=False,
        )
    _print_compliance(report)


@report_app.command("publish")
def report_publish(
    signer: Annotated[Path, typer.Option(help="Key file that signs (discipline or publisher)")],
    plan: Annotated[str | None, typer.Option("--plan", help="Plan number (default: all)")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the report here")] = None,
) -> None:
    """Compute the compliance report at the head and log ``reports.publish`` (C7, A12).

    Locally the report's canonical bytes are stored with its ``ReportPublished``
    entry, in the same transaction (A9 ``reports/``); with ``--server`` only the
    hash is logged (the report can be recomputed from the log by anyone).
    """
    from projections.registry import report_id

    report, body = _compliance_at_head(plan)
    size = report["tree_size"]
    args = {
        "report_id": report_id("compliance", plan, size),
        "kind": "compliance",
        "plan_no": plan,
        "sha256": hashlib.sha256(body).hexdigest(),
        "tree_size": size,
        "root": report["root"],
    }
    command = signed(signer, "reports.publish", args)
    if state.server is None:
        from ledger.store.open import open_ledger

        receipt = open_ledger(settings()).submit(command, reports={args["report_id"]: body})
    else:
        receipt = client().submit(command)
    if out is not None:
        out.write_bytes(body)
    console.print(
        f"published {args['report_id']} (sha256 {args['sha256']}, tree size {size}) "
        f"as entry {receipt['index']}",
        highlight=False,
    )


@app.command()
def tick() -> None:
    """Scheduler step: append the due RectificationOverdue / PublicationOverdue entries."""
    from ledger.store.open import open_ledger

    entries = open_ledger(settings()).tick()
    for entry in entries:
        console.print(
            f"appended entry {entry['index']} {entry['type']} to {entry['stream']}", highlight=False
        )
    if not entries:
        console.print("nothing due")


# -- planner and inspector commands (issue 2/7), defined in ledger/cli_domain.py ------------
def _install_domain_commands() -> None:
    """departments, registry, conflicts, plan, draw, case and sample (C1-C4)."""
    from ledger.cli_domain import install

    install(app)


_install_domain_commands()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; maps LedgerError to one line and exit code 2."""
    try:
        # With standalone_mode=False click returns the code of a typer.Exit instead of raising.
        code = app(args=argv, standalone_mode=False)
    except LedgerError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        return 130
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return 2
        raise
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
