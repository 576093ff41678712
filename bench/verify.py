"""Verify-tool throughput on a 200,000-entry bundle vs the bare Ed25519 ceiling.

Usage: ``python bench/verify.py [--n 200000] [--jobs 2]``

In the same run: (1) writes a log of N signed ``keys.register`` commands
through the real store (batches of 1000) and exports it as a bundle;
(2) measures the bare Ed25519 verify rate of ``cryptography`` on all cores
(one process per core, each verifying the same 300-byte message for a fixed
time); (3) times ``spotcheck-verify bundle`` (``verify_bundle``) on the bundle
with the same number of processes. Prints entries/s and the ratio to the
bare ceiling (target >= 0.6).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from bench.common import ed25519_verify_loop, record, store_url
from ledger.store.export import export_bundle
from tests.store_helpers import ADMIN, LOG, cmd, key, new_ledger, register_args
from tools.verify.bundle import verify_bundle


def bare_rate(jobs: int, seconds: float = 3.0) -> float:
    """Ed25519 verifications per second with ``jobs`` processes in parallel."""
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        start = time.perf_counter()
        counts = pool.map(ed25519_verify_loop, [seconds] * jobs)
        elapsed = time.perf_counter() - start
    return sum(counts) / max(elapsed, seconds)


def build_bundle(n: int, out: Path) -> None:
    with store_url("sqlite") as url:
        ledger = new_ledger(url)
        done = 0
        while done < n - 2:
            size = min(1000, n - 2 - done)
            commands = [
                cmd(ADMIN, "keys.register", register_args(key(f"v{done + i}"), ["planner"]))
                for i in range(size)
            ]
            for result in ledger.submit_many(commands):
                if isinstance(result, Exception):
                    raise result
            done += size
            print(f"\rwritten {done + 2:,}/{n:,}", end="", file=sys.stderr)
        print(file=sys.stderr)
        export_bundle(ledger, out)
        ledger.backend.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        build_bundle(args.n, bundle)
        size_mb = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()) / 2**20
        ceiling = bare_rate(args.jobs)
        start = time.perf_counter()
        verdict = verify_bundle(bundle, LOG.vkey, jobs=args.jobs, progress=False)
        elapsed = time.perf_counter() - start
        if not verdict.ok:
            raise SystemExit(f"bundle did not verify: {verdict.reason}")
    rate = args.n / elapsed
    record("verify", [{
        "entries": args.n, "bundle_mib": round(size_mb, 1), "jobs": args.jobs,
        "verify_entries_per_s": round(rate), "bare_ed25519_verify_per_s": round(ceiling),
        "ratio": round(rate / ceiling, 2), "target": ">= 0.6",
    }])


if __name__ == "__main__":
    main()
