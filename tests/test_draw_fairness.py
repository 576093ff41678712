"""Statistical fairness of the draw (DESIGN.md C3, C7 "fairness statistics").

2,000 simulated draws with different reveals over one fixed population:

* each enterprise is selected with the frequency its stratum implies
  (count / size, where count = ceil(ratio x size), README §3);
* inspector pairs are not favoured: within one department every pair is
  equally likely, and across two required departments every cross pair is.

Chi-square goodness of fit with the p-value from a pure-Python regularized
upper incomplete gamma function (scipy is not a dependency).  The draws are
deterministic (reveals are hashes of their draw number), so the test is
reproducible; the threshold p > 0.001 is fixed in advance.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from itertools import combinations
from typing import Any

import pytest

from ledger.domain.draws import perform_draw
from ledger.domain.sampling import stratum_count

DRAWS = 2000
ALPHA = 0.001
ROOT = hashlib.sha256(b"fairness checkpoint").hexdigest()

STRATA: list[dict[str, Any]] = [
    {"stratum": "A", "ratio": "0.1", "candidates": [f"91130821A{i:09d}" for i in range(30)]},
    {"stratum": "B", "ratio": "0.25", "candidates": [f"91130821B{i:09d}" for i in range(20)]},
    {"stratum": "C", "ratio": "0.5", "candidates": [f"92130821C{i:09d}" for i in range(12)]},
    {"stratum": "D", "ratio": "0.3", "candidates": [f"93130821D{i:09d}" for i in range(7)]},
]
ONE_DEPARTMENT: list[dict[str, Any]] = [
    {"id": f"I-{n}", "department": "D-AJJ", "active": True} for n in range(6)
]
TWO_DEPARTMENTS: list[dict[str, Any]] = [
    {"id": f"A-{n}", "department": "D-AJJ", "active": True} for n in range(3)
] + [{"id": f"S-{n}", "department": "D-SCJ", "active": True} for n in range(4)]


def scheduled(inspectors, required):
    return {
        "draw_id": "FAIR",
        "task_id": "T",
        "replaces": None,
        "parties": [{"party": p, "key": p} for p in ("D-AJJ", "D-SCJ", "observer")],
        "strata": STRATA,
        "inspectors": inspectors,
        "conflicts": [],
        "required_departments": required,
        "team_size": 2,
        "max_load": None,
    }


def reveals(n: int) -> dict[str, str]:
    return {
        p: hashlib.sha256(f"fairness draw {n} party {p}".encode()).hexdigest()
        for p in ("D-AJJ", "D-SCJ", "observer")
    }


# ---------------------------------------------------------------------------
# chi-square p-value, stdlib only


def gamma_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) (series / Lentz continued fraction)."""
    if x < 0 or a <= 0:
        raise ValueError("need a > 0 and x >= 0")
    if x == 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(log_front) * h


def chi2_sf(statistic: float, df: int) -> float:
    """P(X >= statistic) for X ~ chi-square with df degrees of freedom."""
    return gamma_q(df / 2, statistic / 2)


@pytest.mark.parametrize("x", [0.1, 0.5, 1.0, 3.0, 7.5, 20.0, 60.0])
def test_chi2_sf_matches_closed_forms(x):
    assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-12)
    assert chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-9, abs=1e-300)
    # df = 4: exp(-x/2) (1 + x/2)
    assert chi2_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-12)


def test_chi2_sf_known_quantiles():
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-9)
    assert chi2_sf(23.684791304840576, 14) == pytest.approx(0.05, rel=1e-9)
    assert chi2_sf(124.342, 100) == pytest.approx(0.05, rel=1e-4)


# ---------------------------------------------------------------------------
# the simulation


