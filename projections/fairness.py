"""Fairness statistics of the draws (DESIGN.md C3, C7; 双随机 公平性统计).

What a discipline inspector asks of the 双随机 draws, computed from the log:

- **selections per stratum against the ratio**: for each stratum of each
  draw, the candidates (frozen by ``DrawScheduled``), the count the sampler
  must take (``ceil(ratio x size)``, A11 / README §3) and the count
  ``DrawPerformed`` selected;
- **repeat selections**: enterprises selected by more than one draw;
- **inspector assignments**: how often the draws put each inspector on a
  team, and pairs of inspectors teamed together more than once;
- **a chi-square test that selections match the sampler's expectation**: the
  sampler picks uniformly inside each stratum, so the expected number of
  selected enterprises of a group (a town, a sector) is
  ``sum over strata of count_s x candidates_s,g / size_s``. Pearson's
  statistic ``sum (O - E)^2 / E`` over the groups with ``E > 0`` (``df`` =
  groups - 1) shows a draw that favours or spares a town or a sector
  (选择性检查, 重优轻劣). Sampling without replacement makes the test
  conservative. The p-value is the chi-square upper tail computed with
  :mod:`decimal` at 50 digits (every operation correctly rounded, so the
  same digits on every machine) and rounded to 6 decimals.

Numbers are integers or fixed-precision decimal strings (no floats, A1).
Group attributes are read from the enterprise registry as it stands when the
draw is performed.

State (JSON)::

    {"registry": {...enterprises, plans, tasks...},
     "draws": {draw_id: {"task_id", "plan_no", "index", "replaces", "pending": strata | null,
               "performed_index", "voided_index", "strata": [...], "selected": [usc...],
               "teams": [[inspector, ...], ...]}}}

Standard library and ``ledger``'s pure modules only (light path, B2).
"""

from __future__ import annotations

import decimal
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from itertools import combinations
from typing import Any

from ledger.domain.sampling import stratum_count
from ledger.errors import FormatError
from projections.common import (
    Entry,
    State,
    merge_handlers,
    new_registry,
    plan_of_task,
    registry_handler,
)
from projections.fold import DictFold, decimal_string

__all__ = [
    "GROUP_ATTRIBUTES",
    "FairnessProjection",
    "chi_square",
    "chi_square_p_value",
    "fairness_view",
]

GROUP_ATTRIBUTES = ("town", "sector")
"""Registry attributes the chi-square test groups selections by."""

DIGITS = 6
"""Fraction digits of every decimal string in the view."""

NONE_GROUP = "(none)"
"""Group label of enterprises without the attribute."""


# ---------------------------------------------------------------------------
# The fold


def _draw_scheduled(state: State, entry: Entry) -> None:
    data = entry["data"]
    reg = state["registry"]
    strata = [
        {"stratum": s.get("stratum"), "ratio": s.get("ratio"),
         "candidates": list(s.get("candidates", []))}
        for s in data.get("strata", [])
    ]
    state["draws"][data["draw_id"]] = {
        "task_id": data.get("task_id"),
        "plan_no": plan_of_task(reg, data.get("task_id")),
        "index": entry["index"],
        "replaces": data.get("replaces"),
        "pending": strata,
        "performed_index": None,
        "voided_index": None,
        "strata": [],
        "selected": [],
        "teams": [],
    }


def _group_of(firm: dict[str, Any] | None, attribute: str) -> str:
    value = (firm or {}).get(attribute)
    return value if isinstance(value, str) and value else NONE_GROUP


def _draw_performed(state: State, entry: Entry) -> None:
    data = entry["data"]
    draw = state["draws"].get(data["draw_id"])
    if draw is None:
        return
    firms = state["registry"]["enterprises"]
    scheduled = {s["stratum"]: s for s in draw["pending"] or []}
    strata = []
    selected_all: list[str] = []
    for item in data.get("selection", []):
        label = item.get("stratum")
        frozen = scheduled.get(label) or {"ratio": None, "candidates": []}
        candidates = frozen["candidates"]
        selected = [str(x) for x in item.get("selected", [])]
        chosen = set(selected)
        groups: dict[str, dict[str, list[int]]] = {}
        for attribute in GROUP_ATTRIBUTES:
            cells: dict[str, list[int]] = {}
            for usc in candidates:
                cell = cells.setdefault(_group_of(firms.get(usc), attribute), [0, 0])
                cell[0] += 1
                if usc in chosen:
                    cell[1] += 1
            groups[attribute] = cells
        strata.append({
            "stratum": label,
            "ratio": frozen["ratio"],
            "size": len(candidates),
            "count": item.get("count"),
            "selected": len(selected),
            "groups": groups,
        })
        selected_all.extend(selected)
    draw["strata"] = strata
    draw["selected"] = selected_all
    draw["teams"] = [[str(x) for x in team.get("inspectors", [])]
                     for team in data.get("teams", [])]
    draw["performed_index"] = entry["index"]
    draw["pending"] = None


def _draw_voided(state: State, entry: Entry) -> None:
    draw = state["draws"].get(entry["data"]["draw_id"])
    if draw is not None and draw["voided_index"] is None:
        draw["voided_index"] = entry["index"]


