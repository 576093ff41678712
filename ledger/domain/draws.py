"""The draw (双随机抽取): enterprises and inspector teams (DESIGN.md C3, A11).

A draw is scheduled (``DrawScheduled`` freezes candidates, inspector pool,
conflicts, ratios and parties), every party commits to a secret
(``DrawCommitted``) and then reveals it (``DrawRevealed``).  Everything after
that is a pure function of logged data, computed here, so that the server
appends ``DrawPerformed`` and any verifier replays it to the same bytes:

* :func:`perform_draw`: seed, per-stratum selection and teams (A11
  ``DrawPerformed`` data), by ``vectors/draw/README.md`` §3 and C3;
* :func:`replacement_after_recusal`: the drawn replacement after a late
  recusal (回避, C3).

Standard library and ``ledger.errors`` only; no clock, no randomness, no
floats.  Malformed data raises ``FormatError`` and a broken draw rule
``RuleError``, each naming the field
(and the entry index where there is one).  The rules a verifier checks on a
draw's entries (commit before reveal, named keys, reveals matching) are
applied, in log order, by ``ledger.replay.LogState``, which calls
:func:`perform_draw` for ``DrawPerformed``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.domain.sampling import (
    Mapper,
    TicketPool,
    check_strata,
    draw_seed,
    draw_seeds,
    stratified_selection,
    ticket_order,
)
from ledger.errors import FormatError, RuleError

__all__ = [
    "ENTERPRISES_LABEL",
    "Inspector",
    "Schedule",
    "check_commit_reveal",
    "check_schedule",
    "inspector_order",
    "inspectors_label",
    "parse_schedule",
    "perform_draw",
    "replacement_after_recusal",
]

#: Seed label of the enterprise selection (README §3 "Inputs").
ENTERPRISES_LABEL = "enterprises"

#: Selected enterprises from which ``perform_draw`` hands the inspector orders to a mapper.
PARALLEL_MIN_ENTERPRISES = 256

#: Smallest team a draw aims for, whatever ``team_size`` says (C3: max(2, team_size)).
MIN_TEAM = 2

_HEX64 = re.compile(r"[0-9a-f]{64}")


def inspectors_label(enterprise: str) -> str:
    """Seed label of the inspector draw for one enterprise: ``inspectors:<id>`` (C3)."""
    return f"inspectors:{enterprise}"


# ---------------------------------------------------------------------------
# DrawScheduled data (A11)


@dataclass(frozen=True)
class Inspector:
    """One member of a draw's inspector pool (执法人员, A11 ``inspectors``)."""

    id: str
    department: str
    active: bool


@dataclass(frozen=True)
class Schedule:
    """The checked ``data`` of a ``DrawScheduled`` entry (A11).

    ``required_departments`` is kept in ascending UTF-8 order, the order in
    which teams take their department places (C3); ``conflicts`` holds
    ``(inspector, enterprise)`` pairs.
    """

    draw_id: str
    parties: tuple[tuple[str, str], ...]
    strata: tuple[Mapping[str, object], ...]
    inspectors: tuple[Inspector, ...]
    conflicts: frozenset[tuple[str, str]]
    required_departments: tuple[str, ...]
    team_size: int
    max_load: int | None

    @property
    def party_keys(self) -> dict[str, str]:
        """Party -> key id named for it (A12 ``named``)."""
        return dict(self.parties)


