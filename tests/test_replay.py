"""LogState: every rule of Part A broken once on a log built here (A1, A3, A4, A7, A11, A12).

Each refused entry must raise the rule's error class and leave the state
(size, root, nonces) exactly as it was: the same entry, repaired, applies
afterwards.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.canonical import canonical, parse_canonical
from ledger.checkpoint import NoteSigner
from ledger.commands import sign_command, signing_bytes
from ledger.domain.roles import ACTIONS, REGISTRY_STREAMS
from ledger.entries import make_entry
from ledger.errors import (
    AuthorityError,
    ConflictError,
    FormatError,
    LedgerError,
    RuleError,
    SignatureError,
)
from ledger.keys import KeyPair
from ledger.merkle import leaf_hash, root_of
from ledger.replay import LogState, parse_entry_bytes, signature_message
from ledger.times import format_time

ORIGIN = "test.example/spotcheck-ledger"
LOG_KEY = NoteSigner.from_seed(b"\x70" * 32, ORIGIN)
T0 = datetime(2023, 3, 1, 8, 0, tzinfo=UTC)


def pair(name: str, n: int) -> KeyPair:
    return KeyPair.from_seed(name, bytes([n]) * 32)


ROOT = pair("root", 1)
ROOT2 = pair("root2", 2)
ADMIN = pair("admin", 3)
PLANNER = pair("planner", 4)
P1 = pair("party1", 5)
P2 = pair("party2", 6)
INSPECTORS = {"I-1": pair("I-1", 7), "I-2": pair("I-2", 8), "I-3": pair("I-3", 9),
              "I-4": pair("I-4", 10)}
DEPARTMENT = {"I-1": "D1", "I-2": "D1", "I-3": "D2", "I-4": "D2"}
OUTSIDER = pair("outsider", 11)
SECRETS = {"D1": hashlib.sha256(b"one").hexdigest(), "D2": hashlib.sha256(b"two").hexdigest()}


def holder(name: str, department: str | None = None, inspector: str | None = None) -> dict:
    return {"name": name, "department": department, "inspector": inspector}


class Log:
    """A log built entry by entry; ``state`` checks each one."""

    def __init__(self, *, root_keys: tuple[KeyPair, ...] = (ROOT, ROOT2)) -> None:
        self.state = LogState(vkey=LOG_KEY.vkey)
        self.t = T0
        self.lines: list[bytes] = []
        self.system("ledger", "LedgerGenesis", {
            "origin": ORIGIN,
            "log_vkey": LOG_KEY.vkey,
            "created_at": format_time(T0),
            "root_keys": [{"key": k.key_id, "public_key": k.public_key_b64,
                           "holder": holder(k.name)} for k in root_keys],
        })

    # -- building ---------------------------------------------------------------
    def entry(
        self, stream: str, type_: str, data: dict, command: dict | None, *,
        index: int | None = None, seq: int | None = None, logged_at: datetime | None = None,
    ) -> bytes:
        return canonical(make_entry(
            index=self.state.size if index is None else index,
            logged_at=format_time(logged_at or self.t),
            stream=stream,
            seq=self.state.stream_seq(stream) + 1 if seq is None else seq,
            type=type_,
            data=data,
            command=command,
        ))

    def command(
        self, signer: KeyPair, action: str, args: dict, *, stream: str | None = None,
        issued_at: datetime | None = None, nonce: bytes | None = None, **kw: Any,
    ) -> bytes:
        spec = ACTIONS[action]
        signed = sign_command(signer, action, args, issued_at=issued_at or self.t, nonce=nonce)
        return self.entry(stream or default_stream(action, args), spec.entry_type, dict(args),
                          signed, **kw)

    def add(self, data: bytes) -> dict:
        entry = self.state.apply(data)
        self.lines.append(data)
        return entry

    def do(self, signer: KeyPair, action: str, args: dict, **kw: Any) -> dict:
        self.t += timedelta(seconds=1)
        return self.add(self.command(signer, action, args, **kw))

    def system(self, stream: str, type_: str, data: dict) -> dict:
        return self.add(self.entry(stream, type_, data, None))

    def register(self, by: KeyPair, key: KeyPair, roles: list[str], who: dict,
                 valid_from: datetime | None = None) -> dict:
        return self.do(by, "keys.register", key_args(key, roles, who, valid_from or self.t))

    def revoke(self, by: KeyPair, key: KeyPair) -> dict:
        return self.do(by, "keys.revoke", {"key": key.key_id, "reason": "test"})


def default_stream(action: str, args: dict) -> str:
    spec = ACTIONS[action]
    if spec.stream_kind == "key":
        return f"key/{args['key']}"
    if spec.stream_kind == "draw":
        return f"draw/{args['draw_id']}"
    if spec.stream_kind == "registry":
        return REGISTRY_STREAMS[spec.entry_type]
    if spec.stream_kind == "plan":
        return f"plan/{args['plan_no']}"
    raise AssertionError(f"give the stream of {action}")


def key_args(key: KeyPair, roles: list[str], who: dict, valid_from: datetime) -> dict:
    return {"key": key.key_id, "public_key": key.public_key_b64, "holder": who, "roles": roles,
            "valid_from": format_time(valid_from)}


def staffed_log() -> Log:
    """Genesis (two root keys), admin, planner, two draw parties, four inspectors."""
    log = Log()
    log.register(ROOT, ADMIN, ["admin"], holder("admin"))
    log.register(ADMIN, PLANNER, ["planner"], holder("planner"))
    log.register(ADMIN, P1, ["draw_party"], holder("party D1", "D1"))
    log.register(ADMIN, P2, ["draw_party"], holder("party D2", "D2"))
    for iid, key in INSPECTORS.items():
        log.register(ADMIN, key, ["inspector"], holder(iid, DEPARTMENT[iid], iid))
    return log


def schedule_args(draw_id: str = "D-1") -> dict:
    return {
        "draw_id": draw_id, "task_id": "T-1", "replaces": None,
        "parties": [{"party": "D1", "key": P1.key_id}, {"party": "D2", "key": P2.key_id}],
        "strata": [{"stratum": "A", "ratio": "0.4", "candidates": [f"E{i}" for i in range(5)]}],
        "inspectors": [{"id": iid, "department": DEPARTMENT[iid], "active": True}
                       for iid in INSPECTORS],
        "conflicts": [], "required_departments": ["D1", "D2"], "team_size": 2, "max_load": None,
    }


def commit_args(party: str, draw_id: str = "D-1") -> dict:
    commitment = hashlib.sha256(bytes.fromhex(SECRETS[party])).hexdigest()
    return {"draw_id": draw_id, "party": party, "commitment": commitment}


def reveal_args(party: str, draw_id: str = "D-1") -> dict:
    return {"draw_id": draw_id, "party": party, "secret": SECRETS[party]}


def committed_log() -> Log:
    log = staffed_log()
    log.do(PLANNER, "draws.schedule", schedule_args())
    log.do(P1, "draws.commit", commit_args("D1"))
    log.do(P2, "draws.commit", commit_args("D2"))
    return log


def drawn_log() -> Log:
    """A performed draw with its cases opened."""
    log = committed_log()
    log.do(P1, "draws.reveal", reveal_args("D1"))
    log.do(P2, "draws.reveal", reveal_args("D2"))
    for type_, stream, data in log.state.pending_system_entries():
        log.system(stream, type_, data)
    return log


def refused(log: Log, data: bytes, error: type[LedgerError], rule: str) -> LedgerError:
    """``data`` is refused with ``error`` naming ``rule``, and nothing changes."""
    state = log.state
    size, root, keys = state.size, state.root(), dict(state.keys)
    nonces, last = set(state._nonces), state.last_logged_at
    with pytest.raises(error) as caught:
        state.apply(data)
    exc = caught.value
    assert exc.rule == rule, str(exc)
    assert exc.index == size
    assert (state.size, state.root(), state.keys, state._nonces, state.last_logged_at) == (
        size, root, keys, nonces, last
    )
    assert state.root() == root_of([leaf_hash(line) for line in log.lines])
    return exc


def case_of(log: Log) -> tuple[str, tuple[str, ...]]:
    draw = log.state.draw("D-1")
    assert draw is not None
    stream = draw.cases[0]
    return stream, log.state.team(stream)


def department_entry(log: Log) -> bytes:
    return log.command(ADMIN, "departments.register", {"department": "D9", "name": "x"})


def finding(case_stream: str) -> dict:
    return {"case_id": case_stream[5:], "item": "安全生产责任制", "result": "未发现问题"}


# ---------------------------------------------------------------------------
# A valid log


def test_valid_log_replays_and_exposes_state():
    log = drawn_log()
    state = log.state
    draw = state.draw("D-1")
    assert draw is not None and draw.performed is not None and not draw.voided
    assert draw.commit_checkpoint == (draw.scheduled_at + 3,
                                      root_of([leaf_hash(x) for x in log.lines[:draw.scheduled_at
                                                                                + 3]]).hex())
    assert set(draw.reveals) == {"D1", "D2"}
    assert len(draw.cases) == 2  # ceil(0.4 * 5)
    for stream in draw.cases:
        assert state.case_exists(stream)
        assert len(state.team(stream)) == 2
        assert {DEPARTMENT[i] for i in state.team(stream)} == {"D1", "D2"}
    assert state.stream_seq("draw/D-1") == 6
    assert state.stream_seq("nowhere/x") == 0
    assert state.origin == ORIGIN and state.log_vkey == LOG_KEY.vkey
    assert state.last_logged_at == log.t
    assert state.keys[ROOT.key_id].root and not state.keys[ADMIN.key_id].root
    assert state.pending_system_entries() == []
    # A second fold from the bytes, with signatures, gives the same head.
    again = LogState(vkey=LOG_KEY.vkey, genesis_hash=leaf_hash(log.lines[0]).hex())
    for line in log.lines:
        again.apply(line)
    assert (again.size, again.root()) == (state.size, state.root())


def test_team_member_records_finding_and_recusal_replaces():
    log = drawn_log()
    stream, team = case_of(log)
    member = INSPECTORS[team[0]]
    log.do(member, "cases.record_finding", finding(stream), stream=stream)
    other = next(i for i in INSPECTORS if i not in team and DEPARTMENT[i] == DEPARTMENT[team[0]])
    log.do(INSPECTORS[team[0]], "cases.recuse",
           {"case_id": stream[5:], "inspector": team[0], "reason": "亲属", "replacement": other},
           stream=stream)
    assert log.state.team(stream) == (other, team[1])
    refused(log, log.command(member, "cases.record_finding", finding(stream), stream=stream),
            AuthorityError, "A12 roles")


def test_recusal_replacement_is_drawn_not_chosen():
    log = drawn_log()
    stream, team = case_of(log)
    recused = team[0]
    args = {"case_id": stream[5:], "inspector": recused, "reason": "配偶在该企业任职"}
    drawn = next(i for i in INSPECTORS if i not in team and DEPARTMENT[i] == DEPARTMENT[recused])
    chosen = next(i for i in INSPECTORS if i not in team and i != drawn)
    for wrong in (chosen, None):
        refused(log, log.command(INSPECTORS[recused], "cases.recuse",
                                 dict(args, replacement=wrong), stream=stream),
                RuleError, "C3 recusal")
    refused(log, log.command(INSPECTORS[recused], "cases.recuse", args, stream=stream),
            FormatError, "A11 InspectorRecused")
    refused(log, log.command(PLANNER, "cases.recuse", dict(args, inspector="I-9",
                                                            replacement=None), stream=stream),
            RuleError, "A12 team")
    log.do(PLANNER, "cases.recuse", dict(args, replacement=drawn), stream=stream)
    assert log.state.team(stream) == (drawn, team[1])


def test_data_must_agree_with_the_signed_args():
    log = drawn_log()
    stream, team = case_of(log)
    signed = finding(stream) | {"hazard": "重大", "evidence": [1]}
    good = json.loads(log.command(INSPECTORS[team[0]], "cases.record_finding", signed,
                                  stream=stream))
    for name, value in (("hazard", "一般"), ("evidence", [True]), ("item", None)):
        forged = copy.deepcopy(good)
        if value is None:
            del forged["data"][name]
        else:
            forged["data"][name] = value
        refused(log, canonical(forged), RuleError, "A4 data")
    extended = copy.deepcopy(good)
    extended["data"]["extra"] = "a field the server adds"
    log.add(canonical(extended))


def test_huge_integer_is_a_format_error():
    log = staffed_log()
    refused(log, b'{"index":' + b"9" * 5000 + b"}", FormatError, "A1 canonical")


def test_signature_is_separable():
    log = staffed_log()
    state = LogState(vkey=LOG_KEY.vkey, verify_signatures=False)
    for line in log.lines:
        entry = state.apply(line)
        job = state.command_signature_job(entry)
        if job is None:
            assert entry["command"] is None
            continue
        public_key, signature, message = job
        assert message == signing_bytes(entry["command"])
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)


def test_signature_message_matches_signing_bytes_outside_the_bmp():
    command = sign_command(ADMIN, "departments.register",
                           {"\U0001f600": 1, "\ue000": 2, "name": "县应急管理局 \U0001f600"},
                           issued_at=T0, nonce=b"\x01" * 16)
    assert signature_message(command) == signing_bytes(command)
    text = canonical(command).decode()
    assert signature_message(command, text) == signing_bytes(command)


# ---------------------------------------------------------------------------
# A1


@pytest.mark.parametrize("text", [
    '{"a":1}', '{"a":1.5}', '{"a":1e3}', '{"a":-0}', '{"a":9007199254740991}',
    '{"a":9007199254740992}', '{"a":-9007199254740991}', '{"a":NaN}', '{"a":Infinity}',
    '{"b":1,"a":2}', '{"a":1,"a":2}', '{"a": 1}', '{"a":1} ', ' {"a":1}', '{"a":"\\u00e9"}',
    '{"a":"é"}', '{"a":"\\ud800"}', '{"a":"\\/"}', '{"a":"\\u001f"}', '{"a":"\\u001F"}',
    '{"a":"\x7f"}', '{"\U0001f600":1,"\ue000":2}', '{"\ue000":2,"\U0001f600":1}',
    '{"a":"\U0001f600"}', '{"a":[1,2,{"b":null}]}', '[1]', '"x"', '', '{', '{"a":1}{}',
    '\ufeff{"a":1}', '{"a":' * 70 + "1" + "}" * 70, '{"a":"1234567890123456789"}',
    '{"a":12345678901234567890}', '{"a":true,"b":false}', '{"a":"\\t"}', '{"a":"\t"}',
])
def test_fast_parse_agrees_with_the_strict_parser(text):
    data = text.encode("utf-8", "surrogatepass")
    try:
        expected = parse_canonical(data)
    except FormatError:
        with pytest.raises(FormatError):
            parse_entry_bytes(data, 5)
    else:
        assert parse_entry_bytes(data, 5) == expected


def test_float_in_args_is_refused():
    log = staffed_log()
    good = log.command(ADMIN, "departments.register", {"department": "D9", "name": "x"})
    entry = json.loads(good)
    entry["command"]["args"]["score"] = 1.5
    data = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert b"1.5" in data
    refused(log, data, FormatError, "A1 canonical")


def test_non_canonical_bytes_are_refused():
    log = staffed_log()
    good = log.command(ADMIN, "departments.register", {"department": "D9", "name": "县局"})
    entry = json.loads(good)
    for bad in (
        json.dumps(entry, sort_keys=True, separators=(", ", ":"), ensure_ascii=False).encode(),
        json.dumps(dict(reversed(entry.items())), separators=(",", ":"),
                   ensure_ascii=False).encode(),
        json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(),
    ):
        assert bad != good
        refused(log, bad, FormatError, "A1 canonical")
    log.add(good)


# ---------------------------------------------------------------------------
# A3


def test_unknown_key_is_refused():
    log = staffed_log()
    refused(log, log.command(OUTSIDER, "departments.register", {"department": "D9", "name": "x"}),
            AuthorityError, "A3 key unknown")


def test_revoked_key_is_refused():
    log = staffed_log()
    log.revoke(ADMIN, INSPECTORS["I-3"])
    refused(log, log.command(INSPECTORS["I-3"], "conflicts.declare",
                             {"inspector": "I-3", "enterprise": "E1", "reason": "x"}),
            AuthorityError, "A7 key revoked")


def test_self_revocation_is_allowed_at_its_own_index_only():
    log = staffed_log()
    admin2 = pair("admin2", 12)
    log.register(ADMIN, admin2, ["admin"], holder("admin2"))
    entry = log.revoke(admin2, admin2)
    assert log.state.keys[admin2.key_id].revoked_at == entry["index"]
    refused(log, log.command(admin2, "departments.register", {"department": "D9", "name": "x"}),
            AuthorityError, "A7 key revoked")
    refused(log, log.command(ADMIN, "keys.revoke", {"key": admin2.key_id, "reason": "again"}),
            RuleError, "A7 revoke")


def test_valid_from_in_the_future_is_refused():
    log = staffed_log()
    late = pair("late", 13)
    log.register(ADMIN, late, ["planner"], holder("late"), valid_from=log.t + timedelta(hours=1))
    args = {"department": "D9", "name": "x"}
    refused(log, log.command(late, "departments.register", args), AuthorityError, "A3 valid_from")
    log.t += timedelta(hours=1)
    log.do(late, "departments.register", args)


def test_bad_signature_is_refused_when_checked():
    log = staffed_log()
    data = log.command(ADMIN, "departments.register", {"department": "D9", "name": "x"})
    entry = json.loads(data)
    entry["command"]["args"]["name"] = "y"
    entry["data"]["name"] = "y"
    forged = canonical(entry)
    refused(log, forged, SignatureError, "A3 signature")
    unchecked = LogState(vkey=LOG_KEY.vkey, verify_signatures=False)
    for line in log.lines:
        unchecked.apply(line)
    applied = unchecked.apply(forged)
    job = unchecked.command_signature_job(applied)
    assert job is not None
    public_key, signature, message = job
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)


def test_reused_nonce_is_a_conflict():
    log = staffed_log()
    nonce = b"\x42" * 16
    log.do(ADMIN, "departments.register", {"department": "D8", "name": "x"}, nonce=nonce)
    log.t += timedelta(seconds=1)
    exc = refused(log, log.command(ADMIN, "departments.register",
                                   {"department": "D9", "name": "y"}, nonce=nonce),
                  ConflictError, "A3 nonce")
    assert exc.status == 409
    # The same nonce under another key is another pair.
    log.do(PLANNER, "departments.register", {"department": "D9", "name": "y"}, nonce=nonce)


def test_stale_issued_at_is_refused():
    log = staffed_log()
    log.t += timedelta(seconds=1)
    args = {"department": "D9", "name": "x"}
    refused(log, log.command(ADMIN, "departments.register", args,
                             issued_at=log.t - timedelta(seconds=301)), FormatError, "A3 issued_at")
    refused(log, log.command(ADMIN, "departments.register", args,
                             issued_at=log.t + timedelta(seconds=301)), FormatError, "A3 issued_at")
    log.add(log.command(ADMIN, "departments.register", args,
                        issued_at=log.t - timedelta(seconds=300)))


def test_command_with_extra_member_is_refused():
    log = staffed_log()
    entry = json.loads(department_entry(log))
    entry["command"]["extra"] = 1
    refused(log, canonical(entry), FormatError, "A3 command")


# ---------------------------------------------------------------------------
# A4


def test_seq_gap_is_refused():
    log = staffed_log()
    args = {"department": "D9", "name": "x"}
    refused(log, log.command(ADMIN, "departments.register", args, seq=2), ConflictError, "A4 seq")
    log.add(log.command(ADMIN, "departments.register", args, seq=1))
    log.t += timedelta(seconds=1)
    refused(log, log.command(ADMIN, "departments.register", {"department": "D8", "name": "y"},
                             seq=1), ConflictError, "A4 seq")


def test_index_gap_is_refused():
    log = staffed_log()
    args = {"department": "D9", "name": "x"}
    refused(log, log.command(ADMIN, "departments.register", args, index=log.state.size + 1),
            FormatError, "A4 index")
    refused(log, log.command(ADMIN, "departments.register", args, index=log.state.size - 1),
            FormatError, "A4 index")


def test_logged_at_backwards_is_refused():
    log = staffed_log()
    earlier = log.t - timedelta(microseconds=1)
    refused(log, log.command(ADMIN, "departments.register", {"department": "D9", "name": "x"},
                             logged_at=earlier, issued_at=earlier), FormatError, "A4 logged_at")
    # The same time again is fine: logged_at never decreases.
    log.add(log.command(ADMIN, "departments.register", {"department": "D9", "name": "x"}))


def test_command_on_a_system_type_is_refused():
    log = drawn_log()
    stream, _ = case_of(log)
    signed = sign_command(ADMIN, "cases.record_finding", {}, issued_at=log.t)
    refused(log, log.entry(stream, "RectificationOverdue", {"deadline": "2023-03-01"}, signed),
            FormatError, "A4 command")
    log.system(stream, "RectificationOverdue", {"deadline": "2023-03-01"})


def test_null_command_on_a_normal_type_is_refused():
    log = staffed_log()
    refused(log, log.entry("registry/departments", "DepartmentRegistered",
                           {"department": "D9", "name": "x"}, None), FormatError, "A4 command")


def test_type_must_match_the_action():
    log = staffed_log()
    entry = json.loads(department_entry(log))
    entry["type"] = "EnterpriseUpdated"
    entry["stream"] = "registry/enterprises"
    refused(log, canonical(entry), FormatError, "A4 type")
    entry["type"] = "NoSuchType"
    refused(log, canonical(entry), FormatError, "A12 type")


def test_entry_with_a_ninth_member_is_refused():
    log = staffed_log()
    entry = json.loads(department_entry(log))
    entry["note"] = "extra"
    refused(log, canonical(entry), FormatError, "A4 entry")


# ---------------------------------------------------------------------------
# A7


def test_genesis_is_pinned_by_vkey_and_hash():
    log = Log()
    other = NoteSigner.from_seed(b"\x71" * 32, ORIGIN)
    with pytest.raises(AuthorityError) as caught:
        LogState(vkey=other.vkey).apply(log.lines[0])
    assert caught.value.rule == "A7 genesis"
    with pytest.raises(AuthorityError):
        LogState(genesis_hash="00" * 32).apply(log.lines[0])
    LogState(genesis_hash=leaf_hash(log.lines[0]).hex()).apply(log.lines[0])
    # Entry 0 is LedgerGenesis, and only entry 0.
    fresh = LogState(vkey=LOG_KEY.vkey)
    first = log.command(ROOT, "keys.register", key_args(ADMIN, ["admin"], holder("a"), T0),
                        index=0, seq=1)
    with pytest.raises(RuleError) as refusal:
        fresh.apply(first)
    assert refusal.value.rule == "A7 genesis" and (fresh.size, fresh.root()) == (0, root_of([]))
    again = log.entry("ledger", "LedgerGenesis", json.loads(log.lines[0])["data"], None)
    refused(log, again, RuleError, "A7 genesis")


def test_wrong_role_is_refused():
    log = staffed_log()
    refused(log, log.command(PLANNER, "keys.register",
                             key_args(OUTSIDER, ["admin"], holder("x"), log.t)),
            AuthorityError, "A12 roles")
    refused(log, log.command(INSPECTORS["I-1"], "departments.register",
                             {"department": "D9", "name": "x"}), AuthorityError, "A12 roles")


def test_root_key_signs_only_key_actions():
    log = staffed_log()
    refused(log, log.command(ROOT, "departments.register", {"department": "D9", "name": "x"}),
            AuthorityError, "A7 separation of duties")
    log.register(ROOT, OUTSIDER, ["planner"], holder("x"))


def test_only_a_root_key_revokes_a_root_key():
    log = staffed_log()
    refused(log, log.command(ADMIN, "keys.revoke", {"key": ROOT2.key_id, "reason": "x"}),
            AuthorityError, "A7 root revocation")
    log.revoke(ROOT, ROOT2)
    assert log.state.keys[ROOT2.key_id].revoked_at == log.state.size - 1


def test_registering_an_existing_key_id_is_refused():
    log = staffed_log()
    refused(log, log.command(ADMIN, "keys.register",
                             key_args(PLANNER, ["admin"], holder("again"), log.t)),
            RuleError, "A7 key exists")
    refused(log, log.command(ADMIN, "keys.register",
                             key_args(ROOT, ["admin"], holder("again"), log.t)),
            RuleError, "A7 key exists")


def test_revoking_an_unknown_key_is_refused():
    log = staffed_log()
    refused(log, log.command(ADMIN, "keys.revoke", {"key": OUTSIDER.key_id, "reason": "x"}),
            RuleError, "A7 revoke")


def test_registered_key_id_must_match_its_public_key():
    log = staffed_log()
    args = key_args(OUTSIDER, ["admin"], holder("x"), log.t)
    args["public_key"] = pair("other", 14).public_key_b64
    refused(log, log.command(ADMIN, "keys.register", args), FormatError, "A2 key id")


def test_stream_must_follow_the_table():
    log = staffed_log()
    refused(log, log.command(ADMIN, "departments.register", {"department": "D9", "name": "x"},
                             stream="registry/enterprises"), FormatError, "A12 stream")
    refused(log, log.command(ADMIN, "keys.register",
                             key_args(OUTSIDER, ["admin"], holder("x"), log.t),
                             stream=f"key/{ADMIN.key_id}"), FormatError, "A12 stream")


# ---------------------------------------------------------------------------
# A11


def test_reveal_before_all_commits_is_refused():
    log = staffed_log()
    log.do(PLANNER, "draws.schedule", schedule_args())
    log.do(P1, "draws.commit", commit_args("D1"))
    refused(log, log.command(P1, "draws.reveal", reveal_args("D1")), RuleError,
            "A11 commit before reveal")


def test_commit_after_a_reveal_and_twice_are_refused():
    log = committed_log()
    refused(log, log.command(P1, "draws.commit", commit_args("D1")), RuleError, "A11 commit once")
    log.do(P1, "draws.reveal", reveal_args("D1"))
    refused(log, log.command(P1, "draws.reveal", reveal_args("D1")), RuleError, "A11 reveal once")


def test_reveal_mismatch_is_refused():
    log = committed_log()
    bad = dict(reveal_args("D1"), secret=SECRETS["D2"])
    refused(log, log.command(P1, "draws.reveal", bad), RuleError, "A11 reveal matches commitment")


def test_commit_by_a_key_not_named_is_refused():
    log = staffed_log()
    log.do(PLANNER, "draws.schedule", schedule_args())
    refused(log, log.command(P2, "draws.commit", commit_args("D1")), AuthorityError, "A12 roles")
    refused(log, log.command(P1, "draws.commit", dict(commit_args("D1"), party="D3")),
            AuthorityError, "A12 roles")


def test_draw_performed_is_due_right_after_the_last_reveal():
    log = committed_log()
    log.do(P1, "draws.reveal", reveal_args("D1"))
    performed_early = log.entry("draw/D-1", "DrawPerformed", {"draw_id": "D-1"}, None)
    refused(log, performed_early, RuleError, "A12 system entry")
    log.do(P2, "draws.reveal", reveal_args("D2"))
    pending = log.state.pending_system_entries()
    assert [p[0] for p in pending] == ["DrawPerformed", "CaseOpened", "CaseOpened"]
    # Anything else while it is due is refused.
    refused(log, log.command(ADMIN, "departments.register", {"department": "D9", "name": "x"}),
            RuleError, "A12 system entry")
    type_, stream, data = pending[0]
    wrong = dict(data, seed="00" * 32)
    refused(log, log.entry(stream, type_, wrong, None), RuleError, "A11 DrawPerformed")
    log.system(stream, type_, dict(data, extra_field="allowed"))
    # Then the cases, in selection order, each with its team.
    type_, stream, data = pending[2]
    refused(log, log.entry(stream, type_, data, None), RuleError, "A11 CaseOpened")
    type_, stream, data = pending[1]
    refused(log, log.entry(stream, type_, dict(data, inspectors=["I-1"]), None), RuleError,
            "A11 CaseOpened")
    log.system(stream, type_, dict(data, case_id=stream[5:], task_id="T-1"))
    log.system(pending[2][1], pending[2][0], pending[2][2])
    assert log.state.pending_system_entries() == []
    refused(log, log.entry(pending[1][1], "CaseOpened", pending[1][2], None), RuleError,
            "A12 system entry")


def test_overdue_entries_need_an_opened_case():
    log = drawn_log()
    refused(log, log.entry("case/D-1:nope", "RectificationOverdue", {}, None), RuleError,
            "A12 stream")
    stream, _ = case_of(log)
    log.system(stream, "PublicationOverdue", {"deadline": "2023-03-10"})


def test_case_entries_need_the_team():
    log = drawn_log()
    stream, team = case_of(log)
    outsider = next(i for i in INSPECTORS if i not in team)
    refused(log, log.command(INSPECTORS[outsider], "cases.record_finding", finding(stream),
                             stream=stream), AuthorityError, "A12 roles")
    refused(log, log.command(INSPECTORS[team[0]], "cases.record_finding", finding(stream),
                             stream="case/D-1:unknown"), RuleError, "A12 stream")
    log.do(INSPECTORS[team[1]], "cases.record_finding", finding(stream), stream=stream)


def test_voided_draw_takes_no_more_commitments():
    log = staffed_log()
    voider = pair("discipline", 15)
    log.register(ADMIN, voider, ["discipline"], holder("纪检"))
    log.do(PLANNER, "draws.schedule", schedule_args())
    log.do(voider, "draws.void", {"draw_id": "D-1", "reason": "重抽"})
    draw = log.state.draw("D-1")
    assert draw is not None and draw.voided
    refused(log, log.command(P1, "draws.commit", commit_args("D1")), RuleError, "A11 draw")


# -- check_signer's pass is reused only for that very command on that very state ---------


def _department_command(log: Log) -> dict:
    """A fresh ``departments.register`` by ADMIN, a second after the log's last entry."""
    log.t += timedelta(seconds=1)
    return sign_command(ADMIN, "departments.register", {"department": "D9", "name": "x"},
                        issued_at=log.t)