class FairnessProjection(DictFold[State]):
    """``fairness``: per-draw selections and teams, for the statistics of C7."""

    name = "fairness"
    version = 1
    handlers = merge_handlers(
        registry_handler(types=("EnterprisesImported", "EnterpriseUpdated", "PlanImported")),
        {
            "DrawScheduled": _draw_scheduled,
            "DrawPerformed": _draw_performed,
            "DrawVoided": _draw_voided,
        },
    )

    def initial(self) -> State:
        return {"registry": new_registry(), "draws": {}}


# ---------------------------------------------------------------------------
# Statistics


def chi_square(observed: list[int], expected: list[Fraction]) -> tuple[Fraction, int]:
    """Pearson's statistic ``sum (O - E)^2 / E`` over cells with ``E > 0``, and ``df``.

    ``df`` is the number of such cells minus one (0 when there is at most one).
    Exact: the statistic is a :class:`~fractions.Fraction`.
    """
    statistic = Fraction(0)
    cells = 0
    for o, e in zip(observed, expected, strict=True):
        if e > 0:
            statistic += (o - e) ** 2 / e
            cells += 1
    return statistic, max(cells - 1, 0)


_PRECISION = 50
_MAX_STEPS = 100_000


def _context() -> decimal.Context:
    return decimal.Context(prec=_PRECISION, rounding=decimal.ROUND_HALF_EVEN,
                           Emin=-999_999_999, Emax=999_999_999)


