"""The synthetic 承德县 registry of ``spotcheck sample`` (DESIGN.md C1)."""

from __future__ import annotations

from collections import Counter

import pytest

from ledger.domain.registry import (
    SECTORS,
    validate_conflict,
    validate_department,
    validate_enterprise_rows,
    validate_inspector_rows,
)
from ledger.domain.uscc import is_valid_uscc
from ledger.errors import FormatError
from ledger.sample import (
    REGION,
    TOWNS,
    _org_check,
    sample_conflicts,
    sample_departments,
    sample_enterprises,
    sample_inspectors,
)


@pytest.fixture(scope="module")
def enterprises() -> list[dict[str, str]]:
    return sample_enterprises()


@pytest.fixture(scope="module")
def inspectors() -> list[dict[str, object]]:
    return sample_inspectors()


def test_departments_are_the_seed_five() -> None:
    deps = sample_departments()
    assert deps == [
        {"department": "AJJ", "name": "县应急管理局"},
        {"department": "SCJGJ", "name": "县市场监管局"},
        {"department": "TJJ", "name": "县统计局"},
        {"department": "SWJ", "name": "县商务局"},
        {"department": "QXJ", "name": "县气象局"},
    ]
    known: set[str] = set()
    for dep in deps:
        validate_department(dep["department"], dep["name"], existing=known)
        known.add(dep["department"])


def test_enterprises(enterprises: list[dict[str, str]]) -> None:
    assert len(enterprises) == 1200
    assert len({e["usc"] for e in enterprises}) == 1200
    assert len({e["name"] for e in enterprises}) == 1200
    assert all(is_valid_uscc(e["usc"]) for e in enterprises)
    assert all(e["usc"].startswith("91" + REGION) for e in enterprises)
    assert all("样例" in e["name"] for e in enterprises)
    # the rows are exactly what an import would store
    assert validate_enterprise_rows(enterprises, existing=set()) == enterprises


def test_codes_cannot_be_real_organisation_codes(enterprises: list[dict[str, str]]) -> None:
    # The 主体标识码 (positions 9-17) fails its own GB 11714 check on purpose.
    # The check itself agrees with the real codes of DOMAIN.md §5.
    for real in ("914403001922038216", "91120116697415782C", "31210000MD0052502C"):
        assert _org_check(real[8:16]) == real[16]
    for e in enterprises:
        body = e["usc"][8:17]
        assert _org_check(body[:8]) != body[8]


def test_enterprise_proportions(enterprises: list[dict[str, str]]) -> None:
    sectors = Counter(e["sector"] for e in enterprises)
    grades = Counter(e["grade"] for e in enterprises)
    statuses = Counter(e["status"] for e in enterprises)
    assert set(sectors) == set(SECTORS) - {"煤矿"}
    assert sectors.most_common(1)[0][0] == "工贸"
    assert set(grades) == {"A", "B", "C", "D"}
    assert grades["A"] > grades["B"] > grades["C"] > grades["D"] > 0
    assert 0.01 <= statuses["closed"] / 1200 <= 0.06
    assert statuses["active"] / 1200 > 0.9
    towns = {e["town"] for e in enterprises}
    assert towns == {t for t, _ in TOWNS}


def test_inspectors(inspectors: list[dict[str, object]]) -> None:
    assert len(inspectors) == 60
    deps = Counter(i["department"] for i in inspectors)
    assert set(deps) == {"AJJ", "SCJGJ", "TJJ", "SWJ", "QXJ"}
    assert deps.most_common(1)[0][0] == "AJJ"
    for dep in ("SCJGJ", "TJJ", "SWJ", "QXJ"):
        assert sum(1 for i in inspectors if i["department"] == dep and i["active"]) >= 4
    inactive = [i for i in inspectors if not i["active"]]
    assert 2 <= len(inactive) <= 3
    assert len({i["name"] for i in inspectors}) == 60
    assert all(2 <= len(str(i["name"])) <= 3 for i in inspectors)
    rows = validate_inspector_rows(
        inspectors, departments={d["department"] for d in sample_departments()}, existing=set()
    )
    assert rows == inspectors


@pytest.mark.parametrize("n", [20, 33, 100])
def test_inspector_counts_scale(n: int) -> None:
    rows = sample_inspectors(n)
    assert len(rows) == n
    deps = Counter(r["department"] for r in rows)
    assert all(deps[d] >= 4 for d in ("SCJGJ", "TJJ", "SWJ", "QXJ"))


def test_conflicts(inspectors: list[dict[str, object]], enterprises: list[dict[str, str]]) -> None:
    conflicts = sample_conflicts()
    assert 3 <= len(conflicts) <= 10
    assert len({(c["inspector"], c["enterprise"]) for c in conflicts}) == len(conflicts)
    ids = {str(i["id"]) for i in inspectors}
    codes = {e["usc"] for e in enterprises}
    for c in conflicts:
        assert validate_conflict(c["inspector"], c["enterprise"], c["reason"], ids, codes) == c


def test_deterministic() -> None:
    assert sample_enterprises(50) == sample_enterprises(50)
    assert sample_enterprises(50) == sample_enterprises()[:50]
    assert sample_enterprises(50, seed=1) != sample_enterprises(50)
    assert sample_inspectors() == sample_inspectors()
    assert sample_conflicts() == sample_conflicts()
    # a fixed point, so an accidental change to the generator is noticed
    first = sample_enterprises(1)[0]
    assert first["usc"] == "91130821MAUCAKJX64"


def test_bad_arguments() -> None:
    with pytest.raises(FormatError):
        sample_enterprises(0)
    with pytest.raises(FormatError):
        sample_inspectors(19)
    with pytest.raises(FormatError):
        sample_conflicts(n=10_000)
