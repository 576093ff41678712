"""Verify a live server's log (DESIGN.md A10), monitor style.

``spotcheck-verify online URL --vkey VKEY [--state FILE]``:

1. checkpoint   — ``GET /v1/log/checkpoint`` is signed by the log's key (A6);
8. consistency  — with ``--state``, the last trusted checkpoint is a prefix
                  of this one: ``GET /v1/log/proof/consistency?from=M&to=N``
                  (RFC 9162 §2.1.4.2), and again from the entries themselves;
                  anything else is a split view, reported with both
                  checkpoints;
2-4, 6.         — ``GET /v1/log/entries?start=S&end=E`` (NDJSON), page by
                  page, through the same steps as an export bundle;
5. root         — the entries' root is the checkpoint's.

On success the state file is replaced with the new checkpoint.  HTTP with
``urllib`` only (the light path, B2).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger.checkpoint import Checkpoint, verify_checkpoint
from ledger.errors import FormatError, LedgerError
from ledger.keys import b64decode
from ledger.merkle import verify_consistency
from tools.verify.bundle import LogVerifier, Progress, UsageError, Verdict, check_root

__all__ = ["PAGE", "STATE_FORMAT", "consistency_proof", "fetch", "verify_online"]

PAGE = 1000
"""Entries asked for per ``/v1/log/entries`` request."""
TIMEOUT = 60
STATE_FORMAT = "spotcheck-verify-state/1"


def fetch(base: str, path: str, params: dict[str, int] | None = None) -> bytes:
    """``GET base + path?params``; raises ``OSError`` (``urllib`` errors) on failure."""
    url = base.rstrip("/") + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(url, headers={"User-Agent": "spotcheck-verify"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        body: bytes = response.read()
    return body


def consistency_proof(base: str, old_size: int, new_size: int) -> list[bytes]:
    """The server's consistency proof from ``old_size`` to ``new_size`` (A10).

    Raises ``FormatError`` for a body that is not ``{"from","to","hashes"}``.
    """
    body = fetch(base, "/v1/log/proof/consistency", {"from": old_size, "to": new_size})
    try:
        proof = json.loads(body)
    except ValueError:
        raise FormatError("A10 proof", "the consistency proof is not JSON") from None
    if (
        not isinstance(proof, dict)
        or proof.get("from") != old_size
        or proof.get("to") != new_size
        or not isinstance(proof.get("hashes"), list)
    ):
        raise FormatError("A10 proof", f"expected {{\"from\": {old_size}, \"to\": {new_size}, "
                          "\"hashes\": [...]}")
    return [b64decode(h, field=f"hashes[{i}]", length=32) for i, h in enumerate(proof["hashes"])]


def _entries(base: str, size: int) -> Iterator[bytes]:
    """Entry lines 0..size-1, fetched ``PAGE`` at a time (A10 NDJSON)."""
    start = 0
    while start < size:
        end = min(start + PAGE, size)
        body = fetch(base, "/v1/log/entries", {"start": start, "end": end})
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if len(lines) != end - start:
            raise FormatError("A10 entries", f"asked for entries {start}..{end - 1}, the "
                              f"server sent {len(lines)} lines", index=start + min(len(lines),
                                                                                   end - start))
        yield from lines
        start = end


def _load_state(path: Path, vkey: str) -> tuple[str, Checkpoint] | None:
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        note = state["checkpoint"]
        if state.get("format") != STATE_FORMAT or not isinstance(note, str):
            raise ValueError("not a state file")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read state file {path}: {exc}") from None
    if state.get("vkey") != vkey:
        raise UsageError(f"state file {path} is for the log key {state.get('vkey')!r}")
    try:
        return note, verify_checkpoint(note, vkey)
    except LedgerError as exc:
        raise UsageError(f"state file {path}: its checkpoint does not verify: {exc}") from None


def _save_state(path: Path, url: str, vkey: str, note: str) -> None:
    body = {"format": STATE_FORMAT, "url": url, "vkey": vkey, "checkpoint": note}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out, indent=1)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _split_view(
    reason: str, previous: tuple[str, Checkpoint], note: str, rule: str = "A5 consistency"
) -> tuple[Verdict, list[str]]:
    old_note = previous[0]
    verdict = Verdict.fail(8, f"split view: {reason}", rule=rule)
    verdict.extra = {"previous_checkpoint": old_note, "checkpoint": note}
    details = ["previous (trusted) checkpoint:"]
    details += ["  " + line for line in old_note.splitlines()]
    details += ["checkpoint now served:"]
    details += ["  " + line for line in note.splitlines()]
    return verdict, details


def _b64(root: bytes) -> str:
    return base64.b64encode(root).decode()


def verify_online(
    url: str,
    vkey: str,
    *,
    state_file: Path | None = None,
    jobs: int | None = None,
    progress: bool = True,
) -> tuple[Verdict, list[str]]:
    """Verify the log served at ``url`` (steps 1-6 and 8); returns the verdict and details.

    Raises ``OSError`` when the server cannot be reached and ``UsageError``
    for an unreadable state file (exit code 2).
    """
    # 1. checkpoint
    try:
        note = fetch(url, "/v1/log/checkpoint").decode("utf-8")
    except UnicodeDecodeError:
        return Verdict.fail(1, "the checkpoint is not UTF-8", rule="A6 signed-note"), []
    try:
        checkpoint = verify_checkpoint(note, vkey)
    except LedgerError as exc:
        return Verdict.from_error(1, exc), []
    previous = _load_state(state_file, vkey) if state_file is not None else None
    # 8. consistency with the last trusted checkpoint, as the server proves it
    if previous is not None:
        old = previous[1]
        if old.size > checkpoint.size:
            return _split_view(f"the server's checkpoint has size {checkpoint.size}, smaller "
                               f"than the trusted size {old.size} (rollback)", previous, note)
        try:
            if old.size == checkpoint.size:
                verify_consistency(old.size, old.size, old.root, checkpoint.root, [])
            elif old.size > 0:
                proof = consistency_proof(url, old.size, checkpoint.size)
                verify_consistency(old.size, checkpoint.size, old.root, checkpoint.root, proof)
        except LedgerError as exc:
            return _split_view(f"the checkpoints of size {old.size} and {checkpoint.size} are "
                               f"not consistent: {exc.reason}", previous, note, exc.rule)
    # 2-4, 6. the entries
    verifier = LogVerifier(
        vkey,
        jobs=jobs,
        progress=Progress("fetching", checkpoint.size) if progress else None,
        capture_sizes=[previous[1].size] if previous is not None else [],
    )
    failure = verifier.run(_entries(url, checkpoint.size))
    if failure is not None:
        return failure, []
    state = verifier.state
    # 5. root
    verdict = check_root(checkpoint, state.size, state.root())
    if verdict is not None:
        return verdict, []
    # 8. consistency, from the entries themselves
    if previous is not None and previous[1].size > 0:
        old = previous[1]
        mine = verifier.roots.get(old.size)
        if mine != old.root:
            found = _b64(mine) if mine is not None else "nothing"
            return _split_view(f"the served entries give root {found} at size {old.size}, the "
                               f"trusted checkpoint says {_b64(old.root)}", previous, note)
    if state_file is not None:
        _save_state(state_file, url, vkey, note)
    since = f", consistent with the trusted size {previous[1].size}" if previous else ""
    summary = (
        f"{state.size} entries, root {_b64(state.root())}, checkpoint signed by "
        f"{checkpoint.origin}{since}"
    )
    result: dict[str, Any] = {}
    if state_file is not None:
        result["state"] = str(state_file)
    return Verdict(True, state.size, state.root(), summary=summary, extra=result), []
