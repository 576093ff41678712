"""Scale: cost per entry from 10^3 to 10^6 entries on SQLite (issue 7/7).

Usage: ``python bench/scale.py [--max 1000000] [--window 10] [--proofs 2000]
[--time-limit 3600] [--keep DIR] [--plot-only]``

One SQLite store grows from the genesis to ``--max`` entries, appended the
way the server appends: ``Ledger.submit_many`` of 1000 signed
``keys.register`` commands per transaction (A3 checks incl. Ed25519 verify,
the A7/A12 rules, canonical bytes, tree hashes, a signed checkpoint and one
receipt with its inclusion proof per command).

Signing is the client's work, not the server's, so the commands are signed
ahead in one worker process (``--signers``) while the main process appends;
each command is signed at most a few seconds before it is appended (the A3
skew rule is 300 s), and the signer is drained before every pause so no
command goes stale.  At each decade D = 10^3, 10^4, 10^5, 10^6, with the log
holding exactly D entries:

- disk: bytes of the database file after ``PRAGMA wal_checkpoint(TRUNCATE)``
  divided by D (and the mean entry size, for comparison);
- proofs: latency of ``Ledger.inclusion_proof(i, D)`` and
  ``Ledger.consistency_proof(m, D)`` at the store for random i and m (a
  sample of them checked against the checkpoint's root);
- verify: ``spotcheck export`` of the whole log to a bundle directory, then
  ``spotcheck-verify bundle`` on it (``verify_bundle``, all cores), each as
  entries per second;
- append: the signer first signs ``--window`` batches, then the appends of
  those batches are timed alone (the signer idle), as entries per second.

The baseline of every figure is the same figure at 10^3 in the same run
(``*_vs_1e3``): flat cost means a ratio near 1.  Rows are recorded with
``bench.common.record("scale", rows)`` (``bench/results/scale.json``) and
plotted to ``docs/img/scale.png``.  ``--time-limit`` bounds the run: a decade
not reached in time is left out, and the note says so.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from bench.common import RESULTS, machine, record
from ledger import merkle
from ledger.keys import KeyPair
from ledger.store.export import export_bundle
from ledger.store.ledger import Ledger
from tests.store_helpers import ADMIN, LOG, cmd, new_ledger, register_args
from tools.verify.bundle import verify_bundle

BATCH = 1000
PREFETCH = 4  # chunks signed ahead while appending (about one second of appends)
PLOT = Path(__file__).parent.parent / "docs" / "img" / "scale.png"

Command = dict[str, Any]


def sign_chunk(start: int, count: int) -> tuple[list[Command], float]:
    """Worker: ``count`` keys.register commands for keys ``start..``, and the seconds it took."""
    began = time.perf_counter()
    out = []
    for i in range(start, start + count):
        pair = KeyPair.from_seed(f"scale-{i}", hashlib.sha256(b"scale key %d" % i).digest())
        out.append(cmd(ADMIN, "keys.register", register_args(pair, ["planner"])))
    return out, time.perf_counter() - began


class Signer:
    """Commands signed ahead in worker processes, handed out in order."""

    def __init__(self, workers: int) -> None:
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        self.cursor = 0  # next key number to hand to a worker
        self.pending: deque[tuple[int, int, Future[tuple[list[Command], float]]]] = deque()
        self.signed = 0
        self.sign_seconds = 0.0

    def ask(self, count: int) -> None:
        self.pending.append((self.cursor, count, self.pool.submit(sign_chunk, self.cursor, count)))
        self.cursor += count

    def take(self, count: int, *, ahead: int = PREFETCH) -> list[Command]:
        """The next ``count`` commands (a chunk of that size is asked for if none is pending)."""
        if not self.pending:
            self.ask(count)
        _start, size, future = self.pending.popleft()
        if size != count:
            raise AssertionError("chunk sizes must be asked for in order")
        commands, seconds = future.result()
        self.signed += size
        self.sign_seconds += seconds
        for _ in range(ahead - len(self.pending)):
            self.ask(BATCH)
        return commands

    def pause(self) -> None:
        """Drop what was signed ahead (it would go stale) and sign it again later."""
        if self.pending:
            self.cursor = self.pending[0][0]
        for _, _, future in self.pending:
            future.cancel()
        for _, _, future in self.pending:
            if not future.cancelled():
                future.result()
        self.pending.clear()

    def close(self) -> None:
        self.pause()
        self.pool.shutdown()


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (the verify pool)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _append(ledger: Ledger, commands: list[Command]) -> tuple[float, float]:
    """Append one batch; returns (wall seconds, CPU seconds of this process)."""
    started, cpu = time.perf_counter(), time.process_time()
    for result in ledger.submit_many(commands):
        if isinstance(result, Exception):
            raise result
    return time.perf_counter() - started, time.process_time() - cpu


def _disk(db: Path, ledger: Ledger, size: int) -> dict[str, float]:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    total = sum(f.stat().st_size for f in files if f.exists())
    sample = [len(data) for _, data in ledger.entries(max(0, size - BATCH), size)]
    return {"disk_bytes_per_entry": round(total / size),
            "entry_bytes_mean": round(statistics.fmean(sample))}


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _proofs(ledger: Ledger, size: int, count: int, rng: random.Random) -> dict[str, float]:
    head = ledger.head()
    assert head is not None and head.size == size
    inclusion: list[float] = []
    consistency: list[float] = []
    for k in range(count):
        index = rng.randrange(size)
        started = time.perf_counter()
        proof = ledger.inclusion_proof(index, size)
        inclusion.append(time.perf_counter() - started)
        if k < 20:  # the figures are of correct proofs
            data = next(iter(ledger.entries(index, index + 1)))[1]
            merkle.verify_inclusion(index, size, merkle.leaf_hash(data), proof, head.root)
        old = rng.randrange(1, size + 1)
        started = time.perf_counter()
        proof = ledger.consistency_proof(old, size)
        consistency.append(time.perf_counter() - started)
        if k < 20:
            old_head = ledger.backend.checkpoint_at(old)
            old_root = old_head[1] if old_head is not None else merkle.tree_hash(
                old, ledger.backend)
            merkle.verify_consistency(old, size, old_root, head.root, proof)
    return {
        "inclusion_ms_p50": _ms(inclusion, 0.5),
        "inclusion_ms_p99": _ms(inclusion, 0.99),
        "consistency_ms_p50": _ms(consistency, 0.5),
        "consistency_ms_p99": _ms(consistency, 0.99),
    }


def _verify(ledger: Ledger, size: int, folder: Path) -> dict[str, float]:
    bundle = folder / f"bundle-{size}"
    started = time.perf_counter()
    exported = export_bundle(ledger, bundle)
    export_s = time.perf_counter() - started
    assert exported == size
    started, cpu = time.perf_counter(), _cpu()
    verdict = verify_bundle(bundle, LOG.vkey, progress=False)
    verify_s, verify_cpu = time.perf_counter() - started, _cpu() - cpu
    shutil.rmtree(bundle)
    if not verdict.ok:
        raise AssertionError(f"verify failed: {verdict.line(str(bundle))}")
    return {"export_entries_per_s": round(size / export_s),
            "verify_entries_per_s": round(size / verify_s),
            "verify_us_per_entry": round(1e6 * verify_s / size, 1),
            "verify_cpu_us_per_entry": round(1e6 * verify_cpu / size, 1)}


def _filling_text(filling: list[tuple[int, float]]) -> str:
    picked = [(n, c) for n, c in filling if n in (10**4, 10**5, 5 * 10**5, 10**6)]
    return ", ".join(f"{c:.0f} up to {n:,}" for n, c in picked) or "(no mark reached)"


def _plot(rows: list[dict[str, Any]], filling: list[tuple[int, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["entries"] for r in rows]
    fig, (cost, proofs, disk) = plt.subplots(1, 3, figsize=(15, 5.6))
    cost.plot(sizes, [r["append_us_per_entry"] for r in rows], "o-", color="C0",
              label="append, wall (submit_many, 1000/txn)")
    cost.plot(sizes, [r["append_cpu_us_per_entry"] for r in rows], "o--", color="C0",
              alpha=0.6, label="append, CPU")
    if filling:
        cost.plot([n for n, _ in filling], [c for _, c in filling], ".:", color="C2",
                  label="append while filling, wall (signer busy on the other core)")
    cost.plot(sizes, [r["verify_us_per_entry"] for r in rows], "s-", color="C1",
              label="verify, wall (spotcheck-verify bundle)")
    cost.plot(sizes, [r["verify_cpu_us_per_entry"] for r in rows], "s--", color="C1",
              alpha=0.6, label="verify, CPU (all processes)")
    cost.set_title("Cost per entry")
    cost.set_ylabel("µs per entry")
    cost.set_ylim(bottom=0)
    for name, marker, color in (("inclusion", "o", "C0"), ("consistency", "s", "C1")):
        proofs.plot(sizes, [r[f"{name}_ms_p50"] for r in rows], marker + "-", color=color,
                    label=f"{name} p50")
        proofs.plot(sizes, [r[f"{name}_ms_p99"] for r in rows], marker + "--", color=color,
                    alpha=0.6, label=f"{name} p99")
    proofs.axhline(5, color="grey", linestyle=":", label="target 5 ms")
    proofs.set_title("Proof latency at the store")
    proofs.set_ylabel("ms (log scale)")
    proofs.set_yscale("log")
    proofs.set_ylim(0.01, 10)
    disk.plot(sizes, [r["disk_bytes_per_entry"] for r in rows], "o-",
              label="SQLite file (entries, tree, checkpoints)")
    disk.plot(sizes, [r["entry_bytes_mean"] for r in rows], "s--", label="entry bytes")
    disk.set_title("Size on disk per entry")
    disk.set_ylabel("bytes per entry")
    disk.set_ylim(bottom=0)
    for ax in (cost, proofs, disk):
        ax.set_xscale("log")
        ax.set_xlabel("log size (entries)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    top = len(str(sizes[-1])) - 1
    fig.suptitle(f"spotcheck-ledger on SQLite, $10^3$ to $10^{{{top}}}$ entries — {machine()}",
                 fontsize=10)
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)
    print(f"wrote {PLOT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=1_000_000, help="largest decade")
    parser.add_argument("--window", type=int, default=10, help="timed batches per decade")
    parser.add_argument("--proofs", type=int, default=2000, help="proofs of each kind per decade")
    parser.add_argument("--signers", type=int, default=1, help="signing worker processes")
    parser.add_argument("--time-limit", type=float, default=3600.0, help="seconds")
    parser.add_argument("--keep", help="keep the store in this folder (default: a temp folder)")
    parser.add_argument("--plot-only", action="store_true",
                        help="redraw docs/img/scale.png from bench/results/scale.json")
    args = parser.parse_args()
    if args.plot_only:
        saved = json.loads((RESULTS / "scale.json").read_text())
        _plot(saved["rows"], [(n, c) for n, c in saved.get("filling", [])])
        return

    decades = [10**k for k in range(3, 13) if 10**k <= args.max]
    folder = Path(args.keep or tempfile.mkdtemp(prefix="spotcheck-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "scale.db"
    if db.exists():
        raise SystemExit(f"{db} exists: use an empty folder")
    started = time.monotonic()
    rng = random.Random(7)
    ledger = new_ledger(f"sqlite:///{db}")
    signer = Signer(args.signers)
    rows: list[dict[str, Any]] = []
    fill_s, fill_n = 0.0, 0
    marks = sorted({m * 10**k for k in range(3, 13) for m in (1, 2, 5)}
                   | {100_000 * i for i in range(1, 10 * len(decades))})
    filling: list[tuple[int, float]] = []  # (size, µs per entry appended since the last mark)
    last_mark = (0, 0.0)
    stopped = ""
    try:
        for number, decade in enumerate(decades):
            while ledger.size < decade:
                if time.monotonic() - started > args.time_limit:
                    stopped = f"stopped by --time-limit {args.time_limit:.0f} s at " \
                              f"{ledger.size} entries, before {decade}"
                    break
                count = min(BATCH, decade - ledger.size)
                batch = signer.take(count, ahead=PREFETCH if ledger.size + count < decade else 0)
                fill_s += _append(ledger, batch)[0]
                fill_n += count
                if ledger.size in marks and fill_n > last_mark[0]:
                    cost = 1e6 * (fill_s - last_mark[1]) / (fill_n - last_mark[0])
                    filling.append((ledger.size, round(cost, 1)))
                    last_mark = (fill_n, fill_s)
                    print(f"{time.monotonic() - started:7.0f} s  filled to {ledger.size:,}: "
                          f"{cost:.0f} µs per entry since the last mark", flush=True)
            if stopped:
                break
            signer.pause()
            size = ledger.size
            row: dict[str, Any] = {"entries": size}
            row.update(_disk(db, ledger, size))
            row.update(_proofs(ledger, size, args.proofs, rng))
            row.update(_verify(ledger, size, folder))
            # the window stays below the next decade (10 batches from 10^3 would pass 10^4)
            room = (decades[number + 1] - size) // BATCH if number + 1 < len(decades) else 10**9
            count = max(1, min(args.window, room - 1))
            window = [signer.take(BATCH, ahead=count - 1 - k) for k in range(count)]
            timed = [_append(ledger, batch) for batch in window]
            seconds = [wall for wall, _ in timed]
            row["append_entries_per_s"] = round(BATCH * len(seconds) / sum(seconds))
            row["append_us_per_entry"] = round(1e6 * statistics.median(seconds) / BATCH, 1)
            row["append_cpu_us_per_entry"] = round(
                1e6 * statistics.median(cpu for _, cpu in timed) / BATCH, 1)
            rows.append(row)
            print(f"{time.monotonic() - started:7.0f} s  " +
                  "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    finally:
        signer.close()
        ledger.backend.close()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    if not rows:
        raise SystemExit("no decade reached")
    first = rows[0]
    for row in rows:
        row["append_vs_1e3"] = round(row["append_entries_per_s"] / first["append_entries_per_s"], 2)
        row["verify_vs_1e3"] = round(row["verify_entries_per_s"] / first["verify_entries_per_s"], 2)
    total = time.monotonic() - started
    record("scale", rows)
    note = (
        f"One SQLite store grown to {rows[-1]['entries']:,} entries by `Ledger.submit_many` of "
        f"{BATCH} signed `keys.register` commands per transaction, in {total:.0f} s in all "
        f"(appends alone {fill_s:.0f} s while filling). Commands were signed ahead by "
        f"{args.signers} worker process(es) ({signer.signed:,} commands, "
        f"{signer.signed / max(signer.sign_seconds, 1e-9):,.0f} signatures/s per worker), "
        f"never more than a few seconds before their append. At each decade, with the log at "
        f"exactly that size: disk after a WAL checkpoint; {args.proofs} inclusion and "
        f"{args.proofs} consistency proofs at the store (random indexes, 20 of each checked "
        f"against the checkpoint root); `spotcheck export` + `spotcheck-verify bundle` of the "
        f"whole log; then {args.window} batches of {BATCH} appended and timed with the signer "
        f"idle (fewer from 10^3, to stay below 10^4; append_us_per_entry is their median). "
        f"`*_cpu_us_per_entry`: CPU time of the appending process (for verify: with its "
        f"worker processes, whose start-up weighs at 10^4), which other load on the machine "
        f"does not inflate as it does wall time. `*_vs_1e3`: the rate over the same "
        f"rate at 10^3 in this run. While filling, with the signer busy on the other core, "
        f"appending cost {_filling_text(filling)} µs per entry (wall, between marks). "
        f"Plot: docs/img/scale.png."
        + (f" Run {stopped}." if stopped else "")
    )
    path = RESULTS / "scale.json"
    data = json.loads(path.read_text())
    data["note"] = note
    data["filling"] = filling
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    print(note)
    _plot(rows, filling)


if __name__ == "__main__":
    main()
