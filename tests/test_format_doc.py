"""docs/FORMAT.md stays in step with the code (DESIGN.md Part A)."""

from __future__ import annotations

import re
from pathlib import Path

from ledger.commands import COMMAND_CONTEXT, MAX_SKEW_SECONDS
from ledger.domain.roles import ACTIONS, Alternative
from ledger.entries import FORMAT, SYSTEM_TYPES

DOC = (Path(__file__).parent.parent / "docs" / "FORMAT.md").read_text(encoding="utf-8")
CONDITIONS = {"team", "own", "named"}


def _signers(text: str) -> set[Alternative]:
    alts: list[tuple[str, set[str]]] = []
    for token in (t.strip() for t in text.split(",")):
        match = re.fullmatch(r"(\w+)(?: \((\w+)\))?", token)
        assert match, token
        word, paren = match.groups()
        if word in CONDITIONS:
            alts[-1][1].add(word)
        else:
            alts.append((word, {paren} if paren else set()))
    return {Alternative(role, frozenset(conds)) for role, conds in alts}


def test_a12_table_matches_roles_module() -> None:
    rows = re.findall(r"^\| ([a-z_]+\.[a-z_]+) \| (\w+)[^|]*\| ([^|]+) \| ([^|]+) \|$", DOC, re.M)
    table = {action: (etype, _signers(who), stream.strip()) for action, etype, who, stream in rows}
    assert set(table) == set(ACTIONS)
    for action, spec in ACTIONS.items():
        etype, signers, stream = table[action]
        assert etype == spec.entry_type, action
        assert signers == set(spec.signers), action
        assert stream.split("/")[0] == spec.stream_kind, action


def test_constants_quoted_in_the_doc() -> None:
    assert f'"{COMMAND_CONTEXT.decode().rstrip(chr(10))}\\n"' in DOC
    assert f"more than {MAX_SKEW_SECONDS} seconds" in DOC
    assert f'"format":    "{FORMAT}"' in DOC
    for system_type in SYSTEM_TYPES:
        assert f"`{system_type}`" in DOC
    assert "16 hex characters" in DOC