def parse_schedule(scheduled: Mapping[str, object]) -> Schedule:
    """Check and read the ``data`` of a ``DrawScheduled`` entry (A11).

    Fields used: ``draw_id``; ``parties`` (non-empty, ``{"party", "key"}``,
    distinct parties); ``strata`` (see :func:`ledger.domain.sampling.check_strata`);
    ``inspectors`` (``{"id", "department", "active": bool}``, distinct ids);
    ``conflicts`` (``{"inspector", "enterprise"}``); ``required_departments``
    (distinct ids); ``team_size`` (integer >= 1); ``max_load`` (integer >= 1
    or null).  ``draw_id`` and parties go into the seed text, so they must
    not hold CR or LF (README §3).  Other fields (``task_id``, ``replaces``, additions) are not
    read.  Raises ``FormatError`` naming the field.
    """
    if not isinstance(scheduled, Mapping):
        raise FormatError("draw.scheduled", "DrawScheduled data must be an object")
    draw_id = _line(_text(scheduled, "draw_id", "draw_id"), "draw_id")
    parties: list[tuple[str, str]] = []
    for i, item in enumerate(_list(scheduled, "parties")):
        where = f"parties[{i}]"
        obj = _object(item, where)
        party = _line(_text(obj, "party", where + ".party"), where + ".party")
        parties.append((party, _text(obj, "key", where + ".key")))
    if not parties:
        raise FormatError("draw.parties", "a draw needs at least one party", field="parties")
    _distinct_texts([p for p, _ in parties], "parties", "draw.parties_distinct")
    strata = tuple(_object(s, f"strata[{i}]") for i, s in enumerate(_list(scheduled, "strata")))
    check_strata(strata)
    inspectors: list[Inspector] = []
    for i, item in enumerate(_list(scheduled, "inspectors")):
        where = f"inspectors[{i}]"
        obj = _object(item, where)
        active = obj.get("active")
        if not isinstance(active, bool):
            raise FormatError(
                "draw.inspectors",
                f"expected true or false, got {active!r}",
                field=where + ".active",
            )
        inspectors.append(
            Inspector(
                _text(obj, "id", where + ".id"),
                _text(obj, "department", where + ".department"),
                active,
            )
        )
    _distinct_texts([x.id for x in inspectors], "inspectors", "draw.inspectors_distinct")
    conflicts: set[tuple[str, str]] = set()
    for i, item in enumerate(_list(scheduled, "conflicts")):
        where = f"conflicts[{i}]"
        obj = _object(item, where)
        conflicts.add(
            (
                _text(obj, "inspector", where + ".inspector"),
                _text(obj, "enterprise", where + ".enterprise"),
            )
        )
    required: list[str] = []
    for i, item in enumerate(_list(scheduled, "required_departments")):
        if not isinstance(item, str) or not item:
            raise FormatError(
                "draw.required_departments",
                f"expected a department id, got {item!r}",
                field=f"required_departments[{i}]",
            )
        required.append(item)
    _distinct_texts(required, "required_departments", "draw.required_departments")
    team_size = scheduled.get("team_size")
    if not isinstance(team_size, int) or isinstance(team_size, bool) or team_size < 1:
        raise FormatError(
            "draw.team_size", f"expected an integer >= 1, got {team_size!r}", field="team_size"
        )
    if "max_load" not in scheduled:
        raise FormatError("draw.max_load", "missing (use null for no limit)", field="max_load")
    max_load = scheduled["max_load"]
    if max_load is not None and (
        not isinstance(max_load, int) or isinstance(max_load, bool) or max_load < 1
    ):
        raise FormatError(
            "draw.max_load", f"expected an integer >= 1 or null, got {max_load!r}", field="max_load"
        )
    return Schedule(
        draw_id=draw_id,
        parties=tuple(parties),
        strata=strata,
        inspectors=tuple(inspectors),
        conflicts=frozenset(conflicts),
        required_departments=tuple(sorted(required, key=_utf8_key)),
        team_size=team_size,
        max_load=max_load,
    )


def check_schedule(scheduled: Mapping[str, object]) -> Schedule:
    """Everything a ``DrawScheduled`` must satisfy before it is logged (C3).

    :func:`parse_schedule`, plus the refusal rule of C3: every required
    department has at least one active inspector in the pool (otherwise
    ``RuleError``, rule ``draw.required_department``).  Once scheduled, a
    draw whose reveals are in never fails (teams may come out short).
    """
    schedule = parse_schedule(scheduled)
    staffed = {x.department for x in schedule.inspectors if x.active}
    for department in schedule.required_departments:
        if department not in staffed:
            raise RuleError(
                "draw.required_department",
                f"required department {department!r} has no active inspector in the pool",
                field="required_departments",
            )
    return schedule


# ---------------------------------------------------------------------------
# Commit and reveal (A11)


def check_commit_reveal(commitment_hex: str, secret_hex: str) -> None:
    """Check a revealed secret against its commitment (A11, README §3 ``commitment_hex``).

    Both are 64 lowercase hex characters; the commitment must be the
    lowercase hex SHA-256 of the 32 secret bytes.  Raises ``FormatError`` for
    a malformed value and ``RuleError`` (rule ``draw.reveal_matches_commitment``)
    for a mismatch.
    """
    _hex64(commitment_hex, "commitment")
    _hex64(secret_hex, "secret")
    found = hashlib.sha256(bytes.fromhex(secret_hex)).hexdigest()
    if found != commitment_hex:
        raise RuleError(
            "draw.reveal_matches_commitment",
            f"SHA-256 of the secret is {found}, the commitment is {commitment_hex}",
            field="secret",
        )


