"""Receipts (A8): every leaf's receipt verifies offline; every edited field fails."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.errors import FormatError, LedgerError, ProofError, SignatureError
from ledger.keys import b64encode
from ledger.merkle import MemoryHashStore, inclusion_proof, leaf_hash, tree_hash
from ledger.receipts import make_receipt, verify_receipt
from tests.test_replay import LOG_KEY, ORIGIN, NoteSigner, staffed_log
from tests.test_verify_bundles import serve_log
from tools.verify.cli import main

VKEY = LOG_KEY.vkey


def build(size: int | None = None) -> tuple[list[bytes], MemoryHashStore]:
    lines = staffed_log().lines
    if size is not None:
        lines = lines[:size]
    return lines, MemoryHashStore(leaf_hash(line) for line in lines)


def receipt_for(lines: list[bytes], store: MemoryHashStore, index: int, size: int) -> dict:
    note = sign_checkpoint(Checkpoint(ORIGIN, size, tree_hash(size, store)), LOG_KEY)
    entry = json.loads(lines[index])
    return make_receipt(entry, lines[index], note, inclusion_proof(index, size, store))


def test_every_leaf_has_a_verifying_receipt():
    lines, store = build()
    n = len(lines)
    for size in (n, n - 3):
        for index in range(size):
            receipt = receipt_for(lines, store, index, size)
            assert receipt["leaf_hash"] == leaf_hash(lines[index]).hex()
            checkpoint = verify_receipt(json.loads(json.dumps(receipt)), VKEY)
            assert (checkpoint.size, checkpoint.origin) == (size, ORIGIN)


def _flip_hex(text: str) -> str:
    return ("1" if text[0] == "0" else "0") + text[1:]


def _flip_b64(text: str) -> str:
    return ("B" if text[0] == "A" else "A") + text[1:]


def _edits() -> list[tuple[str, Callable[[dict], Any], type[LedgerError]]]:
    def entry_data(r: dict) -> None:
        r["entry"]["data"]["holder"]["name"] = "someone else"

    def entry_time(r: dict) -> None:
        r["entry"]["logged_at"] = "2024-01-01T00:00:00.000000Z"

    def entry_float(r: dict) -> None:
        r["entry"]["data"]["x"] = 0.5

    def both_index(r: dict) -> None:
        r["index"] += 1
        r["entry"]["index"] += 1

    def checkpoint_sig(r: dict) -> None:
        body, sig = r["checkpoint"].rsplit(" ", 1)
        r["checkpoint"] = body + " " + _flip_b64(sig)

    def checkpoint_size(r: dict) -> None:
        lines = r["checkpoint"].split("\n")
        lines[1] = str(int(lines[1]) + 1)
        r["checkpoint"] = "\n".join(lines)

    def checkpoint_other_key(r: dict) -> None:
        other = NoteSigner.from_seed(b"\x71" * 32, ORIGIN)
        body = r["checkpoint"].split("\n\n")[0] + "\n"
        r["checkpoint"] = sign_checkpoint(
            Checkpoint(ORIGIN, int(body.split("\n")[1]), b"\x00" * 32), other)

    return [
        ("index", lambda r: r.update(index=r["index"] + 1), FormatError),
        ("index-negative", lambda r: r.update(index=-1), FormatError),
        ("leaf_hash", lambda r: r.update(leaf_hash=_flip_hex(r["leaf_hash"])), ProofError),
        ("leaf_hash-upper", lambda r: r.update(leaf_hash=r["leaf_hash"].upper()), FormatError),
        ("entry-data", entry_data, ProofError),
        ("entry-logged_at", entry_time, ProofError),
        ("entry-float", entry_float, FormatError),
        ("entry-and-index", both_index, ProofError),
        ("checkpoint-signature", checkpoint_sig, LedgerError),
        ("checkpoint-size", checkpoint_size, SignatureError),
        ("checkpoint-other-key", checkpoint_other_key, SignatureError),
        ("inclusion-first", lambda r: r["inclusion"].__setitem__(0, _flip_b64(r["inclusion"][0])),
         ProofError),
        ("inclusion-last", lambda r: r["inclusion"].__setitem__(-1, _flip_b64(r["inclusion"][-1])),
         ProofError),
        ("inclusion-missing", lambda r: r["inclusion"].pop(), ProofError),
        ("inclusion-extra", lambda r: r["inclusion"].append(r["inclusion"][0]), ProofError),
        ("inclusion-not-base64", lambda r: r["inclusion"].__setitem__(0, "!!"), FormatError),
        ("member-extra", lambda r: r.update(note="x"), FormatError),
        ("member-missing", lambda r: r.pop("inclusion"), FormatError),
    ]


@pytest.mark.parametrize("name,edit,error", _edits(), ids=[e[0] for e in _edits()])
def test_every_edited_field_fails(name, edit, error):
    lines, store = build()
    for index in (1, 5, len(lines) - 2):
        receipt = receipt_for(lines, store, index, len(lines))
        verify_receipt(receipt, VKEY)
        edited = copy.deepcopy(receipt)
        edit(edited)
        with pytest.raises(error) as caught:
            verify_receipt(edited, VKEY)
        assert caught.value.rule, name


def test_every_proof_hash_flipped_fails():
    lines, store = build()
    receipt = receipt_for(lines, store, 6, len(lines))
    for k in range(len(receipt["inclusion"])):
        edited = copy.deepcopy(receipt)
        raw = bytearray(base64.b64decode(edited["inclusion"][k]))
        raw[0] ^= 1
        edited["inclusion"][k] = b64encode(bytes(raw))
        with pytest.raises(ProofError, match="proof for leaf 6"):
            verify_receipt(edited, VKEY)


def test_checkpoint_must_cover_the_index():
    lines, store = build()
    receipt = receipt_for(lines, store, 4, 5)
    small = receipt_for(lines, store, 3, 4)
    receipt["checkpoint"] = small["checkpoint"]
    receipt["inclusion"] = []
    with pytest.raises(ProofError, match="does not cover entry 4"):
        verify_receipt(receipt, VKEY)


def test_wrong_vkey_fails():
    lines, store = build()
    receipt = receipt_for(lines, store, 2, len(lines))
    other = NoteSigner.from_seed(b"\x71" * 32, ORIGIN)
    with pytest.raises(SignatureError):
        verify_receipt(receipt, other.vkey)


def test_receipt_cli_offline_and_against_a_server(tmp_path, capsys):
    lines, store = build()
    size = len(lines) - 4
    receipt = receipt_for(lines, store, 3, size)
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt), encoding="utf-8")
    assert main(["receipt", str(path), "--vkey", VKEY]) == 0
    assert capsys.readouterr().out.startswith("OK: ")
    note = sign_checkpoint(Checkpoint(ORIGIN, len(lines), store.root()), LOG_KEY)
    with serve_log(lines, note) as url:
        assert main(["receipt", str(path), "--vkey", VKEY, "--server", url, "--json"]) == 0
        verdict = json.loads(capsys.readouterr().out)
        assert verdict["ok"] and verdict["size"] == size
    # A server whose log does not extend the receipt's checkpoint: split view.
    other = list(lines)
    other[size - 1], other[size - 2] = lines[size - 2], lines[size - 1]
    other_store = MemoryHashStore(leaf_hash(x) for x in other)
    other_note = sign_checkpoint(Checkpoint(ORIGIN, len(other), other_store.root()), LOG_KEY)
    with serve_log(other, other_note) as url:
        assert main(["receipt", str(path), "--vkey", VKEY, "--server", url, "--json"]) == 1
        verdict = json.loads(capsys.readouterr().out)
        assert verdict["step"] == 8 and "split view" in verdict["reason"]
    edited = dict(receipt, leaf_hash="0" * 64)
    path.write_text(json.dumps(edited), encoding="utf-8")
    assert main(["receipt", str(path), "--vkey", VKEY]) == 1
    assert "FAIL: step 5" in capsys.readouterr().out
    assert main(["receipt", str(tmp_path / "missing.json"), "--vkey", VKEY]) == 2
