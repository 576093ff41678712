"""Consistent sampling and the stratified draw (vectors/draw/README.md §2, §3)."""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.sampling import (
    TicketPool,
    check_strata,
    consistent_sample,
    draw_seed,
    draw_seeds,
    parse_ratio,
    seed_bytes,
    sha256_hex,
    stratified_selection,
    stratum_count,
    ticket,
    ticket_order,
)
from ledger.errors import FormatError

VECTORS = Path(__file__).parent / "vectors" / "draw"
SAMPLER = json.loads((VECTORS / "consistent_sampler.json").read_text(encoding="utf-8"))
STRATIFIED = json.loads((VECTORS / "stratified.json").read_text(encoding="utf-8"))
ROOT = "1165a3460cabb3b13978893dfca5e0df02b0e86c910d85dd84e2cc434b21b267"
SECRET = "51db578a38b39fbf473d6bf3324472d265a70bc259d34ba6dac9764c9886d01b"


def by_name(cases):
    return pytest.mark.parametrize("case", cases, ids=lambda c: c["name"])


# ---------------------------------------------------------------------------
# README §2: consistent_sampler.json, every case and every expected field


@by_name(SAMPLER["cases"])
def test_consistent_sampler_vector(case):
    inputs, expected = case["inputs"], case["expected"]
    assert inputs["with_replacement"] is False
    seed, ids, n = inputs["seed"], inputs["ids"], inputs["sample_size"]
    assert sha256_hex(seed) == expected["seed_sha256_hex"]
    assert consistent_sample(seed, ids, n) == expected["sample"]
    assert [t["id"] for t in expected["tickets"]] == expected["sample"]
    for item in expected["tickets"]:
        assert ticket(expected["seed_sha256_hex"], item["id"]) == item["ticket"]
    order = ticket_order(seed, ids)
    assert [{"id": i, "ticket": t} for i, t in order[:n]] == expected["tickets"]
    assert sorted(i for i, _ in order) == sorted(ids)
    assert [t for _, t in order] == sorted(t for _, t in order)


@by_name(SAMPLER["cases"])
def test_every_sample_size_is_a_prefix_of_the_ticket_order(case):
    seed, ids = case["inputs"]["seed"], case["inputs"]["ids"]
    order = [i for i, _ in ticket_order(seed, ids)]
    for n in range(len(ids) + 2):
        assert consistent_sample(seed, ids, n) == order[:n]
        assert consistent_sample(seed, list(reversed(ids)), n) == order[:n]


def test_readme_ticket_example():
    assert (
        ticket(sha256_hex("01382438112797316654"), "AB-130")
        == "0.26299714122838008416507544297546663599715395525154425586041245287750224561854"
    )


def test_ticket_keeps_full_precision_and_pads_to_64_digits():
    # Tickets are "0." + at least 64 digits: 2**256 has 78 digits.
    for i in range(200):
        t = ticket(sha256_hex("precision"), f"id-{i}")
        assert t.startswith("0.")
        assert 64 <= len(t) - 2 <= 78
        value = int(hashlib.sha256((sha256_hex("precision") + f"id-{i}").encode()).hexdigest(), 16)
        assert t[2:] == str(value).zfill(64)[::-1]


def test_fast_path_is_exact_when_six_digit_prefixes_tie():
    # consistent_sample ranks by the first six ticket digits before computing
    # full tickets; build a case where the n-th and (n+1)-th ids share them.
    seed = "tie-seed"
    ids = [f"9113082100{i:08d}" for i in range(6000)]
    order = ticket_order(seed, ids)
    ties = [k for k in range(len(order) - 1) if order[k][1][:8] == order[k + 1][1][:8]]
    assert ties, "6000 ids should give at least one shared 6-digit prefix"
    for k in ties[:5]:
        for n in (k, k + 1, k + 2):
            assert consistent_sample(seed, ids, n) == [i for i, _ in order[:n]]


