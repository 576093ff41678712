"""``python -m ledger.demo [--serve] [--host 127.0.0.1 --port 8000]``: the sample 2023 season.

On the store named by ``SPOTCHECK_*`` (default: SQLite under ``./var``):

1. create the store when it is empty — on the season's simulated clock, at
   the start of 2023 (:func:`initialise_at`), because every later entry of the
   season is logged in 2023 and ``logged_at`` never decreases (A4);
2. load the sample registry and the seed's 2023 plan (:func:`ledger.season.load_sample`);
3. build the season with a progress bar (:func:`ledger.season.build_season`);
4. run the scheduler once at the real time (``Ledger.tick``);
5. export a bundle and print the verifier key, the genesis hash, the URLs and
   the exact ``spotcheck-verify`` command;
6. with ``--serve``, run the HTTP service (``api.app.create_app``) with uvicorn.

Running it again on the same store appends nothing and serves the same log.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.config import Settings
from ledger.domain.registry import RESULT_CATEGORIES
from ledger.entries import leaf_hash
from ledger.errors import LedgerError, StoreError
from ledger.season import (
    INIT_AT,
    SAMPLE_AT,
    SeasonSummary,
    SimClock,
    build_season,
    load_sample,
)
from ledger.setup import InitResult, initialise
from ledger.store.backend import Backend
from ledger.store.ledger import Ledger
from ledger.store.open import open_ledger
from ledger.times import now_utc

ROOT_HOLDER = "县应急管理局 局长"


def initialise_at(
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    origin: str | None = None,
    holder: str = ROOT_HOLDER,
    calendars: bool = True,
) -> InitResult:
    """``spotcheck init`` (``ledger.setup.initialise``) with the entries logged at ``clock()``.

    The same steps: root, admin and log key files (mode 0600, kept when they
    exist) under ``<home>/keys``, ``LedgerGenesis``, the admin key registered
    by the root key, and one ``WorkCalendarSet`` per year the
    ``chinese-calendar`` package knows. Refuses a store that already holds a log.
    """
    return initialise(
        settings, origin=origin or settings.origin, holder=holder, calendars=calendars,
        clock=clock,
    )


@dataclass
class DemoResult:
    """What :func:`prepare` did and what a verifier needs."""

    ledger: Ledger
    created: bool
    sample: dict[str, int]
    season: SeasonSummary
    ticked: int
    vkey: str
    genesis_hash: str


def prepare(
    settings: Settings,
    *,
    enterprises: int = 1200,
    inspectors: int = 60,
    progress: Callable[[int, int, str], None] | None = None,
) -> DemoResult:
    """Steps 1-4: init when empty, sample, season, one tick at the real time.

    Returns the open ledger (caught up, real clock) with what was done.
    """
    created = False
    backend = Backend(settings.database_url)
    try:
        empty = backend.head_size() == 0
    finally:
        backend.close()
    if empty:
        initialise_at(settings, clock=SimClock(INIT_AT))
        created = True
    if not settings.log_key_file.exists():
        raise StoreError("A6 checkpoint", f"the log key {settings.log_key_file} is missing: "
                         "this process cannot append", field="SPOTCHECK_LOG_KEY_FILE")
    ledger = open_ledger(settings)
    sample = load_sample(ledger, settings.keys_dir, at=SAMPLE_AT, enterprises=enterprises,
                         inspectors=inspectors)
    season = build_season(ledger, settings.keys_dir, progress=progress)
    ledger.clock = now_utc
    ticked = len(ledger.tick())
    genesis = next(iter(ledger.entries(0, 1)))[1]
    return DemoResult(ledger, created, sample, season, ticked,
                      vkey=str(ledger.log.log_vkey), genesis_hash=leaf_hash(genesis).hex())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.demo",
        description="Build the sample 2023 season on the store named by SPOTCHECK_* "
                    "(default: SQLite under ./var) and optionally serve it.")
    parser.add_argument("--serve", action="store_true", help="run the HTTP service afterwards")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (with --serve)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (with --serve)")
    parser.add_argument("--enterprises", type=int, default=1200,
                        help="size of the sample enterprise registry")
    parser.add_argument("--inspectors", type=int, default=60,
                        help="size of the sample inspector registry")
    return parser


def _app_factory() -> Callable[..., Any]:
    """``api.app.create_app``, or a StoreError saying why the service cannot start."""
    try:
        module = importlib.import_module("api.app")
    except ImportError as exc:
        raise StoreError("B1 serve", f"the HTTP service (api.app) cannot be imported: {exc}; "
                         "install the server extra: pip install 'spotcheck-ledger[server]'"
                         ) from None
    factory = getattr(module, "create_app", None)
    if not callable(factory):
        raise StoreError("B1 serve", "api.app has no create_app(settings) factory yet: "
                         "the HTTP service is not available in this build")
    return factory


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; exit code 2 with one line on a ledger error."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    args = _parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    settings = Settings.from_env()
    try:
        factory = _app_factory() if args.serve else None
        with Progress(TextColumn("season {task.description}"), BarColumn(),
                      TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("2023", total=None)

            def step(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, description=what)

            result = prepare(settings, enterprises=args.enterprises,
                             inspectors=args.inspectors, progress=step)
        bundle = (settings.home / "demo-bundle.tar.gz").resolve()
        from ledger.store.export import export_bundle

        bundle.unlink(missing_ok=True)
        export_bundle(result.ledger, bundle)
    except LedgerError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        return 2
    summary = result.season
    table = Table(title="2023 season (双随机、一公开)", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("store", settings.database_url + (" (created)" if result.created else ""))
    if result.sample:
        table.add_row("sample added", ", ".join(f"{k} {v}" for k, v in result.sample.items()))
    for what, value in summary.rows():
        table.add_row(what, value)
    table.add_row("tick now (real time)", f"{result.ticked} entries")
    console.print(table)
    findings = Table(title="findings per official result category")
    for name in ("code", "result", "findings"):
        findings.add_column(name)
    for code, label in RESULT_CATEGORIES:
        findings.add_row(code, label, str(summary.findings.get(label, 0)))
    console.print(findings)
    base = f"http://{args.host}:{args.port}"
    lines = [
        f"verifier key:  {result.vkey}",
        f"genesis hash:  {result.genesis_hash}",
        f"bundle:        {bundle}",
        f"public pages:  {base}/",
        f"log:           {base}/v1/log/checkpoint",
        f"API docs:      {base}/docs",
        "verify the bundle:",
        "  " + shlex.join(["spotcheck-verify", "bundle", str(bundle), "--vkey", result.vkey,
                           "--genesis-hash", result.genesis_hash]),
        "verify the running service:",
        "  " + shlex.join(["spotcheck-verify", "online", base, "--vkey", result.vkey]),
    ]
    print("\n".join(lines), flush=True)
    result.ledger.backend.close()
    if factory is None:
        return 0
    import uvicorn

    from api.settings import ApiSettings

    api_settings = ApiSettings.from_env()
    console.print(f"serving {base}/ (Ctrl-C to stop)", highlight=False)
    uvicorn.run(factory(api_settings), host=args.host, port=args.port, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