def _pi(digits: int) -> Decimal:
    """π to ``digits`` digits by Machin's formula on integers (exact, reproducible)."""
    scale = 10 ** (digits + 10)

    def arctan_inv(n: int) -> int:
        total = term = scale // n
        k = 1
        n2 = n * n
        while term:
            term //= n2
            k += 2
            total += -(term // k) if k % 4 == 3 else term // k
        return total

    value = 4 * (4 * arctan_inv(5) - arctan_inv(239))
    return Decimal(value) / Decimal(scale)


def _gamma_half(twice_a: int, pi: Decimal) -> Decimal:
    """Γ(a) for ``a = twice_a / 2`` (a positive integer or half-integer)."""
    if twice_a % 2 == 0:
        result = Decimal(1)
        for k in range(1, twice_a // 2):
            result *= k
        return result
    result = pi.sqrt()  # Γ(1/2)
    for k in range(1, (twice_a + 1) // 2):  # Γ(k + 1/2) = (k - 1/2) Γ(k - 1/2)
        result *= Decimal(2 * k - 1) / 2
    return result


def _power_half(x: Decimal, twice_a: int) -> Decimal:
    """``x ** (twice_a / 2)`` by repeated multiplication and one square root.

    Only correctly rounded operations (``*``, ``sqrt``): ``Decimal.__pow__``
    is "almost always" correctly rounded, which is not enough to promise the
    same digits on every machine.
    """
    result = Decimal(1)
    for _ in range(twice_a // 2):
        result *= x
    if twice_a % 2:
        result *= x.sqrt()
    return result


def chi_square_p_value(statistic: Fraction, df: int) -> str | None:
    """P(X >= statistic) for X ~ χ²(df), as a decimal string with 6 fraction digits.

    The regularized upper incomplete gamma ``Q(df/2, statistic/2)`` by its
    series (x < a + 1) or Lentz's continued fraction (otherwise), in
    :mod:`decimal` with 50 significant digits: every step is correctly
    rounded, so the digits are the same on every machine. Returns None when
    ``df < 1`` or the expansion does not converge in 100,000 steps.
    """
    if df < 1 or statistic < 0:
        return None
    with decimal.localcontext(_context()):
        x = Decimal(statistic.numerator) / Decimal(statistic.denominator) / 2
        a = Decimal(df) / 2
        if x == 0:
            return decimal_string(1, DIGITS)
        pi = _pi(_PRECISION)
        front = _power_half(x, df) * (-x).exp() / _gamma_half(df, pi)  # x^a e^-x / Γ(a)
        eps = Decimal(10) ** -(_PRECISION - 5)
        if x < a + 1:
            term = total = 1 / a
            ap = a
            for _ in range(_MAX_STEPS):
                ap += 1
                term *= x / ap
                total += term
                if abs(term) < abs(total) * eps:
                    break
            else:
                return None
            q = 1 - total * front
        else:
            tiny = Decimal(10) ** -(_PRECISION * 4)
            b = x + 1 - a
            c = 1 / tiny
            d = 1 / b
            h = d
            for i in range(1, _MAX_STEPS):
                an = -i * (i - a)
                b += 2
                d = an * d + b
                if abs(d) < tiny:
                    d = tiny
                c = b + an / c
                if abs(c) < tiny:
                    c = tiny
                d = 1 / d
                delta = d * c
                h *= delta
                if abs(delta - 1) < eps:
                    break
            else:
                return None
            q = front * h
        q = min(max(q, Decimal(0)), Decimal(1))
        exact = Fraction(q)
    return decimal_string(exact, DIGITS)


# ---------------------------------------------------------------------------
# The view


def _status(draw: State) -> str:
    if draw["voided_index"] is not None:
        return "voided"
    if draw["performed_index"] is not None:
        return "performed"
    return "scheduled"


def _expected_count(ratio: object, size: int) -> int | None:
    if not isinstance(ratio, str):
        return None
    try:
        return stratum_count(ratio, size)
    except FormatError:
        return None


def _stratum_row(stratum: State) -> dict[str, Any]:
    expected = _expected_count(stratum["ratio"], stratum["size"])
    share = (decimal_string(Fraction(stratum["selected"], stratum["size"]), DIGITS)
             if stratum["size"] else None)
    return {
        "stratum": stratum["stratum"],
        "ratio": stratum["ratio"],
        "candidates": stratum["size"],
        "expected": expected,
        "selected": stratum["selected"],
        "share": share,
        "matches": expected is not None and stratum["selected"] == expected == stratum["count"],
    }


def _chi_square_rows(draws: list[State]) -> list[dict[str, Any]]:
    rows = []
    for attribute in GROUP_ATTRIBUTES:
        candidates: Counter[str] = Counter()
        observed: Counter[str] = Counter()
        expected: dict[str, Fraction] = {}
        for draw in draws:
            for stratum in draw["strata"]:
                size = stratum["size"]
                for group, (n, k) in stratum["groups"][attribute].items():
                    candidates[group] += n
                    observed[group] += k
                    if size:
                        share = Fraction(stratum["selected"] * n, size)
                        expected[group] = expected.get(group, Fraction(0)) + share
        groups = sorted(candidates)
        statistic, df = chi_square([observed[g] for g in groups],
                                   [expected.get(g, Fraction(0)) for g in groups])
        positive = [expected[g] for g in groups if expected.get(g, 0) > 0]
        rows.append({
            "by": attribute,
            "groups": [
                {"group": g, "candidates": candidates[g], "observed": observed[g],
                 "expected": decimal_string(expected.get(g, Fraction(0)), DIGITS)}
                for g in groups
            ],
            "statistic": decimal_string(statistic, DIGITS),
            "df": df,
            "p_value": chi_square_p_value(statistic, df),
            "min_expected": decimal_string(min(positive), DIGITS) if positive else None,
        })
    return rows


def fairness_view(state: State, plan_no: str | None = None) -> dict[str, Any]:
    """Fairness statistics of one plan's draws, or of every draw when ``plan_no`` is None.

    Repeat selections look across every performed draw of the log and list
    enterprises selected by two or more draws, at least one of them in scope.
    Assignment counts, repeated pairs and the chi-square test use the live
    (performed, not voided) draws in scope.
    """
    all_draws = sorted(state["draws"].items(), key=lambda item: item[1]["index"])
    in_scope = [(d, draw) for d, draw in all_draws
                if plan_no is None or draw["plan_no"] == plan_no]
    live = [draw for _, draw in in_scope
            if draw["performed_index"] is not None and draw["voided_index"] is None]

    scope_ids = {d for d, _ in in_scope}
    picks: dict[str, list[dict[str, Any]]] = {}
    for draw_id, draw in all_draws:
        if draw["performed_index"] is None:
            continue
        for usc in draw["selected"]:
            picks.setdefault(usc, []).append({
                "draw_id": draw_id, "task_id": draw["task_id"], "plan_no": draw["plan_no"],
                "index": draw["performed_index"], "voided": draw["voided_index"] is not None,
            })
    repeats = [
        {"enterprise": usc, "draws": found}
        for usc, found in sorted(picks.items())
        if len(found) > 1 and any(f["draw_id"] in scope_ids for f in found)
    ]

    load: Counter[str] = Counter()
    pairs: dict[tuple[str, str], int] = {}
    for draw in live:
        for team in draw["teams"]:
            load.update(team)
            for pair in combinations(sorted(set(team)), 2):
                pairs[pair] = pairs.get(pair, 0) + 1
    counts = [load[x] for x in sorted(load)]
    summary = {
        "inspectors": len(counts),
        "assignments": sum(counts),
        "min": min(counts) if counts else None,
        "max": max(counts) if counts else None,
        "mean": decimal_string(Fraction(sum(counts), len(counts)), DIGITS) if counts else None,
    }
    return {
        "draws": [
            {
                "draw_id": draw_id,
                "task_id": draw["task_id"],
                "plan_no": draw["plan_no"],
                "status": _status(draw),
                "replaces": draw["replaces"],
                "scheduled_index": draw["index"],
                "performed_index": draw["performed_index"],
                "voided_index": draw["voided_index"],
                "strata": [_stratum_row(s) for s in draw["strata"]],
            }
            for draw_id, draw in in_scope
        ],
        "repeat_selections": repeats,
        "inspector_assignments": [{"inspector": x, "assignments": load[x]} for x in sorted(load)],
        "assignment_summary": summary,
        "repeated_pairs": [
            {"inspectors": list(pair), "teams": n}
            for pair, n in sorted(pairs.items()) if n > 1
        ],
        "chi_square": _chi_square_rows(live),
    }
