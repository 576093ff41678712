"""Tests of ledger.checkpoint (DESIGN.md A6: C2SP signed-note and tlog-checkpoint).

Table tests over tests/vectors/note.json (made with Go's sumdb/note), then
mutation tests: every bit of every signature byte and every note byte, every
substring of a verifier key, and the strict checkpoint body grammar.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    InvalidSignatureError,
    MalformedNoteError,
    NoteSigner,
    UnverifiedNoteError,
    Verifier,
    format_checkpoint,
    key_hash,
    open_note,
    parse_checkpoint,
    parse_vkey,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
    vkey_string,
)
from ledger.errors import FormatError, LedgerError, SignatureError

VECTORS = json.loads((Path(__file__).parent / "vectors" / "note.json").read_text("utf-8"))
KEYS = VECTORS["keys"]
CASES = VECTORS["cases"]
LOG_KEY = next(k for k in KEYS if k["role"] == "log")
WITNESS_KEY = next(k for k in KEYS if k["role"] == "witness")
ORIGIN = LOG_KEY["name"]

# Go error type (and text) -> the project's error class.
GO_ERRORS: dict[tuple[str, str], type[LedgerError]] = {
    ("UnverifiedNoteError", "note has no verifiable signatures"): UnverifiedNoteError,
    ("errors.errorString", "malformed note"): MalformedNoteError,
}


def expected_error(case: dict) -> type[LedgerError]:
    if case["go_error_type"] == "InvalidSignatureError":
        return InvalidSignatureError
    return GO_ERRORS[(case["go_error_type"], case["go_error"])]


def signer_for(key: dict) -> NoteSigner:
    return NoteSigner.from_seed(bytes.fromhex(key["seed_hex"]), key["name"])


def signer_by_line(name: str, key_hash_hex: str) -> NoteSigner:
    key = next(k for k in KEYS if k["name"] == name and k["key_hash_hex"] == key_hash_hex)
    return signer_for(key)


def sig_dicts(sigs: list) -> list[dict]:
    return [{"name": s.name, "key_hash_hex": s.key_hash.hex(), "base64": s.base64} for s in sigs]


def flip_bit(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# ---------------------------------------------------------------------------
# Keys


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k["role"])
def test_key_derivation(key: dict) -> None:
    seed = bytes.fromhex(key["seed_hex"])
    label = key["seed_derivation"].removeprefix('SHA-256("').removesuffix('")')
    assert hashlib.sha256(label.encode()).digest() == seed

    signer = NoteSigner(Ed25519PrivateKey.from_private_bytes(seed), key["name"])
    public_key = signer.public_key
    assert public_key.hex() == key["public_key_hex"]
    assert signer.name == key["name"]
    assert signer.key_hash.hex() == key["key_hash_hex"]
    assert key_hash(key["name"], public_key).hex() == key["key_hash_hex"]
    assert signer.vkey == key["vkey"] == vkey_string(key["name"], public_key)
    # A2 key id: hex of the first 8 bytes of SHA-256(public key).
    assert hashlib.sha256(public_key).digest()[:8].hex() == key["ledger_key_id"]
    # Go's private key string carries the same seed.
    assert key["skey"] == (
        f"PRIVATE+KEY+{key['name']}+{key['key_hash_hex']}+"
        + base64.b64encode(b"\x01" + seed).decode()
    )

    verifier = parse_vkey(key["vkey"])
    assert verifier == Verifier(key["name"], bytes.fromhex(key["key_hash_hex"]), public_key)
    assert verifier == signer.verifier == Verifier.from_public_key(key["name"], public_key)
    assert verifier.vkey == key["vkey"]


# ---------------------------------------------------------------------------
# Cases of note.json


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_note_case(case: dict) -> None:
    verifiers = [parse_vkey(v) for v in case["verifiers"]]
    if case["expect"] == "ok":
        note = open_note(case["signed_note"], verifiers)
        assert note.text == case["text"]
        assert sig_dicts(note.verified_sigs) == case["verified_sigs"]
        assert sig_dicts(note.unverified_sigs) == case.get("unverified_sigs", [])
        # The same from bytes.
        assert open_note(case["signed_note"].encode(), verifiers) == note
        cp = parse_checkpoint(note.text)
        assert cp == Checkpoint(
            case["checkpoint"]["origin"],
            case["checkpoint"]["size"],
            base64.b64decode(case["checkpoint"]["root"]),
        )
        assert format_checkpoint(cp) == case["text"]
        assert verify_checkpoint(case["signed_note"], LOG_KEY["vkey"], origin=ORIGIN) == cp
        return

    assert case["expect"] == "error"
    error = expected_error(case)
    with pytest.raises(LedgerError) as info:
        open_note(case["signed_note"], verifiers)
    assert type(info.value) is error
    if error is InvalidSignatureError:
        assert isinstance(info.value, InvalidSignatureError)
        assert info.value.name == LOG_KEY["name"]
        assert info.value.key_hash.hex() == LOG_KEY["key_hash_hex"]
        # Go: "invalid signature for key chengde.example/spotcheck-ledger+6380c086"
        assert case["go_error"] in str(info.value)
    if error is UnverifiedNoteError:
        assert isinstance(info.value, UnverifiedNoteError)
        assert info.value.note.text == case["text"]
        assert info.value.note.verified_sigs == []
        assert case["go_error"] in str(info.value)
    # verify_checkpoint fails on it too, with the case's (only) key.
    assert len(case["verifiers"]) == 1
    with pytest.raises(error):
        verify_checkpoint(case["signed_note"], case["verifiers"][0])


@pytest.mark.parametrize("case", [c for c in CASES if "checkpoint" in c], ids=lambda c: c["name"])
def test_checkpoint_body_of_case(case: dict) -> None:
    expected = case["checkpoint"]
    if case["text"].endswith("\n"):
        cp = parse_checkpoint(case["text"])
        assert (cp.origin, cp.size, base64.b64encode(cp.root).decode()) == (
            expected["origin"],
            expected["size"],
            expected["root"],
        )
    else:
        with pytest.raises(FormatError):
            parse_checkpoint(case["text"])


OK_CASES = [c for c in CASES if c["expect"] == "ok"]


@pytest.mark.parametrize("case", OK_CASES, ids=lambda c: c["name"])
def test_resigning_reproduces_signed_note(case: dict) -> None:
    lines = [*case["verified_sigs"], *case.get("unverified_sigs", [])]
    # Signature lines appear in signer order: log first, then witness.
    order = case["signed_note"].split("\n\n", 1)[1]
    lines.sort(key=lambda s: order.index(s["base64"]))
    signers = [signer_by_line(s["name"], s["key_hash_hex"]) for s in lines]
    assert signers[0].name == ORIGIN
    assert sign_note(case["text"], signers) == case["signed_note"]
    for signer, line in zip(signers, lines, strict=True):
        assert signer.sign(case["text"]) == (f"\u2014 {line['name']} {line['base64']}\n".encode())
    if len(signers) == 1:
        cp = parse_checkpoint(case["text"])
        assert sign_checkpoint(cp, signers[0]) == case["signed_note"]


def test_signing_a_text_without_final_newline_is_refused() -> None:
    case = next(c for c in CASES if c["name"] == "neg_body_missing_final_newline")
    with pytest.raises(MalformedNoteError, match="newline"):
        sign_note(case["text"], [signer_for(LOG_KEY)])
    with pytest.raises(MalformedNoteError):
        signer_for(LOG_KEY).sign(case["text"])


# ---------------------------------------------------------------------------
# Mutations: every one must fail.

ALL_KNOWN = [
    (c, [parse_vkey(v) for v in c["verifiers"]]) for c in OK_CASES if not c.get("unverified_sigs")
]


def _must_not_open_as_before(msg: bytes, verifiers: list[Verifier], verified: list) -> None:
    """The mutated note must fail to open, or at least lose a verified signature.

    With two known signers a change to one signer's line can turn that line
    into one from an unknown key, which Go (and A6) ignores; the other
    signature still verifies, but the note no longer carries the same
    verified signatures.
    """
    try:
        note = open_note(msg, verifiers)
    except (MalformedNoteError, InvalidSignatureError, UnverifiedNoteError):
        return
    assert len(verified) > 1, "a mutated single-signer note opened"
    assert note.verified_sigs != verified, "a mutated note opened with the same signatures"
    assert len(note.verified_sigs) < len(verified)


@pytest.mark.parametrize(("case", "verifiers"), ALL_KNOWN, ids=[c["name"] for c, _ in ALL_KNOWN])
def test_every_signature_bit_flip_fails(case: dict, verifiers: list[Verifier]) -> None:
    text = case["text"]
    original = open_note(case["signed_note"], verifiers)
    for sig in case["verified_sigs"]:
        raw = base64.b64decode(sig["base64"])
        assert len(raw) == 4 + 64
        old_line = f"\u2014 {sig['name']} {sig['base64']}\n"
        for bit in range(8 * len(raw)):
            new_b64 = base64.b64encode(flip_bit(raw, bit)).decode()
            msg = case["signed_note"].replace(old_line, f"\u2014 {sig['name']} {new_b64}\n")
            assert msg != case["signed_note"]
            assert msg.startswith(text + "\n")
            _must_not_open_as_before(msg.encode(), verifiers, original.verified_sigs)
            if len(case["verified_sigs"]) == 1:
                with pytest.raises(LedgerError):
                    verify_checkpoint(msg, LOG_KEY["vkey"])


@pytest.mark.parametrize(("case", "verifiers"), ALL_KNOWN, ids=[c["name"] for c, _ in ALL_KNOWN])
def test_every_body_bit_flip_fails(case: dict, verifiers: list[Verifier]) -> None:
    data = case["signed_note"].encode()
    body = len(case["text"].encode())
    for bit in range(8 * body):
        with pytest.raises((MalformedNoteError, InvalidSignatureError, UnverifiedNoteError)):
            open_note(flip_bit(data, bit), verifiers)


@pytest.mark.parametrize(("case", "verifiers"), ALL_KNOWN, ids=[c["name"] for c, _ in ALL_KNOWN])
def test_every_bit_flip_anywhere_in_the_note_fails(case: dict, verifiers: list[Verifier]) -> None:
    # Covers the blank line, the em dashes, the names and the base64 text
    # (a flip there may leave valid but non-canonical base64: refused too).
    data = case["signed_note"].encode()
    original = open_note(data, verifiers)
    for bit in range(8 * len(data)):
        _must_not_open_as_before(flip_bit(data, bit), verifiers, original.verified_sigs)


def test_flipped_witness_name_leaves_log_signature_only() -> None:
    case = next(c for c in CASES if c["name"] == "two_signers_both_known")
    verifiers = [parse_vkey(v) for v in case["verifiers"]]
    msg = case["signed_note"].replace("\u2014 witness.example/w1 ", "\u2014 witness.example/w2 ")
    note = open_note(msg, verifiers)
    assert [s.name for s in note.verified_sigs] == [ORIGIN]
    assert [s.name for s in note.unverified_sigs] == ["witness.example/w2"]


# ---------------------------------------------------------------------------
# Verifier keys


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k["role"])
def test_every_proper_substring_of_a_vkey_is_rejected(key: dict) -> None:
    vkey = key["vkey"]
    for i in range(len(vkey) + 1):
        for j in range(i, len(vkey) + 1):
            if (i, j) == (0, len(vkey)):
                continue
            with pytest.raises(FormatError):
                parse_vkey(vkey[i:j])


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k["role"])
def test_every_changed_byte_of_a_vkey_is_rejected(key: dict) -> None:
    vkey = key["vkey"].encode()
    for i in range(len(vkey)):
        for delta in (1, -1):
            changed = bytearray(vkey)
            changed[i] = (changed[i] + delta) % 128
            with pytest.raises(FormatError):
                parse_vkey(changed.decode())


def test_malformed_vkeys() -> None:
    public_key = bytes.fromhex(LOG_KEY["public_key_hex"])
    name, hash_hex = LOG_KEY["name"], LOG_KEY["key_hash_hex"]
    good = LOG_KEY["vkey"]
    key64 = good.split("+", 2)[2]
    long_key64 = base64.b64encode(b"\x01" + public_key + b"\x00").decode()

    def with_alg(alg: int) -> str:
        encoded = bytes([alg]) + public_key
        h = hashlib.sha256(name.encode() + b"\n" + encoded).digest()[:4].hex()
        return f"{name}+{h}+{base64.b64encode(encoded).decode()}"

    bad = [
        "",
        "+",
        "++",
        f"+{hash_hex}+{key64}",  # empty name
        f"{name}+{hash_hex.upper()}+{key64}",  # not lowercase hex
        f"{name}+0x{hash_hex[:6]}+{key64}",
        f"{name}+{hash_hex}+{key64}=",  # bad padding
        f"{name}+{hash_hex}+{key64}\n",
        f"{name}+{hash_hex}+ {key64}",
        f"{name} +{hash_hex}+{key64}",
        f"{name}\u3000x+{hash_hex}+{key64}",
        f"{name}+{hash_hex}",
        with_alg(2),  # unknown algorithm with a matching hash
        f"{name}+{hash_hex}+{long_key64}",  # 33-byte key
    ]
    for text in bad:
        with pytest.raises(FormatError):
            parse_vkey(text)
    assert parse_vkey(good).public_key == public_key
    with pytest.raises(FormatError, match="unknown key algorithm 2"):
        parse_vkey(with_alg(2))
    with pytest.raises(FormatError):
        Verifier(name, bytes(4), public_key)
    with pytest.raises(FormatError):
        vkey_string("bad name", public_key)
    with pytest.raises(FormatError):
        vkey_string(name, public_key[:31])
    with pytest.raises(FormatError):
        key_hash("a+b", public_key)


def test_signer_name_must_be_valid() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    for name in ("", "a b", "a+b", "a\tb", "a\u00a0b", "a\u2028b", "a\x00b"):
        with pytest.raises(FormatError):
            NoteSigner(key, name)
    with pytest.raises(FormatError):
        NoteSigner.from_seed(b"short", "name")


# ---------------------------------------------------------------------------
# Signed-note grammar (Go's note.Open)


def _log_signed(text: str) -> str:
    return sign_note(text, [signer_for(LOG_KEY)])


LOG_VERIFIER = parse_vkey(LOG_KEY["vkey"])
WITNESS_VERIFIER = parse_vkey(WITNESS_KEY["vkey"])


def test_note_grammar_rejections() -> None:
    text = "hello\nworld\n"
    msg = _log_signed(text)
    sig_line = msg.split("\n\n", 1)[1]
    bad = [
        "",
        text,  # no signatures at all
        text + "\n",  # blank line but no signature line
        msg[:-1],  # no final newline
        msg.replace("\u2014 ", "- "),  # not an em dash
        msg.replace("\u2014 ", "\u2014"),  # no space after the dash
        msg.replace(f" {LOG_KEY['name']} ", "  "),  # empty name
        msg.replace(f" {LOG_KEY['name']} ", f" {LOG_KEY['name']}+x "),
        msg[:-2] + "\n",  # base64 truncated
        msg.replace(sig_line, sig_line[:-1] + " \n"),  # trailing space
        msg.replace(sig_line, sig_line.split(" ")[0] + " " + sig_line.split(" ")[1] + "\n"),
        msg.replace(sig_line, f"\u2014 {LOG_KEY['name']} AAAAAA==\n"),  # 4 bytes: too short
        msg.replace(sig_line, f"\u2014 {LOG_KEY['name']} AAAAAAB=\n"),  # non-canonical
        msg.replace("hello", "hel\tlo"),  # control character
        msg.replace("hello", "hel\rlo"),
        msg + "\n",  # blank line after the signatures
    ]
    for text_bad in bad:
        with pytest.raises(MalformedNoteError):
            open_note(text_bad, [LOG_VERIFIER])
    # An extra blank line belongs to the text (the last blank line splits), so
    # the signature no longer matches.
    with pytest.raises(InvalidSignatureError):
        open_note(msg.replace("\n\n", "\n\n\n"), [LOG_VERIFIER])
    with pytest.raises(MalformedNoteError, match="UTF-8"):
        open_note(msg.encode().replace(b"hello", b"hel\xfflo"), [LOG_VERIFIER])
    with pytest.raises(MalformedNoteError, match="UTF-8"):
        open_note(msg.replace("hello", "hel\ud800lo"), [LOG_VERIFIER])


def test_note_text_may_contain_blank_lines() -> None:
    # C2SP signed-note: the text may have empty lines; the last blank line splits.
    for text in ("a\n\nb\n", "a\n\n", "\n", "a\n\n\n"):
        note = open_note(_log_signed(text), [LOG_VERIFIER])
        assert note.text == text


def test_repeated_signatures_are_dropped() -> None:
    msg = _log_signed("x\n")
    line = msg.split("\n\n", 1)[1]
    note = open_note(msg + line, [LOG_VERIFIER])
    assert len(note.verified_sigs) == 1
    # A second, different line from a known key is not checked again (Go).
    zero_sig = base64.b64encode(bytes.fromhex(LOG_KEY["key_hash_hex"]) + bytes(64)).decode()
    junk = f"\u2014 {LOG_KEY['name']} {zero_sig}\n"
    assert len(open_note(msg + junk, [LOG_VERIFIER]).verified_sigs) == 1
    # ...but if it comes first it is the one checked.
    with pytest.raises(InvalidSignatureError):
        open_note(msg.replace(line, junk + line), [LOG_VERIFIER])
    # Identical unknown lines are kept once.
    witness = sign_note("x\n", [signer_for(WITNESS_KEY)]).split("\n\n", 1)[1]
    note = open_note(msg + witness + witness, [LOG_VERIFIER])
    assert len(note.unverified_sigs) == 1


def test_signature_limit() -> None:
    witness = sign_note("x\n", [signer_for(WITNESS_KEY)]).split("\n\n", 1)[1]
    msg = _log_signed("x\n")
    assert open_note(msg + witness * (MAX_SIGNATURES - 1), [LOG_VERIFIER])
    with pytest.raises(MalformedNoteError, match="more than 100"):
        open_note(msg + witness * MAX_SIGNATURES, [LOG_VERIFIER])
    with pytest.raises(MalformedNoteError):
        sign_note("x\n", [signer_for(LOG_KEY)] * (MAX_SIGNATURES + 1))
    with pytest.raises(MalformedNoteError):
        sign_note("x\n", [])


def test_ambiguous_verifiers_and_no_verifiers() -> None:
    msg = _log_signed("x\n")
    with pytest.raises(SignatureError, match="ambiguous"):
        open_note(msg, [LOG_VERIFIER, LOG_VERIFIER])
    with pytest.raises(UnverifiedNoteError):
        open_note(msg, [])
    note = open_note(msg, [WITNESS_VERIFIER, LOG_VERIFIER])
    assert [s.name for s in note.verified_sigs] == [ORIGIN]


def test_round_trip_with_witness() -> None:
    cp = Checkpoint(ORIGIN, 12345, hashlib.sha256(b"root").digest())
    msg = sign_note(format_checkpoint(cp), [signer_for(LOG_KEY), signer_for(WITNESS_KEY)])
    note = open_note(msg, [LOG_VERIFIER, WITNESS_VERIFIER])
    assert [s.name for s in note.verified_sigs] == [ORIGIN, WITNESS_KEY["name"]]
    assert verify_checkpoint(msg, LOG_KEY["vkey"]) == cp
    assert verify_checkpoint(msg, LOG_VERIFIER, origin=ORIGIN) == cp
    # Only the log's key counts: the witness alone cannot make a checkpoint.
    with pytest.raises(SignatureError):
        verify_checkpoint(msg, WITNESS_KEY["vkey"])


# ---------------------------------------------------------------------------
# Checkpoint bodies


ROOT = hashlib.sha256(b"some root").digest()
ROOT64 = base64.b64encode(ROOT).decode()
URLSAFE64 = base64.urlsafe_b64encode(b"\xfb" * 32).decode()


def test_checkpoint_format_and_parse() -> None:
    cp = Checkpoint(ORIGIN, 42, ROOT)
    text = format_checkpoint(cp)
    assert text == f"{ORIGIN}\n42\n{ROOT64}\n"
    assert parse_checkpoint(text) == cp
    assert parse_checkpoint(f"{ORIGIN}\n0\n{ROOT64}\n").size == 0
    big = 2**63 - 1
    assert parse_checkpoint(f"{ORIGIN}\n{big}\n{ROOT64}\n").size == big


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n042\n{ROOT64}\n",  # leading zero
        f"{ORIGIN}\n00\n{ROOT64}\n",
        f"{ORIGIN}\n+42\n{ROOT64}\n",
        f"{ORIGIN}\n-42\n{ROOT64}\n",
        f"{ORIGIN}\n 42\n{ROOT64}\n",
        f"{ORIGIN}\n42 \n{ROOT64}\n",
        f"{ORIGIN}\n4_2\n{ROOT64}\n",
        f"{ORIGIN}\n\u0664\u0662\n{ROOT64}\n",  # Arabic-Indic digits
        f"{ORIGIN}\n0x2a\n{ROOT64}\n",
        f"{ORIGIN}\n\n{ROOT64}\n",
        f"{ORIGIN}\n{2**63}\n{ROOT64}\n",
        f"{ORIGIN}\n{'9' * 5000}\n{ROOT64}\n",
        f"{ORIGIN}\n42\n{ROOT64}",  # missing final newline
        f"{ORIGIN}\n42\n",  # missing root line
        f"{ORIGIN}\n{ROOT64}\n",
        f"{ORIGIN}\n42\n{ROOT64}\nextension\n",  # extension line
        f"{ORIGIN}\n42\n{ROOT64}\n\n",
        f"\n{ORIGIN}\n42\n{ROOT64}\n",
        f"{ORIGIN}\r\n42\r\n{ROOT64}\r\n",
        f" {ORIGIN}\n42\n{ROOT64}\n",
        f"\n42\n{ROOT64}\n",  # empty origin
        f"{ORIGIN}+x\n42\n{ROOT64}\n",
        f"{ORIGIN}\n42\n{ROOT64} \n",
        f"{ORIGIN}\n42\n {ROOT64}\n",
        f"{ORIGIN}\n42\n{ROOT64.rstrip('=')}\n",  # padding missing
        f"{ORIGIN}\n42\n{URLSAFE64}\n",  # URL-safe alphabet
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31 bytes
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT + b'x').decode()}\n",  # 33 bytes
        f"{ORIGIN}\n42\n{base64.b64encode(hashlib.sha512(b'').digest()).decode()}\n",
        f"{ORIGIN}\n42\n{ROOT64[:-2]}{chr(ord(ROOT64[-2]) + 1)}=\n",  # non-canonical bits
        f"{ORIGIN}\n42\n{ROOT64[:20]}\n{ROOT64[20:]}\n",  # line break in base64
        "",
        "\n",
    ],
)
def test_strict_checkpoint_parsing(text: str) -> None:
    with pytest.raises(FormatError):
        parse_checkpoint(text)


def test_non_canonical_root_decodes_to_same_bytes_but_is_refused() -> None:
    # The last character of a 32-byte base64 has 2 unused bits.
    last = ROOT64[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    other = alphabet[alphabet.index(last) ^ 1]
    loose = ROOT64[:-2] + other + "="
    assert base64.b64decode(loose, validate=True) == ROOT
    with pytest.raises(FormatError, match="canonical"):
        parse_checkpoint(f"{ORIGIN}\n42\n{loose}\n")


def test_checkpoint_construction_is_checked() -> None:
    for args in (
        ("", 1, ROOT),
        ("a b", 1, ROOT),
        (ORIGIN, -1, ROOT),
        (ORIGIN, 2**63, ROOT),
        (ORIGIN, 1, ROOT[:31]),
        (ORIGIN, 1, ROOT + b"\x00"),
    ):
        with pytest.raises(FormatError):
            Checkpoint(*args)


def test_sign_and_verify_checkpoint() -> None:
    log = signer_for(LOG_KEY)
    cp = Checkpoint(ORIGIN, 7, ROOT)
    msg = sign_checkpoint(cp, log)
    assert msg.startswith(format_checkpoint(cp) + "\n\u2014 " + ORIGIN + " ")
    assert verify_checkpoint(msg, LOG_KEY["vkey"], origin=ORIGIN) == cp
    assert verify_checkpoint(msg.encode(), LOG_VERIFIER) == cp
    with pytest.raises(SignatureError, match=r"expected 'other\.example/log'"):
        verify_checkpoint(msg, LOG_KEY["vkey"], origin="other.example/log")
    # The signer's name must be the origin.
    with pytest.raises(FormatError):
        sign_checkpoint(Checkpoint("other.example/log", 7, ROOT), log)
    # A note whose origin line differs from the signer's name is refused.
    foreign = sign_note(format_checkpoint(Checkpoint("other.example/log", 7, ROOT)), [log])
    with pytest.raises(SignatureError, match="origin"):
        verify_checkpoint(foreign, LOG_KEY["vkey"])
    # A note that is not a checkpoint body is refused.
    with pytest.raises(FormatError):
        verify_checkpoint(sign_note(f"{ORIGIN}\n7\n", [log]), LOG_KEY["vkey"])
    # The wrong key with the same name: no verifiable signature.
    other = next(k for k in KEYS if k["role"] not in ("log", "witness"))
    with pytest.raises(UnverifiedNoteError):
        verify_checkpoint(msg, other["vkey"])
    with pytest.raises(FormatError):
        verify_checkpoint(msg, "not a vkey")