def _entry_carrying(log: Log, command: dict) -> dict:
    """The next entry (parsed) of ``command``, carrying that very object."""
    stream = default_stream("departments.register", command["args"])
    entry = json.loads(log.entry(stream, "DepartmentRegistered", dict(command["args"]), command))
    entry["command"] = command
    return entry


def _passed_then_entry(log: Log, command: dict) -> dict:
    """check_signer passes ``command`` now; return the entry carrying it."""
    log.state.check_signer(command, log.t, index=log.state.size)
    return _entry_carrying(log, command)


def test_a_signer_pass_is_reused_for_the_same_command_object():
    log = staffed_log()
    entry = _passed_then_entry(log, _department_command(log))
    log.state.apply_entry(entry, canonical(entry), verify_signatures=True)
    assert log.state.size == len(log.lines) + 1


def test_a_signer_pass_does_not_cover_another_object_or_a_later_state():
    log = staffed_log()
    command = _department_command(log)
    entry = _passed_then_entry(log, command)
    # Another object (here: by an unknown key) is checked in full.
    entry["command"] = dict(command, key=OUTSIDER.key_id)
    with pytest.raises(AuthorityError):
        log.state.apply_entry(entry, canonical(entry), verify_signatures=False)
    # The same object once the state has moved on: its nonce is then used.
    entry["command"] = command
    log.state.apply_entry(entry, canonical(entry), verify_signatures=False)
    log.lines.append(canonical(entry))
    again = _entry_carrying(log, command)
    with pytest.raises(ConflictError):
        log.state.apply_entry(again, canonical(again), verify_signatures=False)


