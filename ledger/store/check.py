"""``spotcheck check``: recompute the log from the stored entries (issue 1/7).

Reads every stored entry, checks it is canonical and sits at its own index,
recomputes its leaf hash and compares it with the stored level-0 tree hash,
replays every Part A rule (signatures included), recomputes the root and
compares it with the latest stored checkpoint, whose signature must verify
with the log's key from the genesis entry.  The first difference is reported
with its index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.entries import leaf_hash
from ledger.errors import LedgerError
from ledger.replay import LogState
from ledger.store.backend import Backend

_PAGE = 1000


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    size: int
    root: bytes
    first_bad_index: int | None = None
    reason: str = ""


def check_store(
    backend: Backend, *, progress: Callable[[int, int], None] | None = None
) -> CheckResult:
    """Recompute everything from the stored entries; never raises for a bad log."""
    latest = backend.latest_checkpoint()
    stored_size = backend.head_size()
    if latest is None:
        if stored_size == 0:
            return CheckResult(True, 0, merkle.EMPTY_ROOT)
        return CheckResult(False, stored_size, b"", 0, "entries stored without a checkpoint")
    cp_size, cp_root, note = latest
    state = LogState()
    expected = 0
    page: list[tuple[int, bytes]] = []
    entries = backend.read_entries(0)
    while True:
        page.clear()
        for item in entries:
            page.append(item)
            if len(page) == _PAGE:
                break
        if not page:
            break
        # one query for the page's stored leaf hashes (level 0 of the tree)
        wanted = [merkle.stored_hash_index(0, index) for index, _ in page]
        stored = backend.recorder.read_hashes(wanted)
        for (index, data), at in zip(page, wanted, strict=True):
            if index != expected:
                return _bad(state, expected, f"entry {expected} is missing from the store")
            try:
                state.apply(data, index=index)
            except LedgerError as exc:
                return _bad(state, index, str(exc))
            if stored.get(at) != leaf_hash(data):
                return _bad(state, index, "leaf hash differs from the stored tree hash")
            expected += 1
        if progress is not None:
            progress(expected, stored_size)
    if progress is not None:
        progress(expected, stored_size)
    if expected < cp_size:
        return _bad(state, expected, f"checkpoint covers {cp_size} entries, only {expected} stored")
    if expected > cp_size:
        return _bad(state, cp_size, f"entries beyond the checkpoint size {cp_size}")
    root = state.root()
    try:
        checkpoint = verify_checkpoint(note, state.log_vkey or "", origin=state.origin)
    except LedgerError as exc:
        return CheckResult(False, expected, root, None, f"checkpoint: {exc}")
    if checkpoint.size != cp_size or checkpoint.root != cp_root:
        return CheckResult(False, expected, root, None, "checkpoint row differs from its note")
    if root != cp_root:
        return CheckResult(False, expected, root, None, "recomputed root differs from checkpoint")
    return CheckResult(True, expected, root)


def _bad(state: LogState, index: int, reason: str) -> CheckResult:
    return CheckResult(False, state.size, state.root(), index, reason)
