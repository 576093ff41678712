"""Signed checkpoints: C2SP ``signed-note`` around a C2SP ``tlog-checkpoint`` (DESIGN.md A6).

A checkpoint body is exactly three lines::

    <origin>\\n
    <tree size in decimal>\\n
    <root hash, standard base64>\\n

and the signed note appends a blank line and one line per signature::

    — <signer name> <base64(4-byte key hash || 64-byte Ed25519 signature)>\\n

The note code reads and writes notes exactly as Go's
``golang.org/x/mod/sumdb/note`` (``Sign``, ``Open``, ``NewVerifier``) does,
with one deliberate tightening: base64 must be canonical (unused bits zero),
so that one signature has one spelling.  Keys are Ed25519 only.

Errors: :class:`MalformedNoteError` (a ``FormatError``) for a note that does
not parse, :class:`InvalidSignatureError` when a known key's signature fails,
:class:`UnverifiedNoteError` when no known key signed; ``FormatError`` for a
bad checkpoint body or verifier key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import FormatError, SignatureError

__all__ = [
    "MAX_SIGNATURES",
    "Checkpoint",
    "InvalidSignatureError",
    "MalformedNoteError",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "UnverifiedNoteError",
    "Verifier",
    "format_checkpoint",
    "key_hash",
    "open_note",
    "parse_checkpoint",
    "parse_vkey",
    "sign_checkpoint",
    "sign_note",
    "verify_checkpoint",
    "vkey_string",
]

MAX_SIGNATURES = 100
"""A note with more signature lines is malformed (Go's ``note.Open``)."""

_ALG_ED25519 = 1
_PUBLIC_KEY_SIZE = 32
_SIGNATURE_SIZE = 64
_KEY_HASH_SIZE = 4
_SIG_PREFIX = "\u2014 "  # em dash, space
_MAX_TREE_SIZE = 2**63 - 1  # Go's int64

_NOTE_RULE = "A6 signed-note"
_VKEY_RULE = "A6 verifier key"
_CHECKPOINT_RULE = "A6 checkpoint"

# Unicode White_Space, which is what Go's unicode.IsSpace reports.
_WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# ASCII control characters other than newline (forbidden anywhere in a note).
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


# ---------------------------------------------------------------------------
# Errors (Go's errMalformedNote, InvalidSignatureError, UnverifiedNoteError).


class MalformedNoteError(FormatError):
    """The bytes are not a signed note (C2SP signed-note, A6)."""

    def __init__(self, reason: str, *, rule: str = _NOTE_RULE) -> None:
        super().__init__(rule, reason)


class InvalidSignatureError(SignatureError):
    """A known key's signature on the note does not verify (A6).

    Carries the key's ``name`` and 4-byte ``key_hash``.
    """

    def __init__(self, name: str, key_hash: bytes) -> None:
        self.name = name
        self.key_hash = key_hash
        super().__init__(
            _NOTE_RULE,
            f"invalid signature for key {name}+{key_hash.hex()}: "
            "expected a valid Ed25519 signature of the note text",
        )


class UnverifiedNoteError(SignatureError):
    """The note parses but no known key signed it (A6).

    Carries the parsed, unverified ``note``.
    """

    def __init__(self, note: Note, known: Sequence[str]) -> None:
        self.note = note
        found = ", ".join(f"{s.name}+{s.key_hash.hex()}" for s in note.unverified_sigs)
        super().__init__(
            _NOTE_RULE,
            "note has no verifiable signatures: expected one by "
            f"{' or '.join(known) or 'a known key (none given)'}, "
            f"found signatures by {found}",
        )


# ---------------------------------------------------------------------------
# Names, key hashes and verifier keys.


def _is_valid_name(name: str) -> bool:
    """Report whether ``name`` is a key name: non-empty UTF-8, no space, no '+', no control."""
    if not name or "+" in name or _CONTROL.search(name):
        return False
    if any(c in _WHITE_SPACE for c in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_name(rule: str, name: str, what: str = "key name") -> None:
    if not isinstance(name, str) or not _is_valid_name(name):
        raise FormatError(
            rule,
            f"{what} {name!r} is not valid: expected non-empty UTF-8 text "
            "without spaces, control characters or '+'",
        )


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode_canonical(text: str) -> bytes | None:
    """Decode standard padded base64, or return None unless ``text`` is its canonical form."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if _b64encode(raw) != text:
        return None
    return raw


def _key_hash_of_encoded(name: str, encoded_key: bytes) -> bytes:
    # SHA-256(name || "\n" || encoded key)[:4], Go's note.keyHash.
    return hashlib.sha256(name.encode("utf-8") + b"\n" + encoded_key).digest()[:_KEY_HASH_SIZE]


def key_hash(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte key hash SHA-256(name || "\\n" || 0x01 || public key)[:4] (A6).

    Raises ``FormatError`` for an invalid name or a public key that is not 32 bytes.
    """
    _check_name(_VKEY_RULE, name)
    _check_public_key(public_key)
    return _key_hash_of_encoded(name, bytes([_ALG_ED25519]) + public_key)


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != _PUBLIC_KEY_SIZE:
        found = len(public_key) if isinstance(public_key, bytes) else type(public_key).__name__
        raise FormatError(
            _VKEY_RULE, f"Ed25519 public key must be {_PUBLIC_KEY_SIZE} bytes, found {found}"
        )


def vkey_string(name: str, public_key: bytes) -> str:
    """Return the verifier key ``<name>+<8 hex key hash>+<base64(0x01 || public key)>`` (A6).

    The same text as Go's ``note.NewEd25519VerifierKey``.  Raises
    ``FormatError`` for an invalid name or a public key that is not 32 bytes.
    """
    h = key_hash(name, public_key)
    return f"{name}+{h.hex()}+{_b64encode(bytes([_ALG_ED25519]) + public_key)}"


@dataclass(frozen=True)
class Verifier:
    """One known Ed25519 note key: its name, 4-byte key hash and raw public key (A6).

    Construction checks that the key hash belongs to the name and key, and
    raises ``FormatError`` otherwise.
    """

    name: str
    key_hash: bytes
    public_key: bytes
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(_VKEY_RULE, self.name)
        _check_public_key(self.public_key)
        expected = key_hash(self.name, self.public_key)
        if self.key_hash != expected:
            raise FormatError(
                _VKEY_RULE,
                f"key hash {bytes(self.key_hash).hex()} does not match the name and key, "
                f"expected {expected.hex()}",
            )
        try:
            key = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise FormatError(_VKEY_RULE, f"not an Ed25519 public key: {exc}") from None
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Verifier:
        """Return the verifier for ``name`` and a raw 32-byte Ed25519 public key (A6)."""
        return cls(name, key_hash(name, public_key), public_key)

    @property
    def vkey(self) -> str:
        """The verifier key string (A6)."""
        return vkey_string(self.name, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Report whether ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != _SIGNATURE_SIZE:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def parse_vkey(text: str) -> Verifier:
    """Parse a verifier key ``<name>+<8 hex>+<base64(0x01 || key)>`` (A6, Go ``note.NewVerifier``).

    Returns the :class:`Verifier`.  Raises ``FormatError`` for any malformed
    key: a bad name, a hash that is not 8 lowercase hex digits, non-canonical
    base64, an algorithm other than Ed25519 (0x01), a key that is not 32 bytes,
    or a key hash that does not match the name and key.
    """
    if not isinstance(text, str):
        raise FormatError(_VKEY_RULE, f"verifier key must be text, found {type(text).__name__}")
    name, _, rest = text.partition("+")
    hash16, _, key64 = rest.partition("+")
    _check_name(_VKEY_RULE, name)
    if not re.fullmatch("[0-9a-f]{8}", hash16):
        raise FormatError(
            _VKEY_RULE, f"key hash {hash16!r} is not valid: expected 8 lowercase hex digits"
        )
    encoded = _b64decode_canonical(key64)
    if not encoded:
        raise FormatError(
            _VKEY_RULE, f"key {key64!r} is not valid: expected non-empty canonical base64"
        )
    expected = _key_hash_of_encoded(name, encoded)
    if bytes.fromhex(hash16) != expected:
        raise FormatError(
            _VKEY_RULE,
            f"key hash {hash16} does not match the name and key, expected {expected.hex()}",
        )
    if encoded[0] != _ALG_ED25519:
        raise FormatError(
            _VKEY_RULE,
            f"unknown key algorithm {encoded[0]}, expected {_ALG_ED25519} (Ed25519)",
        )
    if len(encoded) != 1 + _PUBLIC_KEY_SIZE:
        raise FormatError(
            _VKEY_RULE,
            f"Ed25519 public key has {len(encoded) - 1} bytes, expected {_PUBLIC_KEY_SIZE}",
        )
    return Verifier(name, expected, encoded[1:])


class NoteSigner:
    """Signs note texts with one Ed25519 private key under one name (A6, Go ``note.Signer``)."""

    def __init__(self, private_key: Ed25519PrivateKey, name: str) -> None:
        """Build a signer.  Raises ``FormatError`` for an invalid name."""
        _check_name(_VKEY_RULE, name)
        self._private_key = private_key
        self._name = name
        self._public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_hash = key_hash(name, self._public_key)

    @classmethod
    def from_seed(cls, seed: bytes, name: str) -> NoteSigner:
        """Build a signer from a raw 32-byte Ed25519 seed.  Raises ``FormatError`` if invalid."""
        try:
            private_key = Ed25519PrivateKey.from_private_bytes(seed)
        except (TypeError, ValueError) as exc:
            raise FormatError(_VKEY_RULE, f"not an Ed25519 seed: {exc}") from None
        return cls(private_key, name)

    @property
    def name(self) -> str:
        """The key name; a checkpoint's signer name equals its origin (A6)."""
        return self._name

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._public_key

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key hash (A6)."""
        return self._key_hash

    @property
    def vkey(self) -> str:
        """The verifier key string to publish (A6)."""
        return vkey_string(self._name, self._public_key)

    @property
    def verifier(self) -> Verifier:
        """The matching :class:`Verifier`."""
        return Verifier(self._name, self._key_hash, self._public_key)

    def sign(self, text: str) -> bytes:
        """Return the UTF-8 signature line ``— <name> <base64(key hash || sig)>\\n`` for ``text``.

        The signature covers the text including its final newline (C2SP
        signed-note).  Raises ``MalformedNoteError`` for a text that cannot be
        the text of a note.
        """
        data = _check_text(text)
        sig = self._private_key.sign(data)
        line = f"{_SIG_PREFIX}{self._name} {_b64encode(self._key_hash + sig)}\n"
        return line.encode("utf-8")

    def __repr__(self) -> str:
        return f"NoteSigner({self.vkey!r})"


# ---------------------------------------------------------------------------
# Signed notes.


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note: key name, 4-byte key hash, and the base64 as written."""

    name: str
    key_hash: bytes
    base64: str


@dataclass(frozen=True)
class Note:
    """An opened note: its text and its verified and unverified signatures (Go ``note.Note``)."""

    text: str
    verified_sigs: list[NoteSignature] = field(default_factory=list)
    unverified_sigs: list[NoteSignature] = field(default_factory=list)


def _check_text(text: str) -> bytes:
    """Return the UTF-8 of a note text, or raise ``MalformedNoteError``."""
    if not isinstance(text, str):
        raise MalformedNoteError(f"note text must be str, found {type(text).__name__}")
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline, found none")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedNoteError(f"note text is not valid UTF-8 at character {exc.start}") from None
    bad = _CONTROL.search(text)
    if bad:
        raise MalformedNoteError(
            f"note text has control character U+{ord(bad.group()):04X} at character "
            f"{bad.start()}, expected none but newline"
        )
    return data


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """Return ``text``, a blank line and one signature line per signer (C2SP signed-note, A6).

    Signature lines follow the order of ``signers`` (as Go's ``note.Sign``).
    Raises ``MalformedNoteError`` if the text does not end in a newline, is not
    UTF-8, has control characters other than newline, or if there are no
    signers or more than :data:`MAX_SIGNATURES`.
    """
    _check_text(text)
    if not signers:
        raise MalformedNoteError("a note needs at least one signer, found none")
    if len(signers) > MAX_SIGNATURES:
        raise MalformedNoteError(
            f"a note has at most {MAX_SIGNATURES} signatures, found {len(signers)} signers"
        )
    lines = "".join(s.sign(text).decode("utf-8") for s in signers)
    return f"{text}\n{lines}"


def open_note(msg: str | bytes, verifiers: Sequence[Verifier]) -> Note:
    """Parse a signed note and check its signatures against known keys (C2SP signed-note, A6).

    Follows Go's ``note.Open``: a signature line whose (name, key hash) is not
    among ``verifiers`` is kept in ``unverified_sigs`` (repeats dropped); a
    known key's repeated signature is ignored.  Returns the :class:`Note`.

    Raises ``MalformedNoteError`` for invalid UTF-8, a control character other
    than newline, a missing blank line or final newline, a bad signature line
    or more than :data:`MAX_SIGNATURES` signatures; ``InvalidSignatureError``
    when a known key's signature fails; ``UnverifiedNoteError`` when no known
    key signed; ``SignatureError`` when two verifiers share a name and key hash
    that the note uses.
    """
    if isinstance(msg, str):
        try:
            data = msg.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MalformedNoteError(f"note is not valid UTF-8 at character {exc.start}") from None
    else:
        data = bytes(msg)
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNoteError(f"note is not valid UTF-8 at byte {exc.start}") from None
    bad = _CONTROL.search(decoded)
    if bad:
        raise MalformedNoteError(
            f"note has control character U+{ord(bad.group()):04X} at character {bad.start()}, "
            "expected none but newline"
        )

    # The text ends at the last blank line; one or more signature lines follow.
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line between the text and the signatures")
    text, sigs = decoded[: split + 1], decoded[split + 2 :]
    if not sigs:
        raise MalformedNoteError("note has no signature lines after the blank line")
    if not sigs.endswith("\n"):
        raise MalformedNoteError("last signature line must end with a newline, found none")
    text_bytes = text.encode("utf-8")

    known: dict[tuple[str, bytes], list[Verifier]] = {}
    for v in verifiers:
        known.setdefault((v.name, bytes(v.key_hash)), []).append(v)

    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    seen_unverified: set[str] = set()
    for num, line in enumerate(sigs[:-1].split("\n"), start=1):
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNoteError(
                f"signature line {num} must start with an em dash and a space, found {line[:2]!r}"
            )
        body = line[len(_SIG_PREFIX) :]
        name, _, b64 = body.partition(" ")
        if not _is_valid_name(name):
            raise MalformedNoteError(
                f"signature line {num}: key name {name!r} is empty or has a space or '+'"
            )
        if not b64:
            raise MalformedNoteError(f"signature line {num}: no signature after the key name")
        raw = _b64decode_canonical(b64)
        if raw is None:
            raise MalformedNoteError(
                f"signature line {num}: signature is not canonical standard base64"
            )
        if len(raw) < _KEY_HASH_SIZE + 1:
            raise MalformedNoteError(
                f"signature line {num}: signature has {len(raw)} bytes, "
                f"expected at least {_KEY_HASH_SIZE + 1}"
            )
        if num > MAX_SIGNATURES:
            raise MalformedNoteError(
                f"note has more than {MAX_SIGNATURES} signatures, expected at most {MAX_SIGNATURES}"
            )
        hash4, sig = raw[:_KEY_HASH_SIZE], raw[_KEY_HASH_SIZE:]
        signature = NoteSignature(name, hash4, b64)

        candidates = known.get((name, hash4))
        if candidates is None:
            # Unknown key: keep the line, once.
            if body not in seen_unverified:
                seen_unverified.add(body)
                unverified.append(signature)
            continue
        if len(candidates) > 1:
            raise SignatureError(
                _NOTE_RULE,
                f"ambiguous key {name}+{hash4.hex()}: {len(candidates)} verifiers have it, "
                "expected one",
            )
        if (name, hash4) in seen:
            continue
        seen.add((name, hash4))
        if not candidates[0].verify(text_bytes, sig):
            raise InvalidSignatureError(name, hash4)
        verified.append(signature)

    note = Note(text, verified, unverified)
    if not verified:
        raise UnverifiedNoteError(note, [f"{v.name}+{bytes(v.key_hash).hex()}" for v in verifiers])
    return note


# ---------------------------------------------------------------------------
# Checkpoints.


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size and its root hash (C2SP tlog-checkpoint, A6).

    Construction raises ``FormatError`` for an invalid origin, a negative or
    too large size, or a root that is not 32 bytes.
    """

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        _check_name(_CHECKPOINT_RULE, self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise FormatError(
                _CHECKPOINT_RULE,
                f"size must be an integer, found {type(self.size).__name__}",
                field="size",
            )
        if not 0 <= self.size <= _MAX_TREE_SIZE:
            raise FormatError(
                _CHECKPOINT_RULE,
                f"size must be in [0, {_MAX_TREE_SIZE}], found {self.size}",
                field="size",
            )
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            found = len(self.root) if isinstance(self.root, bytes) else type(self.root).__name__
            raise FormatError(
                _CHECKPOINT_RULE, f"root must be 32 bytes, found {found}", field="root"
            )


def format_checkpoint(cp: Checkpoint) -> str:
    """Return the checkpoint body ``<origin>\\n<size>\\n<base64 root>\\n`` (A6)."""
    return f"{cp.origin}\n{cp.size}\n{_b64encode(cp.root)}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body strictly (A6, C2SP tlog-checkpoint).

    Exactly three newline-terminated lines and no extension lines; the origin
    is a valid key name; the size is decimal with no sign, spaces or leading
    zeros and below 2^63; the root is canonical standard base64 of 32 bytes.
    Returns the :class:`Checkpoint`.  Raises ``FormatError`` naming the field.
    """
    if not isinstance(text, str):
        raise FormatError(_CHECKPOINT_RULE, f"checkpoint must be text, found {type(text).__name__}")
    if not text.endswith("\n"):
        raise FormatError(_CHECKPOINT_RULE, "checkpoint must end with a newline, found none")
    lines = text[:-1].split("\n")
    if len(lines) != 3:
        raise FormatError(
            _CHECKPOINT_RULE,
            f"checkpoint has {len(lines)} lines, expected 3 (origin, size, root) "
            "and no extension lines",
        )
    origin, size_line, root_line = lines
    _check_name(_CHECKPOINT_RULE, origin, "origin")
    if (
        not (size_line.isascii() and size_line.isdigit())
        or len(size_line) > len(str(_MAX_TREE_SIZE))
        or str(int(size_line)) != size_line
        or int(size_line) > _MAX_TREE_SIZE
    ):
        raise FormatError(
            _CHECKPOINT_RULE,
            f"size {size_line!r} is not valid: expected a decimal integer in "
            f"[0, {_MAX_TREE_SIZE}] with no sign, spaces or leading zeros",
            field="size",
        )
    root = _b64decode_canonical(root_line)
    if root is None:
        raise FormatError(
            _CHECKPOINT_RULE,
            f"root {root_line!r} is not canonical standard base64",
            field="root",
        )
    if len(root) != 32:
        raise FormatError(
            _CHECKPOINT_RULE, f"root has {len(root)} bytes, expected 32", field="root"
        )
    return Checkpoint(origin, int(size_line), root)


def sign_checkpoint(cp: Checkpoint, signer: NoteSigner) -> str:
    """Return the signed note of checkpoint ``cp`` with one signature by ``signer`` (A6).

    Raises ``FormatError`` if the signer's name is not the checkpoint's origin.
    """
    if signer.name != cp.origin:
        raise FormatError(
            _CHECKPOINT_RULE,
            f"signer name {signer.name!r} differs from the origin, expected {cp.origin!r}",
            field="origin",
        )
    return sign_note(format_checkpoint(cp), [signer])


def verify_checkpoint(
    note_text: str | bytes, vkey: str | Verifier, *, origin: str | None = None
) -> Checkpoint:
    """Open a signed checkpoint with the log's key alone and parse its body (A6).

    Requires a valid signature by ``vkey`` and the body's origin line to equal
    the key's name (and ``origin``, when given); witness signatures are
    ignored.  Returns the :class:`Checkpoint`.  Raises ``FormatError`` for a
    bad key or body, ``MalformedNoteError``, ``InvalidSignatureError`` or
    ``UnverifiedNoteError`` from :func:`open_note`, and ``SignatureError`` when
    the origin does not match.
    """
    verifier = parse_vkey(vkey) if isinstance(vkey, str) else vkey
    note = open_note(note_text, [verifier])
    cp = parse_checkpoint(note.text)
    if cp.origin != verifier.name:
        raise SignatureError(
            _CHECKPOINT_RULE,
            f"checkpoint origin {cp.origin!r} is not the log key's name, "
            f"expected {verifier.name!r}",
        )
    if origin is not None and cp.origin != origin:
        raise SignatureError(
            _CHECKPOINT_RULE, f"checkpoint origin {cp.origin!r}, expected {origin!r}"
        )
    return cp
