"""Stratified draw cost vs one bare SHA-256 per candidate (DESIGN.md C3, README §3).

Usage: ``python bench/draw.py [--n 1000000] [--repeat 3] [--verify]``

In the same run, on the same candidates:
- bare: one ``hashlib.sha256`` of each candidate's ticket input ``S + id``
  (the least any implementation of README §2 must do);
- draw: ``stratified_selection`` over 4 strata (checks, exact counts,
  consistent sampling with full-precision tickets for the selected ids).
The best of ``--repeat`` runs of each is reported, with the ratio (target:
within 3x).  ``--verify`` also checks every stratum's selection against a
plain full sort of all full-precision tickets.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from bench.common import machine, record
from ledger.domain.sampling import (
    draw_seed,
    sha256_hex,
    stratified_selection,
    ticket_order,
)

# (stratum, share of the candidates, ratio): credit-risk grades A..D
STRATA = [("A", 40, "0.03"), ("B", 30, "0.05"), ("C", 20, "0.1"), ("D", 10, "0.2")]


def make_strata(n: int) -> list[dict[str, Any]]:
    strata: list[dict[str, Any]] = []
    start = 0
    for k, (label, share, ratio) in enumerate(STRATA):
        size = n * share // 100 if k < len(STRATA) - 1 else n - start
        # 18 characters in the style of a 统一社会信用代码 (synthetic)
        ids = [f"91130821{label}{i:09d}" for i in range(start, start + size)]
        strata.append({"stratum": label, "ratio": ratio, "candidates": ids})
        start += size
    return strata


def best_of(repeat: int, fn: Any) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of candidates")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best reported")
    parser.add_argument("--verify", action="store_true", help="check against a full sort")
    args = parser.parse_args(argv)

    strata = make_strata(args.n)
    everyone = [i for s in strata for i in s["candidates"]]
    reveals = {p: hashlib.sha256(p.encode()).hexdigest() for p in ("D-AJJ", "D-SCJ", "observer")}
    root = hashlib.sha256(b"bench checkpoint").hexdigest()
    seed = draw_seed("enterprises", "BENCH-D1", 1234, root, reveals)
    prefix = sha256_hex(seed)

    def bare() -> None:
        sha256 = hashlib.sha256
        for id_ in everyone:
            sha256((prefix + id_).encode()).digest()

    print(f"machine: {machine()}")
    print(
        f"candidates: {len(everyone):,} in {len(strata)} strata "
        + ", ".join(f"{s['stratum']}={len(s['candidates']):,}@{s['ratio']}" for s in strata)
    )
    t_bare, _ = best_of(args.repeat, bare)
    t_draw, selection = best_of(args.repeat, lambda: stratified_selection(seed, strata))
    per = 1e6 / len(everyone)
    print(f"bare sha256 per candidate : {t_bare:8.3f} s  ({t_bare * per:.3f} us/candidate)")
    print(f"stratified_selection      : {t_draw:8.3f} s  ({t_draw * per:.3f} us/candidate)")
    print(f"ratio draw / bare         : {t_draw / t_bare:8.2f} x  (target <= 3)")
    print("selected: " + ", ".join(f"{s['stratum']}={s['count']}" for s in selection))
    record("draw", [{
        "candidates": len(everyone), "strata": len(strata),
        "bare_sha256_s": round(t_bare, 3), "stratified_draw_s": round(t_draw, 3),
        "ratio_draw_vs_bare": round(t_draw / t_bare, 2), "target": "<= 3",
    }])
    if args.verify:
        by_label = {s["stratum"]: s["candidates"] for s in strata}
        for s in selection:
            full = [i for i, _ in ticket_order(seed, by_label[s["stratum"]])]
            assert s["selected"] == full[: s["count"]], s["stratum"]
        print("verify: every stratum equals the first count ids of the full ticket sort")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
