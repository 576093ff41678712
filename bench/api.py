"""HTTP service under a bounded load on loopback, beside the store's direct append rate.

Usage: ``python bench/api.py [--backends sqlite] [--read-rate 300] [--write-rate 100]
[--seconds 10]``

For each backend, in one run:

1. a fresh store (genesis + admin, ``tests.store_helpers.new_ledger``) and a
   real ``spotcheck serve`` process on a free loopback port;
2. reads at a fixed rate for N seconds: an open-loop schedule (request i is
   due at ``t0 + i / rate``) spread over worker threads, each with its own
   ``httpx.Client``; the mix is checkpoint, an inclusion proof, a consistency
   proof and a 10-entry page, in turn;
3. signed writes (``keys.register`` by the admin key, signed before the run)
   at a fixed rate for N seconds, through the server's group commit;
4. the store's direct append rate, in the same process as this script, on a
   fresh store of the same kind: ``Ledger.submit`` one command per
   transaction, and ``Ledger.submit_many`` 100 per transaction.

Latency is measured from the moment a request was *due*, so a client that
falls behind shows it (no coordinated omission).  Each phase is preceded by
one unrecorded second at the same rate (connections, server threads, caches).  Figures: requests/s
achieved, p50/p99 latency in ms, errors, and the server's mean group-commit
batch (from ``/metrics``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

import httpx

from bench.common import pg_available, record, store_url
from tests.api_helpers import prepare_store, start_server
from tests.store_helpers import ADMIN, cmd, key, new_ledger, open_ledger, register_args

Request = Callable[[httpx.Client, int], httpx.Response]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_at_rate(base_url: str, request: Request, *, rate: float, seconds: float,
                workers: int, expect: int) -> dict[str, Any]:
    """Send ``rate * seconds`` requests on an open-loop schedule; return the figures."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(total))
    # clients (and their connections) are made before the clock starts
    clients = [httpx.Client(base_url=base_url, timeout=30) for _ in range(workers)]
    for client in clients:
        client.get("/healthz")
    start = time.perf_counter() + 0.2

    def worker(client: httpx.Client) -> None:
        nonlocal errors
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                client.close()
                return
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            try:
                ok = request(client, i).status_code == expect
            except httpx.HTTPError:
                ok = False
            done = time.perf_counter()
            with lock:
                latencies.append(done - due)
                errors += not ok

    threads = [threading.Thread(target=worker, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {
        "offered_per_s": rate,
        "achieved_per_s": round(total / elapsed, 1),
        "requests": total,
        "errors": errors,
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
    }


def _reads(size: int) -> Request:
    def read(client: httpx.Client, i: int) -> httpx.Response:
        kind = i % 4
        if kind == 0:
            return client.get("/v1/log/checkpoint")
        if kind == 1:
            return client.get("/v1/log/proof/inclusion", params={"index": i % size, "size": size})
        if kind == 2:
            return client.get("/v1/log/proof/consistency",
                              params={"from": 1 + i % size, "to": size})
        start = i % max(1, size - 10)
        return client.get("/v1/log/entries", params={"start": start, "end": start + 10})

    return read


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return float("nan")


def _direct(kind: str, n: int) -> dict[str, float]:
    """Entries/s of Ledger.submit (1 per transaction) and submit_many (100 per transaction)."""
    rates: dict[str, float] = {}
    for batch in (1, 100):
        with store_url(kind) as url:
            ledger = new_ledger(url)
            commands = [cmd(ADMIN, "keys.register", register_args(key(f"d{batch}-{i}"),
                                                                  ["planner"]))
                        for i in range(n)]
            began = time.perf_counter()
            for at in range(0, n, batch):
                for result in ledger.submit_many(commands[at:at + batch]):
                    if isinstance(result, Exception):
                        raise result
            rates[f"direct_batch{batch}_per_s"] = round(n / (time.perf_counter() - began))
            ledger.backend.close()
    return rates


def bench(kind: str, *, read_rate: float, write_rate: float, seconds: float) -> list[dict]:
    rows: list[dict[str, Any]] = []
    with store_url(kind) as url, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = prepare_store(url, folder)
        # some history to read: 200 entries
        ledger = open_ledger(url)
        for at in range(0, 198, 99):
            ledger.submit_many([cmd(ADMIN, "keys.register", register_args(key(f"h{j}"),
                                                                          ["planner"]))
                                for j in range(at, at + 99)])
        size = ledger.backend.head_size()
        ledger.backend.close()
        server = start_server(env, folder, name="bench")
        try:
            # warm-up (not recorded): connections, server threads, the store's page cache
            run_at_rate(server.url, _reads(size), rate=read_rate, seconds=1, workers=16,
                        expect=200)
            reads = run_at_rate(server.url, _reads(size), rate=read_rate, seconds=seconds,
                                workers=16, expect=200)
            rows.append({"backend": kind, "load": "reads (mix)", **reads})
            warm = [cmd(ADMIN, "keys.register", register_args(key(f"warm{i}"), ["planner"]))
                    for i in range(int(write_rate))]
            run_at_rate(server.url, lambda client, i: client.post("/v1/commands", json=warm[i]),
                        rate=write_rate, seconds=1, workers=32, expect=201)
            before = httpx.get(server.url + "/metrics").text
            writes_total = int(write_rate * seconds)
            signed = [cmd(ADMIN, "keys.register", register_args(key(f"w{i}"), ["planner"]))
                      for i in range(writes_total)]
            writes = run_at_rate(server.url,
                                 lambda client, i: client.post("/v1/commands", json=signed[i]),
                                 rate=write_rate, seconds=seconds, workers=32, expect=201)
            metrics = httpx.get(server.url + "/metrics").text
            batches = (_metric(metrics, "spotcheck_append_batch_size_count")
                       - _metric(before, "spotcheck_append_batch_size_count"))
            commands = (_metric(metrics, "spotcheck_append_batch_size_sum")
                        - _metric(before, "spotcheck_append_batch_size_sum"))
            rows.append({"backend": kind, "load": "signed writes", **writes,
                         "mean_batch": round(commands / batches, 2) if batches else None})
        finally:
            server.stop()
    rows.append({"backend": kind, "load": "direct append (no HTTP)",
                 **_direct(kind, max(200, int(write_rate * seconds) // 2))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--read-rate", type=float, default=300)
    parser.add_argument("--write-rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    for kind in args.backends.split(","):
        if kind == "postgres" and not pg_available():
            print("PostgreSQL not reachable: skipped")
            continue
        rows.extend(bench(kind, read_rate=args.read_rate, write_rate=args.write_rate,
                          seconds=args.seconds))
    record("api", rows)


if __name__ == "__main__":
    main()