# ---------------------------------------------------------------------------
# The draw (README §3, C3)


def perform_draw(
    scheduled: Mapping[str, object],
    reveals: Mapping[str, str],
    checkpoint_size: int,
    checkpoint_root_hex: str,
    *,
    mapper: Mapper | None = None,
) -> dict[str, Any]:
    """The ``data`` of the ``DrawPerformed`` entry (A11; README §3; C3).

    ``scheduled`` is the ``DrawScheduled`` data, ``reveals`` maps every
    party to its revealed secret (64 lowercase hex), and the checkpoint is
    the tree at the size just after the last ``DrawCommitted`` (its index
    + 1) with its root in lowercase hex.

    1. ``seed`` = :func:`~ledger.domain.sampling.draw_seed` with label
       ``enterprises``;
    2. ``selection`` = :func:`~ledger.domain.sampling.stratified_selection`
       (strata ascending by UTF-8 bytes, count = exact ceiling, ticket order);
    3. ``teams``: one per selected enterprise in selection order, built by
       :func:`_draw_teams` (C3, quoted there).

    Returns ``{"draw_id", "checkpoint": {"size", "root"}, "seed",
    "selection", "teams"}``.  Raises ``FormatError`` for malformed input and
    ``RuleError`` (rule ``draw.reveals_complete``) when the reveals are not
    exactly one per scheduled party.  Never fails because of the inspector
    pool: a team that cannot be filled stays short.  ``mapper`` (e.g. a
    process pool's) computes the per-enterprise inspector orders in parallel
    for a large draw; the result is the same.
    """
    schedule = parse_schedule(scheduled)
    _check_reveals(schedule, reveals)
    seed = draw_seed(
        ENTERPRISES_LABEL, schedule.draw_id, checkpoint_size, checkpoint_root_hex, reveals
    )
    selection = stratified_selection(seed, schedule.strata)
    enterprises = [e for item in selection for e in _str_list(item["selected"])]
    teams = _draw_teams(
        schedule, reveals, checkpoint_size, checkpoint_root_hex, enterprises, mapper=mapper
    )
    return {
        "draw_id": schedule.draw_id,
        "checkpoint": {"size": checkpoint_size, "root": checkpoint_root_hex},
        "seed": seed,
        "selection": selection,
        "teams": [
            {"enterprise": e, "inspectors": team}
            for e, team in zip(enterprises, teams, strict=True)
        ],
    }


def inspector_order(
    scheduled: Mapping[str, object] | Schedule,
    reveals: Mapping[str, str],
    checkpoint_size: int,
    checkpoint_root_hex: str,
    enterprise: str,
) -> list[str]:
    """The whole inspector pool in ticket order for one enterprise (C3).

    The seed is README §3's seed with label ``inspectors:<enterprise>`` and
    the draw's id, checkpoint and reveals; the order is the consistent
    sampler's ticket order of every inspector id, eligible or not.
    """
    schedule = scheduled if isinstance(scheduled, Schedule) else parse_schedule(scheduled)
    seed = _inspector_seed(schedule, reveals, checkpoint_size, checkpoint_root_hex, enterprise)
    return [id_ for id_, _ in ticket_order(seed, [x.id for x in schedule.inspectors])]


def _inspector_seed(
    schedule: Schedule,
    reveals: Mapping[str, str],
    checkpoint_size: int,
    checkpoint_root_hex: str,
    enterprise: str,
) -> str:
    """README §3's seed for E's inspector order (label ``inspectors:<enterprise>``)."""
    return draw_seed(
        inspectors_label(enterprise), schedule.draw_id, checkpoint_size, checkpoint_root_hex,
        reveals,
    )