@pytest.fixture(scope="module")
def simulation():
    one = scheduled(ONE_DEPARTMENT, [])
    two = scheduled(TWO_DEPARTMENTS, ["D-SCJ", "D-AJJ"])
    selected: Counter[str] = Counter()
    pairs_one: Counter[tuple[str, ...]] = Counter()
    pairs_two: Counter[tuple[str, ...]] = Counter()
    for n in range(DRAWS):
        r = reveals(n)
        result = perform_draw(one, r, 1000 + n, ROOT)
        for item in result["selection"]:
            stratum = next(s for s in STRATA if s["stratum"] == item["stratum"])
            assert item["count"] == stratum_count(stratum["ratio"], len(stratum["candidates"]))
            assert len(item["selected"]) == item["count"]
            selected.update(item["selected"])
        for team in result["teams"]:
            pairs_one[tuple(sorted(team["inspectors"]))] += 1
        crossed = perform_draw(two, r, 1000 + n, ROOT)
        assert crossed["selection"] == result["selection"]
        for team in crossed["teams"]:
            assert [i[0] for i in team["inspectors"]] == ["A", "S"]
            pairs_two[tuple(team["inspectors"])] += 1
    return selected, pairs_one, pairs_two


def test_each_enterprise_is_selected_at_its_strata_rate(simulation):
    selected, _, _ = simulation
    statistic = 0.0
    df = 0
    for stratum in STRATA:
        ids = stratum["candidates"]
        size = len(ids)
        count = stratum_count(stratum["ratio"], size)
        assert 0 < count < size
        p = count / size
        expected = DRAWS * p
        # Without replacement the counts are not multinomial: Var(O_i) = T p (1-p)
        # and the covariance matrix is T p (1-p) N/(N-1) (I - J/N), so this
        # scaled statistic is chi-square with N - 1 degrees of freedom.
        statistic += (
            (size - 1)
            / size
            * sum((selected[i] - expected) ** 2 for i in ids)
            / (DRAWS * p * (1 - p))
        )
        df += size - 1
        assert sum(selected[i] for i in ids) == DRAWS * count
    p_value = chi2_sf(statistic, df)
    assert p_value > ALPHA, f"chi2={statistic:.1f} df={df} p={p_value:.2e}"


def test_inspector_pairs_within_a_department_are_not_favoured(simulation):
    _, pairs, _ = simulation
    ids = [x["id"] for x in ONE_DEPARTMENT]
    cells = [tuple(sorted(c)) for c in combinations(ids, 2)]
    assert set(pairs) <= set(cells)
    total = sum(pairs.values())
    assert total == DRAWS * sum(stratum_count(s["ratio"], len(s["candidates"])) for s in STRATA)
    expected = total / len(cells)
    statistic = sum((pairs[c] - expected) ** 2 / expected for c in cells)
    p_value = chi2_sf(statistic, len(cells) - 1)
    assert p_value > ALPHA, f"chi2={statistic:.1f} df={len(cells) - 1} p={p_value:.2e}"
    # and each inspector serves as often as any other
    load = Counter(i for c, k in pairs.items() for i in c for _ in range(k))
    per = 2 * total / len(ids)
    statistic = sum((load[i] - per) ** 2 / per for i in ids)
    # each team holds 2 of 6: Var scale (1 - 2/6) * 6/5 = 4/5 under the same argument
    assert chi2_sf(statistic / (1 - 2 / 6) * (len(ids) - 1) / len(ids), len(ids) - 1) > ALPHA


def test_cross_department_pairs_are_not_favoured(simulation):
    _, _, pairs = simulation
    a_side = [x["id"] for x in TWO_DEPARTMENTS if x["department"] == "D-AJJ"]
    s_side = [x["id"] for x in TWO_DEPARTMENTS if x["department"] == "D-SCJ"]
    cells = [(a, s) for a in a_side for s in s_side]
    assert set(pairs) <= set(cells)
    total = sum(pairs.values())
    expected = total / len(cells)
    statistic = sum((pairs[c] - expected) ** 2 / expected for c in cells)
    p_value = chi2_sf(statistic, len(cells) - 1)
    assert p_value > ALPHA, f"chi2={statistic:.1f} df={len(cells) - 1} p={p_value:.2e}"