def test_a_pass_without_signatures_does_not_excuse_a_signature_check():
    log = staffed_log()
    command = _department_command(log)
    command["args"]["name"] = "forged"  # the signature no longer covers the args
    log.state.verify_signatures = False
    entry = _passed_then_entry(log, command)
    log.state.verify_signatures = True
    with pytest.raises(SignatureError):
        log.state.apply_entry(entry, canonical(entry), verify_signatures=True)


# -- the fast parser's nesting check (A1: at most 64 levels) ---------------------------


@pytest.mark.parametrize("levels", [63, 64, 65, 66])
@pytest.mark.parametrize("wide", [False, True])
def test_deep_and_wide_entries_get_the_strict_parsers_verdict(levels, wide):
    # Many brackets (beyond the quick count) at or beyond the 64 levels A1 allows.
    inner = "1"
    for _ in range(levels - 1):
        inner = '{"a":' + inner + "}"
    siblings = '"b":[' + ",".join(['{"c":[1,"]"]}'] * 40) + "]," if wide else ""
    data = ("{" + siblings + '"z":' + inner + "}").encode()
    try:
        expected = parse_canonical(data)
    except FormatError:
        assert levels > 64
        with pytest.raises(FormatError):
            parse_entry_bytes(data, 5)
    else:
        assert levels <= 64
        assert parse_entry_bytes(data, 5) == expected
