"""A writer process for the concurrency and crash tests.

``python -m tests.writer_proc URL NAME COUNT [BATCH]`` registers COUNT fresh
keys signed by the test admin key, BATCH commands per transaction, and prints
each receipt as one JSON line (flushed) once its write is acknowledged.
"""

from __future__ import annotations

import json
import sys

from tests.store_helpers import ADMIN, cmd, key, open_ledger, register_args


def main(argv: list[str]) -> int:
    url, name, count = argv[0], argv[1], int(argv[2])
    batch = int(argv[3]) if len(argv) > 3 else 1
    ledger = open_ledger(url)
    done = 0
    while done < count:
        size = min(batch, count - done)
        commands = [
            cmd(ADMIN, "keys.register", register_args(key(f"{name}-{done + i}"), ["planner"]))
            for i in range(size)
        ]
        for result in ledger.submit_many(commands):
            if isinstance(result, Exception):
                print(json.dumps({"error": str(result)}), flush=True)
                return 1
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        done += size
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
