"""Draw computation, replay and recusal (DESIGN.md C3, A11; vectors/draw/README.md §3)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.draws import (
    check_commit_reveal,
    check_schedule,
    inspector_order,
    parse_schedule,
    perform_draw,
    replacement_after_recusal,
)
from ledger.domain.sampling import draw_seed
from ledger.errors import FormatError, RuleError
from ledger.replay import LogState

BUNDLES = Path(__file__).parent / "vectors" / "bundles"
ROOT = hashlib.sha256(b"test checkpoint root").hexdigest()


# ---------------------------------------------------------------------------
# helpers


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, naive (a local helper; ledger/merkle.py is tested elsewhere)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def load_bundle(name: str) -> tuple[list[bytes], list[dict]]:
    raw = (BUNDLES / name / "entries.jsonl").read_bytes()
    assert raw.endswith(b"\n")
    lines = raw[:-1].split(b"\n")
    return lines, [json.loads(line) for line in lines]


def replayed(lines: list[bytes]) -> LogState:
    """The Part A replay (the one the store and the verifier run) over ``lines``."""
    state = LogState()
    for index, line in enumerate(lines):
        state.apply(line, index=index)
    return state


def draw_entries(entries: list[dict], draw_id: str = "D1") -> list[dict]:
    return [e for e in entries if e["stream"] == f"draw/{draw_id}"]


def secret(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def schedule(**changes) -> dict:
    """A synthetic DrawScheduled data: two required departments, a neutral one."""
    data = {
        "draw_id": "T1",
        "task_id": "CD-2023-09-T1",
        "replaces": None,
        "parties": [{"party": "D-X", "key": "k1"}, {"party": "D-Y", "key": "k2"}],
        "strata": [
            {"stratum": "A", "ratio": "0.2", "candidates": [f"91A{i:015d}" for i in range(40)]},
            {"stratum": "D", "ratio": "0.5", "candidates": [f"93D{i:015d}" for i in range(12)]},
        ],
        "inspectors": (
            [{"id": f"X{i}", "department": "D-X", "active": True} for i in range(6)]
            + [{"id": f"Y{i}", "department": "D-Y", "active": True} for i in range(4)]
            + [{"id": f"W{i}", "department": "D-W", "active": True} for i in range(4)]
        ),
        "conflicts": [],
        "required_departments": ["D-Y", "D-X"],
        "team_size": 2,
        "max_load": None,
    }
    data.update(changes)
    return data


REVEALS = {"D-X": secret("x"), "D-Y": secret("y")}


def run(data: dict, reveals: dict | None = None) -> dict:
    return perform_draw(data, reveals or REVEALS, 42, ROOT)


def teams_of(performed: dict) -> dict[str, list[str]]:
    return {t["enterprise"]: t["inspectors"] for t in performed["teams"]}


# ---------------------------------------------------------------------------
# The conformance bundle's draw D1 (entries 19..29)


def test_bundle_d1_replays_to_entry_26():
    lines, entries = load_bundle("valid")
    stream = draw_entries(entries)
    assert [e["index"] for e in stream] == list(range(19, 27))
    performed = entries[26]
    assert performed["type"] == "DrawPerformed"
    draw = replayed(lines[:26]).draw("D1")
    assert draw is not None and draw.commit_checkpoint is not None
    assert draw.commit_checkpoint[0] == 23
    assert draw.expected_performed() == performed["data"]
    # perform_draw directly, from the parts
    reveals = {e["data"]["party"]: e["data"]["secret"] for e in entries[23:26]}
    root = merkle_root(lines[:23]).hex()
    assert root == performed["data"]["checkpoint"]["root"]
    assert perform_draw(entries[19]["data"], reveals, 23, root) == performed["data"]
    # CaseOpened, one per selected enterprise in selection order, carries the team
    opened = [e["data"] for e in entries[27:30]]
    assert [(o["enterprise"], o["inspectors"]) for o in opened] == [
        (t["enterprise"], t["inspectors"]) for t in performed["data"]["teams"]
    ]


def test_bundle_d1_confirms_the_required_department_order():
    # DrawScheduled lists ["D-SCJ", "D-AJJ"]; the bundle's teams take the
    # D-AJJ place first: ascending UTF-8 order, not the listed order.
    lines, entries = load_bundle("valid")
    data = entries[19]["data"]
    assert data["required_departments"] == ["D-SCJ", "D-AJJ"]
    first = entries[26]["data"]["teams"][0]
    assert first["inspectors"] == ["I-A1", "I-S1"]
    reveals = {e["data"]["party"]: e["data"]["secret"] for e in entries[23:26]}
    root = merkle_root(lines[:23]).hex()
    order = inspector_order(data, reveals, 23, root, first["enterprise"])
    assert order.index("I-S1") < order.index("I-A1")  # listed order would give I-S1 first
    flipped = dict(data, required_departments=["D-AJJ", "D-SCJ"])
    assert perform_draw(flipped, reveals, 23, root) == entries[26]["data"]


def test_bundle_wrong_checkpoint_size():
    lines, entries = load_bundle("wrong_checkpoint_size")
    found = entries[26]["data"]
    assert found["checkpoint"]["size"] == 22
    draw = replayed(lines[:26]).draw("D1")
    assert draw is not None and draw.commit_checkpoint is not None
    assert draw.expected_performed() != found
    assert draw.commit_checkpoint[0] == 23
    # It is consistent with itself at size 22: only the checkpoint size is wrong.
    reveals = {e["data"]["party"]: e["data"]["secret"] for e in entries[23:26]}
    assert perform_draw(entries[19]["data"], reveals, 22, merkle_root(lines[:22]).hex()) == found


@pytest.mark.parametrize(
    ("bundle", "part"), [("selection_altered", "selection"), ("team_altered", "teams")]
)
def test_altered_bundles_differ_from_the_replay(bundle, part):
    lines, entries = load_bundle(bundle)
    draw = replayed(lines[:26]).draw("D1")
    assert draw is not None
    expected = draw.expected_performed()
    found = entries[26]["data"]
    assert expected != found
    assert expected[part] != found[part]
    assert {k: v for k, v in expected.items() if k != part} == {
        k: v for k, v in found.items() if k != part
    }


def test_bundle_reveal_mismatch_names_entry_23():
    lines, _ = load_bundle("reveal_mismatch")
    with pytest.raises(RuleError, match="commitment") as err:
        replayed(lines[:24])
    assert err.value.index == 23
    assert err.value.rule == "A11 reveal matches commitment"


def test_check_commit_reveal():
    _, entries = load_bundle("valid")
    for commit, reveal in zip(entries[20:23], entries[23:26], strict=True):
        check_commit_reveal(commit["data"]["commitment"], reveal["data"]["secret"])
    with pytest.raises(RuleError):
        check_commit_reveal(entries[20]["data"]["commitment"], entries[24]["data"]["secret"])
    with pytest.raises(FormatError) as err:
        check_commit_reveal(entries[20]["data"]["commitment"], "ab" * 31)
    assert err.value.field == "secret"
    with pytest.raises(FormatError) as err:
        check_commit_reveal(
            entries[20]["data"]["commitment"].upper(), entries[23]["data"]["secret"]
        )
    assert err.value.field == "commitment"


# ---------------------------------------------------------------------------
# Seed and selection


def test_seed_and_selection_follow_readme_section_3():
    data = schedule()
    result = run(data)
    assert result["draw_id"] == "T1"
    assert result["checkpoint"] == {"size": 42, "root": ROOT}
    assert result["seed"] == draw_seed("enterprises", "T1", 42, ROOT, REVEALS)
    assert [(s["stratum"], s["count"]) for s in result["selection"]] == [("A", 8), ("D", 6)]
    assert [t["enterprise"] for t in result["teams"]] == [
        e for s in result["selection"] for e in s["selected"]
    ]
    assert json.loads(json.dumps(result)) == result  # plain JSON: str, int, list, dict
    assert "float" not in json.dumps(result)


def test_changing_one_reveal_changes_the_selection():
    base = run(schedule())
    for party in REVEALS:
        changed = run(schedule(), {**REVEALS, party: secret("changed " + party)})
        assert changed["seed"] != base["seed"]
        assert changed["selection"] != base["selection"]
        assert changed["teams"] != base["teams"]
    # and so does the checkpoint, which binds the frozen candidate list
    other = perform_draw(schedule(), REVEALS, 43, ROOT)
    assert other["selection"] != base["selection"]


def test_reveals_must_be_exactly_the_parties():
    with pytest.raises(RuleError, match="no reveal from 'D-Y'") as err:
        run(schedule(), {"D-X": REVEALS["D-X"]})
    assert err.value.rule == "draw.reveals_complete"
    with pytest.raises(RuleError, match="non-party 'D-Z'"):
        run(schedule(), {**REVEALS, "D-Z": secret("z")})
    with pytest.raises(FormatError):
        run(schedule(), {**REVEALS, "D-X": "XYZ"})


# ---------------------------------------------------------------------------
# Teams (C3)


def test_a_mapped_draw_is_the_same_draw():
    # A large draw hands its inspector orders to a mapper (the verifier's pool): same teams.
    data = schedule(
        strata=[{"stratum": "S", "ratio": "1", "candidates": [f"E{n:04d}" for n in range(300)]}],
        max_load=30,
    )
    calls: list[int] = []

    def mapper(fn, items):
        calls.append(len(items))
        return [fn(item) for item in items]

    mapped = perform_draw(data, REVEALS, 42, ROOT, mapper=mapper)
    assert calls == [3]  # 300 enterprises in jobs of 128
    assert mapped == perform_draw(data, REVEALS, 42, ROOT)
    calls.clear()
    small = schedule()
    assert perform_draw(small, REVEALS, 42, ROOT, mapper=mapper) == run(small)
    assert calls == []  # below PARALLEL_MIN_ENTERPRISES the draw stays in-line


def test_teams_have_at_least_two_and_team_size_members():
    for team_size, expected in ((1, 2), (2, 2), (3, 3), (5, 5)):
        result = run(schedule(team_size=team_size))
        assert all(len(t["inspectors"]) == expected for t in result["teams"])
        assert all(len(set(t["inspectors"])) == len(t["inspectors"]) for t in result["teams"])


def test_required_departments_take_the_first_places_in_utf8_order():
    inspectors = {x["id"]: x["department"] for x in schedule()["inspectors"]}
    for required in (["D-Y", "D-X"], ["D-X", "D-Y"]):
        result = run(schedule(required_departments=required, team_size=4))
        for team in result["teams"]:
            assert [inspectors[i] for i in team["inspectors"][:2]] == ["D-X", "D-Y"]
    assert run(schedule(required_departments=["D-Y", "D-X"])) == run(
        schedule(required_departments=["D-X", "D-Y"])
    )


def test_without_required_departments_teams_follow_the_ticket_order():
    result = run(schedule(required_departments=[], team_size=3))
    for team in result["teams"]:
        order = inspector_order(schedule(), REVEALS, 42, ROOT, team["enterprise"])
        assert team["inspectors"] == order[:3]


def test_inactive_inspectors_are_never_drawn():
    data = schedule()
    for x in data["inspectors"]:
        if x["id"] in ("X0", "X1", "Y0", "W3"):
            x["active"] = False
    for team in run(data)["teams"]:
        assert not {"X0", "X1", "Y0", "W3"} & set(team["inspectors"])


def test_conflicted_inspectors_are_not_drawn_for_that_enterprise():
    plain = run(schedule())
    # declare a conflict for every member of every team
    conflicts = [
        {"inspector": i, "enterprise": t["enterprise"]}
        for t in plain["teams"]
        for i in t["inspectors"]
    ]
    result = run(schedule(conflicts=conflicts))
    assert result["selection"] == plain["selection"]
    for before, after in zip(plain["teams"], result["teams"], strict=True):
        assert not set(before["inspectors"]) & set(after["inspectors"])


def test_max_load_is_respected_and_spreads_the_work():
    data = schedule(max_load=1, team_size=2, required_departments=[])
    result = run(data)
    counts: dict[str, int] = {}
    for team in result["teams"]:
        for i in team["inspectors"]:
            counts[i] = counts.get(i, 0) + 1
    assert max(counts.values()) == 1
    # 14 enterprises, 14 inspectors, max_load 1: seven full teams, then nobody is left
    assert [len(t["inspectors"]) for t in result["teams"]] == [2] * 7 + [0] * 7


def test_short_team_when_the_pool_is_exhausted():
    data = schedule(
        inspectors=[
            {"id": "X0", "department": "D-X", "active": True},
            {"id": "Y0", "department": "D-Y", "active": False},
            {"id": "Y1", "department": "D-Y", "active": True},
        ],
        team_size=4,
    )
    result = run(data)  # never fails once the reveals are in
    assert all(sorted(t["inspectors"]) == ["X0", "Y1"] for t in result["teams"])
    limited = run(dict(data, max_load=3))
    sizes = [len(t["inspectors"]) for t in limited["teams"]]
    assert sizes == [2, 2, 2] + [0] * 11


def test_a_required_department_with_nobody_eligible_is_skipped():
    data = schedule(
        conflicts=[
            {"inspector": f"Y{i}", "enterprise": e}
            for i in range(4)
            for e in schedule()["strata"][0]["candidates"]
        ]
    )
    result = run(data)
    departments = {x["id"]: x["department"] for x in data["inspectors"]}
    for team in result["teams"]:
        kinds = [departments[i] for i in team["inspectors"]]
        if team["enterprise"].startswith("91A"):
            assert "D-Y" not in kinds and kinds[0] == "D-X" and len(kinds) == 2
        else:
            assert kinds[:2] == ["D-X", "D-Y"]


def test_check_schedule_refuses_a_required_department_without_active_inspectors():
    data = schedule()
    for x in data["inspectors"]:
        if x["department"] == "D-Y":
            x["active"] = False
    with pytest.raises(RuleError, match="'D-Y'") as err:
        check_schedule(data)
    assert err.value.rule == "draw.required_department"
    check_schedule(schedule())
    # once scheduled, the draw itself does not fail: the teams just lack D-Y
    assert all(len(t["inspectors"]) == 2 for t in run(data)["teams"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"draw_id": ""}, "draw_id"),
        ({"draw_id": "T\n1"}, "draw_id"),
        ({"parties": [{"party": "P\r", "key": "k"}]}, "parties[0].party"),
        ({"parties": []}, "parties"),
        ({"parties": [{"party": "P", "key": "k"}, {"party": "P", "key": "j"}]}, "parties"),
        ({"parties": [{"party": "P"}]}, "parties[0].key"),
        ({"inspectors": [{"id": "A", "department": "D", "active": 1}]}, "inspectors[0].active"),
        (
            {"inspectors": [{"id": "A", "department": "D", "active": True}] * 2},
            "inspectors",
        ),
        ({"conflicts": [{"inspector": "A"}]}, "conflicts[0].enterprise"),
        ({"required_departments": ["D-X", "D-X"]}, "required_departments"),
        ({"required_departments": [7]}, "required_departments[0]"),
        ({"team_size": 0}, "team_size"),
        ({"team_size": True}, "team_size"),
        ({"team_size": "2"}, "team_size"),
        ({"max_load": 0}, "max_load"),
        ({"max_load": 1.0}, "max_load"),
        ({"strata": [{"stratum": "A", "ratio": "2", "candidates": []}]}, "ratio"),
        ({"strata": "A"}, "strata"),
    ],
)
def test_malformed_schedules_are_refused(changes, field):
    with pytest.raises(FormatError) as err:
        parse_schedule(schedule(**changes))
    assert err.value.field == field
    with pytest.raises(FormatError):
        run(schedule(**changes))


def test_max_load_must_be_present():
    data = schedule()
    del data["max_load"]
    with pytest.raises(FormatError, match="null for no limit"):
        parse_schedule(data)


POOLS = st.lists(
    st.tuples(st.sampled_from(["D-X", "D-Y", "D-W", "部门"]), st.booleans()),
    min_size=0,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    pool=POOLS,
    required=st.lists(st.sampled_from(["D-X", "D-Y", "部门"]), unique=True, max_size=3),
    team_size=st.integers(1, 5),
    max_load=st.one_of(st.none(), st.integers(1, 4)),
    conflict_bits=st.lists(st.booleans(), min_size=12 * 6, max_size=12 * 6),
    ratio=st.sampled_from(["0.5", "1", "0.25"]),
    salt=st.text(max_size=5),
)
def test_team_invariants(pool, required, team_size, max_load, conflict_bits, ratio, salt):
    inspectors = [
        {"id": f"I{n}", "department": dept, "active": active}
        for n, (dept, active) in enumerate(pool)
    ]
    enterprises = [f"E{n}" for n in range(6)]
    conflicts = [
        {"inspector": f"I{n}", "enterprise": e}
        for n in range(len(pool))
        for k, e in enumerate(enterprises)
        if conflict_bits[n * 6 + k]
    ]
    data = schedule(
        inspectors=inspectors,
        conflicts=conflicts,
        required_departments=required,
        team_size=team_size,
        max_load=max_load,
        strata=[{"stratum": "S", "ratio": ratio, "candidates": enterprises}],
    )
    reveals = {"D-X": secret("x" + salt), "D-Y": secret("y")}
    result = perform_draw(data, reveals, 7, ROOT)
    by_id = {x["id"]: x for x in inspectors}
    barred = {(c["inspector"], c["enterprise"]) for c in conflicts}
    target = max(2, team_size)
    loads: dict[str, int] = {}
    for team in result["teams"]:
        e, members = team["enterprise"], team["inspectors"]

        def eligible(i, e=e, members=members):
            return (
                by_id[i]["active"]
                and (i, e) not in barred
                and (max_load is None or loads.get(i, 0) < max_load)
                and i not in members
            )

        assert len(set(members)) == len(members)
        for i in members:
            assert by_id[i]["active"] and (i, e) not in barred
            assert max_load is None or loads.get(i, 0) < max_load
        order = inspector_order(data, reveals, 7, ROOT, e)
        # department places first, in ascending UTF-8 order, each the first eligible
        covered = [
            d
            for d in sorted(required, key=str.encode)
            if any(by_id[i]["department"] == d and eligible(i, members=[]) for i in by_id)
        ]
        for place, department in enumerate(covered):
            first = next(
                i
                for i in order
                if by_id[i]["department"] == department and eligible(i, members=members[:place])
            )
            assert members[place] == first
        fill = [i for i in order if eligible(i, members=members[: len(covered)])]
        assert members[len(covered) :] == fill[: max(0, target - len(covered))]
        # short only when nobody eligible is left
        if len(members) < target:
            assert not [i for i in by_id if eligible(i)]
        for i in members:
            loads[i] = loads.get(i, 0) + 1


# ---------------------------------------------------------------------------
# Recusal (C3): the replacement is drawn, never chosen


def expected_replacement(data, performed, enterprise, recused, teams, prior=(), extra=()):
    """The rule of replacement_after_recusal's docstring, restated."""
    by_id = {x["id"]: x for x in data["inspectors"]}
    team = teams[enterprise]
    barred = {(c["inspector"], c["enterprise"]) for c in data["conflicts"]} | set(extra)
    loads: dict[str, int] = {}
    for members in teams.values():
        for i in members:
            loads[i] = loads.get(i, 0) + 1
    place = by_id[recused]["department"]
    if place not in data["required_departments"] or any(
        by_id[m]["department"] == place for m in team if m != recused
    ):
        place = None
    cp = performed["checkpoint"]
    for i in inspector_order(data, REVEALS, cp["size"], cp["root"], enterprise):
        x = by_id[i]
        if (
            x["active"]
            and i not in team
            and i != recused
            and i not in prior
            and (i, enterprise) not in barred
            and (data["max_load"] is None or loads.get(i, 0) < data["max_load"])
            and (place is None or x["department"] == place)
        ):
            return i
    return None


