"""RFC 3797 selection against vectors/draw/rfc3797.json (README §1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.domain.rfc3797 import digests, key_string, select
from ledger.errors import FormatError

CASES = json.loads(
    (Path(__file__).parent / "vectors" / "draw" / "rfc3797.json").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_rfc3797_vector(case):
    inputs, expected = case["inputs"], case["expected"]
    sources, pool, n = inputs["sources"], inputs["pool_size"], inputs["select"]
    assert key_string(sources) == expected["key_string"]
    assert digests(sources, pool, n) == expected["md5_hex"]
    selected = select(sources, pool, n)
    assert selected == expected["selected"]
    assert len(set(selected)) == n and all(1 <= s <= pool for s in selected)
    if "pool_names" in inputs:
        names = inputs["pool_names"]
        assert [names[s - 1] for s in selected] == expected["selected_names"]


def test_rfc_section6_example_as_printed():
    case = next(c for c in CASES if c["name"] == "rfc3797-section6-example")
    names = case["inputs"]["pool_names"]
    picked = [names[s - 1] for s in select(case["inputs"]["sources"], 25, 10)]
    assert picked == [
        "Lee", "Doc", "Mary", "Charity", "Kasczynski",
        "Envy", "Sneazy", "Anger", "Chastity", "Pandora",
    ]  # fmt: skip
    assert digests(case["inputs"]["sources"], 25, 3) == [
        "990DD0A5692A029A98B5E01AA28F3459",
        "3691E55CB63FCC37914430B2F70B5EC6",
        "FE814EDF564C190AC1D25753979990FA",
    ]


def test_key_string_rules():
    assert key_string([["9319"], ["2", "5", "12", "8", "10"]]) == "9319./2.5.8.10.12./"
    assert key_string([["08285182"], ["0"], ["000"]]) == "8285182./0./0./"
    assert key_string([[3, "03", 1]]) == "1.3.3./"
    # sources keep their published order
    assert key_string([["2"], ["1"]]) == "2./1./"


def test_selection_edges():
    sources = [["1", "2", "3"]]
    assert select(sources, 1, 1) == [1]
    assert select(sources, 5, 0) == [] and digests(sources, 5, 0) == []
    assert sorted(select(sources, 7, 7)) == list(range(1, 8))
    assert len(select(sources, 65535, 3)) == 3


def test_limits_of_the_reference_program_accepted_at_the_edge():
    big = ["2147483647"] * 16  # 16 values of 10 digits: 177 key characters per source
    assert len(key_string([big] * 3)) == 3 * 177
    assert key_string([["1"]] * 16) == "1./" * 16


@pytest.mark.parametrize(
    ("sources", "pool", "n", "field", "message"),
    [
        ([["1"]] * 17, 10, 1, "sources", "1 to 16 random sources"),
        ([], 10, 1, "sources", "1 to 16 random sources"),
        ([["1"] * 17], 10, 1, "sources", "1 to 16 values"),
        ([[]], 10, 1, "sources", "1 to 16 values"),
        ([["2147483648"]], 10, 1, "sources", r"outside \[0, 2\*\*31\)"),
        ([[-1]], 10, 1, "sources", r"outside \[0, 2\*\*31\)"),
        ([["-1"]], 10, 1, "sources", "not a decimal integer"),
        ([["+1"]], 10, 1, "sources", "not a decimal integer"),
        ([["1.5"]], 10, 1, "sources", "not a decimal integer"),
        ([[""]], 10, 1, "sources", "not a decimal integer"),
        ([["１２"]], 10, 1, "sources", "not a decimal integer"),
        ([[" 1"]], 10, 1, "sources", "not a decimal integer"),
        ([[True]], 10, 1, "sources", "not a decimal integer"),
        (["123"], 10, 1, "sources", "must be a list"),
        ("123", 10, 1, "sources", "must be a list"),
        ([["2147483647"] * 16] * 4, 10, 1, "sources", "before source 4"),
        ([["1"]], 65536, 1, "pool_size", "pool size"),
        ([["1"]], 0, 0, "pool_size", "pool size"),
        ([["1"]], True, 1, "pool_size", "pool size"),
        ([["1"]], 10, 11, "select", "selection count"),
        ([["1"]], 10, -1, "select", "selection count"),
    ],
)
def test_limits_are_enforced(sources, pool, n, field, message):
    with pytest.raises(FormatError, match=message) as err:
        select(sources, pool, n)
    assert err.value.field == field
    assert err.value.rule == "rfc3797"
    with pytest.raises(FormatError):
        digests(sources, pool, n)