def test_ticket_pool_order_is_ticket_order_through_ties():
    # TicketPool.order ranks by the first six digits too; 6000 ids give ties.
    seed = "tie-seed"
    ids = [f"9113082100{i:08d}" for i in range(6000)]
    pool = TicketPool(ids)
    order = pool.order(seed)
    expected = [i for i, _ in ticket_order(seed, ids)]
    assert list(order) == expected
    assert list(order) == expected  # iterable again, from the front
    assert list(pool.order("other")) == [i for i, _ in ticket_order("other", ids)]


TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8)


def _in_order(fn, items):
    return [fn(item) for item in items]


def test_ticket_pool_prepared_orders_are_the_lazy_orders_through_ties():
    # prepare() hands the orders to a mapper in jobs; 6000 ids force six-digit ties.
    ids = [f"9113082100{i:08d}" for i in range(6000)]
    seeds = [f"seed-{n}" for n in range(5)]
    prepared = TicketPool(ids)
    jobs: list[int] = []

    def mapper(fn, items):
        jobs.append(len(items))
        return _in_order(fn, items)

    prepared.prepare(seeds, mapper)
    assert jobs == [1]  # one job of up to ORDERS_PER_JOB seeds
    for seed in seeds:
        assert list(prepared.order(seed)) == [i for i, _ in ticket_order(seed, ids)]
    # each prepared order is used once; asking again computes it lazily, the same
    assert list(prepared.order(seeds[0])) == [i for i, _ in ticket_order(seeds[0], ids)]


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(TEXT, min_size=1, max_size=40, unique=True),
    seeds=st.lists(TEXT, min_size=1, max_size=300, unique=True),
)
def test_ticket_pool_prepare_in_jobs_equals_order(ids, seeds):
    lazy, prepared = TicketPool(ids), TicketPool(ids)
    prepared.prepare(seeds, _in_order)
    for seed in seeds:
        assert list(prepared.order(seed)) == list(lazy.order(seed))


@settings(max_examples=80, deadline=None)
@given(labels=st.lists(TEXT, max_size=20), draw_id=TEXT, size=st.integers(0, 10**9))
def test_draw_seeds_is_draw_seed_of_each_label(labels, draw_id, size):
    labels = [x for x in labels if "\r" not in x and "\n" not in x]
    draw_id = draw_id.replace("\r", "x").replace("\n", "x")
    reveals = {"B": SECRET, "A": ROOT}
    assert draw_seeds(labels, draw_id, size, ROOT, reveals) == [
        draw_seed(label, draw_id, size, ROOT, reveals) for label in labels
    ]


def test_draw_seeds_checks_every_label_and_the_shared_inputs():
    with pytest.raises(FormatError, match="CR or LF") as err:
        draw_seeds(["ok", "bad\nlabel"], "D1", 3, ROOT, {"A": SECRET})
    assert err.value.field == "label"
    with pytest.raises(FormatError) as err:
        draw_seeds(["ok", "fine"], "D1", 3, "not-hex", {"A": SECRET})
    assert err.value.field == "root_hex"
    assert draw_seeds([], "D1", 3, "not-hex", {}) == []


def test_ticket_pool_refuses_what_ticket_order_refuses():
    bad_ids: list[list[Any]] = [["a", "a"], ["a", 3], ["\ud800"]]
    for bad in bad_ids:
        with pytest.raises(FormatError):
            TicketPool(bad)
        with pytest.raises(FormatError):
            ticket_order("s", bad)


def test_ids_are_text_used_exactly():
    seed = "seed-numeric"
    assert len({ticket(sha256_hex(seed), i) for i in ("1", "01", "001", " 1", "1 ")}) == 5
    with pytest.raises(FormatError, match="must be a string") as err:
        consistent_sample(seed, ["1", 2], 1)  # type: ignore[list-item]
    assert err.value.field == "ids"
    with pytest.raises(FormatError, match="appears more than once"):
        consistent_sample(seed, ["a", "b", "a"], 1)
    with pytest.raises(FormatError, match="appears more than once"):
        ticket_order(seed, ["a", "a"])
    with pytest.raises(FormatError, match="UTF-8"):
        consistent_sample(seed, ["ok", "\ud800"], 1)
    with pytest.raises(FormatError, match="non-negative"):
        consistent_sample(seed, ["a"], -1)
    with pytest.raises(FormatError, match="non-negative"):
        consistent_sample(seed, ["a"], True)
    assert consistent_sample(seed, [], 3) == []
    assert consistent_sample(seed, iter(["x", "y"]), 5) == consistent_sample(seed, ["y", "x"], 5)


