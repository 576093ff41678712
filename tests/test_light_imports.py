"""The verifier's light path (DESIGN.md B2, STYLE.md 11).

Importing the verify tool, the replay fold, the worker pool, every
``ledger.domain`` module and every ``projections`` module (the verify tool
recomputes reports with them) must not load the server's dependencies
(PyNaCl and orjson included: the store's faster paths): an outside verifier
runs on the base install (standard library, ``cryptography``, ``rfc8785``).
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import ledger.domain
import projections

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("eventsourcing", "fastapi", "psycopg", "sqlalchemy", "starlette", "uvicorn", "typer",
         "rich", "nacl", "orjson")
LIGHT = [
    "tools.verify",
    "tools.verify.cli",
    "tools.verify.bundle",
    "tools.verify.online",
    "tools.verify.receipt",
    "tools.verify.draws",
    "tools.verify.reports",
    "ledger.replay",
    "ledger.receipts",
    "ledger.bundle",
    "ledger.merkle",
    "ledger.checkpoint",
    "ledger.sigcheck",
    "ledger.workers",
    *sorted(f"ledger.domain.{m.name}" for m in pkgutil.iter_modules(ledger.domain.__path__)),
    # The verify tool recomputes reports with projections.registry (B4), lazily.
    *sorted(f"projections.{m.name}" for m in pkgutil.iter_modules(projections.__path__)),
]

PROBE = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
heavy = json.loads(sys.argv[2])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def test_verify_tool_and_domain_import_no_server_dependency():
    assert "ledger.domain.roles" in LIGHT and "ledger.domain.draws" in LIGHT
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(LIGHT), json.dumps(HEAVY)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(result.stdout) == []


def test_verify_cli_runs_without_server_dependency():
    probe = (
        "import sys, json\n"
        "from tools.verify.cli import main\n"
        f"code = main([{str(ROOT / 'tests/vectors/bundles/valid')!r}, '--vkey', sys.argv[1]])\n"
        "heavy = json.loads(sys.argv[2])\n"
        "assert code == 0, code\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    vkey = json.loads((ROOT / "tests/vectors/bundles/expected.json").read_text())["vkey"]
    result = subprocess.run(
        [sys.executable, "-c", probe, vkey, json.dumps(HEAVY)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []
