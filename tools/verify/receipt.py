"""Verify a receipt offline, and optionally against a live server (DESIGN.md A8, A10).

``spotcheck-verify receipt FILE --vkey VKEY [--server URL]``:

1. checkpoint   — the receipt's checkpoint is signed by the log's key (A6);
2. parse        — the receipt has its five members and a well-formed entry;
5. root         — the leaf hash is the entry's and the inclusion proof leads
                  from it to the checkpoint's root (RFC 9162 §2.1.3.2);
8. consistency  — with ``--server``: the server's latest checkpoint is
                  signed by the same key and extends the receipt's
                  (``GET /v1/log/proof/consistency``), so the entry is still
                  in the log everyone sees.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ledger.checkpoint import verify_checkpoint
from ledger.errors import LedgerError, ProofError, SignatureError
from ledger.merkle import verify_consistency
from ledger.receipts import verify_receipt
from tools.verify.bundle import UsageError, Verdict
from tools.verify.online import consistency_proof, fetch

__all__ = ["verify_receipt_file"]


def _step(exc: LedgerError) -> int:
    if exc.field == "checkpoint" or isinstance(exc, SignatureError):
        return 1
    if isinstance(exc, ProofError):
        return 5
    return 2


def verify_receipt_file(path: Path, vkey: str, *, server: str | None = None) -> Verdict:
    """Check the receipt in ``path`` (and its consistency with ``server``); returns the verdict.

    Raises ``UsageError`` for an unreadable file and ``OSError`` when the
    server cannot be reached (exit code 2).
    """
    try:
        receipt = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read receipt {path}: {exc}") from None
    except ValueError as exc:
        return Verdict.fail(2, f"the receipt is not JSON: {exc}", rule="A8 receipt")
    index = receipt.get("index") if isinstance(receipt, dict) else None
    at = index if isinstance(index, int) and not isinstance(index, bool) else None
    try:
        checkpoint = verify_receipt(receipt, vkey)
    except LedgerError as exc:
        return Verdict.from_error(_step(exc), exc, index=at)
    size, root = checkpoint.size, checkpoint.root
    summary = (
        f"entry {at} ({receipt['entry']['type']} on {receipt['entry']['stream']}) is in the "
        f"log of size {size}, root {base64.b64encode(root).decode()}"
    )
    if server is not None:
        try:
            latest = verify_checkpoint(fetch(server, "/v1/log/checkpoint").decode("utf-8"), vkey)
        except UnicodeDecodeError:
            return Verdict.fail(8, "the server's checkpoint is not UTF-8", index=at,
                                rule="A6 signed-note", size=size, root=root)
        except LedgerError as exc:
            return Verdict.from_error(8, exc, index=at, size=size, root=root)
        if latest.size < size:
            return Verdict.fail(
                8, f"split view: the server's checkpoint has size {latest.size}, smaller than "
                f"the receipt's {size}", index=at, rule="A5 consistency", size=size, root=root,
            )
        try:
            proof = [] if latest.size == size else consistency_proof(server, size, latest.size)
            verify_consistency(size, latest.size, root, latest.root, proof)
        except LedgerError as exc:
            return Verdict.fail(
                8, f"split view: the receipt's checkpoint (size {size}) and the server's "
                f"(size {latest.size}) are not consistent: {exc.reason}", index=at,
                rule=exc.rule, size=size, root=root,
            )
        summary += f"; consistent with {server} at size {latest.size}"
    return Verdict(True, size, root, summary=summary)