# ---------------------------------------------------------------------------
# README §3: stratified.json, every intermediate field


@by_name(STRATIFIED["cases"])
def test_stratified_vector(case):
    inputs, expected = case["inputs"], case["expected"]
    pairs = [(r["party"], r["secret_hex"]) for r in inputs["reveals"]]
    for r in inputs["reveals"]:
        assert hashlib.sha256(bytes.fromhex(r["secret_hex"])).hexdigest() == r["commitment_hex"]
    args = (
        inputs["label"],
        inputs["draw_id"],
        inputs["checkpoint"]["tree_size"],
        inputs["checkpoint"]["root_hex"],
    )
    text = seed_bytes(*args, pairs)
    assert text.decode("utf-8") == expected["seed_bytes_utf8"]
    assert text.hex() == expected["seed_bytes_hex"]
    # The reveals' order does not matter, nor whether they come as a mapping.
    assert seed_bytes(*args, list(reversed(pairs))) == text
    assert seed_bytes(*args, dict(pairs)) == text
    seed = draw_seed(*args, dict(pairs))
    assert seed == expected["seed"] == hashlib.sha256(text).hexdigest()

    selection = stratified_selection(seed, inputs["strata"])
    assert selection == [
        {"stratum": s["stratum"], "count": s["count"], "selected": s["selected"]}
        for s in expected["strata"]
    ]
    by_label = {s["stratum"]: s for s in inputs["strata"]}
    for s in expected["strata"]:
        candidates = by_label[s["stratum"]]["candidates"]
        assert len(candidates) == s["size"]
        assert by_label[s["stratum"]]["ratio"] == s["ratio"]
        assert stratum_count(s["ratio"], s["size"]) == s["count"]
        assert consistent_sample(seed, candidates, s["count"]) == s["selected"]
        if "ticket_order" in s:
            assert [{"id": i, "ticket": t} for i, t in ticket_order(seed, candidates)] == s[
                "ticket_order"
            ]
    assert stratified_selection(seed, list(reversed(inputs["strata"]))) == selection


def test_worked_example_figures_from_the_readme():
    case = STRATIFIED["cases"][0]
    assert case["name"] == "worked-example"
    assert case["expected"]["seed"] == (
        "42d623017cd166d48aa2454df9943dd8112459140c9e114992be47a086912cf4"
    )
    assert case["inputs"]["checkpoint"]["root_hex"] == sha256_hex("example checkpoint root")


def test_strata_order_is_utf8_bytes_and_count_zero_strata_are_kept():
    strata = [
        {"stratum": "低风险", "ratio": "0.1", "candidates": ["e1", "e2"]},
        {"stratum": "B", "ratio": "0", "candidates": ["e3", "e4"]},
        {"stratum": "A", "ratio": "1", "candidates": []},
        {"stratum": "a", "ratio": "1.000", "candidates": ["e5"]},
    ]
    out = stratified_selection("s", strata)
    assert [s["stratum"] for s in out] == ["A", "B", "a", "低风险"]
    assert [s["count"] for s in out] == [0, 0, 1, 1]
    assert out[0]["selected"] == [] and out[1]["selected"] == []
    assert out[2]["selected"] == ["e5"]