@pytest.mark.parametrize("team_size", [2, 3, 4])
def test_recusal_replacement_for_every_member(team_size):
    data = schedule(team_size=team_size, max_load=5)
    performed = run(data)
    teams = teams_of(performed)
    departments = {x["id"]: x["department"] for x in data["inspectors"]}
    restricted = 0
    for enterprise, team in teams.items():
        for recused in team:
            got = replacement_after_recusal(data, REVEALS, performed, enterprise, recused)
            assert got == expected_replacement(data, performed, enterprise, recused, teams)
            assert got is not None and got not in team
            others = [departments[m] for m in team if m != recused]
            if departments[recused] in ("D-X", "D-Y") and departments[recused] not in others:
                assert departments[got] == departments[recused]
                restricted += 1
    assert restricted > 0


def test_recusal_of_a_department_place_takes_the_same_department():
    data = schedule(team_size=2, required_departments=["D-X", "D-Y"])
    performed = run(data)
    enterprise, team = next(iter(teams_of(performed).items()))
    departments = {x["id"]: x["department"] for x in data["inspectors"]}
    x_member = next(m for m in team if departments[m] == "D-X")
    got = replacement_after_recusal(data, REVEALS, performed, enterprise, x_member)
    assert departments[got] == "D-X"
    order = inspector_order(data, REVEALS, 42, ROOT, enterprise)
    assert got == next(i for i in order if departments[i] == "D-X" and i not in team)
    # the first in ticket order regardless of department, when no place is held
    free = schedule(team_size=2, required_departments=[])
    performed = run(free)
    team = teams_of(performed)[enterprise]
    got = replacement_after_recusal(free, REVEALS, performed, enterprise, team[0])
    order = inspector_order(free, REVEALS, 42, ROOT, enterprise)
    assert got == next(i for i in order if i not in team)


