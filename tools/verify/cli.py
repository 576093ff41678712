"""``spotcheck-verify``: check a spotcheck-ledger log from the outside (DESIGN.md Part A).

Commands (argparse; ``python -m tools.verify`` is the same)::

    spotcheck-verify bundle PATH --vkey VKEY [--genesis-hash HEX] [--jobs N]
    spotcheck-verify PATH --vkey VKEY                 (same as ``bundle``)
    spotcheck-verify online URL --vkey VKEY [--state FILE]
    spotcheck-verify receipt FILE --vkey VKEY [--server URL]
    spotcheck-verify draw DIR DRAW_ID [--vkey VKEY]
    spotcheck-verify report DIR REPORT_ID [--vkey VKEY]

``--vkey`` takes the log's verifier key string or a file holding it.  Every
command prints one ``OK: ...`` line, or ``FAIL: step N (name): entry I:
reason`` naming the first bad entry; ``--json`` prints the verdict as JSON
instead.  Exit codes: 0 valid, 1 invalid, 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from tools.verify.bundle import BATCH_SIZE, UsageError, Verdict, verify_bundle

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "emit", "main", "read_vkey"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
COMMANDS = ("bundle", "online", "receipt", "draw", "report")


def read_vkey(value: str) -> str:
    """The verifier key: the string itself, or the first line of the file it names."""
    if "+" not in value:
        path = Path(value)
        if not path.is_file():
            raise UsageError(f"--vkey {value!r} is neither a verifier key nor a file")
        try:
            return path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read --vkey file {value}: {exc}") from None
    return value


def emit(
    verdict: Verdict, what: str, as_json: bool, out: TextIO, details: Sequence[str] = ()
) -> int:
    """Print the verdict (one line, or JSON) and return its exit code."""
    if as_json:
        out.write(json.dumps(verdict.to_json(), ensure_ascii=False) + "\n")
    else:
        for line in details:
            out.write(line + "\n")
        out.write(verdict.line(what) + "\n")
    return EXIT_OK if verdict.ok else EXIT_INVALID


def _bundle(args: argparse.Namespace, out: TextIO) -> int:
    verdict = verify_bundle(
        Path(args.path),
        read_vkey(args.vkey),
        genesis_hash=args.genesis_hash,
        jobs=args.jobs,
        batch_size=args.batch_size,
        progress=not args.json,
    )
    return emit(verdict, str(args.path), args.json, out)


def _online(args: argparse.Namespace, out: TextIO) -> int:
    from tools.verify.online import verify_online

    verdict, details = verify_online(
        args.url, read_vkey(args.vkey), state_file=Path(args.state) if args.state else None,
        jobs=args.jobs, progress=not args.json,
    )
    return emit(verdict, args.url, args.json, out, details)


def _receipt(args: argparse.Namespace, out: TextIO) -> int:
    from tools.verify.receipt import verify_receipt_file

    verdict = verify_receipt_file(Path(args.file), read_vkey(args.vkey), server=args.server)
    return emit(verdict, str(args.file), args.json, out)


def _draw(args: argparse.Namespace, out: TextIO) -> int:
    from tools.verify.draws import verify_draw

    verdict, details = verify_draw(
        Path(args.path), args.draw_id, vkey=read_vkey(args.vkey) if args.vkey else None,
        progress=not args.json,
    )
    return emit(verdict, f"draw {args.draw_id}", args.json, out, details)


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from tools.verify.reports import verify_report

    verdict, details = verify_report(
        Path(args.path), args.report_id, vkey=read_vkey(args.vkey) if args.vkey else None,
        progress=not args.json,
    )
    return emit(verdict, f"report {args.report_id}", args.json, out, details)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spotcheck-verify",
        description="Verify a spotcheck-ledger log: export bundle, live server, receipt, "
        "draw or report (DESIGN.md Part A).",
        epilog="Exit codes: 0 valid, 1 invalid, 2 usage or I/O error.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the verdict as JSON")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("bundle", parents=[common], help="verify an export bundle (A9)")
    p.add_argument("path", help="bundle directory or .tar.gz")
    p.add_argument("--vkey", required=True, help="the log's verifier key, or a file with it")
    p.add_argument("--genesis-hash", help="expected leaf hash of entry 0 (lowercase hex)")
    p.add_argument("--jobs", type=int, default=None,
                   help="signature worker processes (default: all cores; 1: none)")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=argparse.SUPPRESS)
    p.set_defaults(run=_bundle)

    p = sub.add_parser("online", parents=[common], help="verify a live server's log (A10)")
    p.add_argument("url", help="base URL of the server, e.g. https://ledger.example")
    p.add_argument("--vkey", required=True, help="the log's verifier key, or a file with it")
    p.add_argument("--state", help="monitor state file: the last trusted checkpoint")
    p.add_argument("--jobs", type=int, default=None, help="signature worker processes")
    p.set_defaults(run=_online)

    p = sub.add_parser("receipt", parents=[common], help="verify a receipt offline (A8)")
    p.add_argument("file", help="receipt JSON file")
    p.add_argument("--vkey", required=True, help="the log's verifier key, or a file with it")
    p.add_argument("--server", help="also prove consistency with this server's latest checkpoint")
    p.set_defaults(run=_receipt)

    p = sub.add_parser("draw", parents=[common], help="replay one draw of a bundle (A11, C3)")
    p.add_argument("path", help="bundle directory or .tar.gz")
    p.add_argument("draw_id")
    p.add_argument("--vkey", help="the log's verifier key (default: the genesis's own, unpinned)")
    p.set_defaults(run=_draw)

    p = sub.add_parser("report", parents=[common], help="check one published report (C7)")
    p.add_argument("path", help="bundle directory or .tar.gz")
    p.add_argument("report_id")
    p.add_argument("--vkey", help="the log's verifier key (default: the genesis's own, unpinned)")
    p.set_defaults(run=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``spotcheck-verify`` with ``argv``; returns the exit code (0, 1 or 2)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] not in COMMANDS and not args_list[0].startswith("-"):
        args_list.insert(0, "bundle")
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    run: Callable[[argparse.Namespace, TextIO], int] = args.run
    try:
        return run(args, sys.stdout)
    except UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except OSError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
