"""``make bench``: run every bench script, then write docs/PERFORMANCE.md from the results.

Each script prints its figures beside a baseline measured in the same run and
saves them to ``bench/results/<name>.json``; this script turns those files
into the tables of ``docs/PERFORMANCE.md``.  Nothing here asserts a speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
DOC = HERE.parent / "docs" / "PERFORMANCE.md"
SCRIPTS = ["append.py", "draw.py", "verify.py", "projections.py", "api.py", "scale.py"]

INTRO = """# Performance

Every figure below was produced by `make bench` (which runs `bench/*.py`) on
the machine named under each table, with its baseline measured **in the same
run**; a ratio is figure / baseline. Targets come from the issues; they are
measured here, not asserted in tests. Re-run `make bench` to refresh this file
(it is generated from `bench/results/*.json`).
"""


def _table(rows: list[dict[str, object]]) -> str:
    if not rows:
        return "(no rows)\n"
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(row.get(h, "")) for h in headers) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_doc() -> None:
    parts = [INTRO]
    for path in sorted((HERE / "results").glob("*.json")):
        data = json.loads(path.read_text())
        parts.append(
            f"\n## {path.stem}\n\nCommand: `python bench/{path.stem}.py`  \n"
            f"Machine: {data['machine']}\n\n"
        )
        if data.get("note"):
            parts.append(str(data["note"]) + "\n\n")
        parts.append(_table(data["rows"]))
    DOC.write_text("".join(parts), encoding="utf-8")
    print(f"wrote {DOC}")


def main() -> int:
    failed = []
    for script in SCRIPTS:
        path = HERE / script
        if not path.exists():
            continue
        print(f"== {script}", flush=True)
        if subprocess.call([sys.executable, str(path)], cwd=HERE.parent) != 0:
            failed.append(script)
    write_doc()
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
