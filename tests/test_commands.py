"""A2/A3: key ids, command shape, domain-separated signature, clock skew."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from ledger.commands import (
    COMMAND_CONTEXT,
    check_command_shape,
    check_issued_at,
    sign_command,
    signing_bytes,
    verify_command_signature,
)
from ledger.errors import FormatError, SignatureError
from ledger.keys import KeyPair, key_id, load_key_file, save_key_file
from ledger.times import parse_time

T0 = datetime(2023, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def pair() -> KeyPair:
    return KeyPair.from_seed("planner", hashlib.sha256(b"planner").digest())


def test_key_id_is_first_8_bytes_of_sha256(pair: KeyPair) -> None:
    assert key_id(pair.public_key) == hashlib.sha256(pair.public_key).hexdigest()[:16]


def test_signature_covers_context_and_canonical_body(pair: KeyPair) -> None:
    cmd = sign_command(
        pair, "plans.import", {"plan_no": "联202301"}, issued_at=T0, nonce=b"\0" * 16
    )
    assert signing_bytes(cmd).startswith(COMMAND_CONTEXT)
    assert b'"sig"' not in signing_bytes(cmd)
    check_command_shape(cmd)
    verify_command_signature(cmd, pair.public_key)


@pytest.mark.parametrize("member", ["action", "args", "key", "nonce", "issued_at"])
def test_any_changed_member_breaks_the_signature(pair: KeyPair, member: str) -> None:
    cmd = sign_command(pair, "plans.import", {"plan_no": "联202301"}, issued_at=T0)
    other = sign_command(
        KeyPair.from_seed("x", b"\1" * 32),
        "plans.update",
        {"plan_no": "x"},
        issued_at=T0 + timedelta(seconds=1),
    )
    cmd[member] = other[member]
    with pytest.raises(SignatureError):
        verify_command_signature(cmd, pair.public_key)


def test_signature_without_context_is_refused(pair: KeyPair) -> None:
    cmd = sign_command(pair, "plans.import", {}, issued_at=T0)
    from ledger.keys import b64encode

    cmd["sig"] = b64encode(pair.sign(signing_bytes(cmd)[len(COMMAND_CONTEXT) :]))
    with pytest.raises(SignatureError):
        verify_command_signature(cmd, pair.public_key)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda c: c.pop("nonce"), "command"),
        (lambda c: c.update(extra=1), "command"),
        (lambda c: c.update(action="Plans-Import"), "action"),
        (lambda c: c.update(args=[]), "args"),
        (lambda c: c.update(key="ABCDEF0123456789"), "key"),
        (lambda c: c.update(nonce="AAAA"), "nonce"),
        (lambda c: c.update(issued_at="2023-03-01T08:00:00Z"), "issued_at"),
        (lambda c: c.update(sig="not base64!"), "sig"),
    ],
)
def test_shape_errors_name_the_field(pair: KeyPair, mutate, field: str) -> None:
    cmd = sign_command(pair, "plans.import", {}, issued_at=T0)
    mutate(cmd)
    with pytest.raises(FormatError) as info:
        check_command_shape(cmd)
    assert info.value.field == field


def test_issued_at_skew(pair: KeyPair) -> None:
    cmd = sign_command(pair, "plans.import", {}, issued_at=T0)
    check_issued_at(cmd, T0 + timedelta(seconds=300))
    check_issued_at(cmd, T0 - timedelta(seconds=300))
    with pytest.raises(FormatError, match="300"):
        check_issued_at(cmd, T0 + timedelta(seconds=301))
    with pytest.raises(FormatError):
        check_issued_at(cmd, T0 - timedelta(minutes=10))


def test_key_file_mode_and_round_trip(tmp_path, pair: KeyPair) -> None:
    path = tmp_path / "k.key"
    save_key_file(path, pair)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_key_file(path).key_id == pair.key_id
    with pytest.raises(FileExistsError):
        save_key_file(path, pair)


@pytest.mark.parametrize(
    "text",
    [
        "2023-13-01T09:00:00.000000Z",  # month 13
        "2023-02-29T09:00:00.000000Z",  # not a leap year
        "2023-01-01T24:00:00.000000Z",  # 24:00 is not an A1 time
        "2023-01-01T23:59:60.000000Z",  # no leap seconds
        "2023-01-01T09:00:00Z",  # six fractional digits
        "2023-01-01T09:00:00.000000+00:00",  # Z only
        "２０２３-01-01T09:00:00.000000Z",  # ASCII digits only
    ],
)
def test_a1_times_refused(text: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_time(text, field="issued_at")
    assert caught.value.rule == "A1 time" and caught.value.field == "issued_at"


def test_a1_time_parses_as_utc() -> None:
    moment = parse_time("2024-02-29T23:59:59.999999Z")
    assert moment == datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)
