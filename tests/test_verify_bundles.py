"""spotcheck-verify against the conformance bundles (tests/vectors/bundles, A9) and a live log.

Every case of ``expected.json`` runs through ``main([...])`` in-process and
through a subprocess: the exit code is binding, and where the case names the
first bad index the ``--json`` verdict must name the same one.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import ledger.domain.draws as draws
import tools.verify.bundle as verify_bundle
from ledger.bundle import open_bundle, write_bundle
from ledger.canonical import canonical
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.keys import b64encode
from ledger.merkle import MemoryHashStore, consistency_proof, leaf_hash
from tools.verify.cli import main

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = ROOT / "tests" / "vectors" / "bundles"
EXPECTED = json.loads((BUNDLES / "expected.json").read_text(encoding="utf-8"))
VKEY: str = EXPECTED["vkey"]
CASES: list[dict[str, Any]] = EXPECTED["cases"]


def verdict_of(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return json.loads(capsys.readouterr().out)


def check_case(case: dict[str, Any], code: int, verdict: dict[str, Any]) -> None:
    assert code == case["expect_exit"], verdict
    assert verdict["ok"] is (case["expect_exit"] == 0)
    if "first_bad_index" in case:
        assert verdict["first_bad_index"] == case["first_bad_index"], verdict
    if "fails_at" in case:
        assert verdict["first_bad_index"] is None and verdict["step"] in (1, 5), verdict
    if verdict["ok"]:
        assert verdict["size"] == 34 and verdict["root"] is not None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_bundle_case_in_process(case, capsys):
    path = str(BUNDLES / case["name"])
    code = main([path, "--vkey", VKEY, "--json"])
    check_case(case, code, verdict_of(capsys))
    # The one-line form names the step and the same entry.
    assert main(["bundle", path, "--vkey", VKEY]) == case["expect_exit"]
    line = capsys.readouterr().out.strip().splitlines()[-1]
    if case["expect_exit"] == 0:
        assert line.startswith(f"OK: {path}: 34 entries")
    else:
        assert line.startswith("FAIL: step ")
        if "first_bad_index" in case:
            assert f": entry {case['first_bad_index']}: " in line


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_bundle_case_via_subprocess(case):
    result = subprocess.run(
        [sys.executable, "-m", "tools.verify", "bundle", str(BUNDLES / case["name"]),
         "--vkey", VKEY, "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    check_case(case, result.returncode, json.loads(result.stdout))


@pytest.mark.parametrize("name,first_bad", [("valid", None), ("byte_changed", 15),
                                            ("forged_signature", 30), ("revoked_key", 34)])
def test_signature_pool_still_names_the_first_bad_index(name, first_bad, capsys):
    code = main([str(BUNDLES / name), "--vkey", VKEY, "--json", "--jobs", "2",
                 "--batch-size", "3"])
    verdict = verdict_of(capsys)
    assert code == (0 if first_bad is None else 1)
    assert verdict["first_bad_index"] == first_bad


_PARENT = os.getpid()
_REAL_BATCH = verify_bundle._verify_batch


def _dying_batch(jobs: list) -> list[int]:
    """A worker that dies; the parent process checks the batch for real."""
    if os.getpid() != _PARENT:
        os._exit(3)
    return _REAL_BATCH(jobs)


def test_a_broken_pool_falls_back_to_checking_here(monkeypatch, capsys):
    monkeypatch.setattr(verify_bundle, "_verify_batch", _dying_batch)
    monkeypatch.setattr(verify_bundle, "_start_method", lambda: "fork")
    code = main([str(BUNDLES / "byte_changed"), "--vkey", VKEY, "--json", "--jobs", "2",
                 "--batch-size", "2"])
    assert (code, verdict_of(capsys)["first_bad_index"]) == (1, 15)


def test_valid_draw_replays_to_the_same_selection_and_teams(capsys):
    lines = (BUNDLES / "valid" / "entries.jsonl").read_bytes().splitlines()
    performed = next(json.loads(x) for x in lines if b'"type":"DrawPerformed"' in x)["data"]
    assert main(["draw", str(BUNDLES / "valid"), "D1", "--json"]) == 0
    draw = verdict_of(capsys)["draw"]
    assert draw["matches"] is True
    assert [{"stratum": s["stratum"], "count": s["count"], "selected": s["selected"]}
            for s in draw["strata"]] == performed["selection"]
    assert draw["teams"] == performed["teams"]
    assert draw["seed"] == performed["seed"]
    assert hashlib.sha256(draw["seed_bytes"].encode()).hexdigest() == performed["seed"]
    assert [s["size"] for s in draw["strata"]] == [5, 3]
    assert main(["draw", str(BUNDLES / "valid"), "D1"]) == 0
    out = capsys.readouterr().out
    assert "  spotcheck-draw-seed/1\n  label:enterprises\n  draw:D1\n  checkpoint:23:" in out
    assert "team for 91130821MA0A0000A1: I-A1, I-S1" in out


@pytest.mark.parametrize("name,first_bad", [("valid", None), ("team_altered", 26),
                                            ("selection_altered", 26)])
def test_draw_replayed_on_the_worker_pool(name, first_bad, monkeypatch, capsys):
    # Every draw hands its inspector orders to the verifier's processes: same verdicts.
    monkeypatch.setattr(draws, "PARALLEL_MIN_ENTERPRISES", 1)
    mapped: list[int] = []
    real_map = verify_bundle.pool_map

    def spy(fn, items, *, pool, broken):
        result = real_map(fn, items, pool=pool, broken=broken)
        mapped.append(len(items))
        assert pool() is not None  # the jobs ran on the verifier's worker processes
        return result

    monkeypatch.setattr(verify_bundle, "pool_map", spy)
    code = main([str(BUNDLES / name), "--vkey", VKEY, "--json", "--jobs", "2"])
    assert (code, verdict_of(capsys)["first_bad_index"]) == (int(first_bad is not None),
                                                             first_bad)
    assert mapped == [1]  # one job: the draw's few enterprises


@pytest.mark.parametrize("name", ["selection_altered", "team_altered", "wrong_checkpoint_size"])
def test_altered_draw_is_shown_not_to_match(name, capsys):
    assert main(["draw", str(BUNDLES / name), "D1", "--json"]) == 1
    verdict = verdict_of(capsys)
    assert verdict["first_bad_index"] == 26 and verdict["draw"]["matches"] is False
    assert main(["draw", str(BUNDLES / "valid"), "D9"]) == 1
    assert "no draw 'D9'" in capsys.readouterr().out


def _bundle_parts(name: str) -> tuple[list[bytes], str]:
    lines = (BUNDLES / name / "entries.jsonl").read_bytes().splitlines()
    note = (BUNDLES / name / "checkpoint").read_text(encoding="utf-8")
    return lines, note


@pytest.mark.parametrize("name,code", [("valid", 0), ("byte_changed", 1)])
def test_tar_gz_bundle(tmp_path, name, code, capsys):
    lines, note = _bundle_parts(name)
    path = tmp_path / f"{name}.tar.gz"
    write_bundle(path, iter(lines), note, {})
    with tarfile.open(path) as tar:
        assert sorted(tar.getnames()) == ["checkpoint", "entries.jsonl"]
    with open_bundle(path) as reader:
        assert list(reader.lines()) == lines and reader.checkpoint == note
    assert main([str(path), "--vkey", VKEY, "--json"]) == code
    assert verdict_of(capsys)["first_bad_index"] == (None if code == 0 else 15)
    # The directory form is byte for byte the conformance bundle.
    folder = tmp_path / name
    write_bundle(folder, iter(lines), note, {})
    for file in ("entries.jsonl", "checkpoint"):
        assert (folder / file).read_bytes() == (BUNDLES / name / file).read_bytes()
    with pytest.raises(FileExistsError):
        write_bundle(folder, iter(lines), note, {})


def _tar_of(path: Path, folder: Path, prefix: str) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for file in ("entries.jsonl", "checkpoint"):  # entries first: a second header pass
            tar.add(folder / file, arcname=prefix + file)


def test_tar_gz_made_by_hand(tmp_path, capsys):
    _tar_of(tmp_path / "dot.tar.gz", BUNDLES / "valid", "./")
    assert main([str(tmp_path / "dot.tar.gz"), "--vkey", VKEY]) == 0
    _tar_of(tmp_path / "nested.tar.gz", BUNDLES / "valid", "valid/")
    assert main([str(tmp_path / "nested.tar.gz"), "--vkey", VKEY]) == 1
    assert "enclosing folder" in capsys.readouterr().out


def test_bad_inputs_exit_2(tmp_path, capsys):
    assert main([]) == 2
    assert main(["bundle", str(tmp_path / "none"), "--vkey", VKEY]) == 2
    assert main(["bundle", str(BUNDLES / "valid")]) == 2
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tarball")
    assert main([str(broken), "--vkey", VKEY]) == 2
    assert main([str(BUNDLES / "valid"), "--vkey", "not-a-key-file"]) == 2
    capsys.readouterr()


def test_missing_newline_and_missing_checkpoint_are_invalid(tmp_path, capsys):
    lines, note = _bundle_parts("valid")
    folder = tmp_path / "b"
    write_bundle(folder, iter(lines), note, {})
    data = (folder / "entries.jsonl").read_bytes()
    (folder / "entries.jsonl").write_bytes(data[:-1])
    assert main([str(folder), "--vkey", VKEY, "--json"]) == 1
    assert verdict_of(capsys)["first_bad_index"] == 33
    (folder / "checkpoint").unlink()
    assert main([str(folder), "--vkey", VKEY, "--json"]) == 1
    assert verdict_of(capsys)["step"] == 1


# ---------------------------------------------------------------------------
# Step 7: reports


def _log_with_report(
    kind: str = "test-kind", make_body: Any = None
) -> tuple[list[bytes], str, bytes, Any]:
    from tests.test_replay import ADMIN, LOG_KEY, ORIGIN, holder, pair, staffed_log

    log = staffed_log()
    publisher = pair("publisher", 20)
    log.register(ADMIN, publisher, ["discipline"], holder("纪检组"))
    size = log.state.size
    if make_body is None:
        body = canonical({"kind": kind, "tree_size": size, "findings": []})
    else:
        body = make_body(log.lines[:size], size, log.state.root().hex())
    args = {"report_id": "R-1", "kind": kind, "plan_no": None,
            "sha256": hashlib.sha256(body).hexdigest(), "tree_size": size,
            "root": log.state.root().hex()}
    log.do(publisher, "reports.publish", args, stream="report/R-1")
    log.t += timedelta(seconds=1)
    note = sign_checkpoint(Checkpoint(ORIGIN, log.state.size, log.state.root()), LOG_KEY)
    return log.lines, note, body, LOG_KEY.vkey


def test_reports_are_checked(tmp_path, capsys):
    lines, note, body, vkey = _log_with_report()
    good = tmp_path / "good"
    write_bundle(good, iter(lines), note, {"R-1": body})
    assert main([str(good), "--vkey", vkey]) == 0
    assert "1 report(s) checked" in capsys.readouterr().out
    assert main(["report", str(good), "R-1"]) == 0
    out = capsys.readouterr().out
    assert "not recomputed: no recompute function for kind test-kind" in out
    assert main(["report", str(good), "R-2", "--json"]) == 1
    assert verdict_of(capsys)["step"] == 7

    tampered = tmp_path / "tampered"
    write_bundle(tampered, iter(lines), note, {"R-1": body.replace(b"[]", b"[1]")})
    assert main([str(tampered), "--vkey", vkey, "--json"]) == 1
    verdict = verdict_of(capsys)
    assert (verdict["step"], verdict["first_bad_index"]) == (7, len(lines) - 1)
    assert main(["report", str(tampered), "R-1"]) == 1
    assert "SHA-256" in capsys.readouterr().out

    missing = tmp_path / "missing"
    write_bundle(missing, iter(lines), note, {})
    assert main([str(missing), "--vkey", vkey, "--json"]) == 1
    assert verdict_of(capsys)["step"] == 7

    extra = tmp_path / "extra"
    write_bundle(extra, iter(lines), note, {"R-1": body, "R-9": body})
    assert main([str(extra), "--vkey", vkey, "--json"]) == 1
    assert "R-9" in verdict_of(capsys)["reason"]

    packed = tmp_path / "good.tar.gz"
    write_bundle(packed, iter(lines), note, {"R-1": body})
    assert main([str(packed), "--vkey", vkey]) == 0
    assert main(["report", str(packed), "R-1"]) == 0
    capsys.readouterr()


def test_reports_are_recomputed_where_a_function_exists(tmp_path, capsys):
    from projections.registry import REPORT_KINDS

    def workload(lines: list[bytes], size: int, root: str) -> bytes:
        return canonical(REPORT_KINDS["workload"](lines, {"tree_size": size, "root": root}))

    lines, note, body, vkey = _log_with_report("workload", workload)
    good = tmp_path / "good"
    write_bundle(good, iter(lines), note, {"R-1": body})
    assert main([str(good), "--vkey", vkey]) == 0
    assert "(1 recomputed)" in capsys.readouterr().out
    assert main(["report", str(good), "R-1"]) == 0
    assert "recomputed: same bytes" in capsys.readouterr().out

    def doctored(lines: list[bytes], size: int, root: str) -> bytes:
        report = json.loads(workload(lines, size, root))
        report["doctored"] = True
        return canonical(report)

    lines, note, body, vkey = _log_with_report("workload", doctored)
    bad = tmp_path / "bad"
    write_bundle(bad, iter(lines), note, {"R-1": body})
    assert main([str(bad), "--vkey", vkey, "--json"]) == 1
    verdict = verdict_of(capsys)
    assert verdict["step"] == 7 and "bytes differ" in verdict["reason"]


def test_a_log_that_ends_owing_its_draw_is_invalid(tmp_path, capsys):
    from tests.test_replay import LOG_KEY, ORIGIN, P1, P2, committed_log, reveal_args

    log = committed_log()
    log.do(P1, "draws.reveal", reveal_args("D1"))
    log.do(P2, "draws.reveal", reveal_args("D2"))
    note = sign_checkpoint(Checkpoint(ORIGIN, log.state.size, log.state.root()), LOG_KEY)
    folder = tmp_path / "owing"
    write_bundle(folder, iter(log.lines), note, {})
    assert main([str(folder), "--vkey", LOG_KEY.vkey, "--json"]) == 1
    verdict = verdict_of(capsys)
    assert verdict["step"] == 6 and "DrawPerformed" in verdict["reason"]
    # Without --vkey, draw and report take the genesis's own key.
    assert main(["draw", str(folder), "D-1"]) == 1
    capsys.readouterr()


# ---------------------------------------------------------------------------
# Online: a log served over HTTP (A10)


class _Served:
    def __init__(self, lines: list[bytes], note: str) -> None:
        self.set(lines, note)

    def set(self, lines: list[bytes], note: str) -> None:
        self.lines = lines
        self.note = note
        self.store = MemoryHashStore(leaf_hash(x) for x in lines)


@contextmanager
def serve_log(lines: list[bytes], note: str) -> Iterator[str]:
    """Serve ``lines`` and ``note`` on the A10 read endpoints; yields the base URL."""
    with serve(_Served(lines, note)) as url:
        yield url


@contextmanager
def serve(served: _Served) -> Iterator[str]:
    """Serve what ``served`` holds (a test may swap it); yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, body: bytes, kind: str = "text/plain", status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = {k: int(v[0]) for k, v in urllib.parse.parse_qs(url.query).items()}
            if url.path == "/v1/log/checkpoint":
                self._send(served.note.encode())
            elif url.path == "/v1/log/entries":
                chunk = served.lines[query["start"]:query["end"]]
                self._send(b"".join(x + b"\n" for x in chunk), "application/x-ndjson")
            elif url.path == "/v1/log/proof/consistency":
                old, new = query["from"], query["to"]
                proof = consistency_proof(old, new, served.store)
                body = {"from": old, "to": new, "hashes": [b64encode(h) for h in proof]}
                self._send(json.dumps(body).encode(), "application/json")
            else:
                self._send(b"{}", "application/problem+json", 404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_online_monitor_and_split_view(tmp_path, capsys):
    lines, note = _bundle_parts("valid")
    state = tmp_path / "monitor.json"
    served = _Served(lines[:30], _note_for(lines[:30]))
    with serve(served) as url:
        # An unsigned-by-us checkpoint: the prefix was re-signed with the test key,
        # which is not the conformance log's key.
        assert main(["online", url, "--vkey", VKEY, "--json"]) == 1
        assert verdict_of(capsys)["step"] == 1
        served.set(lines, note)
        assert main(["online", url, "--vkey", VKEY, "--state", str(state), "--json"]) == 0
        first = verdict_of(capsys)
        assert first["ok"] and first["size"] == 34 and state.exists()
        assert main(["online", url, "--vkey", VKEY, "--state", str(state)]) == 0
        assert "consistent with the trusted size 34" in capsys.readouterr().out
        # Another log of the same size under the same key: a split view.
        other, other_note = _bundle_parts("wrong_checkpoint_size")
        served.set(other, other_note)
        assert main(["online", url, "--vkey", VKEY, "--state", str(state), "--json"]) == 1
        verdict = verdict_of(capsys)
        assert verdict["step"] == 8 and "split view" in verdict["reason"]
        assert verdict["previous_checkpoint"] == note and verdict["checkpoint"] == other_note
        assert main(["online", url, "--vkey", VKEY, "--state", str(state)]) == 1
        out = capsys.readouterr().out
        assert "previous (trusted) checkpoint:" in out and "checkpoint now served:" in out
        # Without the state, the same log is checked on its own: entry 26 is bad.
        assert main(["online", url, "--vkey", VKEY, "--json"]) == 1
        assert verdict_of(capsys)["first_bad_index"] == 26
        # A rollback to an older size is a split view too.
        stale_lines, stale_note = _bundle_parts("stale_checkpoint")
        served.set(stale_lines[:9], stale_note)
        assert main(["online", url, "--vkey", VKEY, "--state", str(state), "--json"]) == 1
        assert "rollback" in verdict_of(capsys)["reason"]
        # The state file still holds the last trusted checkpoint.
        assert json.loads(state.read_text())["checkpoint"] == note
    assert main(["online", url, "--vkey", VKEY]) == 2
    capsys.readouterr()


def _note_for(lines: list[bytes]) -> str:
    from tests.test_replay import LOG_KEY, ORIGIN

    store = MemoryHashStore(leaf_hash(x) for x in lines)
    return sign_checkpoint(Checkpoint(ORIGIN, len(lines), store.root()), LOG_KEY)


@pytest.mark.parametrize("collecting", [True, False])
def test_the_pass_leaves_garbage_collection_as_it_found_it(collecting, monkeypatch, capsys):
    # The replay runs with collection off (it makes no cycles); the caller's setting returns.
    seen: list[bool] = []
    real_apply = verify_bundle.LogState.apply

    def apply(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return real_apply(self, *args, **kwargs)

    monkeypatch.setattr(verify_bundle.LogState, "apply", apply)
    was = gc.isenabled()
    try:
        (gc.enable if collecting else gc.disable)()
        assert main([str(BUNDLES / "valid"), "--vkey", VKEY, "--json"]) == 0
        assert gc.isenabled() is collecting
        assert seen and not any(seen)
    finally:
        (gc.enable if was else gc.disable)()