@pytest.mark.parametrize(
    ("strata", "field", "message"),
    [
        (
            [
                {"stratum": "A", "ratio": "0.5", "candidates": ["x", "y"]},
                {"stratum": "B", "ratio": "0.5", "candidates": ["z", "x"]},
            ],
            "candidates",
            "'x' appears more than once",
        ),
        (
            [{"stratum": "A", "ratio": "0.5", "candidates": ["x", "x"]}],
            "candidates",
            "'x' appears more than once",
        ),
        (
            [
                {"stratum": "A", "ratio": "0.5", "candidates": ["x"]},
                {"stratum": "A", "ratio": "0.5", "candidates": ["y"]},
            ],
            "stratum",
            "'A' appears more than once",
        ),
        ([{"stratum": "A", "ratio": 0.5, "candidates": ["x"]}], "ratio", "must be a string"),
        ([{"stratum": "A", "ratio": "1.5", "candidates": ["x"]}], "ratio", "greater than 1"),
        ([{"stratum": 1, "ratio": "1", "candidates": ["x"]}], "stratum", "must be a string"),
        ([{"stratum": "A", "ratio": "1", "candidates": "x"}], "candidates", "must be a list"),
        ([{"stratum": "A", "ratio": "1", "candidates": [7]}], "candidates", "must be a string"),
        (["A"], "strata", "must be an object"),
    ],
)
def test_malformed_strata_are_refused(strata, field, message):
    with pytest.raises(FormatError, match=message) as err:
        check_strata(strata)
    assert err.value.field == field
    with pytest.raises(FormatError):
        stratified_selection("seed", strata)


# ---------------------------------------------------------------------------
# README §3: seed text validation


def test_seed_bytes_layout():
    text = seed_bytes("inspectors:9113", "D1", 23, ROOT, {"b": SECRET, "a": SECRET, "Z": SECRET})
    assert (
        text
        == (
            "spotcheck-draw-seed/1\nlabel:inspectors:9113\ndraw:D1\n"
            f"checkpoint:23:{ROOT}\nreveal:Z:{SECRET}\nreveal:a:{SECRET}\nreveal:b:{SECRET}\n"
        ).encode()
    )
    # UTF-8 byte order, not UTF-16: in UTF-16 U+10000 (a surrogate pair) sorts first.
    text = seed_bytes("x", "D", 1, ROOT, {"\U00010000": SECRET, "\uff5e": SECRET})
    assert text.index("\uff5e".encode()) < text.index("\U00010000".encode())
    assert not text.startswith(b"\xef\xbb\xbf") and b"\r" not in text


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"label": ""}, "label", "must not be empty"),
        ({"label": "a\nb"}, "label", "CR or LF"),
        ({"draw_id": "D\r1"}, "draw_id", "CR or LF"),
        ({"draw_id": ""}, "draw_id", "must not be empty"),
        ({"draw_id": "\ud800"}, "draw_id", "UTF-8"),
        ({"tree_size": -1}, "tree_size", "non-negative"),
        ({"tree_size": True}, "tree_size", "non-negative"),
        ({"root_hex": ROOT.upper()}, "root_hex", "64 lowercase hex"),
        ({"root_hex": ROOT[:-1]}, "root_hex", "64 lowercase hex"),
        ({"reveals": {"": SECRET}}, "party", "must not be empty"),
        ({"reveals": {"p\n": SECRET}}, "party", "CR or LF"),
        ({"reveals": {"p": SECRET + "00"}}, "secret_hex", "64 lowercase hex"),
        ({"reveals": {"p": SECRET.upper()}}, "secret_hex", "64 lowercase hex"),
        ({"reveals": [("p", SECRET), ("p", SECRET)]}, "party", "more than once"),
        ({"reveals": [("p", SECRET, "x")]}, "reveals", "pair"),
    ],
)
def test_seed_fields_are_checked(kwargs, field, message):
    args: dict[str, Any] = {
        "label": "enterprises",
        "draw_id": "D1",
        "tree_size": 23,
        "root_hex": ROOT,
        "reveals": {"p": SECRET},
    }
    args.update(kwargs)
    with pytest.raises(FormatError, match=message) as err:
        seed_bytes(**args)
    assert err.value.field == field
    with pytest.raises(FormatError):
        draw_seed(**args)