def _draw_teams(
    schedule: Schedule,
    reveals: Mapping[str, str],
    checkpoint_size: int,
    checkpoint_root_hex: str,
    enterprises: Sequence[str],
    *,
    mapper: Mapper | None = None,
) -> list[list[str]]:
    """Inspector teams, exactly as C3 says, one per enterprise in the given order.

    For each selected enterprise E, in selection order:

    1. order the whole pool by :func:`inspector_order` for E;
    2. an inspector is *eligible* when active, without a declared conflict
       with E, not yet on E's team, and holding fewer than ``max_load`` teams
       of this draw so far (no limit when ``max_load`` is null);
    3. for each required department in ascending UTF-8 order of its id
       (``required_departments`` as a set: the order in which it is listed
       does not matter; the conformance bundle's draw D1 lists
       ``["D-SCJ", "D-AJJ"]`` and its teams take D-AJJ's place first), take
       the first eligible inspector of that department, if any;
    4. then take the next eligible inspectors in ticket order until the team
       has ``max(2, team_size)`` members or the pool is exhausted.

    A team lists inspectors in picking order.  A short team stays short.
    """
    by_id = {x.id: x for x in schedule.inspectors}
    loads: dict[str, int] = {}
    target = max(MIN_TEAM, schedule.team_size)
    teams: list[list[str]] = []
    # inspector_order's order, computed only as far as each team needs
    pool = TicketPool([x.id for x in schedule.inspectors])
    seeds = draw_seeds(
        [inspectors_label(enterprise) for enterprise in enterprises],
        schedule.draw_id, checkpoint_size, checkpoint_root_hex, reveals,
    )
    if mapper is not None and len(seeds) >= PARALLEL_MIN_ENTERPRISES:
        pool.prepare(seeds, mapper)
    for enterprise, seed in zip(enterprises, seeds, strict=True):
        order = pool.order(seed)
        team: list[str] = []

        def eligible(id_: str, enterprise: str = enterprise, team: list[str] = team) -> bool:
            x = by_id[id_]
            return (
                x.active
                and (id_, enterprise) not in schedule.conflicts
                and id_ not in team
                and (schedule.max_load is None or loads.get(id_, 0) < schedule.max_load)
            )

        for department in schedule.required_departments:
            pick = next(
                (i for i in order if by_id[i].department == department and eligible(i)), None
            )
            if pick is not None:
                team.append(pick)
        for id_ in order:
            if len(team) >= target:
                break
            if eligible(id_):
                team.append(id_)
        for id_ in team:
            loads[id_] = loads.get(id_, 0) + 1
        teams.append(team)
    return teams


# ---------------------------------------------------------------------------
# Recusal (C3)


def replacement_after_recusal(
    scheduled: Mapping[str, object],
    reveals: Mapping[str, str],
    performed: Mapping[str, object],
    enterprise: str,
    recused_inspector: str,
    *,
    current_teams: Mapping[str, Sequence[str]] | None = None,
    prior_recusals: Iterable[str] = (),
    extra_conflicts: Iterable[tuple[str, str]] = (),
) -> str | None:
    """The drawn replacement for an inspector who recuses late (回避, C3).

    Never chosen: it is the first inspector, in E's ticket order
    (:func:`inspector_order` with the checkpoint of ``performed``), who is

    * in the draw's pool and active (as frozen in ``DrawScheduled``);
    * not the recused inspector, not on E's current team, and not among
      ``prior_recusals`` (inspectors who recused from E's case before);
    * without a conflict with E, counting the draw's conflicts and
      ``extra_conflicts`` (``(inspector, enterprise)`` pairs declared since
      the draw was scheduled);
    * holding fewer than ``max_load`` of the draw's current teams (no limit
      when null);
    * of the recused inspector's department, when the recused one filled a
      department's place: that department is required and no other member
      of E's current team belongs to it.

    ``current_teams`` maps every enterprise of the draw to its team as it
    stands before this recusal (after earlier replacements); by default the
    teams of ``performed``.  Returns the inspector id, or ``None`` when no one
    is eligible (the team stays short and the compliance report flags it).
    Raises ``RuleError`` when E has no team in the draw or the recused
    inspector is not on it.
    """
    schedule = parse_schedule(scheduled)
    teams = dict(current_teams) if current_teams is not None else _performed_teams(performed)
    if enterprise not in teams:
        raise RuleError(
            "draw.recusal",
            f"enterprise {enterprise!r} has no team in draw {schedule.draw_id!r}",
            field="enterprise",
        )
    team = list(teams[enterprise])
    if recused_inspector not in team:
        raise RuleError(
            "draw.recusal",
            f"inspector {recused_inspector!r} is not on the team of {enterprise!r}",
            field="inspector",
        )
    checkpoint = performed.get("checkpoint")
    if not isinstance(checkpoint, Mapping):
        raise FormatError("draw.performed", "missing checkpoint", field="checkpoint")
    size = checkpoint.get("size")
    root = checkpoint.get("root")
    if not isinstance(size, int) or isinstance(size, bool) or not isinstance(root, str):
        raise FormatError("draw.performed", "checkpoint needs size and root", field="checkpoint")
    by_id = {x.id: x for x in schedule.inspectors}
    conflicts = schedule.conflicts | frozenset(extra_conflicts)
    barred = {recused_inspector, *team, *prior_recusals}
    loads: dict[str, int] = {}
    for members in teams.values():
        for id_ in members:
            loads[id_] = loads.get(id_, 0) + 1
    recused = by_id.get(recused_inspector)
    department: str | None = None
    if (
        recused is not None
        and recused.department in schedule.required_departments
        and not any(
            by_id[m].department == recused.department
            for m in team
            if m != recused_inspector and m in by_id
        )
    ):
        department = recused.department
    pool = TicketPool([x.id for x in schedule.inspectors])
    order = pool.order(_inspector_seed(schedule, reveals, size, root, enterprise))
    for id_ in order:
        x = by_id[id_]
        if (
            x.active
            and id_ not in barred
            and (id_, enterprise) not in conflicts
            and (schedule.max_load is None or loads.get(id_, 0) < schedule.max_load)
            and (department is None or x.department == department)
        ):
            return id_
    return None


