"""The store (issue 1/7): dense index, one transaction, refusals append nothing."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.errors import AuthorityError, ConflictError, FormatError, LedgerError, SignatureError
from ledger.keys import b64decode, b64encode
from ledger.receipts import verify_receipt
from ledger.store.check import check_store
from ledger.times import now_utc
from tests.store_helpers import ADMIN, LOG, ROOT, cmd, key, new_ledger, open_ledger, register_args


def test_genesis_and_receipts_verify(database_url: str) -> None:
    ledger = new_ledger(database_url)
    planner = key("planner")
    receipt = ledger.submit(cmd(ADMIN, "keys.register", register_args(planner, ["planner"])))
    assert receipt["index"] == 2
    checkpoint = verify_receipt(receipt, LOG.vkey)
    assert checkpoint.size == 3
    head = ledger.head()
    assert head is not None and head.size == 3
    assert verify_checkpoint(head.checkpoint, LOG.vkey).root == ledger.log.root()
    assert check_store(ledger.backend).ok


def test_batch_is_one_transaction_and_proofs_match(database_url: str) -> None:
    ledger = new_ledger(database_url)
    commands = [
        cmd(ADMIN, "keys.register", register_args(key(f"k{i}"), ["planner"])) for i in range(100)
    ]
    results = ledger.submit_many(commands)
    assert all(not isinstance(r, LedgerError) for r in results)
    size = ledger.size
    assert size == 102
    leaves = [merkle.leaf_hash(data) for _, data in ledger.entries(0)]
    assert merkle.root_of(leaves) == ledger.head().root  # type: ignore[union-attr]
    for old in (1, 2, 50, 101, 102):
        proof = ledger.consistency_proof(old, size)
        merkle.verify_consistency(old, size, merkle.root_of(leaves[:old]), ledger.log.root(), proof)
    for index in (0, 1, 63, 64, 101):
        proof = ledger.inclusion_proof(index, size)
        merkle.verify_inclusion(index, size, leaves[index], proof, ledger.log.root())
    # every batch writes exactly one checkpoint (sizes 1, 2, 102)
    assert ledger.backend.checkpoint_at(2) is not None
    assert ledger.backend.checkpoint_at(50) is None


def test_refused_command_in_a_batch_does_not_affect_the_others(database_url: str) -> None:
    ledger = new_ledger(database_url)
    good = cmd(ADMIN, "keys.register", register_args(key("a"), ["planner"]))
    bad = cmd(key("stranger"), "keys.register", register_args(key("b"), ["planner"]))
    results = ledger.submit_many([good, bad])
    assert not isinstance(results[0], LedgerError)
    assert isinstance(results[1], AuthorityError)
    assert ledger.size == 3


def _forged(command: dict) -> dict:
    forged = copy.deepcopy(command)
    sig = bytearray(b64decode(forged["sig"], field="sig"))
    sig[0] ^= 1
    forged["sig"] = b64encode(bytes(sig))
    return forged


BAD_INPUTS = {
    "bad signature": (
        lambda: _forged(cmd(ADMIN, "keys.register", register_args(key("x"), ["planner"]))),
        SignatureError,
    ),
    "unknown key": (
        lambda: cmd(key("nobody"), "keys.register", register_args(key("x"), ["planner"])),
        AuthorityError,
    ),
    "wrong role": (
        lambda: cmd(ROOT, "departments.register", {"department": "AJJ", "name": "县应急管理局"}),
        AuthorityError,
    ),
    "stale issued_at": (
        lambda: cmd(
            ADMIN,
            "keys.register",
            register_args(key("x"), ["planner"]),
            issued_at=now_utc() - timedelta(minutes=10),
        ),
        FormatError,
    ),
    "float in args": (
        lambda: cmd(
            ADMIN, "keys.register", {**register_args(key("x"), ["planner"]), "weight": 0.5}
        ),
        FormatError,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_appends_nothing(database_url: str, case: str) -> None:
    ledger = new_ledger(database_url)
    before = (ledger.size, ledger.log.root(), ledger.head())
    make, error = BAD_INPUTS[case]
    try:
        command = make()
    except FormatError:
        assert error is FormatError  # refused even before signing (A1: no floats)
        return
    with pytest.raises(error) as info:
        ledger.submit(command)
    assert info.value.rule
    assert (ledger.size, ledger.log.root(), ledger.head()) == before
    assert open_ledger(database_url).catch_up() == before[0]


def test_revoked_key_and_reused_nonce(database_url: str) -> None:
    ledger = new_ledger(database_url)
    planner = key("planner")
    ledger.submit(cmd(ADMIN, "keys.register", register_args(planner, ["planner", "admin"])))
    first = cmd(planner, "keys.register", register_args(key("p2"), ["planner"]))
    ledger.submit(first)
    size = ledger.size
    replay = cmd(planner, "keys.register", register_args(key("p3"), ["planner"]))
    replay["nonce"] = first["nonce"]
    from ledger.commands import signing_bytes

    replay["sig"] = b64encode(planner.sign(signing_bytes(replay)))
    with pytest.raises(ConflictError):
        ledger.submit(replay)
    with pytest.raises(ConflictError):
        ledger.submit(first)  # the very same command again
    ledger.submit(cmd(ADMIN, "keys.revoke", {"key": planner.key_id, "reason": "设备丢失"}))
    size = ledger.size
    with pytest.raises(AuthorityError, match="revoked"):
        ledger.submit(cmd(planner, "keys.register", register_args(key("p4"), ["planner"])))
    assert ledger.size == size


def test_non_canonical_command_bytes_are_refused(database_url: str) -> None:
    """A command whose args hold a value A1 forbids never reaches the log."""
    ledger = new_ledger(database_url)
    command = cmd(ADMIN, "keys.register", register_args(key("x"), ["planner"]))
    command["args"]["roles"] = ["planner", 2**60]
    with pytest.raises(FormatError):
        ledger.submit(command)
    assert ledger.size == 2


def test_a_second_process_catches_up(database_url: str) -> None:
    one = new_ledger(database_url)
    two = open_ledger(database_url)
    two.catch_up()
    one.submit(cmd(ADMIN, "keys.register", register_args(key("a"), ["planner"])))
    receipt = two.submit(cmd(ADMIN, "keys.register", register_args(key("b"), ["planner"])))
    assert receipt["index"] == 3
    assert check_store(two.backend).ok