# ---------------------------------------------------------------------------
# README §3: ratio and count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", (0, 1)),
        ("1", (1, 1)),
        ("0.05", (5, 100)),
        ("0.5", (5, 10)),
        ("1.000", (1000, 1000)),
        ("0.000", (0, 1000)),
        ("0.07", (7, 100)),
    ],
)
def test_parse_ratio(text, expected):
    assert parse_ratio(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1.5",
        "1.0001",
        ".5",
        "0.",
        "+0.5",
        "-0",
        "0,5",
        "5%",
        "0.5\n",
        " 0.5",
        "１",
        "01",
        "2",
        "",
        "0.5e0",
        "0.٥",
    ],
)
def test_parse_ratio_refuses(text):
    with pytest.raises(FormatError) as err:
        parse_ratio(text)
    assert err.value.field == "ratio"


@pytest.mark.parametrize(
    ("ratio", "size", "count"),
    [
        ("0.07", 100, 7),  # a double says 7.000000000000001 and its ceiling 8
        ("0.05", 3, 1),  # 3 grade-D firms at 5% gives 1, not 0
        ("0.2", 6, 2),
        ("0.5", 4, 2),
        ("0", 1000, 0),
        ("0.3", 0, 0),
        ("1", 17, 17),
        ("0.001", 1, 1),
        ("0.1", 10, 1),
        ("0.1", 11, 2),
    ],
)
def test_stratum_count(ratio, size, count):
    assert stratum_count(ratio, size) == count


def test_stratum_count_refuses_bad_size():
    with pytest.raises(FormatError):
        stratum_count("0.5", -1)


# ---------------------------------------------------------------------------
# Properties (README §2 "Useful consequences")

IDS = st.lists(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12),
    min_size=0,
    max_size=40,
    unique=True,
)


@settings(max_examples=150, deadline=None)
@given(seed=st.text(max_size=20), ids=IDS, n=st.integers(0, 45), data=st.data())
def test_result_does_not_depend_on_candidate_order(seed, ids, n, data):
    shuffled = data.draw(st.permutations(ids))
    assert consistent_sample(seed, shuffled, n) == consistent_sample(seed, ids, n)
    assert ticket_order(seed, shuffled) == ticket_order(seed, ids)


@settings(max_examples=150, deadline=None)
@given(seed=st.text(max_size=20), ids=IDS, n=st.integers(0, 45))
def test_ticket_pool_prefix_equals_ticket_order(seed, ids, n):
    order = TicketPool(ids).order(seed)
    expected = [i for i, _ in ticket_order(seed, ids)]
    assert [i for i, _ in zip(order, range(n), strict=False)] == expected[:n]
    assert list(order) == expected


@settings(max_examples=150, deadline=None)
@given(seed=st.text(max_size=20), ids=IDS, data=st.data())
def test_subset_keeps_relative_order(seed, ids, data):
    subset = data.draw(st.lists(st.sampled_from(ids), unique=True) if ids else st.just([]))
    full = [i for i, _ in ticket_order(seed, ids)]
    keep = set(subset)
    expected = [i for i in full if i in keep]
    assert consistent_sample(seed, subset, len(subset)) == expected
    n = data.draw(st.integers(0, len(subset)))
    assert consistent_sample(seed, subset, n) == expected[:n]


@settings(max_examples=150, deadline=None)
@given(seed=st.text(max_size=20), ids=IDS, n=st.integers(0, 45))
def test_sample_is_the_ticket_order_prefix(seed, ids, n):
    assert consistent_sample(seed, ids, n) == [i for i, _ in ticket_order(seed, ids)][:n]


RATIOS = st.one_of(
    st.just("1"),
    st.just("0"),
    st.builds(lambda d: "1." + "0" * d, st.integers(1, 6)),
    st.builds(
        lambda digits: "0." + "".join(map(str, digits)),
        st.lists(st.integers(0, 9), min_size=1, max_size=12),
    ),
)


@settings(max_examples=300, deadline=None)
@given(ratio=RATIOS, size=st.integers(0, 10**9))
def test_count_is_the_exact_ceiling(ratio, size):
    count = stratum_count(ratio, size)
    assert count == math.ceil(Fraction(ratio) * size)
    assert 0 <= count <= size
    p, scale = parse_ratio(ratio)
    assert Fraction(p, scale) == Fraction(ratio)
    assert isinstance(count, int)