def test_recusal_skips_prior_recusals_conflicts_inactive_and_full_loads():
    data = schedule(team_size=2, required_departments=[], max_load=3)
    performed = run(data)
    teams = teams_of(performed)
    enterprise, team = next(iter(teams.items()))
    order = inspector_order(data, REVEALS, 42, ROOT, enterprise)
    candidates = [i for i in order if i not in team]
    first = replacement_after_recusal(data, REVEALS, performed, enterprise, team[0])
    assert first is not None
    assert first == expected_replacement(data, performed, enterprise, team[0], teams)
    # prior recusals never come back
    again = replacement_after_recusal(
        data, REVEALS, performed, enterprise, team[0], prior_recusals=[first]
    )
    assert again != first and again is not None
    # a conflict declared after the draw counts
    skipped = replacement_after_recusal(
        data, REVEALS, performed, enterprise, team[0], extra_conflicts=[(first, enterprise)]
    )
    assert skipped == again
    # an inactive inspector is not drawn
    inactive = copy.deepcopy(data)
    for x in inactive["inspectors"]:
        if x["id"] == first:
            x["active"] = False
    assert replacement_after_recusal(inactive, REVEALS, performed, enterprise, team[0]) == again
    # loads count the draw's current teams
    busy = dict(teams)
    for k in range(3):  # max_load is 3
        busy[f"elsewhere-{k}"] = [first]
    got = replacement_after_recusal(
        data, REVEALS, performed, enterprise, team[0], current_teams=busy
    )
    assert got != first
    assert got == expected_replacement(data, performed, enterprise, team[0], busy)
    # nobody left: the team stays short
    everyone = list(candidates)
    assert (
        replacement_after_recusal(
            data, REVEALS, performed, enterprise, team[0], prior_recusals=everyone
        )
        is None
    )


def test_recusal_of_someone_not_on_the_team_is_refused():
    data = schedule()
    performed = run(data)
    enterprise, team = next(iter(teams_of(performed).items()))
    outsider = next(x["id"] for x in data["inspectors"] if x["id"] not in team)
    with pytest.raises(RuleError, match="not on the team"):
        replacement_after_recusal(data, REVEALS, performed, enterprise, outsider)
    with pytest.raises(RuleError, match="has no team"):
        replacement_after_recusal(data, REVEALS, performed, "91Z000000000000000", team[0])