# ---------------------------------------------------------------------------
# Replay from entries (A11 "Rules a verifier checks")


def _check_reveals(schedule: Schedule, reveals: Mapping[str, str]) -> None:
    if not isinstance(reveals, Mapping):
        raise FormatError("draw.reveals", "reveals must map party to secret", field="reveals")
    expected = {p for p, _ in schedule.parties}
    missing = sorted(expected - set(reveals), key=_utf8_key)
    extra = sorted(set(reveals) - expected, key=lambda p: repr(p))
    if missing or extra:
        parts = []
        if missing:
            parts.append("no reveal from " + ", ".join(repr(p) for p in missing))
        if extra:
            parts.append("reveal from non-party " + ", ".join(repr(p) for p in extra))
        raise RuleError("draw.reveals_complete", "; ".join(parts), field="reveals")



def _performed_teams(performed: Mapping[str, object]) -> dict[str, list[str]]:
    teams: dict[str, list[str]] = {}
    raw = performed.get("teams")
    if not isinstance(raw, list):
        raise FormatError("draw.performed", "teams must be a list", field="teams")
    for i, item in enumerate(raw):
        obj = _object(item, f"teams[{i}]")
        teams[_text(obj, "enterprise", f"teams[{i}].enterprise")] = _str_list(obj.get("inspectors"))
    return teams




def _object(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise FormatError("draw.scheduled", "expected an object", field=where)
    return value


def _list(obj: Mapping[str, object], name: str) -> list[object]:
    value = obj.get(name)
    if not isinstance(value, list | tuple):
        raise FormatError("draw.scheduled", f"expected a list, got {value!r}", field=name)
    return list(value)


def _text(obj: Mapping[str, object], name: str, where: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise FormatError(
            "draw.scheduled", f"expected a non-empty string, got {value!r}", field=where
        )
    return value


def _line(value: str, where: str) -> str:
    """A text field that goes into the seed text: no CR or LF (README §3 "Inputs")."""
    if "\r" in value or "\n" in value:
        raise FormatError("draw.seed_text", "must not contain CR or LF", field=where)
    return value


def _str_list(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FormatError("draw.performed", f"expected a list of ids, got {value!r}")
    return list(value)


def _distinct_texts(values: Sequence[str], field: str, rule: str) -> None:
    for a, b in itertools.pairwise(sorted(values)):
        if a == b:
            raise FormatError(rule, f"{a!r} appears more than once", field=field)


def _hex64(value: object, field: str) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise FormatError(
            "draw.hex", f"expected 64 lowercase hex characters, got {value!r}", field=field
        )


def _utf8_key(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")
