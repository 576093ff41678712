"""Receipts (DESIGN.md A8): what every successful write returns, checkable offline.

A receipt is::

    {"index": 17, "leaf_hash": "<hex>", "entry": <the entry object>,
     "checkpoint": "<signed note text>", "inclusion": ["<base64>", ...]}

``leaf_hash`` is the lowercase hex of SHA-256(0x00 || canonical entry bytes)
and ``inclusion`` the RFC 9162 audit path from that leaf to the root of the
receipt's checkpoint, whose size is greater than ``index``.
"""

from __future__ import annotations

import re
from typing import Any

from ledger.canonical import canonical
from ledger.checkpoint import Checkpoint, verify_checkpoint
from ledger.entries import check_entry_shape
from ledger.errors import FormatError, LedgerError, ProofError, SignatureError
from ledger.keys import b64decode, b64encode
from ledger.merkle import leaf_hash, verify_inclusion

__all__ = ["RECEIPT_MEMBERS", "make_receipt", "verify_receipt"]

RECEIPT_MEMBERS = frozenset({"index", "leaf_hash", "entry", "checkpoint", "inclusion"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_RULE = "A8 receipt"

Receipt = dict[str, Any]


def make_receipt(
    entry: dict[str, Any], data: bytes, checkpoint_note: str, inclusion: list[bytes]
) -> Receipt:
    """Build the receipt of ``entry`` (A8).

    ``data`` are the entry's canonical bytes, ``checkpoint_note`` a signed
    checkpoint whose tree holds the entry and ``inclusion`` the audit path
    from the entry's leaf to that checkpoint's root (RFC 9162 §2.1.3.1).
    """
    return {
        "index": entry["index"],
        "leaf_hash": leaf_hash(data).hex(),
        "entry": entry,
        "checkpoint": checkpoint_note,
        "inclusion": [b64encode(h) for h in inclusion],
    }


def verify_receipt(receipt: object, vkey: str) -> Checkpoint:
    """Check a receipt offline with the log's verifier key alone (A8).

    1. exactly the five members; ``index`` a non-negative integer equal to
       ``entry.index``; ``entry`` a well-formed entry (A4);
    2. ``leaf_hash`` is the leaf hash of the entry's canonical bytes (A1, A5);
    3. ``checkpoint`` is signed by ``vkey`` (A6) and its size is greater
       than ``index``;
    4. ``inclusion`` leads from the leaf to the checkpoint's root (RFC 9162
       §2.1.3.2).

    Returns the receipt's :class:`Checkpoint`.  Raises ``FormatError``,
    ``SignatureError`` or ``ProofError`` naming the field that fails.
    """
    if not isinstance(receipt, dict):
        raise FormatError(_RULE, "a receipt is a JSON object")
    if set(receipt) != RECEIPT_MEMBERS:
        missing = ", ".join(sorted(RECEIPT_MEMBERS - set(receipt))) or "none"
        extra = ", ".join(sorted(set(receipt) - RECEIPT_MEMBERS)) or "none"
        raise FormatError(
            _RULE,
            "a receipt has exactly index, leaf_hash, entry, checkpoint, inclusion; "
            f"missing {missing}; unexpected {extra}",
        )
    index = receipt["index"]
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise FormatError(_RULE, "index must be a non-negative integer", field="index")
    entry = receipt["entry"]
    try:
        check_entry_shape(entry)
        data = canonical(entry)
    except LedgerError as exc:
        raise FormatError(exc.rule, f"entry: {exc.reason}", field="entry") from None
    if entry["index"] != index:
        raise FormatError(
            _RULE, f"index is {index}, the entry says {entry['index']}", field="index"
        )
    claimed = receipt["leaf_hash"]
    if not isinstance(claimed, str) or not _HEX64.fullmatch(claimed):
        raise FormatError(_RULE, "leaf_hash must be 64 lowercase hex characters",
                          field="leaf_hash")
    leaf = leaf_hash(data)
    if leaf.hex() != claimed:
        raise ProofError(
            "A8 leaf_hash",
            f"leaf hash of the entry is {leaf.hex()}, the receipt says {claimed}",
            field="leaf_hash",
        )
    note = receipt["checkpoint"]
    if not isinstance(note, str):
        raise FormatError(_RULE, "checkpoint must be the signed note text", field="checkpoint")
    try:
        checkpoint = verify_checkpoint(note, vkey)
    except SignatureError as exc:
        raise SignatureError(exc.rule, f"checkpoint: {exc.reason}", field="checkpoint") from None
    except LedgerError as exc:
        raise FormatError(exc.rule, f"checkpoint: {exc.reason}", field="checkpoint") from None
    if checkpoint.size <= index:
        raise ProofError(
            _RULE,
            f"checkpoint size {checkpoint.size} does not cover entry {index}",
            field="checkpoint",
        )
    hashes = receipt["inclusion"]
    if not isinstance(hashes, list):
        raise FormatError(_RULE, "inclusion must be a list of base64 hashes", field="inclusion")
    proof = [b64decode(h, field=f"inclusion[{i}]", length=32) for i, h in enumerate(hashes)]
    try:
        verify_inclusion(index, checkpoint.size, leaf, proof, checkpoint.root)
    except ProofError as exc:
        raise ProofError(exc.rule, exc.reason, field="inclusion") from None
    return checkpoint
