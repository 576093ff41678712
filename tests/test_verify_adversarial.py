"""Adversarial suite (issue 5/7): tamper with an exported bundle, one way at a time.

The bundle is exported from a real store holding a demo season; each case
changes it the way a dishonest operator could — and then re-signs the
checkpoint with the log key, so that only the inner checks can catch it. The
verifier must exit 1 and name the first bad index. (A forked log — two
checkpoints of one size with different roots — is caught by the monitor:
``tests/test_verify_bundles.py::test_online_monitor_and_split_view``.)
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger import merkle
from ledger.canonical import canonical, parse_canonical
from ledger.checkpoint import Checkpoint, NoteSigner, parse_checkpoint, sign_checkpoint
from ledger.commands import sign_command
from ledger.config import Settings
from ledger.demo import prepare
from ledger.entries import leaf_hash, make_entry
from ledger.keys import KeyPair, load_key_file
from ledger.replay import LogState
from ledger.store.export import export_bundle
from tools.verify.cli import main as verify_main


@dataclass
class Exported:
    folder: Path
    lines: list[bytes]
    entries: list[dict[str, Any]]
    vkey: str
    signer: NoteSigner
    origin: str
    keys: dict[str, KeyPair]  # key id -> private key held in the demo's key folder
    log: LogState


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    home = tmp_path_factory.mktemp("season")
    settings = Settings.from_env({"SPOTCHECK_HOME": str(home)})
    result = prepare(settings, enterprises=200, inspectors=24)
    folder = home / "bundle"
    export_bundle(result.ledger, folder)
    result.ledger.backend.close()
    lines = (folder / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    log = LogState()
    for data in lines:
        log.apply(data, index=log.size, verify_signatures=False)
    keys = {}
    for path in settings.keys_dir.glob("*.key"):
        pair = load_key_file(path)
        keys[pair.key_id] = pair
    pair = load_key_file(settings.log_key_file)
    origin = parse_checkpoint(
        (folder / "checkpoint").read_text().split("\n\n")[0] + "\n").origin
    signer = NoteSigner(pair.private_key, origin)
    return Exported(folder, lines, [parse_canonical(line) for line in lines], signer.vkey,
                    signer, origin, keys, log)


def _write(ex: Exported, tmp: Path, lines: list[bytes], *, size: int | None = None,
           reports: Callable[[Path], None] | None = None) -> Path:
    """A tampered bundle whose checkpoint is re-signed over ``lines`` (by the operator)."""
    out = tmp / "tampered"
    shutil.copytree(ex.folder, out)
    (out / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    count = len(lines) if size is None else size
    root = merkle.root_of([leaf_hash(line) for line in lines[:count]])
    (out / "checkpoint").write_text(sign_checkpoint(Checkpoint(ex.origin, count, root),
                                                    ex.signer))
    if reports is not None:
        reports(out / "reports")
    return out


def _verdict(ex: Exported, folder: Path) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = verify_main(["bundle", str(folder), "--vkey", ex.vkey, "--json", "--jobs", "1"])
    verdict: dict[str, Any] = json.loads(out.getvalue())
    verdict["code"] = code
    return verdict


def _first(ex: Exported, predicate: Callable[[dict[str, Any]], bool]) -> int:
    return next(i for i, e in enumerate(ex.entries) if predicate(e))


def _forge(ex: Exported, lines: list[bytes], pair: KeyPair, action: str, args: dict[str, Any],
           *, stream: str, type_: str, nonce: bytes | None = None) -> list[bytes]:
    """Append one well-formed entry carrying a command signed by ``pair``."""
    last = parse_canonical(lines[-1])
    seq = sum(1 for line in lines if parse_canonical(line)["stream"] == stream) + 1
    command = sign_command(pair, action, args, issued_at=last["logged_at"], nonce=nonce)
    entry = make_entry(index=len(lines), logged_at=last["logged_at"], stream=stream, seq=seq,
                       type=type_, data=args, command=command)
    return [*lines, canonical(entry)]


def _holder(ex: Exported, role: str) -> KeyPair:
    return next(ex.keys[k] for k, info in ex.log.keys.items()
                if role in info.roles and k in ex.keys and info.revoked_at is None)


def test_the_untouched_export_verifies(exported: Exported, tmp_path: Path) -> None:
    verdict = _verdict(exported, _write(exported, tmp_path, exported.lines))
    assert verdict["ok"] and verdict["code"] == 0, verdict


def _changed_byte(ex: Exported) -> tuple[list[bytes], int]:
    k = _first(ex, lambda e: e["type"] == "FindingRecorded")
    entry = copy.deepcopy(ex.entries[k])
    entry["command"]["args"]["text"] += "。"
    entry["data"]["text"] += "。"
    return [*ex.lines[:k], canonical(entry), *ex.lines[k + 1:]], k


def _deleted(ex: Exported) -> tuple[list[bytes], int]:
    k = _first(ex, lambda e: e["type"] == "InspectionRecorded")
    return [*ex.lines[:k], *ex.lines[k + 1:]], k


def _swapped(ex: Exported) -> tuple[list[bytes], int]:
    k = _first(ex, lambda e: e["type"] == "FindingRecorded")
    lines = list(ex.lines)
    lines[k], lines[k + 1] = lines[k + 1], lines[k]
    return lines, k


def _inserted(ex: Exported) -> tuple[list[bytes], int]:
    k = _first(ex, lambda e: e["type"] == "ResultPublished")
    return [*ex.lines[:k], ex.lines[k - 3], *ex.lines[k:]], k


def _resigned_by_unknown_key(ex: Exported) -> tuple[list[bytes], int]:
    k = _first(ex, lambda e: e["type"] == "ConflictDeclared")
    entry = ex.entries[k]
    stranger = KeyPair.from_seed("stranger", b"\x42" * 32)
    command = sign_command(stranger, entry["command"]["action"], entry["command"]["args"],
                           issued_at=entry["command"]["issued_at"])
    forged = {**entry, "command": command}
    return [*ex.lines[:k], canonical(forged), *ex.lines[k + 1:]], k


def _revoked_key(ex: Exported) -> tuple[list[bytes], int]:
    admin, planner = _holder(ex, "admin"), _holder(ex, "planner")
    lines = _forge(ex, ex.lines, admin, "keys.revoke",
                   {"key": planner.key_id, "reason": "设备丢失"},
                   stream=f"key/{planner.key_id}", type_="KeyRevoked")
    lines = _forge(ex, lines, planner, "departments.register",
                   {"department": "XJ1", "name": "县信访局"},
                   stream="registry/departments", type_="DepartmentRegistered")
    return lines, len(lines) - 1


def _key_without_the_role(ex: Exported) -> tuple[list[bytes], int]:
    inspector = _holder(ex, "inspector")
    lines = _forge(ex, ex.lines, inspector, "departments.register",
                   {"department": "XJ2", "name": "县信访局"},
                   stream="registry/departments", type_="DepartmentRegistered")
    return lines, len(lines) - 1


def _reused_nonce(ex: Exported) -> tuple[list[bytes], int]:
    planner = _holder(ex, "planner")
    used = next(e["command"]["nonce"] for e in ex.entries
                if e["command"] and e["command"]["key"] == planner.key_id)
    import base64

    lines = _forge(ex, ex.lines, planner, "departments.register",
                   {"department": "XJ3", "name": "县信访局"},
                   stream="registry/departments", type_="DepartmentRegistered",
                   nonce=base64.b64decode(used))
    return lines, len(lines) - 1


def _selection_altered(ex: Exported) -> tuple[list[bytes], int]:
    k = _first(ex, lambda e: e["type"] == "DrawPerformed")
    entry = copy.deepcopy(ex.entries[k])
    scheduled = next(e for e in ex.entries if e["type"] == "DrawScheduled"
                     and e["data"]["draw_id"] == entry["data"]["draw_id"])["data"]
    stratum = next(s for s in entry["data"]["selection"] if s["selected"])
    pool = next(s["candidates"] for s in scheduled["strata"]
                if s["stratum"] == stratum["stratum"])
    stratum["selected"][0] = next(c for c in pool if c not in stratum["selected"])
    return [*ex.lines[:k], canonical(entry), *ex.lines[k + 1:]], k


CASES: dict[str, Callable[[Exported], tuple[list[bytes], int]]] = {
    "a changed byte in an entry": _changed_byte,
    "a deleted entry": _deleted,
    "two entries swapped": _swapped,
    "an entry inserted": _inserted,
    "an entry re-signed by an unknown key": _resigned_by_unknown_key,
    "a command by a revoked key": _revoked_key,
    "a command by a key without the role": _key_without_the_role,
    "a reused nonce": _reused_nonce,
    "an altered draw selection": _selection_altered,
}


@pytest.mark.parametrize("name", list(CASES))
def test_tampering_is_found_at_its_index(exported: Exported, tmp_path: Path, name: str) -> None:
    lines, first_bad = CASES[name](exported)
    verdict = _verdict(exported, _write(exported, tmp_path, lines))
    assert verdict["code"] == 1 and not verdict["ok"], verdict
    assert verdict["first_bad_index"] == first_bad, verdict


def test_an_altered_report_is_found(exported: Exported, tmp_path: Path) -> None:
    reports = sorted((exported.folder / "reports").glob("*.json"))
    assert reports, "the demo season publishes its compliance reports"
    k = _first(exported, lambda e: e["type"] == "ReportPublished"
               and e["data"]["report_id"] == reports[0].stem)

    def alter(folder: Path) -> None:
        path = folder / reports[0].name
        report = parse_canonical(path.read_bytes())
        report["plan_no"] = str(report["plan_no"]) + "x"
        path.write_bytes(canonical(report))

    verdict = _verdict(exported, _write(exported, tmp_path, exported.lines, reports=alter))
    assert verdict["code"] == 1 and verdict["first_bad_index"] == k, verdict


def test_a_checkpoint_of_the_wrong_size_is_found(exported: Exported, tmp_path: Path) -> None:
    folder = _write(exported, tmp_path, exported.lines, size=len(exported.lines) - 1)
    verdict = _verdict(exported, folder)
    assert verdict["code"] == 1 and not verdict["ok"], verdict
    assert "size" in verdict["reason"] or "checkpoint" in verdict["reason"], verdict
